import { generateProfilePicture, jidDecode, jidNormalizedUser, type WASocket } from '@whiskeysockets/baileys';
import { WorkerError } from '../util/errors.js';
import type { ContactPresence, ContactPresenceState, ContactProfile, WhatsAppEvent } from './types.js';

/**
 * Contacts' presence and profiles, the account's own profile and its block list, translated
 * between Baileys and the WhatsApp boundary (types.ts). What WhatsApp sends back is hostile like
 * everything else: strings are bounded, JIDs checked, unknown states dropped.
 */

/** Bounds on what WhatsApp tells of a profile (WhatsApp's own limits are far lower: about 139, descriptions 512). */
const MAX_TEXT = 1024;
const MAX_URL = 2048;
const MAX_WEBSITES = 5;

const USER_JID = /^[0-9]{5,20}@(s\.whatsapp\.net|lid)$/;
const GROUP_JID = /^[0-9]{5,20}(-[0-9]{5,20})?@g\.us$/;
const STATES: readonly ContactPresenceState[] = ['available', 'unavailable', 'composing', 'recording', 'paused'];

/** A Boom from `assertNodeErrorFree` carries WhatsApp's error code in `data`. */
const whatsAppCode = (err: unknown): number | undefined => {
  const data = (err as { data?: unknown } | undefined)?.data;
  return typeof data === 'number' ? data : undefined;
};
/** WhatsApp answers 404 (nothing set) or 401 (hidden from this account): for a profile, both mean "absent". */
const absentWhen404or401 = <T>(err: unknown): T | undefined => {
  const code = whatsAppCode(err);
  if (code === 404 || code === 401) return undefined;
  throw err;
};

const bounded = (value: unknown, max = MAX_TEXT): string | undefined => {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return value.length > max ? value.slice(0, max) : value;
};

/** A JID without its device, if it is a user's or a group's; undefined otherwise. */
function bareJid(jid: string | undefined): string | undefined {
  if (!jid || jid.length > 100) return undefined;
  const decoded = jidDecode(jid);
  if (!decoded?.user) return undefined;
  const bare = jidNormalizedUser(jid);
  return USER_JID.test(bare) || GROUP_JID.test(bare) ? bare : undefined;
}

/** `presence.update` → the session's presence events (emitted at once: Baileys does not buffer them). */
export function watchPresence(sock: WASocket, emit: (event: WhatsAppEvent) => void): void {
  sock.ev.on('presence.update', ({ id, presences }) => {
    const updates = toContactPresences(id, presences);
    if (updates.length) emit({ type: 'presence', updates });
  });
}

/**
 * One `presence.update` → what the session is told: the chat a user's or a group's JID (without
 * device), each participant a user's, the state one of the five, `lastSeen` (seconds → ms) only
 * with unavailable. Anything else is dropped.
 */
export function toContactPresences(id: string, presences: Record<string, { lastKnownPresence?: string; lastSeen?: number } | undefined>): ContactPresence[] {
  const chat = bareJid(id);
  if (!chat) return [];
  const updates: ContactPresence[] = [];
  // Bounded: one stanza names one participant; of a hostile map only the first few are looked at.
  for (const [participant, data] of Object.entries(presences ?? {}).slice(0, 16)) {
    const who = bareJid(participant);
    const presence = data?.lastKnownPresence;
    if (!who || GROUP_JID.test(who) || !isState(presence)) continue;
    const lastSeen = typeof data?.lastSeen === 'number' && Number.isSafeInteger(data.lastSeen) && data.lastSeen > 0 ? data.lastSeen * 1000 : undefined;
    updates.push({ chat, from: who.endsWith('@lid') ? { lid: who } : { pn: who }, presence, ...(lastSeen && presence === 'unavailable' ? { lastSeen } : {}) });
  }
  return updates;
}

const isState = (s: string | undefined): s is ContactPresenceState => STATES.includes(s as ContactPresenceState);

export const subscribePresence = (sock: WASocket, jid: string): Promise<void> => sock.presenceSubscribe(jid);

/** Picture (full size), about and business profile, asked at once; what is unset or hidden is absent. */
export async function fetchProfile(sock: WASocket, jid: string): Promise<ContactProfile> {
  const [pictureUrl, statuses, business] = await Promise.all([
    sock.profilePictureUrl(jid, 'image').catch(absentWhen404or401<string>),
    sock.fetchStatus(jid),
    sock.getBusinessProfile(jid).catch(absentWhen404or401<Awaited<ReturnType<WASocket['getBusinessProfile']>>>),
  ]);
  const url = bounded(pictureUrl, MAX_URL);
  const status = (statuses?.[0] as { status?: { status?: unknown; setAt?: unknown } } | undefined)?.status;
  const about = bounded(status?.status);
  const setAt = status?.setAt instanceof Date ? status.setAt.getTime() : undefined;
  const profile: ContactProfile = {
    ...(url && /^https:\/\//i.test(url) ? { pictureUrl: url } : {}),
    ...(about ? { about } : {}),
    ...(about && setAt && setAt > 0 ? { aboutSetAt: setAt } : {}),
  };
  if (business) {
    const websites = (Array.isArray(business.website) ? business.website : []).slice(0, MAX_WEBSITES).flatMap((w) => bounded(w, MAX_URL) ?? []);
    const category = bounded(business.category);
    const email = bounded(business.email);
    const address = bounded(business.address);
    profile.business = {
      description: bounded(business.description) ?? '',
      website: websites,
      ...(category ? { category } : {}),
      ...(email ? { email } : {}),
      ...(address ? { address } : {}),
    };
  }
  return profile;
}

/** The account's own JID, without device (what Baileys compares to decide "own picture"). */
const ownJid = (sock: WASocket): string => {
  const me = sock.authState.creds.me?.id;
  if (!me) throw new Error('the account is not linked');
  return jidNormalizedUser(me);
};

/**
 * Resized by Baileys (sharp, or jimp: a peer dependency of rc14, installed with it) to the
 * 640×640 JPEG WhatsApp stores. A file the decoder refuses is INVALID_MEDIA, not a WhatsApp error.
 */
export async function setProfilePicture(sock: WASocket, image: Buffer | undefined): Promise<void> {
  if (!image) return sock.removeProfilePicture(ownJid(sock));
  const { img } = await generateProfilePicture(image).catch((err: unknown) => {
    throw new WorkerError('INVALID_MEDIA', `the picture could not be decoded: ${(err as Error).message ?? String(err)}`, { cause: err });
  });
  await sock.updateProfilePicture(ownJid(sock), img);
}

/** Baileys needs the contact's LID (and, to block, its phone JID): it knows them from messages and number checks, or asks WhatsApp. */
export const setBlocked = (sock: WASocket, jid: string, blocked: boolean): Promise<void> => sock.updateBlockStatus(jid, blocked ? 'block' : 'unblock');

import {
  generateMessageIDV2,
  generateProfilePicture,
  getBinaryNodeChild,
  getBinaryNodeChildren,
  jidNormalizedUser,
  type BinaryNode,
  type GroupMetadata,
  type WASocket,
} from '@whiskeysockets/baileys';
import { WorkerError } from '../util/errors.js';
import type { CreatedGroup, GroupChange, GroupInfo, GroupJoinRequest, GroupMember, GroupParticipantResult } from './types.js';

/**
 * Group administration translated between Baileys and the WhatsApp boundary (types.ts). What
 * WhatsApp sends back is hostile like everything else: strings and lists are bounded, JIDs
 * checked; WhatsApp's IQ error codes become the precise codes commands answer with.
 */

/** WhatsApp caps a group at 1024 members; a reply listing more is cut (and says so). */
export const MAX_GROUP_MEMBERS = 1024;
/** list_groups answers at most this many groups (an account in more gets the first ones and `truncated`). */
export const MAX_LISTED_GROUPS = 500;
const MAX_SUBJECT = 256;
const MAX_DESCRIPTION = 4096;
const MAX_CODE = 64;

const USER_JID = /^[0-9]{5,20}@(s\.whatsapp\.net|lid)$/;
const GROUP_JID = /^[0-9]{5,20}(-[0-9]{5,20})?@g\.us$/;

const bounded = (value: unknown, max: number): string | undefined => (typeof value === 'string' && value.length > 0 ? value.slice(0, max) : undefined);
const userJid = (jid: unknown): string | undefined => {
  if (typeof jid !== 'string' || jid.length > 100) return undefined;
  const bare = jidNormalizedUser(jid);
  return USER_JID.test(bare) ? bare : undefined;
};
const groupJid = (id: unknown): string | undefined => {
  if (typeof id !== 'string' || id.length > 100) return undefined;
  const jid = id.includes('@') ? id : `${id}@g.us`;
  return GROUP_JID.test(jid) ? jid : undefined;
};
const roleOf = (type: unknown): GroupMember['role'] => (type === 'superadmin' ? 'superadmin' : type === 'admin' ? 'admin' : 'member');
const positive = (n: unknown): number | undefined => (typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined);

/** WhatsApp's code in a Baileys error: `assertNodeErrorFree` puts it in `data`, `extractGroupMetadata` in `output.statusCode`. */
function whatsAppCode(err: unknown): number | undefined {
  const e = err as { data?: unknown; output?: { statusCode?: unknown } } | undefined;
  if (typeof e?.data === 'number') return e.data;
  if (e?.data && typeof e.data === 'object' && typeof e.output?.statusCode === 'number') return e.output.statusCode;
  return undefined;
}

/** 401 → NOT_ADMIN, 403 → NOT_A_MEMBER, 404 → UNKNOWN_GROUP (WhatsApp's meaning for group IQs); anything else as it came. */
export function groupError(err: unknown, what: string): unknown {
  const code = whatsAppCode(err);
  if (code === 401) return new WorkerError('NOT_ADMIN', `${what}: only the group's admins may (WhatsApp answered 401)`, { cause: err });
  if (code === 403) return new WorkerError('NOT_A_MEMBER', `${what}: the account is not in the group (WhatsApp answered 403)`, { cause: err });
  if (code === 404) return new WorkerError('UNKNOWN_GROUP', `${what}: no such group or invite (WhatsApp answered 404)`, { cause: err });
  return err;
}

const translated =
  (what: string) =>
  (err: unknown): never => {
    throw groupError(err, what);
  };

function members(list: ReadonlyArray<{ id: string; phoneNumber?: string | undefined; lid?: string | undefined; admin?: string | null | undefined }>): {
  participants: GroupMember[];
  truncated: boolean;
} {
  const participants: GroupMember[] = [];
  for (const p of list.slice(0, MAX_GROUP_MEMBERS)) {
    const jid = userJid(p.id);
    if (!jid) continue;
    const phone = jid.endsWith('@s.whatsapp.net') ? jid : userJid(p.phoneNumber);
    participants.push({ jid, ...(phone && phone.endsWith('@s.whatsapp.net') ? { phone } : {}), role: roleOf(p.admin) });
  }
  return { participants, truncated: list.length > MAX_GROUP_MEMBERS };
}

/** Baileys' GroupMetadata → our bounded GroupInfo (undefined when its id is not a group JID). */
export function toGroupInfo(meta: GroupMetadata): GroupInfo | undefined {
  const jid = groupJid(meta.id);
  if (!jid) return undefined;
  const { participants, truncated } = members(Array.isArray(meta.participants) ? meta.participants : []);
  const description = bounded(meta.desc, MAX_DESCRIPTION);
  const owner = userJid(meta.owner);
  const createdAt = positive(meta.creation);
  const ephemeral = positive(meta.ephemeralDuration);
  return {
    jid,
    subject: bounded(meta.subject, MAX_SUBJECT) ?? '',
    ...(description ? { description } : {}),
    ...(owner ? { owner } : {}),
    ...(createdAt ? { createdAt: createdAt * 1000 } : {}),
    size: positive(meta.size) ?? participants.length,
    announce: meta.announce === true,
    locked: meta.restrict === true,
    joinApproval: meta.joinApprovalMode === true,
    ...(ephemeral ? { ephemeral } : {}),
    participants,
    ...(truncated ? { truncated } : {}),
  };
}

const infoOrThrow = (meta: GroupMetadata): GroupInfo => {
  const info = toGroupInfo(meta);
  if (!info) throw new Error('WhatsApp answered with a group id that is not a group JID');
  return info;
};

/**
 * `<create>` sent as Baileys' groupCreate does, but read here: Baileys drops each participant's
 * `error` (403: their privacy settings refuse being added, with an `<add_request code>` to invite
 * them instead; 404: not on WhatsApp), which the answer must tell.
 */
export async function createGroup(sock: WASocket, subject: string, participants: readonly string[]): Promise<CreatedGroup> {
  const result = await sock
    .query({
      tag: 'iq',
      attrs: { type: 'set', xmlns: 'w:g2', to: '@g.us' },
      content: [
        { tag: 'create', attrs: { subject, key: generateMessageIDV2() }, content: participants.map((jid) => ({ tag: 'participant', attrs: { jid } })) },
      ],
    })
    .catch(translated('the group creation'));
  const group = getBinaryNodeChild(result, 'group');
  const jid = groupJid(group?.attrs.id);
  if (!group || !jid) throw new Error('WhatsApp answered the group creation without a group');
  const nodes = getBinaryNodeChildren(group, 'participant').slice(0, MAX_GROUP_MEMBERS);
  const failed: GroupParticipantResult[] = [];
  const added: Array<{ id: string; phoneNumber?: string; admin?: string }> = [];
  for (const p of nodes) {
    const error = p.attrs.error;
    if (error && error !== '200') {
      const pjid = userJid(p.attrs.jid);
      if (pjid) failed.push({ jid: pjid, status: statusOf(error), ...inviteOf(p) });
    } else
      added.push({
        id: p.attrs.jid ?? '',
        ...(p.attrs.phone_number ? { phoneNumber: p.attrs.phone_number } : {}),
        ...(p.attrs.type ? { admin: p.attrs.type } : {}),
      });
  }
  const { participants: kept, truncated } = members(added);
  const creation = positive(Number(group.attrs.creation));
  const owner = userJid(group.attrs.creator);
  return {
    group: {
      jid,
      subject: bounded(group.attrs.subject, MAX_SUBJECT) ?? subject,
      ...(owner ? { owner } : {}),
      ...(creation ? { createdAt: creation * 1000 } : {}),
      size: kept.length,
      announce: false,
      locked: false,
      joinApproval: false,
      participants: kept,
      ...(truncated ? { truncated } : {}),
    },
    failed,
  };
}

const statusOf = (code: string | undefined): number => {
  const n = Number(code ?? '200');
  return Number.isSafeInteger(n) && n >= 100 && n < 1000 ? n : 500;
};
const inviteOf = (p: BinaryNode): { inviteCode?: string } => {
  const code = bounded(getBinaryNodeChild(p, 'add_request')?.attrs.code, MAX_CODE);
  return code ? { inviteCode: code } : {};
};

export const groupMetadata = async (sock: WASocket, jid: string): Promise<GroupInfo> =>
  infoOrThrow(await sock.groupMetadata(jid).catch(translated('the group query')));

/** Every group the account is in, at most MAX_LISTED_GROUPS. */
export async function listGroups(sock: WASocket): Promise<GroupInfo[]> {
  const all = await sock.groupFetchAllParticipating().catch(translated('the group list'));
  return Object.values(all)
    .slice(0, MAX_LISTED_GROUPS)
    .flatMap((meta) => toGroupInfo(meta) ?? []);
}

/** One change, one IQ (as WhatsApp takes them). */
export async function updateGroup(sock: WASocket, jid: string, change: GroupChange): Promise<void> {
  const what = `the group's ${change.field}`;
  switch (change.field) {
    case 'subject':
      return sock.groupUpdateSubject(jid, change.value).catch(translated(what));
    case 'description':
      return sock.groupUpdateDescription(jid, change.value || undefined).catch(translated(what));
    case 'announce':
      return sock.groupSettingUpdate(jid, change.value ? 'announcement' : 'not_announcement').catch(translated(what));
    case 'locked':
      return sock.groupSettingUpdate(jid, change.value ? 'locked' : 'unlocked').catch(translated(what));
    case 'ephemeral':
      return sock.groupToggleEphemeral(jid, change.value).catch(translated(what));
    case 'picture': {
      if (!change.value) return sock.removeProfilePicture(jid).catch(translated(what));
      const { img } = await generateProfilePicture(change.value).catch((err: unknown) => {
        throw new WorkerError('INVALID_MEDIA', `the picture could not be decoded: ${(err as Error).message ?? String(err)}`, { cause: err });
      });
      return sock.updateProfilePicture(jid, img).catch(translated(what));
    }
  }
}

export async function updateGroupParticipants(
  sock: WASocket,
  jid: string,
  participants: readonly string[],
  operation: 'add' | 'remove' | 'promote' | 'demote',
): Promise<GroupParticipantResult[]> {
  const results = await sock.groupParticipantsUpdate(jid, [...participants], operation).catch(translated(`the participants ${operation}`));
  return results.slice(0, MAX_GROUP_MEMBERS).flatMap((r) => {
    const pjid = userJid(r.jid);
    return pjid ? [{ jid: pjid, status: statusOf(r.status), ...(r.content ? inviteOf(r.content) : {}) }] : [];
  });
}

export async function groupInviteCode(sock: WASocket, jid: string, revoke: boolean): Promise<string> {
  const code = await (revoke ? sock.groupRevokeInvite(jid) : sock.groupInviteCode(jid)).catch(translated('the invite code'));
  const bounded64 = bounded(code, MAX_CODE);
  if (!bounded64) throw new Error('WhatsApp answered without an invite code');
  return bounded64;
}

export async function joinGroup(sock: WASocket, code: string): Promise<string> {
  const jid = groupJid(await sock.groupAcceptInvite(code).catch(translated('the join')));
  if (!jid) throw new Error('WhatsApp answered the join without a group JID');
  return jid;
}

export const groupInviteInfo = async (sock: WASocket, code: string): Promise<GroupInfo> =>
  infoOrThrow(await sock.groupGetInviteInfo(code).catch(translated('the invite query')));

export const leaveGroup = (sock: WASocket, jid: string): Promise<void> => sock.groupLeave(jid).catch(translated('leaving the group'));

/** The pending requests, at most MAX_GROUP_MEMBERS, each a user JID. */
export async function groupJoinRequests(sock: WASocket, jid: string): Promise<GroupJoinRequest[]> {
  const requests = (await sock.groupRequestParticipantsList(jid).catch(translated('the membership requests'))) as Array<Record<string, unknown>>;
  return requests.slice(0, MAX_GROUP_MEMBERS).flatMap((r) => {
    const who = userJid(r.jid);
    if (!who) return [];
    const phone = who.endsWith('@s.whatsapp.net') ? who : userJid(r.phone_number);
    const at = positive(Number(r.request_time));
    return [{ jid: who, ...(phone?.endsWith('@s.whatsapp.net') ? { phone } : {}), ...(at ? { requestedAt: at * 1000 } : {}) }];
  });
}

export async function answerJoinRequests(sock: WASocket, jid: string, participants: readonly string[], approve: boolean): Promise<GroupParticipantResult[]> {
  const results = await sock
    .groupRequestParticipantsUpdate(jid, [...participants], approve ? 'approve' : 'reject')
    .catch(translated(`the membership requests ${approve ? 'approval' : 'rejection'}`));
  return results.slice(0, MAX_GROUP_MEMBERS).flatMap((r) => {
    const pjid = userJid(r.jid);
    return pjid ? [{ jid: pjid, status: statusOf(r.status) }] : [];
  });
}

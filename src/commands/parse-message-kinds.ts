import type { ErrorCode } from '../util/errors.js';
import { isWorkerError } from '../util/errors.js';
import type { OutgoingKindMessage } from './command.js';
import type { CommandMessage } from './command-schema.js';
import { isGroupJid, recipientJid } from './recipient.js';

/**
 * `send_message` for the kinds that are neither text nor media (location, contact, poll,
 * reaction), and the `mentions` every type but poll and reaction may carry. The bounds are
 * WhatsApp's own where it has them (a poll: 2 to 12 options of at most 100 characters, a
 * question of at most 255), otherwise generous but finite.
 */
export const POLL_MIN_OPTIONS = 2;
export const POLL_MAX_OPTIONS = 12;
export const POLL_MAX_NAME = 255;
export const POLL_MAX_OPTION = 100;
export const CONTACTS_MAX = 20;
export const VCARD_MAX_CHARS = 16 * 1024;
export const CONTACT_NAME_MAX = 256;
export const LOCATION_NAME_MAX = 256;
export const LOCATION_ADDRESS_MAX = 512;
export const MENTIONS_MAX = 100;
/** The longest emoji sequence we take, in UTF-16 units (a ZWJ family or a tagged flag fits). */
export const EMOJI_MAX_UNITS = 32;
/** A WhatsApp message id: letters and digits (as in message_received), bounded. */
const MESSAGE_ID = /^[A-Za-z0-9]{1,128}$/;
const VCARD = /^BEGIN:VCARD\r?\n[\s\S]*\r?\nEND:VCARD\r?\n?$/i;

export type KindFields = Partial<
  Pick<
    CommandMessage,
    'name' | 'latitude' | 'longitude' | 'address' | 'contacts' | 'options' | 'selectableCount' | 'emoji' | 'messageId' | 'fromMe' | 'participant'
  >
>;
/** The fields that belong to one kind only: any other type given one is refused (a payload meant for another type). */
const KIND_FIELDS: Record<OutgoingKindMessage['type'], ReadonlyArray<keyof KindFields>> = {
  location: ['latitude', 'longitude', 'name', 'address'],
  contact: ['contacts'],
  poll: ['name', 'options', 'selectableCount'],
  reaction: ['emoji', 'messageId', 'fromMe', 'participant'],
};
const ALL_KIND_FIELDS = [...new Set(Object.values(KIND_FIELDS).flat())];

type Fail = { ok: false; code: ErrorCode; reason: string };
const fail = (code: ErrorCode, reason: string): Fail => ({ ok: false, code, reason });

export const isKindType = (type: string): type is OutgoingKindMessage['type'] => type in KIND_FIELDS;

/** A field of another kind given to `type` (e.g. `options` on a text), or undefined. */
export function foreignKindField(type: string, f: KindFields): Fail | undefined {
  const own: ReadonlyArray<keyof KindFields> = isKindType(type) ? KIND_FIELDS[type] : [];
  const foreign = ALL_KIND_FIELDS.find((k) => f[k] !== undefined && !own.includes(k));
  return foreign ? fail('INVALID_COMMAND', `type "${type}" takes no "${foreign}"`) : undefined;
}

/** The fields of a location, contact, poll or reaction → the message, or the precise reason it is refused. */
export function parseKindMessage(type: OutgoingKindMessage['type'], f: KindFields): { ok: true; message: OutgoingKindMessage } | Fail {
  switch (type) {
    case 'location':
      return parseLocation(f);
    case 'contact':
      return parseContacts(f);
    case 'poll':
      return parsePoll(f);
    case 'reaction':
      return parseReaction(f);
  }
}

function parseLocation(f: KindFields): { ok: true; message: OutgoingKindMessage } | Fail {
  const { latitude, longitude } = f;
  if (latitude === undefined || longitude === undefined) return fail('INVALID_COMMAND', 'type "location" needs "latitude" and "longitude" (degrees)');
  if (!Number.isFinite(latitude) || latitude < -90 || latitude > 90) return fail('INVALID_COMMAND', `"latitude" ${latitude} is not between -90 and 90`);
  if (!Number.isFinite(longitude) || longitude < -180 || longitude > 180)
    return fail('INVALID_COMMAND', `"longitude" ${longitude} is not between -180 and 180`);
  if (f.name !== undefined && f.name.length > LOCATION_NAME_MAX) return fail('INVALID_COMMAND', `"name" is longer than ${LOCATION_NAME_MAX} characters`);
  if (f.address !== undefined && f.address.length > LOCATION_ADDRESS_MAX)
    return fail('INVALID_COMMAND', `"address" is longer than ${LOCATION_ADDRESS_MAX} characters`);
  return { ok: true, message: { type: 'location', latitude, longitude, name: f.name || undefined, address: f.address || undefined } };
}

function parseContacts(f: KindFields): { ok: true; message: OutgoingKindMessage } | Fail {
  const cards = f.contacts;
  if (!cards || cards.length === 0) return fail('INVALID_COMMAND', 'type "contact" needs "contacts", 1 to 20 cards `{ displayName?, vcard }`');
  if (cards.length > CONTACTS_MAX) return fail('INVALID_COMMAND', `"contacts" has ${cards.length} cards, more than ${CONTACTS_MAX}`);
  const contacts: Array<{ displayName: string | undefined; vcard: string }> = [];
  for (const [i, card] of cards.entries()) {
    if (card.vcard.length > VCARD_MAX_CHARS) return fail('INVALID_COMMAND', `contacts[${i}].vcard is longer than ${VCARD_MAX_CHARS} characters`);
    if (!VCARD.test(card.vcard.trim() + '\n'))
      return fail('INVALID_COMMAND', `contacts[${i}].vcard is not a vCard (BEGIN:VCARD … END:VCARD, one property a line)`);
    if (card.displayName !== undefined && card.displayName.length > CONTACT_NAME_MAX)
      return fail('INVALID_COMMAND', `contacts[${i}].displayName is longer than ${CONTACT_NAME_MAX} characters`);
    const fn = /^FN[^:\r\n]*:(.*)$/im.exec(card.vcard)?.[1]?.trim().slice(0, CONTACT_NAME_MAX);
    contacts.push({ displayName: card.displayName || fn || undefined, vcard: card.vcard });
  }
  return { ok: true, message: { type: 'contact', contacts } };
}

function parsePoll(f: KindFields): { ok: true; message: OutgoingKindMessage } | Fail {
  const name = f.name?.trim();
  if (!name) return fail('INVALID_COMMAND', 'type "poll" needs "name" (the question)');
  if (name.length > POLL_MAX_NAME) return fail('INVALID_COMMAND', `"name" is longer than ${POLL_MAX_NAME} characters (WhatsApp's limit for a poll question)`);
  const options = f.options?.map((o) => o.trim());
  if (!options || options.length < POLL_MIN_OPTIONS || options.length > POLL_MAX_OPTIONS)
    return fail('INVALID_COMMAND', `type "poll" needs "options", ${POLL_MIN_OPTIONS} to ${POLL_MAX_OPTIONS} of them (got ${options?.length ?? 0})`);
  for (const [i, option] of options.entries()) {
    if (!option) return fail('INVALID_COMMAND', `options[${i}] is empty`);
    if (option.length > POLL_MAX_OPTION) return fail('INVALID_COMMAND', `options[${i}] is longer than ${POLL_MAX_OPTION} characters`);
    // Votes name options by the SHA-256 of their text: two equal options could not be told apart.
    if (options.indexOf(option) !== i) return fail('INVALID_COMMAND', `options[${i}] repeats options[${options.indexOf(option)}]`);
  }
  const selectableCount = f.selectableCount ?? 0;
  if (selectableCount < 0 || selectableCount > options.length)
    return fail('INVALID_COMMAND', `"selectableCount" ${selectableCount} is not between 0 (any) and ${options.length} (the number of options)`);
  return { ok: true, message: { type: 'poll', name, options, selectableCount } };
}

function parseReaction(f: KindFields): { ok: true; message: OutgoingKindMessage } | Fail {
  if (f.messageId === undefined) return fail('INVALID_COMMAND', 'type "reaction" needs "messageId", the id of the message reacted to');
  if (!MESSAGE_ID.test(f.messageId)) return fail('INVALID_COMMAND', `"messageId" "${f.messageId.slice(0, 40)}" is not a WhatsApp message id`);
  if (f.emoji === undefined) return fail('INVALID_COMMAND', 'type "reaction" needs "emoji" ("" removes the reaction)');
  if (f.emoji && !isOneEmoji(f.emoji)) return fail('INVALID_COMMAND', `"emoji" must be one emoji (at most ${EMOJI_MAX_UNITS} UTF-16 units, one grapheme)`);
  let participant: string | undefined;
  if (f.participant !== undefined) {
    try {
      participant = recipientJid(f.participant);
    } catch (err) {
      return fail(isWorkerError(err) ? 'INVALID_RECIPIENT' : 'INVALID_COMMAND', `"participant": ${(err as Error).message.replace(/^"to" /, '')}`);
    }
    if (isGroupJid(participant)) return fail('INVALID_RECIPIENT', '"participant" must be a person (a phone or a user/LID JID), not a group');
  }
  return { ok: true, message: { type: 'reaction', messageId: f.messageId, emoji: f.emoji, fromMe: f.fromMe, participant } };
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** One grapheme, short, with no letters, digits, spaces or controls: an emoji, or close enough for WhatsApp to judge. */
function isOneEmoji(s: string): boolean {
  if (s.length > EMOJI_MAX_UNITS || /[\p{L}\p{N}\p{White_Space}\p{Cc}]/u.test(s.replace(/[0-9#*]\uFE0F?\u20E3/gu, ''))) return false;
  let count = 0;
  for (const _ of segmenter.segment(s)) if (++count > 1) return false;
  return count === 1;
}

/** `mentions` → JIDs, each once, or the reason one is refused. */
export function parseMentions(mentions: readonly string[] | undefined): { ok: true; jids: string[] | undefined } | Fail {
  if (mentions === undefined || mentions.length === 0) return { ok: true, jids: undefined };
  if (mentions.length > MENTIONS_MAX) return fail('INVALID_COMMAND', `"mentions" has ${mentions.length} entries, more than ${MENTIONS_MAX}`);
  const jids: string[] = [];
  for (const [i, mention] of mentions.entries()) {
    let jid: string;
    try {
      jid = recipientJid(mention);
    } catch {
      return fail('INVALID_RECIPIENT', `mentions[${i}] "${mention.slice(0, 40)}" is neither a phone number nor a user or LID JID`);
    }
    if (isGroupJid(jid)) return fail('INVALID_RECIPIENT', `mentions[${i}] is a group; mention people`);
    if (!jids.includes(jid)) jids.push(jid);
  }
  return { ok: true, jids };
}

import type { ErrorCode } from '../util/errors.js';
import { isWorkerError } from '../util/errors.js';
import { imageHeader } from '../util/image-format.js';
import { PROFILE_ACTIONS, type ContactRef, type ProfileAction, type ProfileChanges } from './command.js';
import { parseOutgoingMessage } from './parse-send-message.js';
import { isGroupJid, recipientJid } from './recipient.js';
import { phoneField } from './session-identity.js';

/** WhatsApp's own limits: a push name of 25 characters, an about of 139. */
export const PROFILE_NAME_MAX_CHARS = 25;
export const PROFILE_ABOUT_MAX_CHARS = 139;
/** More pixels than any phone camera takes: a picture declaring more is refused before it is decoded (a decompression bomb). */
export const PROFILE_PICTURE_MAX_PIXELS = 50_000_000;
export const PROFILE_PICTURE_MIME_TYPES = ['image/jpeg', 'image/png'] as const;

export type ProfileParse<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; reason: string };

const fail = (code: ErrorCode, reason: string): { ok: false; code: ErrorCode; reason: string } => ({ ok: false, code, reason });
/** Characters as a person counts them (code points, not UTF-16 units). */
const chars = (s: string): number => [...s].length;
/** Control characters (a newline is allowed in an about, nowhere else). */
const CONTROL = /\p{Cc}/u;

/**
 * The contact of `subscribe_presence`, `get_profile`, `block` and `unblock`: a phone (canonical
 * `+<E.164 digits>`, its JID `<digits>@s.whatsapp.net`) or a user JID (`…@s.whatsapp.net`,
 * `…@lid`, kept as given, lower-cased). Refused: missing (INVALID_COMMAND), a phone that is not
 * one (INVALID_PHONE), a JID that is not a user's, a group's included (INVALID_RECIPIENT).
 */
export function parseContact(action: string, chat: string | undefined): ProfileParse<ContactRef> {
  if (chat === undefined) return fail('INVALID_COMMAND', `"${action}" needs "chat", the contact: a phone in international form or its JID`);
  if (chat.includes('@')) {
    let jid: string;
    try {
      jid = recipientJid(chat);
    } catch (err) {
      return fail(isWorkerError(err) ? err.code : 'INVALID_RECIPIENT', `chat: ${(err as Error).message.replace(/^"to" /, '')}`);
    }
    if (isGroupJid(jid)) return fail('INVALID_RECIPIENT', `chat: "${jid}" is a group; "${action}" is for a contact (…@s.whatsapp.net or …@lid)`);
    return { ok: true, value: { chat: jid, jid } };
  }
  const phone = phoneField(chat, 'chat');
  if (!phone.ok) return phone;
  return { ok: true, value: { chat: phone.phone, jid: recipientJid(phone.phone) } };
}

export interface ProfileFields {
  name?: string | undefined;
  about?: string | undefined;
  picture?: { url?: string | undefined; base64?: string | undefined; mediaKey?: string | undefined; mimeType?: string | undefined } | undefined;
  removePicture?: boolean | undefined;
}

/**
 * The `update_profile` fields → the changes, or the precise reason they are refused: none given
 * (INVALID_COMMAND); a name empty, longer than 25 characters or with control characters
 * (INVALID_COMMAND); an about longer than 139 characters or with control characters but
 * newlines (INVALID_COMMAND); `picture` with `removePicture` (INVALID_COMMAND); a picture without
 * exactly one source, a bad `mediaKey` or `url`, a MIME type that is not JPEG or PNG, `base64`
 * that is not base64 or not a JPEG/PNG (INVALID_MEDIA), or larger than MEDIA_MAX_BYTES
 * (MEDIA_TOO_LARGE). A `url` or `mediaKey` picture is checked once fetched (session side).
 */
export function parseProfileChanges(f: ProfileFields, limits: { maxMediaBytes: number }): ProfileParse<ProfileChanges> {
  const changes: ProfileChanges = {};
  if (f.name !== undefined) {
    const name = f.name.trim();
    if (!name) return fail('INVALID_COMMAND', '"name" must not be empty');
    if (chars(name) > PROFILE_NAME_MAX_CHARS)
      return fail('INVALID_COMMAND', `"name" has ${chars(name)} characters, more than WhatsApp's ${PROFILE_NAME_MAX_CHARS}`);
    if (CONTROL.test(name)) return fail('INVALID_COMMAND', '"name" must not contain control characters');
    changes.name = name;
  }
  if (f.about !== undefined) {
    if (chars(f.about) > PROFILE_ABOUT_MAX_CHARS)
      return fail('INVALID_COMMAND', `"about" has ${chars(f.about)} characters, more than WhatsApp's ${PROFILE_ABOUT_MAX_CHARS}`);
    if (CONTROL.test(f.about.replaceAll('\n', ''))) return fail('INVALID_COMMAND', '"about" must not contain control characters (newlines excepted)');
    changes.about = f.about;
  }
  const picture = parsePictureChange(f, limits);
  if (!picture.ok) return picture;
  Object.assign(changes, picture.value);
  if (Object.keys(changes).length === 0) {
    return fail('INVALID_COMMAND', '"update_profile" needs at least one of "name", "about", "picture" or "removePicture": true');
  }
  return { ok: true, value: changes };
}

/**
 * The picture part of `update_profile` and `update_group`: a new picture (checked by `parsePicture`)
 * or `removePicture: true`, never both; neither is an empty change.
 */
export function parsePictureChange(
  f: Pick<ProfileFields, 'picture' | 'removePicture'>,
  limits: { maxMediaBytes: number },
): ProfileParse<Pick<ProfileChanges, 'picture' | 'removePicture'>> {
  if (f.picture !== undefined && f.removePicture === true) return fail('INVALID_COMMAND', '"picture" and "removePicture" exclude each other');
  if (f.removePicture === true) return { ok: true, value: { removePicture: true } };
  if (f.picture === undefined) return { ok: true, value: {} };
  const picture = parsePicture(f.picture, limits);
  return picture.ok ? { ok: true, value: { picture: picture.value } } : picture;
}

/** A placeholder recipient: the picture's source is checked by send_message's own media rules (type image), which need one. */
const NO_RECIPIENT = '+10000000000';

function parsePicture(p: NonNullable<ProfileFields['picture']>, limits: { maxMediaBytes: number }): ProfileParse<NonNullable<ProfileChanges['picture']>> {
  const parsed = parseOutgoingMessage({ to: NO_RECIPIENT, type: 'image', url: p.url, base64: p.base64, mediaKey: p.mediaKey, mimeType: p.mimeType }, limits);
  if (!parsed.ok) return fail(parsed.code, `picture: ${parsed.reason.replace('type "image" ', '')}`);
  const message = parsed.value.message;
  if (!('media' in message)) return fail('INVALID_MEDIA', 'picture: not an image');
  const mimeType = message.mimeType;
  if (mimeType !== undefined && !(PROFILE_PICTURE_MIME_TYPES as readonly string[]).includes(mimeType.toLowerCase())) {
    return fail('INVALID_MEDIA', `picture: "${mimeType.slice(0, 60)}" is not a JPEG or PNG (${PROFILE_PICTURE_MIME_TYPES.join(', ')})`);
  }
  if (message.media.kind === 'base64') {
    const refusal = pictureRefusal(message.media.data);
    if (refusal) return fail('INVALID_MEDIA', `picture: ${refusal}`);
  }
  return { ok: true, value: message.media };
}

/** Why these bytes cannot be a profile picture (undefined: they can): not a JPEG or PNG by their header, or too many pixels. */
export function pictureRefusal(bytes: Uint8Array): string | undefined {
  const header = imageHeader(bytes);
  if (!header) return 'the file is not a JPEG or PNG image';
  const pixels = header.width * header.height;
  if (pixels > PROFILE_PICTURE_MAX_PIXELS) return `the image declares ${header.width}×${header.height} pixels, more than ${PROFILE_PICTURE_MAX_PIXELS}`;
  return undefined;
}

/** What a profile command adds to the common fields, once parsed. */
export type ProfileCommandPart = { action: 'update_profile'; changes: ProfileChanges } | ({ action: Exclude<ProfileAction, 'update_profile'> } & ContactRef);

/** One profile command's own fields → its part of the command, or why it is refused (see parseContact, parseProfileChanges). */
export function parseProfileCommand(
  action: ProfileAction,
  f: ProfileFields & { chat?: string | undefined },
  limits: { maxMediaBytes: number },
): ProfileParse<ProfileCommandPart> {
  if (action === 'update_profile') {
    if (f.chat !== undefined) return fail('INVALID_COMMAND', '"update_profile" changes the account\'s own profile: it takes no "chat"');
    const changes = parseProfileChanges(f, limits);
    return changes.ok ? { ok: true, value: { action, changes: changes.value } } : changes;
  }
  const contact = parseContact(action, f.chat);
  return contact.ok ? { ok: true, value: { action, ...contact.value } } : contact;
}

export const isProfileAction = (action: string): action is ProfileAction => (PROFILE_ACTIONS as readonly string[]).includes(action);
/** The event that answers each profile command (its failure event is named beside it in the catalogue). */
export const PROFILE_ANSWERED_BY = {
  subscribe_presence: 'presence_subscribed',
  get_profile: 'profile_fetched',
  update_profile: 'profile_updated',
  block: 'block_status_changed',
  unblock: 'block_status_changed',
} as const;

import type { ErrorCode } from '../util/errors.js';
import { isWorkerError } from '../util/errors.js';
import { recipientJid } from './recipient.js';
import { MESSAGE_TYPES, type MediaSource, type OutgoingMessage, type SendMessageCommand } from './command.js';
import type { CommandMessage } from './command-schema.js';
import { foreignKindField, isKindType, parseKindMessage, parseMentions, type KindFields } from './parse-message-kinds.js';

type Fields = Partial<
  Pick<CommandMessage, 'to' | 'type' | 'text' | 'url' | 'base64' | 'mediaKey' | 'mimeType' | 'caption' | 'fileName' | 'ptt' | 'replyTo' | 'mentions'>
> &
  KindFields;

export type SendMessageParse =
  { ok: true; value: Pick<SendMessageCommand, 'to' | 'toJid' | 'message' | 'replyTo' | 'mentions'> } | { ok: false; code: ErrorCode; reason: string };

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)(;[^,]*)?;base64,/;
const MEDIA_KEY = /^media\/[A-Za-z0-9._~-]+\/(images|videos|audio|documents|stickers)\/[A-Za-z0-9._~-]+$/;

/**
 * The `send_message` fields (already shape-checked by the zod schema) → what to send, or the
 * precise reason the combination is wrong. Runs at parse time so that a payload that can never
 * be sent is dead-lettered at once, with the field named.
 */
export function parseOutgoingMessage(f: Fields, limits: { maxMediaBytes: number }): SendMessageParse {
  const fail = (code: ErrorCode, reason: string): SendMessageParse => ({ ok: false, code, reason });
  if (!f.to) return fail('INVALID_COMMAND', '"send_message" needs "to" (a phone number or a JID)');
  let toJid: string;
  try {
    toJid = recipientJid(f.to);
  } catch (err) {
    return fail(isWorkerError(err) ? err.code : 'INVALID_RECIPIENT', (err as Error).message);
  }
  if (!f.type) return fail('INVALID_COMMAND', `"send_message" needs "type" (${MESSAGE_TYPES.join(', ')})`);
  const sources = (['url', 'base64', 'mediaKey'] as const).filter((k) => f[k] !== undefined);
  const foreign = foreignKindField(f.type, f);
  if (foreign) return foreign;
  // WhatsApp quotes nothing in a reaction, and Baileys puts a poll's mentions where no client reads them.
  if (f.type === 'reaction' && f.replyTo !== undefined) return fail('INVALID_COMMAND', 'type "reaction" takes no "replyTo": a reaction targets "messageId"');
  if ((f.type === 'reaction' || f.type === 'poll') && f.mentions?.length) return fail('INVALID_COMMAND', `type "${f.type}" takes no "mentions"`);
  const mentions = parseMentions(f.mentions);
  if (!mentions.ok) return mentions;
  const common = { to: f.to, toJid, replyTo: f.replyTo, ...(mentions.jids ? { mentions: mentions.jids } : {}) };

  if (isKindType(f.type)) {
    const stray = (['text', 'url', 'base64', 'mediaKey', 'mimeType', 'caption', 'fileName', 'ptt'] as const).find((k) => f[k] !== undefined);
    if (stray) return fail('INVALID_COMMAND', `type "${f.type}" takes no "${stray}"`);
    const kind = parseKindMessage(f.type, f);
    if (!kind.ok) return kind;
    return { ok: true, value: { ...common, message: kind.message } };
  }

  if (f.type === 'text') {
    if (!f.text) return fail('INVALID_COMMAND', 'type "text" needs a non-empty "text"');
    if (sources.length) return fail('INVALID_COMMAND', `type "text" takes no media ("${sources[0]}"); use type image, video, audio or document`);
    return { ok: true, value: { ...common, message: { type: 'text', text: f.text } } };
  }

  if (sources.length === 0) return fail('INVALID_MEDIA', `type "${f.type}" needs one of "url", "base64" or "mediaKey"`);
  if (sources.length > 1) return fail('INVALID_MEDIA', `type "${f.type}" takes only one of "url", "base64", "mediaKey" (got ${sources.join(', ')})`);
  if (f.text !== undefined) return fail('INVALID_COMMAND', `type "${f.type}" takes "caption", not "text"`);
  if (f.type === 'audio' && f.caption !== undefined) return fail('INVALID_COMMAND', 'type "audio" takes no "caption"');
  if (f.ptt !== undefined && f.type !== 'audio') return fail('INVALID_COMMAND', '"ptt" (voice note) applies only to type "audio"');
  if (f.type === 'document' && !f.fileName) return fail('INVALID_COMMAND', 'type "document" needs "fileName"');
  if (f.type === 'sticker' && (f.caption !== undefined || f.fileName !== undefined))
    return fail('INVALID_COMMAND', `type "sticker" takes no "${f.caption !== undefined ? 'caption' : 'fileName'}"`);

  let mimeType = f.mimeType;
  let media: MediaSource;
  if (f.url !== undefined) {
    let url: URL;
    try {
      url = new URL(f.url);
    } catch {
      return fail('INVALID_MEDIA', '"url" is not a valid URL');
    }
    // They would go out as Basic auth to whatever host the URL names (and end up in logs).
    if (url.username || url.password)
      return fail('INVALID_MEDIA', '"url" must not carry credentials (user:password@host); serve the file from a URL that needs none');
    media = { kind: 'url', url: f.url };
  } else if (f.mediaKey !== undefined) {
    if (!MEDIA_KEY.test(f.mediaKey) || f.mediaKey.includes('..')) {
      return fail(
        'INVALID_MEDIA',
        `"mediaKey" "${f.mediaKey.slice(0, 80)}" is not a media store key (media/<sessionId>/<images|videos|audio|documents|stickers>/<file>)`,
      );
    }
    media = { kind: 'mediaKey', key: f.mediaKey };
  } else {
    let text = f.base64!;
    const dataUrl = DATA_URL.exec(text);
    if (dataUrl) {
      mimeType ??= dataUrl[1];
      text = text.slice(dataUrl[0].length);
    }
    text = text.replace(/\s/g, '');
    // Checked before decoding: a huge payload is refused without allocating it twice.
    const decodedSize = Math.floor((text.length * 3) / 4) - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
    if (decodedSize > limits.maxMediaBytes)
      return fail('MEDIA_TOO_LARGE', `"base64" decodes to ${decodedSize} bytes, more than MEDIA_MAX_BYTES (${limits.maxMediaBytes})`);
    if (!text || !BASE64.test(text)) return fail('INVALID_MEDIA', '"base64" is not base64 data');
    media = { kind: 'base64', data: Buffer.from(text, 'base64') };
  }
  if (f.type === 'document' && !mimeType) return fail('INVALID_COMMAND', 'type "document" needs "mimeType"');
  // WhatsApp shows only WebP stickers.
  if (f.type === 'sticker') {
    if (mimeType && mimeType.toLowerCase() !== 'image/webp') return fail('INVALID_MEDIA', `type "sticker" is image/webp, not "${mimeType}"`);
    mimeType = 'image/webp';
  }

  const message: OutgoingMessage = { type: f.type, media, mimeType, caption: f.caption, fileName: f.fileName, ptt: f.ptt ?? false };
  return { ok: true, value: { ...common, message } };
}

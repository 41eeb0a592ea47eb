import { normalizeMessageContent, toNumber, type proto, type WAMessage } from '@whiskeysockets/baileys';
import type { Readable } from 'node:stream';
import type { MediaRef } from './media-download.js';
import type { IncomingMedia, IncomingMessage } from './types.js';

type MediaKind = IncomingMedia['kind'];
const MEDIA_FIELDS: Array<[keyof proto.IMessage, MediaKind]> = [
  ['imageMessage', 'image'],
  ['videoMessage', 'video'],
  ['audioMessage', 'audio'],
  ['documentMessage', 'document'],
  ['stickerMessage', 'sticker'],
];

/** Fields that carry no content of their own (they ride along with real messages). */
const PROTOCOL_ONLY = new Set([
  'senderKeyDistributionMessage',
  'messageContextInfo',
  'protocolMessage',
  'keepInChatMessage',
  'pinInChatMessage',
  'encReactionMessage',
]);

/** Where the file of a media message is and how it is keyed, or undefined for other messages. */
export function mediaRefOf(message: proto.IMessage | null | undefined): MediaRef | undefined {
  const content = normalizeMessageContent(message);
  if (!content) return undefined;
  for (const [field, kind] of MEDIA_FIELDS) {
    const m = content[field] as proto.Message.IImageMessage | null | undefined;
    if (m) return { kind, url: m.url, directPath: m.directPath, mediaKey: m.mediaKey, fileSha256: m.fileSha256, fileEncSha256: m.fileEncSha256 };
  }
  return undefined;
}

/** proto's number-or-Long fields → a number. */
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : toNumber(v as number));

/**
 * Baileys' WAMessage → the boundary's IncomingMessage, or undefined for what is not a message
 * from someone else: our own (`key.fromMe`, e.g. echoes of our sends), status broadcasts,
 * protocol messages (key distribution, revokes, history sync notices) and stubs (group
 * notifications). `download` streams the media of this very message (the adapter binds it).
 * `includeOwn`: our own messages too (the history the phone sends; see baileys-history.ts).
 */
export function toIncomingMessage(
  msg: WAMessage,
  download: () => Promise<Readable>,
  opts: { includeOwn?: boolean } = {},
): Omit<IncomingMessage, 'acknowledge'> | undefined {
  const key = msg.key;
  if (!key?.id || !key.remoteJid || (key.fromMe && !opts.includeOwn)) return undefined;
  if (key.remoteJid === 'status@broadcast' || key.remoteJid.endsWith('@newsletter')) return undefined;
  const content = normalizeMessageContent(msg.message);
  if (!content) return undefined;
  const fields = Object.keys(content).filter((k) => (content as Record<string, unknown>)[k] != null && !PROTOCOL_ONLY.has(k));
  if (fields.length === 0) return undefined;

  const isGroup = key.remoteJid.endsWith('@g.us');
  const senderIds = isGroup ? [key.participant, key.participantAlt] : [key.remoteJid, key.remoteJidAlt];
  const from: IncomingMessage['from'] = {};
  for (const jid of senderIds) {
    if (!jid) continue;
    if (jid.endsWith('@lid')) from.lid ??= jid;
    else if (jid.endsWith('@s.whatsapp.net')) from.pn ??= jid;
  }

  const out: Omit<IncomingMessage, 'acknowledge'> = {
    id: key.id,
    chat: key.remoteJid,
    isGroup,
    from,
    ...(isGroup && key.participant ? { participant: key.participant } : {}),
    ...(msg.pushName ? { pushName: msg.pushName } : {}),
    sentAt: (num(msg.messageTimestamp) ?? Math.floor(Date.now() / 1000)) * 1000,
    type: 'other',
  };
  const replyTo = (ctx: proto.IContextInfo | null | undefined) => {
    if (ctx?.stanzaId) out.replyTo = ctx.stanzaId;
  };

  if (content.conversation) {
    out.type = 'text';
    out.text = content.conversation;
    return out;
  }
  if (content.extendedTextMessage) {
    out.type = 'text';
    if (content.extendedTextMessage.text) out.text = content.extendedTextMessage.text;
    replyTo(content.extendedTextMessage.contextInfo);
    return out;
  }
  for (const [field, kind] of MEDIA_FIELDS) {
    const m = content[field] as (proto.Message.IImageMessage & proto.Message.IDocumentMessage & proto.Message.IAudioMessage) | null | undefined;
    if (!m) continue;
    out.type = kind;
    if (m.caption) {
      out.caption = m.caption;
      out.text = m.caption;
    }
    replyTo(m.contextInfo);
    out.media = {
      kind,
      mimeType: m.mimetype ?? undefined,
      size: num(m.fileLength),
      fileName: m.fileName ?? undefined,
      ptt: !!m.ptt,
      open: download,
    };
    return out;
  }
  if (content.locationMessage || content.liveLocationMessage) {
    out.type = 'location';
    const loc = (content.locationMessage ?? content.liveLocationMessage) as proto.Message.ILocationMessage & { caption?: string | null };
    const text = loc.name ?? loc.address ?? loc.caption;
    if (text) out.text = text;
    return out;
  }
  if (content.contactMessage || content.contactsArrayMessage) {
    out.type = 'contact';
    const name = content.contactMessage?.displayName ?? content.contactsArrayMessage?.displayName;
    if (name) out.text = name;
    return out;
  }
  if (content.reactionMessage) {
    out.type = 'reaction';
    if (content.reactionMessage.text) out.text = content.reactionMessage.text;
    if (content.reactionMessage.key?.id) out.replyTo = content.reactionMessage.key.id;
    return out;
  }
  const poll = content.pollCreationMessage ?? content.pollCreationMessageV2 ?? content.pollCreationMessageV3;
  if (poll) {
    out.type = 'poll';
    if (poll.name) out.text = poll.name;
    return out;
  }
  return out;
}

const STATUS_BY_CODE: Record<number, 'failed' | 'server_ack' | 'delivered' | 'read' | 'played'> = {
  0: 'failed',
  2: 'server_ack',
  3: 'delivered',
  4: 'read',
  5: 'played',
};

/** Baileys' `WebMessageInfo.Status` → the event's status (PENDING, 1, is not news). */
export function receiptStatus(code: number | null | undefined): 'failed' | 'server_ack' | 'delivered' | 'read' | 'played' | undefined {
  return code === null || code === undefined ? undefined : STATUS_BY_CODE[code];
}

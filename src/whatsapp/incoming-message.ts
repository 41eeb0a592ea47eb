import { normalizeMessageContent, toNumber, type proto, type WAMessage } from '@whiskeysockets/baileys';
import type { Readable } from 'node:stream';
import type { MediaRef } from './media-download.js';
import type { IncomingMedia, IncomingMessage } from './types.js';
import { contactsOf, locationOf, pollOf, pollVoteOf } from './incoming-kinds.js';

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
  // Reactions, edits and revokes are updates, not messages: incoming-update.ts.
  'reactionMessage',
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

/** A mentioned user as WhatsApp spells one (`<digits>[:device]@s.whatsapp.net|lid`); anything else a sender put there is left out. */
const MENTION_JID = /^[0-9]{1,24}(:[0-9]{1,4})?@(s\.whatsapp\.net|lid)$/;

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
  /** Our own JIDs (PN, LID): poll votes are keyed with them. */
  me: readonly (string | null | undefined)[] = [],
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
  // The quote and the mentions, from the content's contextInfo (mentions bounded: the sender chooses them).
  const replyTo = (ctx: proto.IContextInfo | null | undefined) => {
    if (ctx?.stanzaId) out.replyTo = ctx.stanzaId;
    const mentions = (ctx?.mentionedJid ?? []).filter((j) => typeof j === 'string' && MENTION_JID.test(j)).slice(0, 100);
    if (mentions.length) out.mentions = mentions;
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
    if (text) out.text = text.slice(0, 1024);
    const location = locationOf(loc);
    if (location) out.location = location;
    replyTo(loc.contextInfo);
    return out;
  }
  if (content.contactMessage || content.contactsArrayMessage) {
    out.type = 'contact';
    const name = content.contactMessage?.displayName ?? content.contactsArrayMessage?.displayName;
    if (name) out.text = name.slice(0, 1024);
    out.contacts = contactsOf(content);
    replyTo(content.contactMessage?.contextInfo ?? content.contactsArrayMessage?.contextInfo);
    return out;
  }
  if (content.pollUpdateMessage) {
    const vote = pollVoteOf(content.pollUpdateMessage, [...senderIds].reverse(), me, out.sentAt);
    if (vote) out.pollVote = vote;
    return out;
  }
  const poll = content.pollCreationMessage ?? content.pollCreationMessageV2 ?? content.pollCreationMessageV3;
  if (poll) {
    out.type = 'poll';
    out.poll = pollOf(poll);
    if (out.poll.name) out.text = out.poll.name;
    replyTo(poll.contextInfo);
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

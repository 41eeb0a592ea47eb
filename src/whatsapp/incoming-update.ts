import { normalizeMessageContent, proto, toNumber, type WAMessage } from '@whiskeysockets/baileys';
import type { IncomingUpdate, IncomingUpdateContent } from './types.js';

/** Longest reaction kept: one emoji, with its modifiers, is a few characters; anything longer is cut. */
export const MAX_REACTION_CHARS = 32;
/** Longest edited text kept: the most WhatsApp takes in one message. */
export const MAX_EDIT_TEXT_CHARS = 65_536;
/** Longest message id accepted from WhatsApp (its ids are ~20-32 characters); an update naming a longer one is dropped. */
const MAX_ID_CHARS = 128;

/** proto's number-or-Long fields → a number. */
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : toNumber(v as number));
const validId = (id: string | null | undefined): id is string => typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_CHARS;

/**
 * Baileys' WAMessage → the boundary's IncomingUpdate, for a reaction (`reactionMessage`), an edit
 * (`protocolMessage` MESSAGE_EDIT, 14) or a revoke (`protocolMessage` REVOKE, 0) from someone else;
 * undefined for anything else (our own, status broadcasts, newsletters, other protocol messages,
 * real messages: `toIncomingMessage` takes those), and for edits of another's message or revokes
 * of another's message outside a group. Everything is the sender's claim: ids bounded, texts cut
 * to what WhatsApp itself allows.
 */
export function toIncomingUpdate(msg: WAMessage): IncomingUpdateContent | undefined {
  const key = msg.key;
  if (!validId(key?.id) || !key.remoteJid || key.fromMe) return undefined;
  if (key.remoteJid === 'status@broadcast' || key.remoteJid.endsWith('@newsletter')) return undefined;
  const content = normalizeMessageContent(msg.message);
  if (!content) return undefined;

  const isGroup = key.remoteJid.endsWith('@g.us');
  const senderIds = isGroup ? [key.participant, key.participantAlt] : [key.remoteJid, key.remoteJidAlt];
  const from: IncomingUpdate['from'] = {};
  for (const jid of senderIds) {
    if (!jid) continue;
    if (jid.endsWith('@lid')) from.lid ??= jid;
    else if (jid.endsWith('@s.whatsapp.net')) from.pn ??= jid;
  }
  const sentAt = (num(msg.messageTimestamp) ?? Math.floor(Date.now() / 1000)) * 1000;
  const base = { id: key.id, chat: key.remoteJid, isGroup, from, ...(isGroup && key.participant ? { participant: key.participant } : {}) };
  const targetOf = (k: proto.IMessageKey | null | undefined) =>
    validId(k?.id)
      ? { id: k.id, ...(typeof k.fromMe === 'boolean' ? { fromMe: k.fromMe } : {}), ...(k.participant ? { participant: k.participant } : {}) }
      : undefined;

  if (content.reactionMessage) {
    // Baileys (cleanMessage) already turned the target key to our point of view: fromMe = our message.
    const target = targetOf(content.reactionMessage.key);
    if (!target) return undefined;
    const at = num(content.reactionMessage.senderTimestampMs) ?? sentAt;
    return { ...base, kind: 'reaction', target, emoji: (content.reactionMessage.text ?? '').slice(0, MAX_REACTION_CHARS), at };
  }
  const protocol = content.protocolMessage;
  if (!protocol) return undefined;
  const target = targetOf(protocol.key);
  if (!target) return undefined;
  // The key is in the sender's point of view: only one's own message can be edited, and only a
  // group admin revokes another's. Anything else WhatsApp would not show: not reported.
  if (target.fromMe === false && (protocol.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT || !isGroup)) return undefined;
  if (protocol.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT) {
    const newText = textOf(protocol.editedMessage);
    const at = num(protocol.timestampMs) ?? sentAt;
    return { ...base, kind: 'edit', target, ...(newText !== undefined ? { newText: newText.slice(0, MAX_EDIT_TEXT_CHARS) } : {}), at };
  }
  if (protocol.type === proto.Message.ProtocolMessage.Type.REVOKE) return { ...base, kind: 'revoke', target, at: sentAt };
  return undefined;
}

/** The text of an edited message: a text, or the caption of a media message. */
function textOf(message: proto.IMessage | null | undefined): string | undefined {
  const m = normalizeMessageContent(message);
  if (!m) return undefined;
  const text = m.conversation ?? m.extendedTextMessage?.text ?? m.imageMessage?.caption ?? m.videoMessage?.caption ?? m.documentMessage?.caption;
  return typeof text === 'string' ? text : undefined;
}

import type { proto, WAMessageKey } from '@whiskeysockets/baileys';
import type { MessageReceipt } from './types.js';

/**
 * One member's receipt for a message we sent to a group (Baileys: `message-receipt.update`, or
 * `userReceipt` of the sent message's upsert when the receipt arrived while Baileys buffered events
 * and was merged into it). Undefined for anything that is not a receipt for our own message.
 */
export function toMemberReceipt(key: WAMessageKey, receipt: proto.IUserReceipt): MessageReceipt | undefined {
  if (!key.id || !key.remoteJid || !key.fromMe) return undefined;
  const status = receipt.playedTimestamp ? 'played' : receipt.readTimestamp ? 'read' : receipt.receiptTimestamp ? 'delivered' : undefined;
  if (!status) return undefined;
  const t = receipt.playedTimestamp ?? receipt.readTimestamp ?? receipt.receiptTimestamp;
  return {
    messageId: key.id,
    chat: key.remoteJid,
    status,
    ...(receipt.userJid ? { participant: receipt.userJid } : {}),
    ...(t ? { at: Number(t) * 1000 } : {}),
  };
}

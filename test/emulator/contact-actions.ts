/**
 * What a contact's phone sends to react to, edit or revoke a message, as WhatsApp builds it
 * (Baileys `generateWAMessageContent`, protocol notes §5.2): send the result with
 * `emulator.sendMessage(contact, account, message)`. Keys are in the contact's point of view:
 * the account's message is `fromMe: false` in the account's chat, the contact's own `fromMe: true`.
 */
import { proto } from '@whiskeysockets/baileys';

/** The account's chat as the contact addresses it (Baileys recomputes `fromMe` of a reaction's key against its own PN). */
const accountJid = (accountPhone: string): string => `${accountPhone.replace(/^\+/, '')}@s.whatsapp.net`;

/** A reaction to a message the account sent ('' removes it). */
export function reactionTo(accountPhone: string, messageId: string, emoji: string): proto.IMessage {
  return { reactionMessage: { key: { remoteJid: accountJid(accountPhone), fromMe: false, id: messageId }, text: emoji, senderTimestampMs: Date.now() } };
}

/** An edit of a text message the contact sent to the account. */
export function editOfOwn(accountPhone: string, messageId: string, newText: string): proto.IMessage {
  return {
    protocolMessage: {
      key: { remoteJid: accountJid(accountPhone), fromMe: true, id: messageId },
      type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
      editedMessage: { extendedTextMessage: { text: newText } },
      timestampMs: Date.now(),
    },
  };
}

/** A revoke ("delete for everyone") of a message the contact sent to the account. */
export function revokeOfOwn(accountPhone: string, messageId: string): proto.IMessage {
  return { protocolMessage: { key: { remoteJid: accountJid(accountPhone), fromMe: true, id: messageId }, type: proto.Message.ProtocolMessage.Type.REVOKE } };
}

/** In a group: a reaction to a member's message (`authorJid`: its sender, as the group addresses it, e.g. the LID). */
export function reactionInGroup(groupJid: string, messageId: string, authorJid: string, emoji: string): proto.IMessage {
  return {
    reactionMessage: { key: { remoteJid: groupJid, fromMe: false, id: messageId, participant: authorJid }, text: emoji, senderTimestampMs: Date.now() },
  };
}

/** In a group: an admin's revoke of another member's message. */
export function adminRevoke(groupJid: string, messageId: string, authorJid: string): proto.IMessage {
  return {
    protocolMessage: { key: { remoteJid: groupJid, fromMe: false, id: messageId, participant: authorJid }, type: proto.Message.ProtocolMessage.Type.REVOKE },
  };
}

/** The edit or revoke (by type) among what a contact received, for the message `messageId`. */
export function protocolFor(message: proto.IMessage, type: proto.Message.ProtocolMessage.Type, messageId: string): proto.Message.IProtocolMessage | undefined {
  const p = message.protocolMessage;
  return p && p.type === type && p.key?.id === messageId ? p : undefined;
}

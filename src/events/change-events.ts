import { z } from 'zod';
import { envelope, messageEvent, messageId } from './event-envelope.js';

/** `edit_message`, `delete_message` and the reactions, edits and revokes of others (issue 12). */
export function changeEvents() {
  return {
    message_edit_sent: messageEvent(
      'message_edit_sent',
      'Emitted when an `edit_message` was handed to WhatsApp: the contact sees the new text (once per requestId: a redelivered command re-publishes it without editing again).',
      {
        requestId: z.string().describe("The command's requestId."),
        chat: z.string().describe('The chat as the command gave it.'),
        chatJid: z.string().describe('The chat JID the edit was sent to.'),
        messageId: messageId.describe('The id of the message edited.'),
        editId: z.string().describe("The edit's own WhatsApp message id, derived from (sessionId, requestId): the same for every attempt of one command."),
        text: z.string().describe('The new text.'),
        editedAt: z.number().int().describe('When WhatsApp took the edit, epoch ms.'),
      },
    ),
    message_edit_failed: messageEvent(
      'message_edit_failed',
      'Emitted when an `edit_message` could not be carried out: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, the message is known not to be editable, or WhatsApp refused.',
      {
        sessionId: envelope.sessionId.optional(),
        requestId: z.string().describe("The command's requestId."),
        chat: z.string().describe('The chat as the command gave it.'),
        messageId: messageId.describe('The id of the message that was to be edited.'),
        code: z
          .string()
          .describe(
            "A stable code: UNKNOWN_SESSION, NOT_CONNECTED, NOT_EDITABLE (not a message this session sent, not a text, or older than WhatsApp's 15-minute edit window: known from the session's recent messages), WHATSAPP_ERROR.",
          ),
        reason: z.string().describe('What went wrong, for a person.'),
      },
    ),
    message_deleted: messageEvent(
      'message_deleted',
      'Emitted when a `delete_message` was handed to WhatsApp: the message is revoked for everyone (once per requestId: a redelivered command re-publishes it without revoking again).',
      {
        requestId: z.string().describe("The command's requestId."),
        chat: z.string().describe('The chat as the command gave it.'),
        chatJid: z.string().describe('The chat JID the revoke was sent to.'),
        messageId: messageId.describe('The id of the message revoked.'),
        fromMe: z.boolean().describe("True for this session's own message; false for a member's message revoked as a group admin."),
        participant: z.string().optional().describe('fromMe false: the member who sent the message (JID).'),
        revokeId: z.string().describe("The revoke's own WhatsApp message id, derived from (sessionId, requestId)."),
        deletedAt: z.number().int().describe('When WhatsApp took the revoke, epoch ms.'),
      },
    ),
    message_delete_failed: messageEvent(
      'message_delete_failed',
      'Emitted when a `delete_message` could not be carried out: the session is unknown, ended or did not open within SEND_WAIT_FOR_OPEN_MS, the message is known not to be revocable, or WhatsApp refused.',
      {
        sessionId: envelope.sessionId.optional(),
        requestId: z.string().describe("The command's requestId."),
        chat: z.string().describe('The chat as the command gave it.'),
        messageId: messageId.describe('The id of the message that was to be revoked.'),
        code: z
          .string()
          .describe(
            "A stable code: UNKNOWN_SESSION, NOT_CONNECTED, NOT_DELETABLE (fromMe true for a message the session received, or older than WhatsApp's revoke window of about 2 days: known from the session's recent messages), WHATSAPP_ERROR.",
          ),
        reason: z.string().describe('What went wrong, for a person.'),
      },
    ),
    message_reaction: messageEvent(
      'message_reaction',
      'Emitted when someone else reacts to a message, or removes a reaction (`emoji` empty), live or replayed after an offline period (each reaction message once). Replaces message_received of type reaction.',
      {
        messageId: messageId.describe("The reaction's own WhatsApp message id."),
        reactedTo: z.string().describe('The id of the message reacted to.'),
        reactedToFromMe: z.boolean().optional().describe('True when the message reacted to is one this account sent.'),
        chat: z.string().describe('The chat JID (the sender for 1:1 chats, the group for groups).'),
        isGroup: z.boolean(),
        from: z
          .object({
            pn: z.string().optional().describe("The reactor's phone-number JID, when known."),
            lid: z.string().optional().describe("The reactor's LID, when known."),
          })
          .describe('Who reacted.'),
        participant: z.string().optional().describe('Groups: the member who reacted.'),
        emoji: z.string().max(32).describe("The reaction (at most 32 characters); '' when the reaction was removed."),
        sentAt: z.number().int().describe('When the reaction was made, epoch ms.'),
        offline: z.boolean().describe('True when it was held by WhatsApp while the session was offline.'),
      },
    ),
    message_edited: messageEvent(
      'message_edited',
      'Emitted when someone else edits a message they sent, live or replayed after an offline period (each edit once).',
      {
        messageId: messageId.describe('The id of the message edited (as in its message_received).'),
        editId: z.string().describe("The edit's own WhatsApp message id."),
        chat: z.string().describe('The chat JID (the sender for 1:1 chats, the group for groups).'),
        isGroup: z.boolean(),
        from: z
          .object({
            pn: z.string().optional().describe("The editor's phone-number JID, when known."),
            lid: z.string().optional().describe("The editor's LID, when known."),
          })
          .describe('Who edited.'),
        participant: z.string().optional().describe('Groups: the member who edited.'),
        newText: z.string().max(65_536).optional().describe('The new text (or caption); absent when the edited content has none.'),
        editedAt: z.number().int().describe('When the edit was made, epoch ms.'),
        offline: z.boolean().describe('True when it was held by WhatsApp while the session was offline.'),
      },
    ),
    message_revoked: messageEvent(
      'message_revoked',
      'Emitted when someone else revokes a message for everyone ("delete for everyone": their own, or a member\'s as a group admin), live or replayed after an offline period (each revoke once).',
      {
        messageId: messageId.describe('The id of the message revoked.'),
        revokeId: z.string().describe("The revoke's own WhatsApp message id."),
        chat: z.string().describe('The chat JID (the sender for 1:1 chats, the group for groups).'),
        isGroup: z.boolean(),
        from: z
          .object({
            pn: z.string().optional().describe("The revoker's phone-number JID, when known."),
            lid: z.string().optional().describe("The revoker's LID, when known."),
          })
          .describe('Who revoked it.'),
        participant: z.string().optional().describe('Groups: the member who revoked it.'),
        author: z.string().optional().describe("Groups: the revoked message's sender, when the revoker named one (an admin revoking a member's message)."),
        revokedAt: z.number().int().describe('When it was revoked, epoch ms.'),
        offline: z.boolean().describe('True when it was held by WhatsApp while the session was offline.'),
      },
    ),
  };
}

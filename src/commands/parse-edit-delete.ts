import type { ErrorCode } from '../util/errors.js';
import { isWorkerError } from '../util/errors.js';
import { isGroupJid, recipientJid } from './recipient.js';

/** A WhatsApp message id as the backend got it (message_sent, message_received): letters and digits, bounded. */
const MESSAGE_ID = /^[A-Za-z0-9]{1,128}$/;
/** Longest text WhatsApp takes in one message (as `send_message`'s `text`). */
export const EDIT_MAX_TEXT = 65_536;

type Refusal = { ok: false; code: ErrorCode; reason: string };
export type EditParse = { ok: true; chat: string; chatJid: string; messageId: string; text: string } | Refusal;
export type DeleteParse = { ok: true; chat: string; chatJid: string; messageId: string; fromMe: boolean; participant: string | undefined } | Refusal;

interface EditDeleteFields {
  chat?: string | undefined;
  messageId?: string | undefined;
  text?: string | undefined;
  fromMe?: boolean | undefined;
  participant?: string | undefined;
}

/** `chat` and `messageId`, shared by both commands: INVALID_COMMAND when missing or not an id, INVALID_RECIPIENT when `chat` is no phone or JID. */
function target(action: string, f: EditDeleteFields): { ok: true; chat: string; chatJid: string; messageId: string } | Refusal {
  if (f.chat === undefined) return { ok: false, code: 'INVALID_COMMAND', reason: `"${action}" needs "chat", the phone or JID of the chat the message is in` };
  const chatJid = jidOf(f.chat, 'chat');
  if (!chatJid.ok) return chatJid;
  if (f.messageId === undefined) return { ok: false, code: 'INVALID_COMMAND', reason: `"${action}" needs "messageId", the WhatsApp id of the message` };
  if (!MESSAGE_ID.test(f.messageId)) {
    return {
      ok: false,
      code: 'INVALID_COMMAND',
      reason: `messageId: "${f.messageId.slice(0, 40)}" is not a WhatsApp message id (letters and digits, 1 to 128)`,
    };
  }
  return { ok: true, chat: f.chat, chatJid: chatJid.jid, messageId: f.messageId };
}

function jidOf(raw: string, field: string): { ok: true; jid: string } | Refusal {
  try {
    return { ok: true, jid: recipientJid(raw) };
  } catch (err) {
    return { ok: false, code: isWorkerError(err) ? err.code : 'INVALID_RECIPIENT', reason: `${field}: ${(err as Error).message.replace(/^"to" /, '')}` };
  }
}

/**
 * The `edit_message` fields (shape-checked by the zod schema) → the chat as given and as a JID,
 * the message id and the new text; or the precise reason it is refused at parse time: `chat`
 * missing (INVALID_COMMAND) or neither a phone nor a JID (INVALID_RECIPIENT), `messageId` missing or
 * not a WhatsApp id (INVALID_COMMAND), `text` missing or blank (INVALID_COMMAND). Whether the message
 * may still be edited is decided when the command runs (NOT_EDITABLE, or WhatsApp's own answer).
 */
export function parseEditMessage(f: EditDeleteFields): EditParse {
  const t = target('edit_message', f);
  if (!t.ok) return t;
  if (f.text === undefined || f.text.trim() === '')
    return { ok: false, code: 'INVALID_COMMAND', reason: '"edit_message" needs "text", the new text (not blank)' };
  return { ...t, text: f.text };
}

/**
 * The `delete_message` fields → what to revoke for everyone; or why not: as `parseEditMessage` for
 * `chat` and `messageId`; `fromMe` false outside a group (WhatsApp lets nobody revoke another
 * person's message in a 1:1 chat) or without `participant`, or `participant` with `fromMe` true
 * (INVALID_COMMAND); a `participant` that is not a person (INVALID_RECIPIENT).
 */
export function parseDeleteMessage(f: EditDeleteFields): DeleteParse {
  const t = target('delete_message', f);
  if (!t.ok) return t;
  const fromMe = f.fromMe ?? true;
  if (fromMe) {
    if (f.participant !== undefined) {
      return { ok: false, code: 'INVALID_COMMAND', reason: '"participant" names the sender of a member\'s message: it goes with "fromMe": false only' };
    }
    return { ...t, fromMe, participant: undefined };
  }
  if (!isGroupJid(t.chatJid)) {
    return {
      ok: false,
      code: 'INVALID_COMMAND',
      reason: '"fromMe": false is only for groups (an admin revoking a member\'s message); in a 1:1 chat only our own messages can be revoked',
    };
  }
  if (f.participant === undefined) {
    return { ok: false, code: 'INVALID_COMMAND', reason: '"fromMe": false needs "participant", the group member who sent the message' };
  }
  const participant = jidOf(f.participant, 'participant');
  if (!participant.ok) return participant;
  if (isGroupJid(participant.jid))
    return { ok: false, code: 'INVALID_RECIPIENT', reason: 'participant: a group member is a person (phone, user JID or LID), not a group' };
  return { ...t, fromMe, participant: participant.jid };
}

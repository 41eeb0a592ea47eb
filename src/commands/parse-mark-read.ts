import type { ErrorCode } from '../util/errors.js';
import { isWorkerError } from '../util/errors.js';
import { isGroupJid, recipientJid } from './recipient.js';
import { phoneField } from './session-identity.js';

/** Most message ids one `mark_read` may carry. */
export const MARK_READ_MAX_IDS = 100;
/** A WhatsApp message id as the backend got it in message_received: letters and digits, bounded. */
const MESSAGE_ID = /^[A-Za-z0-9]{1,128}$/;

type Refusal = { ok: false; code: ErrorCode; reason: string };

export type MarkReadParse =
  | {
      ok: true;
      /** The chat as answered: a phone canonical (`+<E.164 digits>`), or a JID lowercased. */
      chat: string;
      /** The chat WhatsApp routes by: `<digits>@s.whatsapp.net`, `…@lid` or `…@g.us`. */
      chatJid: string;
      /** Exactly one of `messageIds` (each once, in the order given) and `upTo`. */
      messageIds: string[] | undefined;
      upTo: string | undefined;
      /** Groups only: the member who sent the messages (a person's JID), when the backend names one. */
      participant: string | undefined;
    }
  | Refusal;

interface MarkReadFields {
  chat?: string | undefined;
  messageIds?: readonly string[] | undefined;
  upTo?: string | undefined;
  participant?: string | undefined;
}

/**
 * The `mark_read` fields (already shape-checked by the zod schema) → the chat and what to mark
 * read; or the precise reason the command is refused at parse time: `chat` missing
 * (INVALID_COMMAND), a phone that is not one (INVALID_PHONE) or a JID that is not a user, LID or
 * group (INVALID_RECIPIENT); neither or both of `messageIds` and `upTo`, `messageIds` empty, an id
 * that is not a WhatsApp message id (INVALID_COMMAND), more than 100 ids (BATCH_TOO_LARGE);
 * `participant` outside a group (INVALID_COMMAND) or not a person (INVALID_RECIPIENT).
 */
export function parseMarkRead(f: MarkReadFields): MarkReadParse {
  if (f.chat === undefined)
    return { ok: false, code: 'INVALID_COMMAND', reason: '"mark_read" needs "chat", the phone or JID of the chat whose messages were read' };
  const chat = chatOf(f.chat);
  if (!chat.ok) return chat;
  const which = idsOf(f);
  if (!which.ok) return which;
  let participant: string | undefined;
  if (f.participant !== undefined) {
    if (!isGroupJid(chat.value.chatJid)) {
      return {
        ok: false,
        code: 'INVALID_COMMAND',
        reason: '"participant" names the group member who sent the messages: it goes with a group "chat" (…@g.us) only',
      };
    }
    const member = jidOf(f.participant, 'participant');
    if (!member.ok) return member;
    if (isGroupJid(member.jid))
      return { ok: false, code: 'INVALID_RECIPIENT', reason: 'participant: a group member is a person (phone, user JID or LID), not a group' };
    participant = member.jid;
  }
  return { ok: true, ...chat.value, ...which.value, participant };
}

/** A phone (no `@`: kept canonical, as before JIDs were accepted) or a user, LID or group JID. */
function chatOf(raw: string): { ok: true; value: { chat: string; chatJid: string } } | Refusal {
  if (!raw.includes('@')) {
    const phone = phoneField(raw, 'chat');
    if (!phone.ok) return phone;
    return { ok: true, value: { chat: phone.phone, chatJid: `${phone.phone.slice(1)}@s.whatsapp.net` } };
  }
  const jid = jidOf(raw, 'chat');
  return jid.ok ? { ok: true, value: { chat: jid.jid, chatJid: jid.jid } } : jid;
}

function idsOf(f: MarkReadFields): { ok: true; value: { messageIds: string[] | undefined; upTo: string | undefined } } | Refusal {
  const ids = f.messageIds;
  if (ids !== undefined && f.upTo !== undefined) {
    return {
      ok: false,
      code: 'INVALID_COMMAND',
      reason: '"mark_read" takes either "messageIds" (those messages) or "upTo" (every unread message up to that one), not both',
    };
  }
  if (f.upTo !== undefined) {
    if (!MESSAGE_ID.test(f.upTo))
      return { ok: false, code: 'INVALID_COMMAND', reason: `upTo: "${f.upTo.slice(0, 40)}" is not a WhatsApp message id (letters and digits, 1 to 128)` };
    return { ok: true, value: { messageIds: undefined, upTo: f.upTo } };
  }
  if (ids === undefined || ids.length === 0) {
    return {
      ok: false,
      code: 'INVALID_COMMAND',
      reason: '"mark_read" needs "messageIds", a non-empty array of WhatsApp message ids, or "upTo", the id of the last message read',
    };
  }
  if (ids.length > MARK_READ_MAX_IDS) {
    return { ok: false, code: 'BATCH_TOO_LARGE', reason: `"messageIds" has ${ids.length} entries, more than ${MARK_READ_MAX_IDS}; split the batch` };
  }
  for (const [i, id] of ids.entries()) {
    if (!MESSAGE_ID.test(id)) {
      return {
        ok: false,
        code: 'INVALID_COMMAND',
        reason: `messageIds[${i}]: "${id.slice(0, 40)}" is not a WhatsApp message id (letters and digits, 1 to 128)`,
      };
    }
  }
  return { ok: true, value: { messageIds: [...new Set(ids)], upTo: undefined } };
}

function jidOf(raw: string, field: string): { ok: true; jid: string } | Refusal {
  try {
    return { ok: true, jid: recipientJid(raw) };
  } catch (err) {
    return { ok: false, code: isWorkerError(err) ? err.code : 'INVALID_RECIPIENT', reason: `${field}: ${(err as Error).message.replace(/^"to" /, '')}` };
  }
}

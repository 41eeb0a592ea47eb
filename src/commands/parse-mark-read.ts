import type { ErrorCode } from '../util/errors.js';
import { phoneField } from './session-identity.js';

/** Most message ids one `mark_read` may carry. */
export const MARK_READ_MAX_IDS = 100;
/** A WhatsApp message id as the backend got it in message_received: letters and digits, bounded. */
const MESSAGE_ID = /^[A-Za-z0-9]{1,128}$/;

export type MarkReadParse = { ok: true; chat: string; messageIds: string[] } | { ok: false; code: ErrorCode; reason: string };

/**
 * The `mark_read` fields (already shape-checked by the zod schema) → the contact, canonical
 * (`+<E.164 digits>`), and its message ids, each once, in the order given; or the precise reason
 * the command is refused: `chat` missing (INVALID_COMMAND) or not a phone (INVALID_PHONE),
 * `messageIds` missing or empty (INVALID_COMMAND), more than 100 (BATCH_TOO_LARGE), an id that
 * is not a WhatsApp message id (INVALID_COMMAND, naming its index). Runs at parse time.
 */
export function parseMarkRead(f: { chat?: string | undefined; messageIds?: readonly string[] | undefined }): MarkReadParse {
  if (f.chat === undefined)
    return { ok: false, code: 'INVALID_COMMAND', reason: '"mark_read" needs "chat", the phone of the contact whose messages were read' };
  const chat = phoneField(f.chat, 'chat');
  if (!chat.ok) return chat;
  const ids = f.messageIds;
  if (ids === undefined || ids.length === 0) {
    return { ok: false, code: 'INVALID_COMMAND', reason: '"mark_read" needs "messageIds", a non-empty array of WhatsApp message ids' };
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
  return { ok: true, chat: chat.phone, messageIds: [...new Set(ids)] };
}

import type { ErrorCode } from '../util/errors.js';
import { CHAT_PRESENCE_STATES, PRESENCE_STATES, type PresenceState } from './command.js';
import { phoneField } from './session-identity.js';

export type SendPresenceParse = { ok: true; state: PresenceState; chat: string | undefined } | { ok: false; code: ErrorCode; reason: string };

const isPresenceState = (s: string): s is PresenceState => (PRESENCE_STATES as readonly string[]).includes(s);
const isChatState = (s: PresenceState): boolean => (CHAT_PRESENCE_STATES as readonly string[]).includes(s);

/**
 * The `send_presence` fields (already shape-checked by the zod schema) → the state and, for a chat
 * state, the contact (canonical `+<E.164 digits>`); or the precise reason it is refused: `state`
 * missing or not one of the five (INVALID_COMMAND), `chat` missing for composing/recording/paused
 * or given for available/unavailable (INVALID_COMMAND), `chat` not a phone (INVALID_PHONE).
 */
export function parseSendPresence(f: { state?: string | undefined; chat?: string | undefined }): SendPresenceParse {
  if (f.state === undefined || !isPresenceState(f.state)) {
    const what = f.state === undefined ? 'missing' : `"${f.state.slice(0, 32)}"`;
    return { ok: false, code: 'INVALID_COMMAND', reason: `"send_presence" needs "state", one of ${PRESENCE_STATES.join(', ')} (got ${what})` };
  }
  const state = f.state;
  if (!isChatState(state)) {
    if (f.chat !== undefined) {
      return {
        ok: false,
        code: 'INVALID_COMMAND',
        reason: `"${state}" is the account's presence: it takes no "chat" (only composing, recording and paused do)`,
      };
    }
    return { ok: true, state, chat: undefined };
  }
  if (f.chat === undefined) return { ok: false, code: 'INVALID_COMMAND', reason: `"${state}" is a chat state: it needs "chat", the phone of the contact` };
  const chat = phoneField(f.chat, 'chat');
  return chat.ok ? { ok: true, state, chat: chat.phone } : chat;
}

import type { ErrorCode } from '../util/errors.js';
import { phoneDigits, phoneField } from './session-identity.js';

/** A WhatsApp call id as call_received gave it: WhatsApp's are hex; bounded, no separators that could smuggle anything. */
const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** A caller: a user by phone-number JID or LID, without device (groups and devices are not callers). */
const CALLER_JID = /^[0-9]{5,20}@(s\.whatsapp\.net|lid)$/;

export type RejectCallParse = { ok: true; callId: string; from: string } | { ok: false; code: ErrorCode; reason: string };

/**
 * The `reject_call` fields (already shape-checked by the zod schema) → the call id and the
 * caller's JID; or the precise reason it is refused: `callId` missing or not a call id
 * (INVALID_COMMAND), `from` missing (INVALID_COMMAND), a JID that is not a user's PN or LID
 * (INVALID_RECIPIENT), a phone that is not one (INVALID_PHONE). A phone becomes its
 * `…@s.whatsapp.net` JID.
 */
export function parseRejectCall(f: { callId?: string | undefined; from?: string | undefined }): RejectCallParse {
  if (f.callId === undefined) return { ok: false, code: 'INVALID_COMMAND', reason: '"reject_call" needs "callId", the callId of its call_received' };
  if (!CALL_ID.test(f.callId)) {
    return { ok: false, code: 'INVALID_COMMAND', reason: `callId: "${f.callId.slice(0, 40)}" is not a call id (letters, digits, - and _, 1 to 128)` };
  }
  if (f.from === undefined) return { ok: false, code: 'INVALID_COMMAND', reason: '"reject_call" needs "from", the caller as call_received gave it' };
  if (f.from.includes('@')) {
    const jid = f.from.trim().toLowerCase();
    if (!CALLER_JID.test(jid)) {
      return { ok: false, code: 'INVALID_RECIPIENT', reason: `from: "${f.from.slice(0, 60)}" is not a caller's JID (…@s.whatsapp.net or …@lid, no device)` };
    }
    return { ok: true, callId: f.callId, from: jid };
  }
  const phone = phoneField(f.from, 'from');
  if (!phone.ok) return phone;
  return { ok: true, callId: f.callId, from: `${phoneDigits(phone.phone)}@s.whatsapp.net` };
}

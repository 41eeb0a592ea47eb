import { jidNormalizedUser, type WACallEvent } from '@whiskeysockets/baileys';
import type { IncomingCall } from './types.js';

/** WhatsApp's call ids are hex; anything else (or longer) is not passed on. */
const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** A user JID, possibly with its device: what `call-creator` / `from` carry. */
const USER_JID = /^[0-9]{5,20}(:[0-9]{1,4})?@(s\.whatsapp\.net|lid)$/;

/**
 * One Baileys `call` event → an `IncomingCall`, or undefined for what the worker does not report
 * (ringing, accept, reject, transport… steps) and for anything malformed: every field comes from
 * the caller's side of WhatsApp and is checked (id, JIDs, time).
 */
export function toIncomingCall(call: WACallEvent): IncomingCall | undefined {
  if (call.status !== 'offer' && call.status !== 'timeout' && call.status !== 'terminate') return undefined;
  if (typeof call.id !== 'string' || !CALL_ID.test(call.id)) return undefined;
  const callerJid = typeof call.from === 'string' ? call.from : '';
  if (!USER_JID.test(callerJid)) return undefined;
  const from: IncomingCall['from'] = {};
  const caller = jidNormalizedUser(callerJid);
  if (caller.endsWith('@lid')) from.lid = caller;
  else from.pn = caller;
  if (typeof call.callerPn === 'string' && USER_JID.test(call.callerPn) && call.callerPn.endsWith('@s.whatsapp.net'))
    from.pn = jidNormalizedUser(call.callerPn);
  const t = call.date instanceof Date ? call.date.getTime() : NaN;
  return {
    id: call.id,
    status: call.status,
    from,
    callerJid,
    isVideo: call.isVideo === true,
    isGroup: call.isGroup === true,
    at: Number.isFinite(t) && t > 0 ? t : Date.now(),
    offline: call.offline === true,
  };
}

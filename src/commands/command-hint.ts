import { normalisePhone, parseSessionId, sessionIdFor } from './session-identity.js';

/** Whatever could be salvaged from a bad command, so the rejection can be addressed. */
export interface CommandHint {
  action?: string;
  numberId?: number;
  sessionId?: string;
  workerId?: string;
  requestId?: string;
}

/**
 * Best effort, never trusted for execution: only to address a rejection. `correlationId` is the
 * AMQP message's, the request id when the body names none.
 */
export function salvageHint(obj: Record<string, unknown>, correlationId: string | undefined): CommandHint {
  const data = typeof obj.data === 'object' && obj.data !== null ? (obj.data as Record<string, unknown>) : {};
  const get = (k: string) => data[k] ?? obj[k];
  const hint: CommandHint = {};
  const action = obj.action ?? data.action;
  if (typeof action === 'string') hint.action = action.slice(0, 64);
  const numberId = get('numberId') ?? (typeof obj.sessionId === 'number' ? obj.sessionId : undefined);
  if (typeof numberId === 'number' && Number.isSafeInteger(numberId) && numberId >= 0) hint.numberId = numberId;
  else if (typeof numberId === 'string' && /^[0-9]{1,15}$/.test(numberId)) hint.numberId = Number(numberId);
  const workerId = get('workerId');
  if ((typeof workerId === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(workerId)) || typeof workerId === 'number') hint.workerId = String(workerId);
  const requestId = get('requestId') ?? correlationId;
  if (typeof requestId === 'string' && requestId.length <= 200) hint.requestId = requestId;
  for (const s of [obj.sessionId, data.sessionId]) {
    const ours = typeof s === 'string' ? parseSessionId(s) : undefined;
    if (ours && hint.sessionId === undefined) hint.sessionId = sessionIdFor(ours.numberId, ours.phoneNumber);
  }
  const phone = get('phoneNumber');
  if (!hint.sessionId && hint.numberId !== undefined && typeof phone === 'string') {
    try {
      hint.sessionId = sessionIdFor(hint.numberId, normalisePhone(phone));
    } catch {
      /* an invalid phone leaves the session unidentified */
    }
  }
  return hint;
}

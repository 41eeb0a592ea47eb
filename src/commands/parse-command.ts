import type { ZodError } from 'zod';
import { WorkerError, type ErrorCode } from '../util/errors.js';
import { COMMAND_ACTIONS, type Command } from './command.js';
import { commandMessageSchema } from './command-schema.js';
import { normalisePhone, parseSessionId, sessionIdFor } from './session-identity.js';
import { EVENT_ACTIONS, MESSAGE_EVENT_ACTIONS } from '../events/catalogue.js';
import { parseOutgoingMessage } from './parse-send-message.js';

/** What we know of an AMQP message besides its body. */
export interface MessageMeta {
  contentType?: string | undefined;
  correlationId?: string | undefined;
}

/** Whatever could be salvaged from a bad command, so the rejection can be addressed. */
export interface CommandHint {
  action?: string;
  numberId?: number;
  sessionId?: string;
  workerId?: string;
  requestId?: string;
}

export type ParseResult =
  | { ok: true; command: Command }
  | { ok: false; code: ErrorCode; reason: string; hint: CommandHint };

const JAVA_STREAM_MAGIC = Buffer.from([0xac, 0xed]);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const fail = (code: ErrorCode, reason: string, hint: CommandHint = {}): ParseResult => ({ ok: false, code, reason, hint });

/**
 * Body bytes → a normalised command, or the precise reason it is not one. Never throws.
 * JSON is read whatever the content type (Spring's default converter says text/plain or
 * nothing at all); a Java-serialized body gets a reason that tells the backend what to fix.
 */
export function parseCommand(body: Buffer, meta: MessageMeta, limits: { maxBytes: number; maxMediaBytes?: number }): ParseResult {
  if (body.length > limits.maxBytes) {
    return fail('PAYLOAD_TOO_LARGE', `payload of ${body.length} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes})`);
  }
  if (meta.contentType === 'application/x-java-serialized-object' || body.subarray(0, 2).equals(JAVA_STREAM_MAGIC)) {
    return fail(
      'JAVA_SERIALIZED',
      'payload is a Java-serialized object; configure the backend\'s RabbitTemplate with a JSON message converter ' +
        '(rabbitTemplate.setMessageConverter(new Jackson2JsonMessageConverter())) or send a JSON string',
    );
  }

  let value: unknown;
  const text = body.toString('utf8');
  try {
    value = JSON.parse(text, rejectForbiddenKeys);
  } catch (err) {
    if (err instanceof WorkerError) return fail(err.code, err.message, hintDespiteForbiddenKeys(text, meta));
    return fail('INVALID_JSON', `payload is not valid JSON: ${(err as Error).message}`);
  }
  // A String sent through Jackson arrives JSON-encoded twice ("{\"action\":…}"): unwrap once.
  if (typeof value === 'string' && /^\s*\{/.test(value)) {
    try {
      value = JSON.parse(value, rejectForbiddenKeys);
    } catch (err) {
      if (err instanceof WorkerError) return fail(err.code, err.message);
      return fail('INVALID_JSON', 'payload is a JSON string that does not contain a JSON object');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('INVALID_COMMAND', 'payload must be a JSON object');
  }

  const hint = salvageHint(value as Record<string, unknown>, meta);
  const action = hint.action;
  if (typeof action !== 'string') return fail('INVALID_COMMAND', 'missing "action"', hint);
  if (!(COMMAND_ACTIONS as readonly string[]).includes(action)) {
    if ((EVENT_ACTIONS as readonly string[]).includes(action) || (MESSAGE_EVENT_ACTIONS as readonly string[]).includes(action)) {
      return fail('MISROUTED_EVENT', `"${action}" is an event, not a command: the events queue must not be the command queue`, hint);
    }
    return fail('UNKNOWN_ACTION', `unknown action "${action.slice(0, 64)}"; expected one of ${COMMAND_ACTIONS.join(', ')}`, hint);
  }

  const parsed = commandMessageSchema.safeParse(value);
  if (!parsed.success) return fail('INVALID_COMMAND', describeZodError(parsed.error), hint);
  const msg = parsed.data;
  const data = msg.data ?? {};
  const pick = <K extends 'numberId' | 'phoneNumber' | 'workerId' | 'requestId' | 'timestamp'>(k: K) => data[k] ?? msg[k];

  // `sessionId` is overloaded by the backend: a number at the top level is the numberId; a
  // string is either our `session_<numberId>_<phone>` or the backend's own reference.
  const sessionRefs = [data.sessionId, msg.sessionId];
  const ours = sessionRefs.find((s): s is string => typeof s === 'string' && parseSessionId(s) !== undefined);
  const fromOurs = ours ? parseSessionId(ours) : undefined;
  const backendSessionId = sessionRefs.find((s): s is string => typeof s === 'string' && s !== ours);
  const numericSession = sessionRefs.find((s): s is number => typeof s === 'number');

  const numberId = pick('numberId') ?? fromOurs?.numberId ?? numericSession;
  if (numberId === undefined) return fail('INVALID_COMMAND', 'missing "numberId" (top level or in "data")', hint);

  let phoneNumber: string | undefined;
  const rawPhone = pick('phoneNumber');
  try {
    phoneNumber = rawPhone !== undefined ? normalisePhone(rawPhone) : fromOurs?.phoneNumber;
  } catch (err) {
    return fail('INVALID_PHONE', (err as Error).message, { ...hint, numberId });
  }
  if (fromOurs && fromOurs.numberId !== numberId) {
    return fail('INVALID_COMMAND', `sessionId "${ours}" does not belong to numberId ${numberId}`, hint);
  }
  if (!phoneNumber && (msg.action === 'create' || msg.action === 'request_pairing_code')) {
    return fail('INVALID_COMMAND', `"${msg.action}" needs "phoneNumber"`, { ...hint, numberId });
  }

  const timestamp = pick('timestamp');
  const base = {
    numberId,
    phoneNumber,
    sessionId: phoneNumber ? sessionIdFor(numberId, phoneNumber) : undefined,
    workerId: pick('workerId'),
    requestId: pick('requestId') ?? meta.correlationId,
    backendSessionId,
    issuedAt: typeof timestamp === 'number' ? timestamp : timestamp !== undefined && !Number.isNaN(Date.parse(timestamp)) ? Date.parse(timestamp) : undefined,
  };
  if (msg.action === 'send_message') {
    const fullHint = { ...hint, numberId, ...(base.sessionId ? { sessionId: base.sessionId } : {}) };
    if (!base.requestId) {
      return fail('INVALID_COMMAND', '"send_message" needs "requestId" (or an AMQP correlation_id): it is what keeps a redelivered send from being sent twice', fullHint);
    }
    const out = parseOutgoingMessage({ ...msg, ...data }, { maxMediaBytes: limits.maxMediaBytes ?? DEFAULT_MAX_MEDIA_BYTES });
    if (!out.ok) return fail(out.code, out.reason, fullHint);
    return { ok: true, command: { ...base, action: 'send_message', requestId: base.requestId, ...out.value } };
  }
  const handoverTo = data.handoverTo ?? msg.handoverTo;
  return { ok: true, command: { ...base, action: msg.action, ...(handoverTo !== undefined ? { handoverTo } : {}) } };
}

const DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024;

function rejectForbiddenKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new WorkerError('FORBIDDEN_KEY', `payload contains the forbidden key "${key}"`);
  return value;
}

/**
 * A payload with a forbidden key is refused, but the backend still deserves to hear why: plain
 * JSON.parse defines `__proto__` as an own property (it pollutes nothing), and only named,
 * validated fields are read from the result.
 */
function hintDespiteForbiddenKeys(text: string, meta: MessageMeta): CommandHint {
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? salvageHint(value as Record<string, unknown>, meta) : {};
}

/** Best effort, never trusted for execution: only to address a rejection. */
function salvageHint(obj: Record<string, unknown>, meta: MessageMeta): CommandHint {
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
  const requestId = get('requestId') ?? meta.correlationId;
  if (typeof requestId === 'string' && requestId.length <= 200) hint.requestId = requestId;
  for (const s of [data.sessionId, obj.sessionId]) if (typeof s === 'string' && parseSessionId(s)) hint.sessionId = s;
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

function describeZodError(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

import type { ZodError } from 'zod';
import type { ErrorCode } from '../util/errors.js';
import { COMMAND_ACTIONS, type Command } from './command.js';
import { commandMessageSchema } from './command-schema.js';
import { normalisePhone, parseSessionId, sessionIdFor } from './session-identity.js';
import { scanJson, walkJson } from './bounded-json.js';
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

/**
 * What a command may cost. Only `maxBytes` is required (so that older callers compile); an
 * omitted check is off, except the depth guard, which defaults to DEFAULT_MAX_DEPTH.
 */
export interface ParseLimits {
  /** COMMAND_MAX_BYTES: the largest command, not counting the `base64` media of a send_message. */
  maxBytes: number;
  /** MEDIA_MAX_BYTES: the largest decoded `base64` media (default 16 MiB). */
  maxMediaBytes?: number | undefined;
  /** COMMAND_MAX_DEPTH: the deepest nesting of objects and arrays (default 32). */
  maxDepth?: number | undefined;
  /** COMMAND_MAX_AGE_MS: a command whose timestamp is older is STALE; 0 or undefined: no limit. */
  maxAgeMs?: number | undefined;
  /** COMMAND_MAX_CLOCK_SKEW_MS: a command whose timestamp lies further in the future is STALE; undefined: no limit. */
  maxClockSkewMs?: number | undefined;
  /** The clock staleness is judged by (tests). */
  now?: (() => number) | undefined;
}

const JAVA_STREAM_MAGIC = Buffer.from([0xac, 0xed]);
const DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 32;
/** Room for what wraps the base64 of a send_message: a `data:<mime>;base64,` prefix, padding. */
const MEDIA_ENVELOPE_BYTES = 4096;
/**
 * Keys plus elements a command may hold. A real command has a few dozen; the size limit
 * already bounds this, the cap bounds the walk whatever COMMAND_MAX_BYTES is set to.
 */
const MAX_JSON_VALUES = 100_000;
/** Below this a numeric timestamp is in seconds: as milliseconds it would predate September 2001. */
const SECONDS_BELOW = 1e12;

const fail = (code: ErrorCode, reason: string, hint: CommandHint = {}): ParseResult => ({ ok: false, code, reason, hint });

/**
 * Body bytes → a normalised command, or the precise reason it is not one. Never throws.
 * JSON is read whatever the content type (Spring's default converter says text/plain or
 * nothing at all); a Java-serialized body gets a reason that tells the backend what to fix.
 *
 * The cost is bounded before anything expensive runs: the size is checked first (a body over
 * `maxBytes` is read only when it is a send_message carrying `base64` media, and then only when
 * everything but the media fits in `maxBytes`), the nesting depth by a linear scan, and the body
 * is parsed once, by a plain `JSON.parse`; forbidden keys are found by a bounded walk of the
 * result, which is also what the hint of a refused command is read from.
 */
export function parseCommand(body: Buffer, meta: MessageMeta, limits: ParseLimits): ParseResult {
  const maxMediaBytes = limits.maxMediaBytes ?? DEFAULT_MAX_MEDIA_BYTES;
  const mediaAllowance = Math.ceil((maxMediaBytes * 4) / 3) + MEDIA_ENVELOPE_BYTES;
  if (body.length > limits.maxBytes + mediaAllowance) {
    return fail('PAYLOAD_TOO_LARGE', `payload of ${body.length} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}) plus the base64 of MEDIA_MAX_BYTES (${maxMediaBytes})`);
  }
  if (body.length > limits.maxBytes && body.indexOf('"base64') === -1) {
    // Cheap, before anything else: only a body that mentions base64 media may be this large
    // (`"base64` also finds the key of a command encoded twice, `\\"base64\\"`).
    return fail('PAYLOAD_TOO_LARGE', `payload of ${body.length} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}) and carries no "base64" media`);
  }
  if (meta.contentType === 'application/x-java-serialized-object' || body.subarray(0, 2).equals(JAVA_STREAM_MAGIC)) {
    return fail(
      'JAVA_SERIALIZED',
      'payload is a Java-serialized object; configure the backend\'s RabbitTemplate with a JSON message converter ' +
        '(rabbitTemplate.setMessageConverter(new Jackson2JsonMessageConverter())) or send a JSON string',
    );
  }

  const decoded = decodeJson(body.toString('utf8'), body.length, limits, maxMediaBytes, true);
  if (!decoded.ok) {
    const { value } = decoded;
    const hint = typeof value === 'object' && value !== null && !Array.isArray(value) ? salvageHint(value as Record<string, unknown>, meta) : {};
    return fail(decoded.code, decoded.reason, hint);
  }
  const value = decoded.value;
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

  const timestamp = readTimestamp(pick('timestamp'));
  const base = {
    numberId,
    phoneNumber,
    sessionId: phoneNumber ? sessionIdFor(numberId, phoneNumber) : undefined,
    workerId: pick('workerId'),
    requestId: pick('requestId') ?? meta.correlationId,
    backendSessionId,
    issuedAt: timestamp?.at,
  };
  if (timestamp?.checkable) {
    const stale = staleness(timestamp.at, limits);
    if (stale) {
      return fail('STALE', stale, { ...hint, numberId, ...(base.sessionId ? { sessionId: base.sessionId } : {}), ...(base.requestId ? { requestId: base.requestId } : {}) });
    }
  }
  if (msg.action === 'send_message') {
    const fullHint = { ...hint, numberId, ...(base.sessionId ? { sessionId: base.sessionId } : {}) };
    if (!base.requestId) {
      return fail('INVALID_COMMAND', '"send_message" needs "requestId" (or an AMQP correlation_id): it is what keeps a redelivered send from being sent twice', fullHint);
    }
    const out = parseOutgoingMessage({ ...msg, ...data }, { maxMediaBytes });
    if (!out.ok) return fail(out.code, out.reason, fullHint);
    return { ok: true, command: { ...base, action: 'send_message', requestId: base.requestId, ...out.value } };
  }
  const handoverTo = data.handoverTo ?? msg.handoverTo;
  return { ok: true, command: { ...base, action: msg.action, ...(handoverTo !== undefined ? { handoverTo } : {}) } };
}

type Decoded = { ok: true; value: unknown } | { ok: false; code: ErrorCode; reason: string; value?: unknown };

/**
 * Text → a JSON value, through the guards: size (the media allowance), depth, one plain parse,
 * the walk. A JSON string holding a JSON object (a String sent through Jackson arrives encoded
 * twice, `"{\\"action\\":…}"`) is unwrapped once, and its contents go through the same guards.
 * `size` is what is compared with the limits: the body's bytes, or the inner text's length.
 */
function decodeJson(text: string, size: number, limits: ParseLimits, maxMediaBytes: number, outer: boolean): Decoded {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  // The total was checked on the body (an inner text is never longer than its body).
  const large = size > limits.maxBytes;
  // A large body may hold at most maxBytes outside its base64 media: the scan stops there.
  const scan = scanJson(text, maxDepth, large ? limits.maxBytes : Infinity);
  if (!scan.ok && scan.kind === 'too-deep') {
    return { ok: false, code: 'INVALID_JSON', reason: `payload nesting too deep: more than ${maxDepth} levels of objects and arrays (COMMAND_MAX_DEPTH), at offset ${scan.offset}` };
  }
  if (!scan.ok) {
    return { ok: false, code: 'PAYLOAD_TOO_LARGE', reason: `payload of ${size} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}) and more than that lies outside its "base64" media` };
  }
  if (large && !(outer && scan.isString) && size - scan.base64ValueLength > limits.maxBytes) {
    return { ok: false, code: 'PAYLOAD_TOO_LARGE', reason: tooLargeApartFromMedia(size, scan.base64ValueLength, limits.maxBytes) };
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = (err as Error).message;
    return { ok: false, code: 'INVALID_JSON', reason: outer ? `payload is not valid JSON: ${why}` : `payload is a JSON string that does not hold valid JSON: ${why}` };
  }
  if (typeof value === 'string') {
    if (outer && /^\s*\{/.test(value)) return decodeJson(value, value.length, limits, maxMediaBytes, false);
    if (!outer) return { ok: false, code: 'INVALID_JSON', reason: 'payload is a JSON string that does not contain a JSON object' };
  }

  const walk = walkJson(value, MAX_JSON_VALUES);
  if (!walk.ok) {
    return walk.kind === 'forbidden-key'
      ? { ok: false, code: 'FORBIDDEN_KEY', reason: `payload contains the forbidden key "${walk.key}" (at ${walk.path.slice(0, 100)})`, value }
      : { ok: false, code: 'INVALID_COMMAND', reason: `payload holds more than ${walk.limit} JSON values`, value };
  }
  if (large) {
    // The scan saw a large "base64" somewhere; it must be THE media of a send_message.
    const media = effectiveBase64(value);
    if (media === undefined) {
      return { ok: false, code: 'PAYLOAD_TOO_LARGE', reason: `payload of ${size} bytes exceeds COMMAND_MAX_BYTES (${limits.maxBytes}); only a send_message carrying "base64" media may be larger`, value };
    }
    if (size - media.length > limits.maxBytes) return { ok: false, code: 'PAYLOAD_TOO_LARGE', reason: tooLargeApartFromMedia(size, media.length, limits.maxBytes), value };
  }
  return { ok: true, value };
}

/** The `base64` a send_message would send (`data` wins over the top level, as in parseCommand), if it is one. */
function effectiveBase64(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const obj = value as Record<string, unknown>;
  if (obj.action !== 'send_message') return undefined;
  const data = typeof obj.data === 'object' && obj.data !== null && !Array.isArray(obj.data) ? (obj.data as Record<string, unknown>) : undefined;
  const media = data && Object.hasOwn(data, 'base64') ? data.base64 : Object.hasOwn(obj, 'base64') ? obj.base64 : undefined;
  return typeof media === 'string' ? media : undefined;
}

function tooLargeApartFromMedia(size: number, mediaLength: number, maxBytes: number): string {
  return `payload of ${size} bytes is ${size - mediaLength} bytes apart from its "base64" media, more than COMMAND_MAX_BYTES (${maxBytes})`;
}

/**
 * The command's `timestamp` as epoch milliseconds, and whether staleness may be judged by it.
 *  - A number is epoch milliseconds, or epoch SECONDS when below 1e12 (as milliseconds that
 *    would be before September 2001; as seconds, 1e12 is 31,000 years away): Jackson writes a
 *    java.time.Instant as decimal seconds (`1733396400.123456789`) by default, a `long` of
 *    System.currentTimeMillis() as milliseconds. 0 is "not set" (a Java long left at its default).
 *  - A string of digits is read as a number. An ISO 8601 date-time WITH an offset or `Z` is an
 *    instant. Any other date string (a LocalDateTime without offset, "Thu, 05 Dec 2024 …") still
 *    gives `issuedAt` as Date.parse reads it, but is not judged: its instant depends on a time
 *    zone the worker cannot know, and a wrong guess would refuse every command.
 */
function readTimestamp(raw: number | string | undefined): { at: number; checkable: boolean } | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && /^\s*-?[0-9]+(\.[0-9]+)?\s*$/.test(raw)) raw = Number(raw);
  if (typeof raw === 'number') {
    if (raw === 0 || !Number.isFinite(raw)) return undefined;
    return { at: Math.abs(raw) < SECONDS_BELOW ? Math.round(raw * 1000) : raw, checkable: true };
  }
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return { at, checkable: /^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)\s*$/i.test(raw) };
}

/** Why a command issued at `at` is too old or too far in the future; undefined when it is neither. */
function staleness(at: number, limits: ParseLimits): string | undefined {
  const now = (limits.now ?? Date.now)();
  const age = now - at;
  const when = Math.abs(at) <= 8.64e15 ? ` (timestamp ${new Date(at).toISOString()})` : '';
  if (limits.maxAgeMs !== undefined && limits.maxAgeMs > 0 && age > limits.maxAgeMs) {
    return `command issued ${formatDuration(age)} ago${when}, older than COMMAND_MAX_AGE_MS (${formatDuration(limits.maxAgeMs)})`;
  }
  if (limits.maxClockSkewMs !== undefined && -age > limits.maxClockSkewMs) {
    return `command issued ${formatDuration(-age)} in the future${when}, more than COMMAND_MAX_CLOCK_SKEW_MS (${formatDuration(limits.maxClockSkewMs)}) allows`;
  }
  return undefined;
}

/** `1 h 2 min 3 s`, `450 ms`; days beyond a day. */
function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms > 1e15) return `${ms} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const parts: string[] = [];
  let s = Math.floor(ms / 1000);
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['min', 60], ['s', 1]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 3).join(' ');
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

function describeZodError(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

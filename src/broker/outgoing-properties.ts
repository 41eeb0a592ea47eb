import { randomUUID } from 'node:crypto';
import type { Delivery, PublishOptions } from './types.js';

/**
 * The AMQP properties of everything the worker re-publishes (forwards, dead-letters) and sends to
 * another worker. Built from an allow-list of fields WE own, each validated and bounded: never the
 * sender's properties wholesale. A header amqplib decodes but cannot encode again (a 70 KB value,
 * a `timestamp` of 2^64−1), an `expiration`, a `user_id`, a forged `x-death`: none of it is copied,
 * so no incoming message can make a publish of ours fail, or be refused by the broker.
 */

export const MAX_ID_LENGTH = 200;
export const MAX_REASON_LENGTH = 1000;
export const MAX_TRACESTATE_LENGTH = 512;
/** `x-forward-hops` above this is read as this (it only ever needs to tell "a few" from "a loop"). */
export const MAX_FORWARD_HOPS = 255;

/** What is read of an incoming delivery. */
export type IncomingProperties = Pick<Delivery, 'messageId' | 'correlationId' | 'type' | 'contentType' | 'headers'>;

// An AMQP shortstr holds at most 255 bytes; ids are also bounded in characters and free of control characters.
const TYPE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const TOKEN = '[A-Za-z0-9!#$&^_.+-]{1,64}';
// type/subtype, then `; name=value` parameters (a token, or a quoted string of printable ASCII).
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \t]*;[ \t]*${TOKEN}=(?:${TOKEN}|"[ !#-\\[\\]-~]{0,64}"))*$`);
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const DECIMAL = /^\d{1,6}$/;

function boundedString(value: unknown, maxChars: number, maxBytes = 255): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxChars) return undefined;
  if (hasControlCharacter(value) || Buffer.byteLength(value, 'utf8') > maxBytes) return undefined;
  return value;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** A message or correlation id we can pass on: a string of at most 200 characters (and 255 bytes). */
export function safeId(value: unknown): string | undefined {
  return boundedString(value, MAX_ID_LENGTH);
}

export function safeType(value: unknown): string | undefined {
  return typeof value === 'string' && TYPE.test(value) ? value : undefined;
}

/** A MIME type (`type/subtype`, optional short parameters), at most 128 characters. */
export function safeContentType(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 128 && CONTENT_TYPE.test(value) ? value : undefined;
}

/** Cuts a string to at most `max` characters (whole code points), marking the cut with "…". */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let out = '';
  for (const p of value) {
    if (out.length + p.length > max - 1) break;
    out += p;
  }
  return `${out}…`;
}

/** Own (not inherited: a `__proto__` header table must not smuggle values in) header, or undefined. */
function header(headers: Record<string, unknown> | undefined, name: string): unknown {
  return headers && Object.hasOwn(headers, name) ? headers[name] : undefined;
}

/**
 * How many times this command was already moved from worker to worker (`x-forward-hops`): a
 * non-negative integer (a number, or a short decimal string), capped at MAX_FORWARD_HOPS; 0 when
 * absent or not a valid count.
 */
export function forwardHops(delivery: Pick<Delivery, 'headers'>): number {
  const raw = header(delivery.headers, 'x-forward-hops');
  let n: number | undefined;
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) n = raw;
  else if (typeof raw === 'string' && DECIMAL.test(raw)) n = Number(raw);
  return n === undefined ? 0 : Math.min(n, MAX_FORWARD_HOPS);
}

/** The W3C trace context, when well formed: the only sender headers we pass on. */
function traceHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const traceparent = header(headers, 'traceparent');
  if (typeof traceparent === 'string' && TRACEPARENT.test(traceparent)) {
    out.traceparent = traceparent;
    const tracestate = header(headers, 'tracestate');
    if (typeof tracestate === 'string' && tracestate.length <= MAX_TRACESTATE_LENGTH && PRINTABLE_ASCII.test(tracestate)) out.tracestate = tracestate;
  }
  return out;
}

/** Where a command has been: `x-forwarded-by` (a worker id) and `x-forward-hops`, as received. */
function routeHeaders(headers: Record<string, unknown> | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const by = boundedString(header(headers, 'x-forwarded-by'), MAX_ID_LENGTH);
  if (by !== undefined) out['x-forwarded-by'] = by;
  const hops = forwardHops({ headers: headers ?? {} });
  if (hops > 0) out['x-forward-hops'] = hops;
  return out;
}

const freshId = (prefix: string) => `${prefix}-${randomUUID()}`;

/** Set on a command moved to the worker that drives its session; its value is that worker's id. */
export const FORWARDED_TO_OWNER_HEADER = 'x-forwarded-to-owner';

/** The worker a command was moved to as the session's driver (`x-forwarded-to-owner`), if well formed. */
export function forwardedToOwnerOf(delivery: Pick<Delivery, 'headers'>): string | undefined {
  return boundedString(header(delivery.headers, FORWARDED_TO_OWNER_HEADER), MAX_ID_LENGTH);
}

/**
 * A command moved, unchanged, onto another worker's queue. `toOwner`: the id of the worker it is
 * moved to because that worker drives the session (it then executes it whoever the body names).
 */
export function forwardProperties(delivery: IncomingProperties, opts: { forwardedBy: string; action: string; toOwner?: string | undefined }): PublishOptions {
  return {
    messageId: safeId(delivery.messageId) ?? freshId('fwd'),
    type: safeType(delivery.type) ?? safeType(opts.action) ?? 'command',
    contentType: safeContentType(delivery.contentType) ?? 'application/json',
    correlationId: safeId(delivery.correlationId),
    headers: {
      ...traceHeaders(delivery.headers),
      'x-forwarded-by': opts.forwardedBy,
      'x-forward-hops': Math.min(forwardHops(delivery) + 1, MAX_FORWARD_HOPS),
      ...(opts.toOwner !== undefined ? { [FORWARDED_TO_OWNER_HEADER]: opts.toOwner } : {}),
    },
  };
}

/** A command this worker sends to another (`release`). */
export function commandProperties(opts: {
  messageId: string;
  action: string;
  correlationId: string | undefined;
  sentBy: string;
  userId: string;
}): PublishOptions {
  return {
    messageId: safeId(opts.messageId) ?? freshId('cmd'),
    type: safeType(opts.action) ?? 'command',
    contentType: 'application/json',
    correlationId: safeId(opts.correlationId),
    headers: { 'x-sent-by': opts.sentBy },
    userId: opts.userId,
  };
}

export interface DeadLetterReason {
  code: string;
  reason: string;
  originalQueue: string;
  now?: Date;
}

function errorHeaders(why: Pick<DeadLetterReason, 'code' | 'reason'>): Record<string, string> {
  return {
    'x-error-code': ERROR_CODE.test(why.code) ? why.code : 'INTERNAL',
    'x-error-reason': truncate(why.reason, MAX_REASON_LENGTH),
  };
}

/** A message moved to the dead-letter queue: its ids and trace context if sound, and why it is there. */
export function deadLetterProperties(delivery: IncomingProperties, why: DeadLetterReason): PublishOptions {
  return {
    messageId: safeId(delivery.messageId) ?? freshId('dlq'),
    type: safeType(delivery.type) ?? 'dead-letter',
    contentType: safeContentType(delivery.contentType) ?? 'application/octet-stream',
    correlationId: safeId(delivery.correlationId),
    headers: {
      ...traceHeaders(delivery.headers),
      ...routeHeaders(delivery.headers),
      ...errorHeaders(why),
      'x-original-queue': why.originalQueue,
      'x-dead-lettered-at': (why.now ?? new Date()).toISOString(),
    },
  };
}

/** The last resort when even `deadLetterProperties` could not be published: nothing of the sender's. */
export function bareDeadLetterProperties(why: Pick<DeadLetterReason, 'code' | 'reason'>): PublishOptions {
  return {
    messageId: freshId('dlq'),
    type: 'dead-letter',
    contentType: 'application/octet-stream',
    headers: errorHeaders(why),
  };
}

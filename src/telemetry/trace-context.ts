import { ROOT_CONTEXT, trace, TraceFlags, type Context, type SpanContext, type TextMapGetter } from '@opentelemetry/api';
import { parseTraceParent, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { TraceRef } from './types.js';

/**
 * The W3C trace context in AMQP headers, read as hostile input: only own string headers of a
 * bounded size are looked at (a `__proto__` table, a 1 MB value, a number or a byte array are
 * not), and a malformed value is ignored by the propagator, which then starts a new trace.
 */
const MAX_TRACEPARENT_LENGTH = 128;
const MAX_TRACESTATE_LENGTH = 512;

const propagator = new W3CTraceContextPropagator();

function ownString(headers: Record<string, unknown>, name: string, max: number): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  return typeof value === 'string' && value.length <= max ? value : undefined;
}

const getter: TextMapGetter<Record<string, unknown>> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (headers, key) => {
    if (key === 'traceparent') return ownString(headers, key, MAX_TRACEPARENT_LENGTH);
    if (key === 'tracestate') return ownString(headers, key, MAX_TRACESTATE_LENGTH);
    return undefined;
  },
};

/** The context the headers continue, or the root context (a new trace) when they carry none that is valid. */
export function extractContext(headers: Record<string, unknown> | undefined): Context {
  if (!headers || typeof headers !== 'object') return ROOT_CONTEXT;
  try {
    return propagator.extract(ROOT_CONTEXT, headers, getter);
  } catch {
    return ROOT_CONTEXT;
  }
}

/** Writes `traceparent` / `tracestate` of `ctx`'s span into `headers` (nothing when it has none). */
export function injectContext(ctx: Context, headers: Record<string, unknown>): void {
  propagator.inject(ctx, headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
}

/** `00-<trace id>-<span id>-<flags>`: the span context as a W3C traceparent. */
export function formatTraceparent(sc: SpanContext): TraceRef {
  return `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & TraceFlags.SAMPLED).toString(16)}` as TraceRef;
}

/** The context a kept `TraceRef` stands for (the root context if it does not parse). */
export function contextOf(ref: TraceRef): Context {
  const sc = parseTraceParent(ref);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, { ...sc, isRemote: true }) : ROOT_CONTEXT;
}

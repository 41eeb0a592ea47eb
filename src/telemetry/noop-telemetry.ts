import type { Metrics, SpanHandle, Telemetry } from './types.js';

const noSpan: SpanHandle = { setAttributes: () => undefined, fail: () => undefined };

const noMetrics: Metrics = {
  commandSettled: () => undefined,
  eventPublished: () => undefined,
  duration: () => undefined,
  disconnect: () => undefined,
  storageOperation: () => undefined,
  observe: () => undefined,
};

/**
 * Telemetry when no OTLP endpoint is configured: every call runs the work as it is and records
 * nothing. No OpenTelemetry object is created, so it costs a function call per span.
 */
export const noopTelemetry: Telemetry = {
  enabled: false,
  consume: (_name, _headers, _attributes, fn) => fn(noSpan),
  span: (_name, _attributes, fn) => fn(noSpan),
  inject: () => undefined,
  current: () => undefined,
  detached: (fn) => fn(),
  metrics: noMetrics,
  shutdown: () => Promise.resolve(),
};

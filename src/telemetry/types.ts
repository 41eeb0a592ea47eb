/**
 * The telemetry boundary as the rest of the worker sees it: spans around the work a command or an
 * incoming message causes, the W3C trace context carried in AMQP headers, and named metric
 * instruments. Nothing here names OpenTelemetry: the core depends on this interface only, and a
 * worker without OTLP configured runs the no-op (`noop-telemetry.ts`), which creates nothing.
 */

export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** A span being recorded: attributes added while it runs (never phone numbers or message text). */
export interface SpanHandle {
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span failed with the error's name and code (not its message: it may quote hostile input). */
  fail(err: unknown): void;
}

/**
 * A span context kept for later (the send whose WhatsApp ack arrives minutes after): the W3C
 * `traceparent` string. Opaque to the caller.
 */
export type TraceRef = string & { readonly __traceRef: unique symbol };

export type SpanKind = 'internal' | 'consumer' | 'producer' | 'client';

export interface SpanOptions {
  kind?: SpanKind;
  /** Start a new trace instead of a child of the active span (an incoming WhatsApp message). */
  root?: boolean;
  /** The parent to continue instead of the active span (a kept `TraceRef`). */
  parent?: TraceRef | undefined;
}

export interface Telemetry {
  /** False for the no-op: callers may skip building attributes. */
  readonly enabled: boolean;
  /**
   * Runs `fn` in a consumer span that continues the trace in `headers` (`traceparent`,
   * `tracestate`: W3C, as Spring AMQP / Micrometer Tracing send them). Malformed or absent
   * headers start a new trace; nothing in them can make this throw.
   */
  consume<T>(name: string, headers: Record<string, unknown> | undefined, attributes: SpanAttributes, fn: (span: SpanHandle) => Promise<T>): Promise<T>;
  /** Runs `fn` in a span, a child of the active one unless `opts` says otherwise; a throw fails the span and is rethrown. */
  span<T>(name: string, attributes: SpanAttributes, fn: (span: SpanHandle) => Promise<T>, opts?: SpanOptions): Promise<T>;
  /** Writes the active span's `traceparent` (and `tracestate`) into `headers`; nothing when no span is active. */
  inject(headers: Record<string, unknown>): void;
  /**
   * Runs `fn` outside any span: what it starts and outlives the current work (a WhatsApp socket,
   * whose callbacks run for days) must not make everything after it part of this trace.
   */
  detached<T>(fn: () => T): T;
  /** The active span's context, to continue later (`SpanOptions.parent`); undefined when none. */
  current(): TraceRef | undefined;
  readonly metrics: Metrics;
  /** Exports what is buffered and stops; resolves within `timeoutMs` whatever the collector does. */
  shutdown(timeoutMs: number): Promise<void>;
}

export type CommandOutcomeKind = 'ack' | 'retry' | 'dead_letter';
export type DurationKind = 'qr' | 'link' | 'restore' | 'send';

/** What the worker already keeps, read when metrics are collected (observable gauges). */
export interface ObservedState {
  sessionsByState(): Record<string, number>;
  outboxDepth(): number;
  pacingQueued(): number;
}

/** The named instruments (README "Traces and metrics" lists them with their attributes). */
export interface Metrics {
  /**
   * `wa_worker.commands{action,outcome,queue}`; `queue`: `shared` (the router: its ack is a forward) or `own` (executed here).
   */
  commandSettled(action: string, outcome: CommandOutcomeKind, queue: 'shared' | 'own'): void;
  /** `wa_worker.event.publish.duration{outcome}` (s): from publish to the broker's confirm. */
  eventPublished(seconds: number, ok: boolean): void;
  /** `wa_worker.<kind>.duration` (s). */
  duration(kind: DurationKind, seconds: number, attributes?: Record<string, string>): void;
  /** `wa_worker.whatsapp.disconnects{reason}`. */
  disconnect(reason: string): void;
  /** `wa_worker.storage.operations{op,driver}` and, when failed, `wa_worker.storage.errors{op,driver}`. */
  storageOperation(op: string, driver: string, ok: boolean): void;
  /** Registers the gauges `wa_worker.sessions{state}`, `wa_worker.outbox.depth`, `wa_worker.pacing.queued`. */
  observe(state: ObservedState): void;
}

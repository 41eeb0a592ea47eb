import { context, ROOT_CONTEXT, SpanKind as OtelSpanKind, SpanStatusCode, trace, isSpanContextValid, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { TelemetrySettings } from '../config/config-types.js';
import { OtelMetrics } from './otel-metrics.js';
import { contextOf, extractContext, formatTraceparent, injectContext } from './trace-context.js';
import type { SpanAttributes, SpanHandle, SpanKind, SpanOptions, Telemetry, TraceRef } from './types.js';

const KINDS: Record<SpanKind, OtelSpanKind> = {
  internal: OtelSpanKind.INTERNAL,
  consumer: OtelSpanKind.CONSUMER,
  producer: OtelSpanKind.PRODUCER,
  client: OtelSpanKind.CLIENT,
};

/** Spans waiting for export at most; past it new ones are dropped (the collector is down or slow). */
const MAX_QUEUED_SPANS = 2048;
/** One export attempt at most: a collector that hangs never holds a batch longer. */
const EXPORT_TIMEOUT_MS = 10_000;

function clean(attributes: SpanAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

function handle(span: Span): SpanHandle {
  return {
    setAttributes: (attributes) => span.setAttributes(clean(attributes)),
    fail: (err) => {
      const code = err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
      const name = err instanceof Error ? err.name : 'Error';
      span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? name });
      span.setAttributes({ 'error.type': code ?? name });
    },
  };
}

/** Counts the spans an export failed to deliver instead of letting the SDK retry or buffer them for ever. */
function countingExporter(inner: SpanExporter, dropped: (n: number) => void, logger: Logger): SpanExporter {
  let failures = 0;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      inner.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          dropped(spans.length);
          // The first failure and then one in a hundred: a collector that is down must not flood the log.
          if (failures++ % 100 === 0) logger.warn({ err: result.error, spans: spans.length, failures }, 'OTLP trace export failed; spans dropped');
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

export interface OtelTelemetryOptions {
  settings: TelemetrySettings;
  workerId: string;
  version: string;
  logger: Logger;
  /** Tests: an extra processor (an in-memory exporter) beside or instead of the OTLP one. */
  spanProcessors?: SpanProcessor[];
}

/**
 * Telemetry on the OpenTelemetry SDK, exported over OTLP/HTTP (protobuf): spans in bounded
 * batches, metrics every `metricExportIntervalMs`. Built by the composition root only when an
 * OTLP endpoint is configured. Installs the process-wide async context manager (spans follow
 * awaits); the tracer and propagator are its own, not global.
 */
export function createOtelTelemetry(opts: OtelTelemetryOptions): Telemetry {
  const { settings, logger } = opts;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const resource = resourceFromAttributes({
    ...settings.resourceAttributes,
    'service.name': settings.serviceName,
    'service.instance.id': opts.workerId,
    'service.version': opts.version,
  });

  const meterProvider = new MeterProvider({
    resource,
    readers: settings.metricsEndpoint
      ? [
          new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter({ url: settings.metricsEndpoint, headers: settings.headers, timeoutMillis: EXPORT_TIMEOUT_MS }),
            exportIntervalMillis: settings.metricExportIntervalMs,
            exportTimeoutMillis: Math.min(EXPORT_TIMEOUT_MS, settings.metricExportIntervalMs),
          }),
        ]
      : [],
  });
  const metrics = new OtelMetrics(meterProvider.getMeter('wa-worker', opts.version));

  const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (settings.tracesEndpoint) {
    const exporter = new OTLPTraceExporter({ url: settings.tracesEndpoint, headers: settings.headers, timeoutMillis: EXPORT_TIMEOUT_MS });
    processors.push(
      new BatchSpanProcessor(
        countingExporter(exporter, (n) => metrics.spansDropped.add(n), logger),
        { maxQueueSize: MAX_QUEUED_SPANS, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: EXPORT_TIMEOUT_MS },
      ),
    );
  }
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors: processors });
  const tracer: Tracer = tracerProvider.getTracer('wa-worker', opts.version);

  const run = <T>(name: string, kind: SpanKind, attributes: SpanAttributes, parent: ReturnType<typeof context.active>, fn: (span: SpanHandle) => Promise<T>) =>
    tracer.startActiveSpan(name, { kind: KINDS[kind], attributes: clean(attributes) }, parent, async (span) => {
      try {
        return await fn(handle(span));
      } catch (err) {
        handle(span).fail(err);
        throw err;
      } finally {
        span.end();
      }
    });

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    metrics,
    consume: (name, headers, attributes, fn) => run(name, 'consumer', attributes, extractContext(headers), fn),
    span: (name, attributes, fn, o: SpanOptions = {}) =>
      run(name, o.kind ?? 'internal', attributes, o.root ? ROOT_CONTEXT : o.parent ? contextOf(o.parent) : context.active(), fn),
    inject: (headers) => injectContext(context.active(), headers),
    detached: (fn) => context.with(ROOT_CONTEXT, fn),
    current: (): TraceRef | undefined => {
      const sc = trace.getSpan(context.active())?.spanContext();
      return sc && isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
    },
    shutdown: (timeoutMs) => {
      stopped ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
        const flush = Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]).then(() => undefined);
        await Promise.race([flush, bound]);
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

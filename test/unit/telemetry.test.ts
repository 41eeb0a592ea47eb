import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { trace } from '@opentelemetry/api';
import { createOtelTelemetry } from '../../src/telemetry/otel-telemetry.js';
import { noopTelemetry } from '../../src/telemetry/noop-telemetry.js';
import { extractContext } from '../../src/telemetry/trace-context.js';
import { tracedPublisher } from '../../src/telemetry/traced-publisher.js';
import { createCommandHandler } from '../../src/commands/command-handler.js';
import { OutboxJournal } from '../../src/broker/outbox-journal.js';
import { telemetrySettings, parseKeyValueList } from '../../src/config/telemetry-settings.js';
import { envSchema } from '../../src/config/schema.js';
import type { Delivery, Publisher, PublishOptions } from '../../src/broker/types.js';
import type { TelemetrySettings } from '../../src/config/config-types.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`;

const noExport: TelemetrySettings = {
  tracesEndpoint: undefined,
  metricsEndpoint: undefined,
  headers: {},
  serviceName: 'wa-worker',
  resourceAttributes: {},
  metricExportIntervalMs: 60_000,
};

function inMemory() {
  const exporter = new InMemorySpanExporter();
  const telemetry = createOtelTelemetry({
    settings: noExport,
    workerId: 'w1',
    version: '1.2.3',
    logger: silentLogger,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { exporter, telemetry };
}

const delivery = (body: unknown, headers: Record<string, unknown>): Delivery => ({
  queue: 'q.w1',
  body: Buffer.from(JSON.stringify(body)),
  contentType: 'application/json',
  correlationId: undefined,
  messageId: 'm-1',
  type: undefined,
  headers,
  userId: undefined,
  redelivered: false,
  deliveryCount: undefined,
});

describe('trace context from AMQP headers (hostile input)', () => {
  it('continues a well-formed traceparent', () => {
    const sc = trace.getSpanContext(extractContext({ traceparent: TRACEPARENT, tracestate: 'a=1' }))!;
    expect(sc).toMatchObject({ traceId: TRACE, spanId: PARENT, traceFlags: 1, isRemote: true });
    expect(sc.traceState?.get('a')).toBe('1');
  });

  const proto = JSON.parse(`{"__proto__": {"traceparent": "${TRACEPARENT}"}}`) as Record<string, unknown>;
  it.each([
    ['absent', {}],
    ['malformed', { traceparent: 'not-a-trace' }],
    ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` }],
    ['version ff', { traceparent: `ff-${TRACE}-${PARENT}-01` }],
    ['a number', { traceparent: 42 }],
    ['bytes', { traceparent: Buffer.from(TRACEPARENT) }],
    ['too long', { traceparent: `${TRACEPARENT}-${'a'.repeat(200)}` }],
    ['inherited only', proto],
  ])('%s: a new trace, nothing thrown', (_what, headers) => {
    expect(trace.getSpanContext(extractContext(headers as Record<string, unknown>))).toBeUndefined();
  });
});

describe('telemetry on the OpenTelemetry SDK (in-memory exporter)', () => {
  it('a command: consumer span continuing the backend, child spans in order, the published event carrying the trace', async () => {
    const { exporter, telemetry } = inMemory();
    const published: PublishOptions[] = [];
    const inner: Publisher = { publish: async (_e, _k, _b, options) => void published.push(options) };
    const publisher = tracedPublisher(inner, telemetry);
    const handle = createCommandHandler({
      self: 'w1',
      source: 'own',
      maxBytes: 1 << 20,
      maxAttempts: 3,
      execute: () =>
        telemetry.span('session lane', {}, () =>
          telemetry.span('whatsapp send', { 'wa.number_id': 5 }, () =>
            publisher.publish('events', 'message.message_sent', Buffer.from('{}'), { messageId: 'e1', type: 'message_sent', contentType: 'application/json' }),
          ),
        ),
      forward: async () => undefined,
      events: new RecordingEvents('w1'),
      telemetry,
      logger: silentLogger,
    });
    const outcome = await handle(
      delivery(
        { action: 'send_message', numberId: 5, workerId: 'w1', requestId: 'r1', data: { to: '+221770000001', type: 'text', text: 'hi' } },
        { traceparent: TRACEPARENT },
      ),
    );
    expect(outcome).toEqual({ kind: 'ack' });
    const spans = exporter.getFinishedSpans();
    const named = (n: string) => spans.find((s) => s.name === n)!;
    const parentId = (n: string) => named(n).parentSpanContext?.spanId;
    expect(spans.every((s) => s.spanContext().traceId === TRACE)).toBe(true);
    expect(parentId('worker commands process')).toBe(PARENT);
    expect(parentId('session lane')).toBe(named('worker commands process').spanContext().spanId);
    expect(parentId('whatsapp send')).toBe(named('session lane').spanContext().spanId);
    expect(parentId('message.message_sent publish')).toBe(named('whatsapp send').spanContext().spanId);
    expect(named('worker commands process').attributes).toMatchObject({ 'wa.action': 'send_message', 'wa.outcome': 'ack', 'wa.number_id': 5 });
    expect(published[0]!.headers!.traceparent).toBe(`00-${TRACE}-${named('message.message_sent publish').spanContext().spanId}-01`);
    await telemetry.shutdown(1000);
  });

  it('a dead-lettered command ends its span as such; a malformed traceparent starts a new trace', async () => {
    const { exporter, telemetry } = inMemory();
    const handle = createCommandHandler({
      self: 'w1',
      source: 'own',
      maxBytes: 1 << 20,
      maxAttempts: 3,
      execute: async () => undefined,
      forward: async () => undefined,
      events: new RecordingEvents('w1'),
      telemetry,
      logger: silentLogger,
    });
    expect((await handle(delivery({ action: 'nope' }, { traceparent: '00-zz' }))).kind).toBe('dead-letter');
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.attributes).toMatchObject({ 'wa.outcome': 'dead_letter', 'error.type': 'UNKNOWN_ACTION' });
    await telemetry.shutdown(1000);
  });

  it('the traceparent a publish carries survives the durable outbox journal (replayed after a restart)', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'otel-outbox-')), 'outbox');
    try {
      const { telemetry } = inMemory();
      const journal = OutboxJournal.open({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 10_000, logger: silentLogger });
      // Stands for the confirmed publisher: what it cannot get confirmed is journaled with its options whole.
      const journaling: Publisher = { publish: async (e, k, b, o) => void journal.append(e, k, b, o) };
      let traceparent: string | undefined;
      await telemetry.span(
        'incoming',
        {},
        async () => {
          traceparent = telemetry.current();
          await tracedPublisher(journaling, telemetry).publish('events', 'message.message_received', Buffer.from('{}'), {
            messageId: 'e2',
            type: 'message_received',
            contentType: 'application/json',
          });
        },
        { root: true },
      );
      await journal.flush();
      journal.close();
      const again = OutboxJournal.open({ dir, maxBytes: 1 << 20, fsyncIntervalMs: 10_000, logger: silentLogger });
      const replayed = again.recovered[0]!.options.headers!.traceparent as string;
      again.close();
      expect(replayed.split('-')[1]).toBe(traceparent!.split('-')[1]);
      expect(replayed).not.toBe(traceparent); // the publish span's own id, a child of the incoming span
      await telemetry.shutdown(1000);
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  it('a collector that never answers does not hold the shutdown past its bound', async () => {
    const hung = createServer(() => undefined);
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(hung.address() as AddressInfo).port}`;
      const telemetry = createOtelTelemetry({
        settings: { ...noExport, tracesEndpoint: `${url}/v1/traces`, metricsEndpoint: `${url}/v1/metrics`, metricExportIntervalMs: 100 },
        workerId: 'w1',
        version: '0',
        logger: silentLogger,
      });
      for (let i = 0; i < 50; i++) await telemetry.span('s', {}, async () => undefined);
      telemetry.metrics.commandSettled('send_message', 'ack', 'own');
      const started = Date.now();
      await telemetry.shutdown(300);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });
});

describe('the no-op (no OTLP endpoint)', () => {
  it('runs the work, records and injects nothing', async () => {
    const headers: Record<string, unknown> = { a: 1 };
    const got = await noopTelemetry.consume('x', { traceparent: TRACEPARENT }, {}, async () => noopTelemetry.span('y', {}, async () => 7));
    noopTelemetry.inject(headers);
    expect(got).toBe(7);
    expect(headers).toEqual({ a: 1 });
    expect(noopTelemetry.current()).toBeUndefined();
    await expect(noopTelemetry.span('z', {}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});

describe('OTEL_* settings', () => {
  const parse = (env: Record<string, string>) => telemetrySettings(envSchema.parse(env));

  it('off without an endpoint, or with OTEL_SDK_DISABLED=true', () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('the base endpoint gives both signals; per-signal endpoints are used as they are', () => {
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      tracesEndpoint: 'http://collector:4318/v1/traces',
      metricsEndpoint: 'http://collector:4318/v1/metrics',
      serviceName: 'wa-worker',
    });
    expect(parse({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:1/x' })).toMatchObject({ tracesEndpoint: 'http://t:1/x', metricsEndpoint: undefined });
  });

  it('headers and resource attributes: key=value, comma-separated, URL-decoded, junk skipped', () => {
    expect(parseKeyValueList('api-key=a%20b, x=1,=nokey,novalue, bad=%E0%A4%A')).toEqual({ 'api-key': 'a b', x: '1', bad: '%E0%A4%A' });
  });
});

import { randomBytes } from 'node:crypto';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { OtlpReceiver, spanTree, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { silentLogger } from '../helpers/silent-logger.js';
import { createOtelTelemetry } from '../../src/telemetry/otel-telemetry.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * Traces and metrics end to end: the real worker (real broker, real Baileys on the emulator)
 * exporting OTLP/HTTP protobuf to a receiver started here. One send_message published with a
 * backend's traceparent must come back as one trace: the backend's span → the shared queue's
 * consumer → the forward → the worker queue's consumer → the session lane → the WhatsApp send →
 * the message_sent publish, and WhatsApp's ack (message_status) in the same trace.
 */
const ACCOUNT = '+221771230077';
const ALICE = '15550000177';

describe('traces and metrics over OTLP', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let receiver: OtlpReceiver;
  let w: TestWorker<WhatsAppConnector> | undefined;

  beforeEach(async () => {
    receiver = await OtlpReceiver.start();
    emulator = await trustedEmulator();
    emulator.addContact(ALICE);
    scenario = await brokerScenario('otel');
  });

  afterEach(async () => {
    await w?.worker.stop(5000);
    await scenario.probe.close();
    await emulator.close();
    await receiver.close();
  });

  it('one send_message: the backend trace continued to the publish and to WhatsApp’s ack; events carry it; metrics counted; an incoming message starts a trace', async () => {
    scenario.workerQueue('o1');
    w = await startTestWorker({
      env: { ...scenario.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRIC_EXPORT_INTERVAL: '500', OTEL_SERVICE_NAME: 'wa-worker-test' },
      workerId: 'o1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
      telemetry: (config) => createOtelTelemetry({ settings: config.telemetry!, workerId: config.workerId, version: '9.9.9', logger: silentLogger }),
    });
    const queue = w.config.queues.commands;
    await scenario.probe.publish(queue, { action: 'create', numberId: 77, workerId: 'o1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);

    // The backend's span (Spring AMQP + Micrometer Tracing put it in the message headers).
    const traceId = randomBytes(16).toString('hex');
    const backendSpan = randomBytes(8).toString('hex');
    await scenario.probe.publish(
      queue,
      { action: 'send_message', numberId: 77, workerId: 'o1', requestId: 'req-traced', data: { to: `+${ALICE}`, type: 'text', text: 'private words' } },
      { headers: { traceparent: `00-${traceId}-${backendSpan}-01`, tracestate: 'vendor=1' } },
    );
    await scenario.messages.untilAction('message_sent', (e) => e.requestId === 'req-traced', 20_000);
    const sentRaw = scenario.messages.messages.find((m) => m.body?.action === 'message_sent')!.raw;
    const sentParent = String(sentRaw.properties.headers?.traceparent);
    expect(sentParent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const status = await scenario.messages.untilAction('message_status', (e) => e.status === 'delivered', 20_000);
    const statusRaw = scenario.messages.messages.find((m) => m.body?.eventId === status.eventId)!.raw;
    expect(String(statusRaw.properties.headers?.traceparent)).toContain(`-${traceId}-`);

    const byName = (spans: ReceivedSpan[], name: string) => spans.find((s) => s.traceId === traceId && s.name === name);
    const spans = await receiver.until(
      () => (byName(receiver.spans, 'message.message_sent publish') && byName(receiver.spans, 'message.message_status publish') ? receiver.spans : undefined),
      20_000,
      'the publish spans of message_sent and message_status',
    );
    const inTrace = spans.filter((s) => s.traceId === traceId);
    const parentOf = (s: ReceivedSpan) => inTrace.find((p) => p.spanId === s.parentSpanId);
    // The chain from the event's publish up to the backend's span.
    const chain: string[] = [];
    let s: ReceivedSpan | undefined = byName(inTrace, 'message.message_sent publish');
    let top: ReceivedSpan | undefined;
    while (s) {
      chain.unshift(s.name);
      top = s;
      s = parentOf(s);
    }
    expect(chain).toEqual([
      'commands process',
      'command forward',
      `${w.config.queues.workerCommands} publish`,
      'worker commands process',
      'session lane',
      'whatsapp send',
      'message.message_sent publish',
    ]);
    expect(top!.parentSpanId).toBe(backendSpan);
    expect(top!.kind).toBe(5); // consumer
    // The event's traceparent names the publish span itself: the backend's listener continues from it.
    expect(sentParent.split('-')[2]).toBe(byName(inTrace, 'message.message_sent publish')!.spanId);
    const send = byName(inTrace, 'whatsapp send')!;
    expect(send.attributes).toMatchObject({ 'wa.action': 'send_message', 'wa.number_id': 77, 'wa.request_id': 'req-traced', 'wa.message_type': 'text' });
    // No phone number and no text in any span.
    expect(JSON.stringify(inTrace.map((x) => x.attributes))).not.toMatch(/15550000177|221771230077|private words/);
    // WhatsApp's ack continues the send's trace.
    const receipt = parentOf(byName(inTrace, 'message.message_status publish')!)!;
    expect(receipt.name).toBe('whatsapp receipt');
    expect(receipt.parentSpanId).toBe(send.spanId);
    expect(top!.resource).toMatchObject({ 'service.name': 'wa-worker-test', 'service.instance.id': 'o1', 'service.version': '9.9.9' });
    if (process.env.PRINT_SPAN_TREE) process.stdout.write(`\n${spanTree(spans, traceId)}\n`);
    // The create's trace holds its QR and its connected, and nothing the session does afterwards
    // (its socket outlives the command: later events start traces of their own).
    const connectedPublish = await receiver.until(() => receiver.spans.find((x) => x.name === 'session.connected publish'), 20_000, 'connected publish');
    const createTrace = receiver.spans.filter((x) => x.traceId === connectedPublish.traceId).map((x) => x.name);
    expect(createTrace).toEqual(
      expect.arrayContaining(['worker commands process', 'session lane', 'whatsapp qr', 'session.qr_generated publish', 'whatsapp connected']),
    );
    expect(createTrace.filter((name) => name.startsWith('message.') || name === 'whatsapp send')).toEqual([]);
    if (process.env.PRINT_ALL_TRACES) for (const t of new Set(spans.map((x) => x.traceId))) process.stdout.write(`\n--- ${t}\n${spanTree(spans, t)}\n`);

    // Metrics: cumulative, exported every 500 ms.
    const point = (metric: string, match: Record<string, string | number | boolean>, value: number) =>
      receiver.until(() => receiver.latest(metric, match)?.value === value, 15_000, `${metric} ${JSON.stringify(match)} = ${value}`);
    await point('wa_worker.commands', { action: 'send_message', outcome: 'ack', queue: 'own' }, 1);
    await point('wa_worker.commands', { action: 'send_message', outcome: 'ack', queue: 'shared' }, 1);
    await point('wa_worker.sessions', { state: 'connected' }, 1);
    await point('wa_worker.send.duration', { type: 'text' }, 1);
    await point('wa_worker.qr.duration', {}, 1);
    await point('wa_worker.link.duration', {}, 1);
    await point('wa_worker.outbox.depth', {}, 0);
    expect(receiver.latest('wa_worker.event.publish.duration', { outcome: 'confirmed' })!.value).toBeGreaterThanOrEqual(4);
    expect(receiver.latest('wa_worker.commands', {})!.resource['service.instance.id']).toBe('o1');

    // An incoming message starts a trace of its own, which its message_received carries.
    await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'hello worker');
    const received = await scenario.messages.untilAction('message_received', undefined, 20_000);
    const receivedRaw = scenario.messages.messages.find((m) => m.body?.eventId === received.eventId)!.raw;
    const [, incomingTrace, publishSpan] = String(receivedRaw.properties.headers?.traceparent).split('-');
    expect(incomingTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(incomingTrace).not.toBe(traceId);
    const root = await receiver.until(
      () => receiver.spans.find((x) => x.traceId === incomingTrace && x.name === 'whatsapp receive'),
      20_000,
      'whatsapp receive',
    );
    expect(root.parentSpanId).toBe('');
    const publish = await receiver.until(() => receiver.spans.find((x) => x.spanId === publishSpan), 20_000, 'the message_received publish span');
    expect([publish.name, publish.parentSpanId]).toEqual(['message.message_received publish', root.spanId]);
    expect(receiver.undecodable).toBe(0);
  }, 90_000);
});

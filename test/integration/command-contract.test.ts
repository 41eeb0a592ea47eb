import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { decodeQrDataUrl } from '../helpers/qr-decode.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor, within } from '../helpers/wait.js';

// What a backend publishes, byte for byte (backend-worker-flow-comparison.fr.md), issued now
// (the documents' own 2024 timestamp would be refused as STALE).
const ISSUED_AT = Date.now();
const backendCreate = (workerId: string, numberId = 6, phone = '+221771234567') => ({
  sessionId: numberId,
  action: 'create',
  data: { numberId, phoneNumber: phone, sessionId: `session_${numberId}_2533b0aa`, workerId },
  timestamp: ISSUED_AT,
});
const QR = 'https://wa.me/settings/linked_devices#2@Zq3vXWkq+ABC,noisePubB64=,identityPubB64=,advSecretB64=';

describe('the command contract against the real broker', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: TestWorker[] = [];
  const start = async (workerId: string, connector = new FakeConnector(), waitActive = true) => {
    scenario.workerQueue(workerId);
    const w = await startTestWorker({ env: scenario.env, workerId, connector, waitActive });
    workers.push(w);
    return w;
  };

  beforeEach(async () => {
    scenario = await brokerScenario(expect.getState().currentTestName!.replace(/\W+/g, '-').slice(0, 30));
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
  });

  it('a backend-shaped create reaches the named worker and yields qr_generated whose PNG decodes to the QR string, then connected + HEALTHY', async () => {
    const connector = new FakeConnector();
    connector.onConnect = (socket) => socket.qr(QR);
    const { config } = await start('1', connector);
    await scenario.probe.publish(config.queues.commands, backendCreate('1'), { contentType: 'application/json', correlationId: 'corr-42' });

    const qr = await scenario.events.untilAction('qr_generated');
    expect(qr).toMatchObject({ numberId: 6, sessionId: 'session_6_+221771234567', workerId: '1', qrString: QR, attempt: 1, requestId: 'corr-42' });
    expect(decodeQrDataUrl(qr.qrCode)).toBe(QR);
    expect(typeof qr.timestamp).toBe('number');
    const raw = scenario.events.messages.find((m) => m.body.action === 'qr_generated')!.raw;
    expect(raw.properties).toMatchObject({
      type: 'qr_generated',
      messageId: qr.eventId,
      contentType: 'application/json',
      deliveryMode: 2,
      correlationId: 'corr-42',
    });

    connector.latest()!.open('221771234567');
    await scenario.events.untilAction('connected', (e) => e.phoneNumber === '221771234567');
    const health = await scenario.health.until((bs) => bs.find((b) => b.status === 'HEALTHY'));
    expect(health).toMatchObject({ numberId: 6, sessionId: 'session_6_+221771234567', workerId: '1' });
  });

  it("a command for another worker lands in that worker's queue (declared if missing) and is not acted on here", async () => {
    const { config, connector } = await start('1');
    await scenario.probe.publish(config.queues.commands, backendCreate('2'));
    const w2queue = scenario.workerQueue('2');
    // Wait for the forward to land rather than for time to pass.
    await waitFor(async () => (await scenario.probe.messageCount(w2queue).catch(() => 0)) > 0, "the forwarded command in worker 2's queue");
    const forwarded = await scenario.probe.get(w2queue);
    expect(forwarded?.body).toEqual(backendCreate('2'));
    expect(forwarded?.raw.properties.headers).toMatchObject({ 'x-forwarded-by': '1' });
    expect(connector.sockets).toHaveLength(0);
    expect(await scenario.probe.messageCount(config.queues.commands)).toBe(0);
  });

  it('two workers side by side: each session opens on the worker the command names, never on both', async () => {
    const a = await start('A');
    const b = await start('B');
    await scenario.probe.publish(a.config.queues.commands, backendCreate('B', 1, '+221770000001'));
    await scenario.probe.publish(a.config.queues.commands, backendCreate('A', 2, '+221770000002'));
    await scenario.probe.publish(a.config.queues.commands, backendCreate('B', 3, '+221770000003'));
    await waitFor(() => a.connector.sockets.length + b.connector.sockets.length === 3, 'three sockets in all');
    expect(a.connector.sockets.map((s) => s.sessionId)).toEqual(['session_2_+221770000002']);
    expect(b.connector.sockets.map((s) => s.sessionId).sort()).toEqual(['session_1_+221770000001', 'session_3_+221770000003']);
  });

  it('garbage lands in the DLQ with x-error-code and x-error-reason, command_rejected goes out when the session is known, and the worker keeps running', async () => {
    const { config, connector } = await start('1');
    const dlq = await scenario.probe.collect(config.queues.deadLetter);
    const q = config.queues.workerCommands;
    await scenario.probe.publish(q, '{not json');
    await scenario.probe.publish(q, Buffer.from([0xac, 0xed, 0x00, 0x05, 0x73, 0x72]), { contentType: 'application/x-java-serialized-object' });
    await scenario.probe.publish(q, { action: 'explode', numberId: 5, requestId: 'r-5' });
    await scenario.probe.publish(q, { action: 'create', data: { numberId: 8, phoneNumber: 'abc', workerId: '1' } });
    await scenario.probe.publish(q, '{"action":"status","numberId":1,"__proto__":{"admin":true}}');

    const codes = await dlq.until((bs) => (bs.length === 5 ? dlq.messages.map((m) => m.raw.properties.headers!['x-error-code']) : undefined));
    expect(codes).toEqual(['INVALID_JSON', 'JAVA_SERIALIZED', 'UNKNOWN_ACTION', 'INVALID_PHONE', 'FORBIDDEN_KEY']);
    for (const m of dlq.messages) {
      expect(String(m.raw.properties.headers!['x-error-reason']).length).toBeGreaterThan(10);
      expect(m.raw.properties.headers!['x-original-queue']).toBe(q);
    }
    expect(String(dlq.messages[1]!.raw.properties.headers!['x-error-reason'])).toMatch(/JSON message converter/);
    const rejected = await scenario.events.until((bs) => (bs.filter((b) => b.action === 'command_rejected').length === 3 ? bs : undefined));
    expect(rejected.filter((b) => b.action === 'command_rejected').map((b) => [b.numberId, b.code])).toEqual([
      [5, 'UNKNOWN_ACTION'],
      [8, 'INVALID_PHONE'],
      [1, 'FORBIDDEN_KEY'],
    ]);
    expect(rejected.find((b) => b.code === 'UNKNOWN_ACTION').requestId).toBe('r-5');

    // Still alive and well.
    connector.onConnect = (s) => s.qr(QR);
    await scenario.probe.publish(q, backendCreate('1'));
    await scenario.events.untilAction('qr_generated');
  });

  // Capacity, the other command that cannot be done, has the test below.
  it('a command for an unknown session is answered with command_rejected UNKNOWN_SESSION, and acked (not retried, not dead-lettered)', async () => {
    const w = await start('1', new FakeConnector());
    const { config } = w;
    await scenario.probe.publish(config.queues.workerCommands, { action: 'logout', numberId: 77, requestId: 'x' });
    const unknown = await scenario.events.untilAction('command_rejected');
    expect(unknown).toMatchObject({ numberId: 77, code: 'UNKNOWN_SESSION', command: 'logout', requestId: 'x' });
    await waitFor(() => w.worker.commandsSettled.own === 1, 'the command to be settled');
    // Stopped, so that an unacked command would be back in the queue for the count below.
    await w.worker.stop(5000);
    expect(await scenario.probe.messageCount(config.queues.workerCommands)).toBe(0);
    expect(await scenario.probe.messageCount(config.queues.deadLetter)).toBe(0);
    expect(scenario.events.bodies().filter((b) => b.action === 'command_rejected')).toHaveLength(1);
  });

  it('enforces WORKER_MAX_SESSIONS: a create beyond it is rejected with CAPACITY and opens nothing', async () => {
    scenario.workerQueue('cap');
    const connector = new FakeConnector();
    const w = await startTestWorker({ env: { ...scenario.env, WORKER_MAX_SESSIONS: '1' }, workerId: 'cap', connector });
    workers.push(w);
    await scenario.probe.publish(w.config.queues.commands, backendCreate('cap', 1, '+221770000001'));
    await scenario.probe.publish(w.config.queues.commands, backendCreate('cap', 2, '+221770000002'));
    const rejected = await scenario.events.untilAction('command_rejected');
    expect(rejected).toMatchObject({ numberId: 2, sessionId: 'session_2_+221770000002', code: 'CAPACITY', command: 'create' });
    expect(rejected.reason).toMatch(/WORKER_MAX_SESSIONS=1/);
    expect(connector.sockets.map((s) => s.sessionId)).toEqual(['session_1_+221770000001']);
    expect(w.worker.sessions.get('session_2_+221770000002')?.live ?? false).toBe(false);
  });

  it('create is idempotent across redeliveries: one socket, current state re-published', async () => {
    const connector = new FakeConnector();
    connector.onConnect = (s) => s.qr(QR);
    const { config } = await start('1', connector);
    await scenario.probe.publish(config.queues.commands, backendCreate('1'));
    await scenario.events.untilAction('qr_generated');
    await scenario.probe.publish(config.queues.commands, backendCreate('1'));
    await scenario.events.until((bs) => bs.filter((b) => b.action === 'qr_generated').length === 2);
    expect(connector.sockets).toHaveLength(1);
  });

  it('an event consumed from the command queue (misconfiguration) is never acked-and-dropped', async () => {
    const w = await start('1');
    const queue = w.config.queues.workerCommands;
    await scenario.probe.publish(queue, { action: 'connected', numberId: 6, sessionId: 'session_6_+221771234567' });
    // Handled (and put back) at least twice: it was redelivered, not dropped.
    await waitFor(() => w.worker.commandsSettled.own >= 2, 'the event to be handled twice (put back, not dropped)');
    await w.worker.stop(5000);
    expect(await scenario.probe.messageCount(queue)).toBe(1);
    expect(await scenario.probe.messageCount(w.config.queues.deadLetter)).toBe(0);
  });

  it('survives a broker connection drop mid-work: reconnects, re-declares, resumes consuming, and publishes what happened meanwhile', async () => {
    const proxy = new TcpProxy();
    await proxy.start();
    try {
      const connector = new FakeConnector();
      scenario.workerQueue('1');
      const w = await startTestWorker({ env: { ...scenario.env, RABBITMQ_URL: proxy.url() }, workerId: '1', connector });
      workers.push(w);
      await scenario.probe.publish(w.config.queues.commands, backendCreate('1'));
      await waitFor(() => connector.sockets.length === 1, "the session's socket");
      // Cut the TCP connection under the worker, then let WhatsApp produce events while it is down.
      const disconnected = new Promise((resolve) => w.worker.connection.once('disconnected', resolve));
      proxy.cut();
      await within(disconnected, 10_000, 'the worker to notice the cut');
      const reconnected = new Promise((resolve) => w.worker.connection.once('connected', resolve));
      connector.latest()!.qr(QR);
      connector.latest()!.open();
      proxy.restore();
      await within(reconnected, 15_000, 'the reconnection');
      await scenario.events.untilAction('connected');
      await scenario.health.until((bs) => bs.find((b) => b.status === 'HEALTHY'));
      expect(scenario.events.bodies().map((b) => b.action)).toEqual(['qr_generated', 'connected']);
      // And it consumes again.
      await within(w.worker.waitUntilActive(), 10_000, 'the worker to hold its queue again');
      await scenario.probe.publish(w.config.queues.commands, { action: 'status', numberId: 6, workerId: '1' });
      await scenario.events.untilAction('session_status');
    } finally {
      await Promise.all(workers.splice(0).map((x) => x.worker.stop(5000)));
      await proxy.close();
    }
  });

  it('two processes with the same WORKER_ID: only one drives; the standby takes over when it stops', async () => {
    const first = await start('same');
    const second = await start('same', new FakeConnector(), false);
    // Judged once the broker has answered the second one's exclusive consume (right after start it may still be pending).
    const answered = await within(
      second.worker.waitForState((s) => s.kind !== 'starting'),
      10_000,
      'the broker to answer the second process',
    );
    expect(answered).toMatchObject({ kind: 'standby', cause: 'queue-held' });
    expect(first.worker.getState().kind).toBe('active');
    expect(await scenario.probe.consumerCount(first.config.queues.workerCommands)).toBe(1);
    await scenario.probe.publish(first.config.queues.commands, backendCreate('same'));
    await waitFor(() => first.connector.sockets.length === 1, 'the session on the first process');
    expect(second.connector.sockets).toHaveLength(0);

    await first.worker.stop(5000);
    await within(second.worker.waitUntilActive(), 10_000, 'the standby to take the queue over');
    await scenario.probe.publish(first.config.queues.commands, backendCreate('same', 9, '+221770000009'));
    await waitFor(() => second.connector.sockets.length === 1, 'the session on the process that took over');
    expect(first.connector.sockets).toHaveLength(1);
  });
});

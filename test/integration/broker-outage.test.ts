import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor, within } from '../helpers/wait.js';

/**
 * The broker goes away for a while (as this worker sees it) and comes back. Nothing is lost:
 * events produced meanwhile go out on return, in order, with stable ids; commands published
 * meanwhile wait in their queue and are applied once.
 *
 * Delivery of events is at least once, and that is what is asserted: an event whose confirm is
 * lost with the connection (the cut can land after the broker routed it and before the worker
 * heard back) is sent again with the same eventId. So order and counts are read from
 * `distinct()` (each eventId at its first arrival), and a repeat must be the same event, never
 * a new one.
 */
describe('broker outage', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let proxy: TcpProxy;
  let w: TestWorker | undefined;
  let dir: string;

  beforeEach(async () => {
    scenario = await brokerScenario('outage');
    scenario.workerQueue('o1');
    proxy = new TcpProxy();
    await proxy.start();
    dir = mkdtempSync(join(tmpdir(), 'outage-'));
  });

  afterEach(async () => {
    proxy.restore();
    await w?.worker.stop(5000);
    w = undefined;
    await proxy.close();
    await scenario.probe.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const create = (numberId: number) => ({ action: 'create', numberId, phoneNumber: `+2217700000${String(numberId).padStart(2, '0')}`, workerId: 'o1' });

  it('keeps events produced while the broker is unreachable and publishes them when it returns: in order, at least once, each event under one eventId', async () => {
    const connector = new FakeConnector();
    w = await startTestWorker({ env: { ...scenario.env, RABBITMQ_URL: proxy.url(), HEALTH_FILE: join(dir, 'h.json') }, workerId: 'o1', connector });
    // Straight to the worker's queue: its ack is long settled when the cut comes (a create whose
    // ack is lost is redelivered and re-publishes the session's state: harmless, but not exact).
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}.o1`, create(1));
    const socket = await within(connector.socket(1), 10_000, 'the first socket');
    await waitFor(() => w!.worker.commandsSettled.own === 1, 'the create to be settled');
    // The cut comes at the worst moment, every time: the broker has taken qr_generated (the
    // backend sees it) but its confirm never reaches the worker, which must send it again.
    proxy.hold('to-client');
    socket.qr('2@before-outage');
    const firstQr = await scenario.events.untilAction('qr_generated');
    expect(w.worker.publisher.outboxSize).toBeGreaterThanOrEqual(1); // it, unconfirmed (and whatever else went out since the hold)

    const disconnected = new Promise((r) => w!.worker.connection.once('disconnected', r));
    proxy.cut();
    await within(disconnected, 10_000, 'the worker to notice the cut');
    // WhatsApp keeps going while the broker is away.
    socket.qr('2@during-outage');
    socket.open();
    socket.close(428, 'connection lost');
    const again = await within(connector.socket(2), 10_000, 'the reconnect socket');
    again.open();
    await w.worker.sessions.get('session_1_+221770000001')!.waitFor((s) => s.status === 'connected', 5000);
    // Commands published meanwhile wait in the broker.
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, create(2));
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'status', numberId: 1, workerId: 'o1' });
    expect(w.worker.publisher.outboxSize).toBeGreaterThanOrEqual(6);
    expect(scenario.events.distinct().map((b) => b.action)).toEqual(['qr_generated']);

    proxy.restore();
    await scenario.events.untilAction('session_status', undefined, 30_000);
    const session1 = scenario.events
      .distinct()
      .filter((b) => b.numberId === 1)
      .map((b) => b.action);
    expect(session1).toEqual(['qr_generated', 'qr_generated', 'connected', 'disconnected', 'connected', 'session_status']);
    const health1 = () => scenario.health.distinct().filter((b) => b.numberId === 1);
    await waitFor(() => health1().length >= 3, 'three health events for number 1', { detail: () => JSON.stringify(health1().map((b) => b.status)) });
    expect(health1().map((b) => b.status)).toEqual(['HEALTHY', 'RECONNECTING', 'HEALTHY']);
    // The unconfirmed qr_generated came twice, under its one eventId; a repeat is always the
    // same event sent again (same eventId, same content), never a second event.
    expect(scenario.events.bodies().filter((b) => b.eventId === firstQr.eventId)).toHaveLength(2);
    for (const collector of [scenario.events, scenario.health]) {
      const first = new Map(collector.distinct().map((b) => [b.eventId, b]));
      for (const b of collector.bodies()) expect(b).toEqual(first.get(b.eventId));
    }
    // The command published during the outage was applied once.
    await waitFor(
      () => connector.sockets.filter((s) => s.sessionId === 'session_2_+221770000002').length === 1,
      'the session of the command published during the outage',
    );
    expect(connector.sockets.filter((s) => s.sessionId === 'session_2_+221770000002')).toHaveLength(1);
    expect(w.worker.connection.disconnects).toBe(1);
  });

  it('a command in flight when the connection drops is redelivered and applied once', async () => {
    const connector = new FakeConnector();
    w = await startTestWorker({ env: { ...scenario.env, RABBITMQ_URL: proxy.url(), HEALTH_FILE: join(dir, 'h.json') }, workerId: 'o1', connector });
    // The first create stalls (storage is slow) until the connection has dropped: its delivery
    // can no longer be acked, so the broker redelivers it.
    const store = w.store;
    const open = store.openAuthState.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let opens = 0;
    store.openAuthState = async (id: string) => {
      if (opens++ === 0) await gate;
      return open(id);
    };
    const executed: string[] = [];
    const execute = w.worker.sessions.execute.bind(w.worker.sessions);
    w.worker.sessions.execute = (command) => {
      executed.push(command.action);
      return execute(command);
    };
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}.o1`, create(3));
    await waitFor(() => opens === 1, 'the first create to reach storage');
    const reconnected = new Promise((r) => w!.worker.connection.once('connected', r));
    proxy.cut();
    proxy.restore();
    await within(reconnected, 15_000, 'the reconnection');
    release();
    // Delivered twice (the first ack was lost with the connection), applied once: one socket.
    await waitFor(() => executed.length === 2, 'the redelivery to be executed', { timeoutMs: 15_000 });
    await waitFor(async () => (await scenario.probe.messageCount(`${scenario.env.QUEUE_SESSION_COMMANDS}.o1`)) === 0, 'the worker queue to be empty');
    expect(connector.sockets).toHaveLength(1);
    expect(w.worker.sessions.liveCount).toBe(1);
    expect(opens).toBe(1);
  });

  it('the healthcheck command fails when the broker has been unreachable too long, and passes when it is back', async () => {
    const healthFile = join(dir, 'health.json');
    w = await startTestWorker({ env: { ...scenario.env, RABBITMQ_URL: proxy.url(), HEALTH_FILE: healthFile }, workerId: 'o1' });
    const check = () =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/healthcheck.ts'], {
        env: { ...process.env, NODE_OPTIONS: '', WORKER_ID: 'o1', HEALTH_FILE: healthFile, HEALTHCHECK_MAX_BROKER_DOWN_MS: '1000' },
        encoding: 'utf8',
      });
    // The file follows the worker's state changes (written asynchronously): wait until it says active.
    await waitFor(() => /healthy: active, broker connected/.test(check().stdout), 'the healthcheck to report active and connected', { intervalMs: 100 });

    const disconnected = new Promise((r) => w!.worker.connection.once('disconnected', r));
    proxy.cut();
    await within(disconnected, 10_000, 'the worker to notice the cut');
    const downSince = Date.now();
    // Wait for the report that shows the outage past the limit (written every 5 s at most).
    await waitFor(
      () => {
        const r = check();
        return r.status === 1 && /broker unreachable/.test(r.stderr) && Date.now() - downSince > 1000;
      },
      'the healthcheck to fail on the outage',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    proxy.restore();
    await within(new Promise((r) => w!.worker.connection.once('connected', r)), 15_000, 'the reconnection');
    await waitFor(() => check().status === 0, 'the healthcheck to pass again', { timeoutMs: 20_000, intervalMs: 100 });
  });
});

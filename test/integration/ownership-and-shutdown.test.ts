import { Writable } from 'node:stream';
import pino from 'pino';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { brokerScenario, startTestWorker, testConfig, type TestWorker } from '../helpers/worker-harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { Worker, type WorkerState } from '../../src/worker.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { waitFor, within } from '../helpers/wait.js';

/** `kind`, or `standby:<cause>`: a worker's changes of state, as a test compares them. */
const label = (s: WorkerState) => (s.kind === 'standby' ? `standby:${s.cause}` : s.kind);

describe('one owner per number', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const proxies: TcpProxy[] = [];
  const workers: TestWorker[] = [];
  beforeEach(async () => {
    scenario = await brokerScenario('own');
    scenario.workerQueue('same');
  });
  afterEach(async () => {
    for (const p of proxies) p.restore();
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    await scenario.probe.close();
  });

  it('a worker cut off past its lease lets its sessions go; the standby with the same id takes them over; the old one stays standby when it returns', async () => {
    const store = new MemorySessionStore(); // the storage both replicas share
    const proxy = new TcpProxy();
    await proxy.start();
    proxies.push(proxy);
    const aConnector = new FakeConnector();
    aConnector.onConnect = (s) => s.open();
    const a = await startTestWorker({
      env: { ...scenario.env, RABBITMQ_URL: proxy.url(), OWNERSHIP_LEASE_MS: '1000' },
      workerId: 'same',
      connector: aConnector,
      store,
    });
    workers.push(a);
    const bConnector = new FakeConnector();
    bConnector.onConnect = (s) => s.open();
    const b = await startTestWorker({ env: { ...scenario.env, STANDBY_RETRY_MS: '200' }, workerId: 'same', connector: bConnector, store, waitActive: false });
    workers.push(b);
    // Once the broker has answered B (right after start its attempt may still be pending).
    expect(
      await within(
        b.worker.waitForState((s) => s.kind !== 'starting'),
        10_000,
        'the broker to answer B',
      ),
    ).toMatchObject({ kind: 'standby', cause: 'queue-held' });
    const aStates: string[] = [];
    a.worker.onStateChange((s) => aStates.push(label(s)));

    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'create', numberId: 1, phoneNumber: '+221770000001', workerId: 'same' });
    await scenario.health.until((bs) => bs.find((x) => x.status === 'HEALTHY'));
    expect(aConnector.sockets).toHaveLength(1);
    expect(bConnector.sockets).toHaveLength(0);

    proxy.cut(); // A is cut off; the broker frees A's queue and B takes it
    await within(b.worker.waitUntilActive(), 10_000, 'B to take the queue over');
    await within(
      a.worker.waitForState((s) => s.kind === 'standby'),
      10_000,
      'A to stand down past its lease',
    );
    const aSession = a.worker.sessions.get('session_1_+221770000001')!;
    await aSession.waitFor((s) => s.status === 'idle', 10_000);
    expect(aConnector.sockets[0]!.ended).toBe(true);
    await scenario.health.until((bs) => bs.filter((x) => x.status === 'HEALTHY').length === 2, 15_000);
    expect(bConnector.sockets).toHaveLength(1);
    expect(
      scenario.health
        .bodies()
        .filter((x) => x.status === 'HEALTHY')
        .map((x) => x.workerId),
    ).toEqual(['same', 'same']);

    proxy.restore(); // A comes back, finds the queue held, stays standby and drives nothing
    // Judged once the broker has answered A's attempt (a refusal, or wrongly the queue).
    await within(
      a.worker.waitForState((s) => s.kind === 'active' || (s.kind === 'standby' && s.cause === 'queue-held')),
      15_000,
      'the broker to answer A',
    );
    expect(aStates).toEqual(['cut-off', 'standby:lease-expired', 'standby:queue-held']);
    expect(aConnector.open('session_1_+221770000001')).toHaveLength(0);
    expect(aConnector.sockets).toHaveLength(1);
  });

  it('a worker back within its lease that finds its queue held stands by and closes its sessions: never two owners past the answer', async () => {
    const store = new MemorySessionStore();
    const proxy = new TcpProxy();
    await proxy.start();
    proxies.push(proxy);
    const aConnector = new FakeConnector();
    aConnector.onConnect = (s) => s.open();
    // A lease far longer than the test: only the broker's refusal can make A let go.
    const a = await startTestWorker({
      env: { ...scenario.env, RABBITMQ_URL: proxy.url(), OWNERSHIP_LEASE_MS: '600000' },
      workerId: 'same',
      connector: aConnector,
      store,
    });
    workers.push(a);
    const bConnector = new FakeConnector();
    bConnector.onConnect = (s) => s.open();
    const b = await startTestWorker({ env: { ...scenario.env, STANDBY_RETRY_MS: '200' }, workerId: 'same', connector: bConnector, store, waitActive: false });
    workers.push(b);
    expect(
      await within(
        b.worker.waitForState((s) => s.kind !== 'starting'),
        10_000,
        'the broker to answer B',
      ),
    ).toMatchObject({ kind: 'standby', cause: 'queue-held' });
    const aStates: string[] = [];
    a.worker.onStateChange((s) => aStates.push(label(s)));

    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'create', numberId: 1, phoneNumber: '+221770000001', workerId: 'same' });
    await scenario.health.until((bs) => bs.find((x) => x.status === 'HEALTHY'));

    proxy.cut(); // A is cut off, within its lease: it keeps its session; B takes the queue and restores it
    await within(b.worker.waitUntilActive(), 10_000, 'B to take the queue over');
    await scenario.health.until((bs) => bs.filter((x) => x.status === 'HEALTHY').length === 2, 15_000);
    expect(a.worker.getState().kind).toBe('cut-off');
    expect(aConnector.sockets[0]!.ended).toBe(false);

    proxy.restore(); // A is back within its lease and asks for its queue: refused
    await within(
      a.worker.waitForState((s) => s.kind === 'active' || s.kind === 'standby'),
      15_000,
      'the broker to answer A',
    );
    expect(a.worker.getState()).toMatchObject({ kind: 'standby', cause: 'queue-held' });
    expect(aStates).toEqual(['cut-off', 'reclaiming', 'standby:queue-held']);
    await a.worker.sessions.get('session_1_+221770000001')!.waitFor((s) => s.status === 'idle', 10_000);
    expect(aConnector.sockets[0]!.ended).toBe(true);
    expect(aConnector.sockets[0]!.loggedOut).toBe(false);
    expect(bConnector.open('session_1_+221770000001')).toHaveLength(1);
  });
});

describe('reassignment between workers', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: TestWorker[] = [];
  beforeEach(async () => {
    scenario = await brokerScenario('handover');
    scenario.workerQueue('A');
    scenario.workerQueue('B');
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
  });
  const create = (workerId: string) => ({ action: 'create', numberId: 5, phoneNumber: '+221770000005', workerId });

  it('the new owner opens the session only after the old one has let go (it asks it to)', async () => {
    const store = new MemorySessionStore();
    const aConnector = new FakeConnector();
    aConnector.onConnect = (s) => s.open();
    const bConnector = new FakeConnector();
    let aStillOpenWhenBOpened: boolean | undefined;
    bConnector.onConnect = (s) => {
      aStillOpenWhenBOpened = aConnector.sockets.some((x) => !x.ended);
      s.open();
    };
    const a = await startTestWorker({ env: scenario.env, workerId: 'A', connector: aConnector, store });
    const b = await startTestWorker({ env: scenario.env, workerId: 'B', connector: bConnector, store });
    workers.push(a, b);
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, create('A'));
    await scenario.events.untilAction('connected', (e) => e.workerId === 'A');

    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, create('B'));
    await scenario.events.untilAction('connected', (e) => e.workerId === 'B', 20_000);
    expect(aStillOpenWhenBOpened).toBe(false);
    expect(bConnector.sockets).toHaveLength(1);
    expect(scenario.events.bodies().map((e) => [e.action, e.workerId])).toEqual([
      ['connected', 'A'],
      ['disconnected', 'A'],
      ['connected', 'B'],
    ]);
    expect(scenario.events.bodies()[1]).toMatchObject({ reason: 'handed over to worker B', willReconnect: false });
    expect((await store.loadMeta('session_5_+221770000005'))!.workerId).toBe('B');
    expect(a.worker.sessions.get('session_5_+221770000005')!.status).toBe('stopped');
  });

  it('takes the session over at once when its recorded owner is not running', async () => {
    const store = new MemorySessionStore();
    const aConnector = new FakeConnector();
    aConnector.onConnect = (s) => s.open();
    const a = await startTestWorker({ env: scenario.env, workerId: 'A', connector: aConnector, store });
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, create('A'));
    await scenario.events.untilAction('connected', (e) => e.workerId === 'A');
    await a.worker.stop(5000);

    const bConnector = new FakeConnector();
    bConnector.onConnect = (s) => s.open();
    const b = await startTestWorker({ env: scenario.env, workerId: 'B', connector: bConnector, store });
    workers.push(b);
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, create('B'));
    await scenario.events.untilAction('connected', (e) => e.workerId === 'B', 10_000);
    expect((await store.loadMeta('session_5_+221770000005'))!.workerId).toBe('B');
    expect(await scenario.probe.messageCount(`${scenario.env.QUEUE_SESSION_COMMANDS}.A`)).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('runs its steps in a fixed order, idempotently', async () => {
    const scenario = await brokerScenario('shutdown');
    scenario.workerQueue('s1');
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const config = testConfig({ ...scenario.env, WORKER_ID: 's1' });
    const connector = new FakeConnector();
    connector.onConnect = (s) => s.open();
    const worker = new Worker({ config, logger: pino({ level: 'info' }, sink), store: new MemorySessionStore(), connector });
    try {
      await worker.start();
      await within(worker.waitUntilActive(), 10_000, 'the worker to hold its queue');
      await scenario.probe.publish(config.queues.commands, { action: 'create', numberId: 1, phoneNumber: '+221770000001', workerId: 's1' });
      await scenario.health.until((bs) => bs.find((x) => x.status === 'HEALTHY'));
      const first = worker.stop(5000);
      expect(worker.stop(5000)).toBe(first);
      expect(worker.getState().kind).toBe('stopping');
      await first;
      expect(worker.getState()).toEqual({ kind: 'stopped' });
      const steps = lines.filter((l) => l.msg === 'shutdown step done').map((l) => l.step);
      expect(steps).toEqual(['stop consuming', 'finish commands in flight', 'release sessions', 'publish worker_offline', 'publish outbox', 'close broker']);
      expect(connector.sockets[0]!.ended).toBe(true);
      expect(connector.sockets[0]!.loggedOut).toBe(false);
      expect(worker.connection.isConnected).toBe(false);
      // No logout and no events for the session on the way out: only the worker said goodbye.
      expect(scenario.health.bodies().map((x) => x.status)).toEqual(['HEALTHY']);
    } finally {
      await worker.stop(5000);
      await scenario.probe.close();
    }
  });

  it('stays within its limit: a step that never ends (the storage flush) is given up at the deadline, the stop ends, the broker is closed', async () => {
    const scenario = await brokerScenario('shutdown-limit');
    scenario.workerQueue('s2');
    const log = recordingLogger('info');
    const config = testConfig({ ...scenario.env, WORKER_ID: 's2' });
    const worker = new Worker({
      config,
      logger: log.logger,
      store: new MemorySessionStore(),
      connector: new FakeConnector(),
      beforeBrokerClose: () => new Promise<void>(() => undefined),
    });
    try {
      await worker.start();
      await within(worker.waitUntilActive(), 10_000, 'the worker to hold its queue');
      const LIMIT_MS = 1500;
      const started = Date.now();
      // Without the limit this would never end: the bound only tells "ends" from "hangs".
      await within(worker.stop(LIMIT_MS), 15_000, 'the stop to end although one of its steps never does');
      // The hanging step had until the deadline, not less.
      expect(Date.now() - started).toBeGreaterThanOrEqual(LIMIT_MS - 20);
      const failed = log.lines.filter((l) => l.msg === 'shutdown step failed');
      expect(failed[0]).toMatchObject({ step: 'flush storage' });
      expect(worker.getState()).toEqual({ kind: 'stopped' });
      // What is left past the deadline still lets go of the broker: the queue is free for a replica.
      await waitFor(() => !worker.connection.isConnected, 'the broker connection to close');
      await waitFor(async () => (await scenario.probe.consumerCount(config.queues.workerCommands)) === 0, 'the worker queue to have no consumer');
    } finally {
      await worker.stop(5000);
      await scenario.probe.close();
    }
  });
});

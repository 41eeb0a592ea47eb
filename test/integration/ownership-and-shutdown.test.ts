import { Writable } from 'node:stream';
import pino from 'pino';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { brokerScenario, startTestWorker, testConfig, type TestWorker } from '../helpers/worker-harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { Worker } from '../../src/worker.js';

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
    const a = await startTestWorker({ env: { ...scenario.env, RABBITMQ_URL: proxy.url(), OWNERSHIP_LEASE_MS: '1000' }, workerId: 'same', connector: aConnector, store });
    workers.push(a);
    const bConnector = new FakeConnector();
    bConnector.onConnect = (s) => s.open();
    const b = await startTestWorker({ env: scenario.env, workerId: 'same', connector: bConnector, store, waitActive: false });
    workers.push(b);

    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'create', numberId: 1, phoneNumber: '+221770000001', workerId: 'same' });
    await scenario.health.until((bs) => bs.find((x) => x.status === 'HEALTHY'));
    expect(aConnector.sockets).toHaveLength(1);
    expect(bConnector.sockets).toHaveLength(0);

    proxy.cut(); // A is cut off; the broker frees A's queue and B takes it
    await b.worker.waitUntilActive();
    const aSession = a.worker.sessions.get('session_1_+221770000001')!;
    await aSession.waitFor((s) => s.status === 'idle', 10_000);
    expect(aConnector.sockets[0]!.ended).toBe(true);
    await scenario.health.until((bs) => bs.filter((x) => x.status === 'HEALTHY').length === 2, 15_000);
    expect(bConnector.sockets).toHaveLength(1);
    expect(scenario.health.bodies().filter((x) => x.status === 'HEALTHY').map((x) => x.workerId)).toEqual(['same', 'same']);

    proxy.restore(); // A comes back, finds the queue held, stays standby and drives nothing
    await new Promise((r) => a.worker.connection.once('connected', r));
    expect(a.worker.isActive).toBe(false);
    expect(aConnector.open('session_1_+221770000001')).toHaveLength(0);
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
  it('runs its steps in a fixed order, within its limit, idempotently', async () => {
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
      await worker.waitUntilActive();
      await scenario.probe.publish(config.queues.commands, { action: 'create', numberId: 1, phoneNumber: '+221770000001', workerId: 's1' });
      await scenario.health.until((bs) => bs.find((x) => x.status === 'HEALTHY'));
      const first = worker.stop(5000);
      expect(worker.stop(5000)).toBe(first);
      await first;
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
});

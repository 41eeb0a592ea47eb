import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';

/**
 * Only a number's owner acts on it: commands that reach another worker (addressed to it, or
 * naming nobody) are moved to the owner and carried out there; `release` is accepted only from
 * a worker; old commands and invented worker ids are refused.
 */
describe('commands for a number another worker drives', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: TestWorker[] = [];
  let store: MemorySessionStore;
  let a: TestWorker;
  let b: TestWorker;
  const SID = 'session_8_+221770000008';

  beforeEach(async () => {
    scenario = await brokerScenario('foreign');
    scenario.workerQueue('A');
    scenario.workerQueue('B');
    store = new MemorySessionStore(); // the storage both workers share
    const aConnector = new FakeConnector();
    aConnector.onConnect = (s) => s.open();
    const bConnector = new FakeConnector();
    bConnector.onConnect = (s) => s.open();
    a = await startTestWorker({ env: scenario.env, workerId: 'A', connector: aConnector, store });
    b = await startTestWorker({ env: scenario.env, workerId: 'B', connector: bConnector, store });
    workers.push(a, b);
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'create', numberId: 8, phoneNumber: '+221770000008', workerId: 'A' });
    await scenario.events.untilAction('connected', (e) => e.workerId === 'A');
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
  });

  /** The dead-letter copy carrying `code` (a dead-letter is published after the command_rejected it explains). */
  const deadLettered = async (code: string) => {
    const dlq = await scenario.probe.collect(scenario.env.QUEUE_DEAD_LETTER!);
    await dlq.until((bodies) => bodies.length > 0, 10_000, `a dead-letter with ${code}`);
    return dlq;
  };

  it('a delete addressed to another worker is carried out by the owner, not beside it', async () => {
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, {
      action: 'delete',
      numberId: 8,
      phoneNumber: '+221770000008',
      workerId: 'B',
      requestId: 'del-1',
    });
    const deleted = await scenario.events.untilAction('session_deleted', (e) => e.requestId === 'del-1');
    expect(deleted.workerId).toBe('A');
    expect(a.connector.sockets[0]!.loggedOut).toBe(true);
    expect(b.connector.sockets).toHaveLength(0);
    expect(await store.loadMeta(SID)).toBeUndefined();
  });

  it('a status naming no worker and no phone, sent straight to the other worker, is answered by the owner', async () => {
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}.B`, { action: 'status', numberId: 8, requestId: 'st-1' });
    const status = await scenario.events.untilAction('session_status', (e) => e.requestId === 'st-1');
    expect(status).toMatchObject({ workerId: 'A', status: 'connected', sessionId: SID });
  });

  it('a logout taken by the other worker from the shared queue is performed by the owner', async () => {
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'logout', numberId: 8, workerId: 'B', requestId: 'lo-1' });
    const out = await scenario.events.untilAction('logged_out', (e) => e.requestId === 'lo-1');
    expect(out.workerId).toBe('A');
    expect(a.connector.sockets[0]!.loggedOut).toBe(true);
    expect(b.connector.sockets).toHaveLength(0);
  });

  it('a release from the backend (no worker user_id) is refused and the owner keeps the session', async () => {
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}.A`, {
      action: 'release',
      numberId: 8,
      workerId: 'A',
      handoverTo: 'nobody',
      requestId: 'rel-1',
    });
    const rejected = await scenario.events.untilAction('command_rejected', (e) => e.requestId === 'rel-1');
    expect(rejected).toMatchObject({ code: 'NOT_AUTHORIZED', workerId: 'A' });
    const dlq = await deadLettered('NOT_AUTHORIZED');
    expect(dlq.messages.map((m) => m.raw.properties.headers?.['x-error-code'])).toEqual(['NOT_AUTHORIZED']);
    expect(a.connector.sockets[0]!.ended).toBe(false);
    expect((await store.loadMeta(SID))!.workerId).toBe('A');
  });

  it('a command older than COMMAND_MAX_AGE_MS is refused as STALE, and the session is untouched', async () => {
    const twoHoursAgo = Date.now() - 2 * 3600_000;
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, {
      action: 'logout',
      numberId: 8,
      workerId: 'A',
      requestId: 'old-1',
      timestamp: twoHoursAgo,
    });
    const rejected = await scenario.events.untilAction('command_rejected', (e) => e.requestId === 'old-1');
    expect(rejected.code).toBe('STALE');
    expect(a.connector.sockets[0]!.loggedOut).toBe(false);
  });

  it('a worker id that would address a queue of another kind (the DLQ) is refused, not forwarded there', async () => {
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, {
      action: 'create',
      numberId: 9,
      phoneNumber: '+221770000009',
      workerId: 'dlq',
      requestId: 'dlq-1',
    });
    const rejected = await scenario.events.untilAction('command_rejected', (e) => e.requestId === 'dlq-1');
    expect(rejected.code).toBe('UNKNOWN_WORKER');
    const dlq = await deadLettered('UNKNOWN_WORKER');
    // Exactly one copy, the dead-letter: nothing was forwarded into the DLQ as a command.
    expect(dlq.messages.map((m) => m.raw.properties.headers?.['x-error-code'])).toEqual(['UNKNOWN_WORKER']);
    expect(dlq.bodies()[0]).toMatchObject({ workerId: 'dlq', requestId: 'dlq-1' });
    expect(await scenario.probe.messageCount(scenario.env.QUEUE_DEAD_LETTER!)).toBe(0);
  });
});

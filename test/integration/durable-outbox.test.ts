import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RABBITMQ_URL, type Collector } from '../helpers/broker-probe.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { WorkerProcess } from '../helpers/worker-process.js';
import { brokerScenario } from '../helpers/worker-harness.js';

const HEARTBEAT_MS = 100;

/** Records journaling a message (`{"a":…}`) in the segments of an outbox directory. */
function journaled(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.startsWith('segment-'))
    .reduce(
      (n, f) =>
        n +
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{"a":')).length,
      0,
    );
}

/**
 * The durable outbox, proven with a real process and a real SIGKILL: the daemon emits events
 * (heartbeats, every 100 ms) that the broker never confirms (the path to it is held: nothing
 * gets through), is killed, and is restarted on the same storage with the broker reachable.
 * Every event the first process emitted while the broker was unreachable, up to shortly before
 * the kill (the time it takes to be journaled: 1 s unconfirmed, then the fsync window), arrives.
 * Without the journal none of them would: they died with the process.
 */
describe('durable outbox across a SIGKILL', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let proxy: TcpProxy;
  let dir: string;
  const processes: WorkerProcess[] = [];

  beforeAll(async () => {
    scenario = await brokerScenario('outbox');
    scenario.workerQueue('ob1');
    proxy = new TcpProxy();
    await proxy.start();
    dir = mkdtempSync(join(tmpdir(), 'durable-outbox-'));
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await proxy.close();
    await scenario.probe.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes after a restart the events a killed process could not get confirmed', async () => {
    const outboxDir = join(dir, 'outbox', 'ob1'); // the default: <STORAGE_DIR>/outbox/<WORKER_ID>
    const env = {
      ...scenario.env,
      WORKER_ID: 'ob1',
      STORAGE_DIR: dir,
      HEALTH_FILE: join(dir, 'health.json'),
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
      OUTBOX_FSYNC_INTERVAL_MS: '20',
      WA_VERSION: '2.3000.1027934701',
    };
    const first = new WorkerProcess({ ...env, RABBITMQ_URL: proxy.url() });
    processes.push(first);
    await first.waitForLog(/"exclusive":true.*"msg":"consuming"|"msg":"consuming".*"exclusive":true/);
    // The worker declared the heartbeat queue (with its own arguments): consume it as it is.
    const heartbeats: Collector = await scenario.probe.collect(scenario.env.QUEUE_WORKER_HEARTBEAT!, { declare: false });
    await heartbeats.untilAction('worker_heartbeat', undefined, 15_000);

    const heldAt = Date.now();
    proxy.hold(); // from now on nothing the first process sends reaches the broker
    await waitFor(() => journaled(outboxDir) >= 25, '25 events journaled by the first process', { timeoutMs: 20_000 });
    // Operators see it too: the health file counts what is journaled, not only what waits.
    const health = () => JSON.parse(readFileSync(env.HEALTH_FILE, 'utf8')) as { outboxJournaled: number; outboxJournalBytes: number; outboxSize: number };
    await waitFor(() => health().outboxJournaled >= 25, 'the health file to report the journaled events', { detail: () => JSON.stringify(health()) });
    expect(health().outboxJournalBytes).toBeGreaterThan(0);
    expect(health().outboxSize).toBeGreaterThanOrEqual(health().outboxJournaled);
    const killedAt = Date.now();
    await first.stop('SIGKILL');
    const lostWithoutJournal = (bs: any[]) =>
      bs.filter((b) => b?.action === 'worker_heartbeat' && b.timestamp > heldAt + HEARTBEAT_MS && b.timestamp < killedAt - 1500);
    expect(lostWithoutJournal(heartbeats.bodies())).toEqual([]); // the hold worked: none got through

    const second = new WorkerProcess({ ...env, RABBITMQ_URL });
    processes.push(second);
    await second.waitForLog(/replaying events a previous process did not get confirmed/);
    await heartbeats.until((bs) => bs.some((b) => b?.action === 'worker_heartbeat' && b.timestamp > killedAt), 30_000, "the second process's heartbeat");

    // Every heartbeat of the held window arrived: no gap longer than the interval allows.
    const window = heartbeats
      .distinct()
      .filter((b) => b?.action === 'worker_heartbeat' && b.timestamp >= heldAt && b.timestamp <= killedAt - 1500)
      .map((b) => b.timestamp as number)
      .sort((a, b) => a - b);
    // The process's own timer decides how many it made: on a loaded machine it runs late, so the
    // count is judged with a margin; a lost stretch of journal shows in the gaps below.
    expect(window.length).toBeGreaterThanOrEqual(Math.floor((0.8 * (killedAt - 1500 - heldAt)) / HEARTBEAT_MS) - 2);
    expect(window[0]! - heldAt).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    expect(killedAt - 1500 - window.at(-1)!).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    const gaps = window.slice(1).map((t, i) => t - window[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(3 * HEARTBEAT_MS);

    // Replayed before anything new: the first event of the second process comes after them all.
    const order = heartbeats.distinct().filter((b) => b?.action === 'worker_heartbeat' || b?.action === 'worker_online');
    const firstNew = order.findIndex((b) => b.timestamp > killedAt);
    expect(order.slice(firstNew).filter((b) => b.timestamp < killedAt && b.timestamp >= heldAt)).toEqual([]);

    // Once all is confirmed the journal is emptied.
    await waitFor(() => journaled(outboxDir) === 0, 'the journal to be emptied once everything is confirmed');
  });
});

/**
 * One side of the memory scenario, alone in its own process (started with --expose-gc):
 * BENCH_SIDE=worker: the worker restores the N sessions seeded in its storage (env as main.ts);
 * BENCH_SIDE=baseline: N bare Baileys sockets log in from the seeds in BENCH_SEED_FILE.
 * Measures RSS and heap after GC before any session and once all N are open and settled, and
 * prints one line `BENCH_RESULT {...}`.
 * With BENCH_IDLE_MS / BENCH_LOAD_MS (the scale figures): then an idle window (keep-alives only:
 * event-loop delay and CPU), a line `BENCH_LOAD_START` (the parent then has emulated contacts send
 * to 1% of the sessions each second) and a load window (event-loop delay, CPU, RSS without GC).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { authFromSeed, inLanes, openClient, parseSeeds, type BareClient } from './baseline.js';
import { buildWorker, trustFromHex } from './worker-side.js';
import { installSharedAsyncLocalStorage } from '../../src/whatsapp/shared-async-local-storage.js';

const gc = (globalThis as { gc?: () => void }).gc;

// tsx turns source maps on; production (`node dist/main.js`) runs without them. With them, every
// Error's `.stack` is mapped frame by frame, and Baileys formats two stacks per query (each keep-alive
// ping and receipt: promiseTimeout and delayCancellable): 5,000 sessions paid 10–17% of the main thread's
// CPU for it (profile in docs/bench/findings.md). BENCH_SOURCE_MAPS=1 keeps them (to compare).
if (process.env.BENCH_SOURCE_MAPS !== '1') process.setSourceMapsEnabled(false);

async function settledUsage(): Promise<{ rss: number; heapUsed: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(100);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

export interface WindowStats {
  ms: number;
  /** Event-loop delay (monitorEventLoopDelay, 10 ms resolution, minus those 10 ms), ms. */
  delayP50: number;
  delayP99: number;
  delayMax: number;
  /** CPU (user + system) over the window, µs. */
  cpuMicros: number;
  /** RSS at the end of the window, no forced GC. */
  rss: number;
}

/**
 * Development: with BENCH_CHILD_PROFILE_DIR, a CPU profile of each window only (not of the restore
 * before it), written as `<dir>/<side>-<name>.cpuprofile` (open in Chrome DevTools or aggregate the JSON).
 */
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CHILD_PROFILE_DIR;
  if (!dir) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${dir}/${process.env.BENCH_SIDE}-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

/** Event-loop delay and CPU of this process over `ms` of wall time. */
async function measureWindow(ms: number): Promise<WindowStats> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  h.enable();
  await sleep(ms);
  h.disable();
  const cpu = process.cpuUsage(cpu0);
  // the histogram records the interval between two 10 ms timer ticks: the delay is what exceeds 10 ms
  const toMs = (ns: number) => Math.max(0, ns / 1e6 - 10);
  return {
    ms: performance.now() - t0,
    delayP50: toMs(h.percentile(50)),
    delayP99: toMs(h.percentile(99)),
    delayMax: toMs(h.max),
    cpuMicros: cpu.user + cpu.system,
    rss: process.memoryUsage().rss,
  };
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with --expose-gc');
  const side = process.env.BENCH_SIDE;
  const n = Number(process.env.BENCH_N);
  const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 3000);
  trustFromHex(process.env.BENCH_ROOT_HEX!);
  const timeoutMs = 60_000 + n * 200;
  let stop: () => Promise<void>;
  let before: { rss: number; heapUsed: number };
  const t0 = performance.now();
  if (side === 'worker') {
    const { worker } = await buildWorker(process.env);
    before = await settledUsage();
    await worker.start();
    const deadline = Date.now() + timeoutMs;
    let report = Date.now() + 10_000;
    while (worker.sessions.connectedCount < n) {
      if (Date.now() > deadline) throw new Error(`worker: ${worker.sessions.connectedCount}/${n} connected after ${timeoutMs} ms`);
      if (Date.now() > report) {
        // progress for the scale runs (minutes): the parent prints it
        process.stdout.write(`BENCH_PROGRESS ${worker.sessions.connectedCount}/${n} connected, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB\n`);
        report += 10_000;
      }
      await sleep(50);
    }
    stop = () => worker.stop();
  } else if (side === 'baseline') {
    // For a what-if only (not in the scenario): bare Baileys with the worker's AsyncLocalStorage fix.
    if (process.env.BENCH_BASELINE_SHARED_ALS === '1') installSharedAsyncLocalStorage();
    before = await settledUsage();
    const seeds = parseSeeds(readFileSync(process.env.BENCH_SEED_FILE!, 'utf8')).slice(0, n);
    const clients: BareClient[] = [];
    await inLanes(seeds, Number(process.env.BENCH_CONCURRENCY ?? 16), async (seed) => {
      const { client, opened } = openClient(process.env.BENCH_EMULATOR_URL!, authFromSeed(seed), timeoutMs);
      clients.push(client);
      await opened;
    });
    stop = async () => {
      for (const c of clients) c.end();
    };
  } else {
    throw new Error(`BENCH_SIDE must be worker or baseline, got ${side}`);
  }
  const openMs = performance.now() - t0;
  await sleep(settleMs);
  const after = await settledUsage();
  const idleMs = Number(process.env.BENCH_IDLE_MS ?? 0);
  const loadMs = Number(process.env.BENCH_LOAD_MS ?? 0);
  const idle = idleMs > 0 ? await profiled('idle', () => measureWindow(idleMs)) : undefined;
  let load: WindowStats | undefined;
  if (loadMs > 0) {
    process.stdout.write('BENCH_LOAD_START\n');
    load = await profiled('load', () => measureWindow(loadMs));
  }
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ side, n, before, after, openMs, idle, load })}\n`);
  await Promise.race([stop(), sleep(5000)]);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`memory child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

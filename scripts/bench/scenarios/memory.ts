/**
 * Scenario 3: memory per open session. Each side runs alone in a child process
 * (`node --expose-gc --import tsx scripts/bench/memory-child.ts`), so the two never share a
 * heap: the worker restores N linked sessions from its local-disk storage; the baseline logs N
 * bare sockets in from the same credentials. Per session = (after − before) / N, RSS and heap,
 * both after forced GC; "after" is taken once all N are open and a settle delay has passed.
 * Accounts are made once per run and reused: see seed.ts.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchBroker } from '../broker.js';
import { serializeSeeds, type Seed } from '../baseline.js';
import { figure, removeDir, tempDir, type BenchContext } from '../context.js';
import { SEED_METHOD, seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { workerEnv } from '../worker-side.js';
import { seedsFor } from './seeds-pool.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const MB = 1024 * 1024;

interface ChildResult {
  side: string;
  n: number;
  before: { rss: number; heapUsed: number };
  after: { rss: number; heapUsed: number };
  openMs: number;
}

function runChild(env: Record<string, string | undefined>, timeoutMs: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/bench/memory-child.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (line) resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult);
      else reject(new Error(`memory child (${env.BENCH_SIDE}, N=${env.BENCH_N}) exited ${code} without a result: ${err.slice(-1500)}`));
    });
  });
}

export async function memoryScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const ns = process.env.BENCH_MEMORY_NS ? process.env.BENCH_MEMORY_NS.split(',').map(Number) : ctx.quick ? [20, 50] : [100, 500, 1000];
  // N=1000 gets one round per side (run time on a small machine): said in the notes.
  const roundsFor = (n: number): number => (ctx.quick || n >= 1000 ? 1 : 2);
  const settleMs = ctx.quick ? 2000 : 5000;
  const concurrency = 16;
  const broker = await BenchBroker.open(`bench.${ctx.runId}.mem`);
  const figures = [];
  const notes: string[] = [];
  const absolute: Record<string, unknown> = {};
  try {
    const seeds: Seed[] = await seedsFor(ctx, Math.max(...ns));
    for (const n of ns) {
      const subset = seeds.slice(0, n);
      const dir = tempDir(ctx, `mem-${n}`);
      const workerId = `bench-mem-${n}`;
      broker.trackWorker(workerId);
      const env = {
        ...workerEnv({
          workerId,
          emulatorUrl: ctx.emulator.url,
          rootPublicKeyHex: ctx.emulator.rootPublicKeyHex,
          storageDir: dir,
          extra: { RESTORE_CONCURRENCY: String(concurrency) },
        }),
        ...broker.env,
      };
      await seedWorkerStorage(env, subset);
      const seedFile = join(dir, 'seeds.json');
      writeFileSync(seedFile, serializeSeeds(subset));
      const common = {
        BENCH_N: String(n),
        BENCH_ROOT_HEX: ctx.emulator.rootPublicKeyHex,
        BENCH_EMULATOR_URL: ctx.emulator.url,
        BENCH_SEED_FILE: seedFile,
        BENCH_SETTLE_MS: String(settleMs),
        BENCH_CONCURRENCY: String(concurrency),
      };
      const rss = { worker: [] as number[], baseline: [] as number[] };
      const heap = { worker: [] as number[], baseline: [] as number[] };
      const total = { worker: [] as number[], baseline: [] as number[] };
      const rounds = roundsFor(n);
      for (let r = 0; r < rounds; r++) {
        for (const side of r % 2 === 0 ? (['worker', 'baseline'] as const) : (['baseline', 'worker'] as const)) {
          const res = await runChild({ ...(side === 'worker' ? env : {}), ...common, BENCH_SIDE: side }, 120_000 + n * 500);
          rss[side].push((res.after.rss - res.before.rss) / MB / n);
          heap[side].push((res.after.heapUsed - res.before.heapUsed) / MB / n);
          total[side].push(res.after.rss / MB);
          ctx.log(
            `  memory N=${n} round ${r + 1}/${rounds} ${side}: ${((res.after.rss - res.before.rss) / MB / n).toFixed(3)} MB RSS/session, ${((res.after.heapUsed - res.before.heapUsed) / MB / n).toFixed(3)} MB heap/session, total RSS ${(res.after.rss / MB).toFixed(0)} MB, all open in ${(res.openMs / 1000).toFixed(1)} s`,
          );
        }
      }
      if (process.env.BENCH_MEMORY_WHATIF === '1') {
        // What-if (development only, a note, not a figure): bare Baileys with the worker's AsyncLocalStorage fix.
        const res = await runChild({ ...common, BENCH_SIDE: 'baseline', BENCH_BASELINE_SHARED_ALS: '1' }, 120_000 + n * 500);
        const line = `what-if N=${n}: bare Baileys + the shared AsyncLocalStorage: ${((res.after.rss - res.before.rss) / MB / n).toFixed(3)} MB RSS/session, ${((res.after.heapUsed - res.before.heapUsed) / MB / n).toFixed(3)} MB heap/session, total RSS ${(res.after.rss / MB).toFixed(0)} MB, all open in ${(res.openMs / 1000).toFixed(1)} s`;
        ctx.log(`  ${line}`);
        notes.push(line);
      }
      removeDir(dir);
      const t = (text: string) => ({ target: ({ ratio }: { ratio: number | null }) => ({ text, met: ratio !== null && ratio <= 1.5 }) });
      // A process's RSS moves by tens of MB on its own (allocator, freed start-up garbage): below ~500
      // sessions that is more than the sessions' own RSS, so the ratio there says nothing (heap does).
      const rssTarget =
        n >= 500
          ? t('≤ 1.5× bare')
          : { target: () => ({ text: '≤ 1.5× bare (not judged below N=500: RSS noise of ±20 MB per process exceeds the delta; see heap)', met: null }) };
      figures.push(figure({ name: `N=${n} RSS/session`, unit: 'MB', stat: 'mean', worker: rss.worker, baseline: rss.baseline, ...rssTarget }));
      figures.push(figure({ name: `N=${n} heap/session`, unit: 'MB', stat: 'mean', worker: heap.worker, baseline: heap.baseline, ...t('≤ 1.5× bare') }));
      const totalFig = figure({ name: `N=${n} process RSS`, unit: 'MB', stat: 'mean', worker: total.worker, baseline: total.baseline });
      if (n === 1000) totalFig.target = { text: '1000 sessions within 4 GB RSS', met: totalFig.worker.mean <= 4096 };
      figures.push(totalFig);
      absolute[`N=${n}`] = { totalRssMB: total };
    }
  } finally {
    await broker.close();
  }
  notes.push(
    SEED_METHOD,
    `Rounds per N (one child process per side per round, sides alternating): ${ns.map((n) => `N=${n}: ${roundsFor(n)}`).join(', ')}.`,
    'The worker restores the accounts from its local-disk storage, the baseline logs in from the same creds in memory. Logins run 16 at a time on both sides (RESTORE_CONCURRENCY=16).',
    'Emulator started with skipPrekeyUpload: true (no 812-prekey upload at first login).',
    `RSS/heap measured after 3 forced GCs, before any session and ${settleMs} ms after the last one opened; per session = (after − before) / N; the worker's fixed cost (broker connection, channels) is inside "after − before".`,
  );
  return {
    id: 'memory',
    title: 'Memory per open session',
    measures:
      'RSS and V8 heap per open (linked, connected) session, each side alone in a child process started with --expose-gc; mean over rounds. Also the whole process RSS with N sessions open.',
    status: 'ok',
    settings: {
      ns,
      rounds: Object.fromEntries(ns.map((n) => [`N=${n}`, roundsFor(n)])),
      settleMs,
      loginConcurrency: concurrency,
      storage: 'local disk',
      childProcess: true,
    },
    figures,
    notes,
    durationMs: Date.now() - started,
  };
}

/**
 * Scenario 3: memory per open session. Each side runs alone in a child process
 * (`node --expose-gc --import tsx scripts/bench/memory-child.ts`), so the two never share a
 * heap: the worker restores N linked sessions from its local-disk storage; the baseline logs N
 * bare sockets in from the same credentials. Per session = (after − before) / N, RSS and heap,
 * both after forced GC; "after" is taken once all N are open and a settle delay has passed.
 * Accounts are made once per run and reused: see seed.ts.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchBroker } from '../broker.js';
import { serializeSeeds, type Seed } from '../baseline.js';
import { figure, removeDir, tempDir, type BenchContext } from '../context.js';
import { LocalSeedCache, SEED_METHOD } from '../seed.js';
import type { Figure, ScenarioResult } from '../types.js';
import { workerEnv } from '../worker-side.js';
import { FULL_SEEDS, seedsFor } from './seeds-pool.js';
import { ContactLoad, type LoadStats } from '../contact-load.js';
import type { WindowStats } from '../memory-child.js';
import { LITE_SEED_METHOD } from '../seed.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/**
 * Bare Baileys as it ships makes one AsyncLocalStorage per socket, and Node walks every one on every
 * promise: opening N sockets costs O(N²) (180 s for 1,000 on the bench VM, findings.md). Past this N
 * the baseline is bare Baileys with the worker's one shared AsyncLocalStorage instead: the best bare
 * Baileys a user could run, so a stricter baseline, and one that opens 5,000 in minutes, not hours.
 */
const SHIPPED_BARE_MAX_N = 1000;
const MB = 1024 * 1024;

interface ChildResult {
  side: string;
  n: number;
  before: { rss: number; heapUsed: number };
  after: { rss: number; heapUsed: number };
  openMs: number;
  idle?: WindowStats;
  load?: WindowStats;
}

function runChild(env: Record<string, string | undefined>, timeoutMs: number, onLine?: (line: string) => void): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // development: extra node flags for the child, e.g. BENCH_CHILD_NODE_ARGS="--trace-gc"
    const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, ['--expose-gc', ...extra, '--import', 'tsx', 'scripts/bench/memory-child.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let seen = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      for (; seen < lines.length - 1; seen++) onLine?.(lines[seen]!);
    });
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

type Windows = Record<'worker' | 'baseline', Array<{ idle: WindowStats; load: WindowStats }>>;

/** Event-loop delay idle and under load, idle CPU per session and RSS under load (issue 15 targets). */
function scaleFigures(n: number, scale: Windows): Figure[] {
  const pick = (f: (x: { idle: WindowStats; load: WindowStats }) => number) => ({ worker: scale.worker.map(f), baseline: scale.baseline.map(f) });
  const targetFor = (text: string, limit: number) => ({ target: ({ worker }: { worker: number }) => ({ text, met: worker <= limit }) });
  return [
    figure({ name: `N=${n} event-loop delay p50 idle`, unit: 'ms', stat: 'mean', ...pick((x) => x.idle.delayP50) }),
    figure({ name: `N=${n} event-loop delay p99 idle`, unit: 'ms', stat: 'mean', ...pick((x) => x.idle.delayP99), ...targetFor('≤ 50 ms', 50) }),
    figure({ name: `N=${n} event-loop delay p50, 1% get 1 msg/s`, unit: 'ms', stat: 'mean', ...pick((x) => x.load.delayP50) }),
    figure({ name: `N=${n} event-loop delay p99, 1% get 1 msg/s`, unit: 'ms', stat: 'mean', ...pick((x) => x.load.delayP99), ...targetFor('≤ 200 ms', 200) }),
    // µs of CPU per wall-clock second per open session (keep-alives only): × N / 10⁴ = % of one core
    figure({ name: `N=${n} idle CPU/session`, unit: 'µs/s', stat: 'mean', ...pick((x) => x.idle.cpuMicros / (x.idle.ms / 1000) / n) }),
    figure({
      name: `N=${n} process RSS under load (no GC)`,
      unit: 'MB',
      stat: 'mean',
      ...pick((x) => x.load.rss / MB),
      ...(n === 5000 ? targetFor('≤ 2 GB (2048 MB)', 2048) : {}),
    }),
  ];
}

export async function memoryScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const ns = process.env.BENCH_MEMORY_NS ? process.env.BENCH_MEMORY_NS.split(',').map(Number) : ctx.quick ? [20, 50] : [100, 500, 1000, 5000];
  // The scale figures (event-loop delay idle and under load, idle CPU) at the largest N only: two
  // windows per side cost a minute at full size.
  const windowMs = Number(process.env.BENCH_MEMORY_WINDOW_MS ?? (ctx.quick ? 5000 : 30_000));
  const windowed = Math.max(...ns);
  // N=1000 gets one round per side (run time on a small machine): said in the notes.
  const roundsFor = (n: number): number => (ctx.quick || n >= 1000 ? 1 : 2);
  const settleMs = ctx.quick ? 2000 : 5000;
  const concurrency = 16;
  const broker = await BenchBroker.open(`bench.${ctx.runId}.mem`);
  const figures = [];
  const notes: string[] = [];
  const absolute: Record<string, unknown> = {};
  const scale = { worker: [] as Array<{ idle: WindowStats; load: WindowStats }>, baseline: [] as Array<{ idle: WindowStats; load: WindowStats }> };
  try {
    const seeds: Seed[] = await seedsFor(ctx, Math.max(...ns));
    // one worker id for every N (one after the other): the storages are copies of one seeding
    const workerId = 'bench-mem';
    broker.trackWorker(workerId);
    const envFor = (dir: string) => ({
      ...workerEnv({
        workerId,
        emulatorUrl: ctx.emulator.url,
        rootPublicKeyHex: ctx.emulator.rootPublicKeyHex,
        storageDir: dir,
        extra: { RESTORE_CONCURRENCY: String(concurrency) },
      }),
      ...broker.env,
    });
    const cache = new LocalSeedCache(envFor(tempDir(ctx, 'mem-master')));
    for (const n of ns) {
      const subset = seeds.slice(0, n);
      const dir = tempDir(ctx, `mem-${n}`);
      const env = envFor(dir);
      const seeded0 = Date.now();
      await cache.fill(subset, dir);
      if (n >= 1000) ctx.log(`  memory N=${n}: storage seeded in ${((Date.now() - seeded0) / 1000).toFixed(1)} s`);
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
      const windows = n === windowed && windowMs > 0 ? { BENCH_IDLE_MS: String(windowMs), BENCH_LOAD_MS: String(windowMs) } : {};
      // 1% of the sessions get one message a second from emulated contacts during the load window
      const loadTargets = subset.slice(0, Math.max(1, Math.ceil(n / 100))).map((s) => s.phone);
      for (let r = 0; r < rounds; r++) {
        // development: BENCH_MEMORY_SIDES=worker runs one side only (no ratio, no scale figures)
        const order = r % 2 === 0 ? (['worker', 'baseline'] as const) : (['baseline', 'worker'] as const);
        for (const side of order.filter((s) => !process.env.BENCH_MEMORY_SIDES || process.env.BENCH_MEMORY_SIDES.split(',').includes(s))) {
          let load: ContactLoad | undefined;
          const emuCpu: number[] = [];
          const onLine = (line: string): void => {
            if (line.startsWith('BENCH_PROGRESS ') && n >= 1000) ctx.log(`    ${side}: ${line.slice('BENCH_PROGRESS '.length)}`);
            // development: the worker's own log (BENCH_WORKER_LOG_LEVEL) kept in a file
            if (process.env.BENCH_CHILD_LOG && !line.startsWith('BENCH_')) appendFileSync(process.env.BENCH_CHILD_LOG, `${line}\n`);
            if (line !== 'BENCH_LOAD_START') return;
            load = new ContactLoad(ctx.emulator, loadTargets);
            void ctx.emulator.cpuSeconds().then((c) => emuCpu.push(c));
          };
          let res: ChildResult;
          let loadStats: LoadStats | undefined;
          try {
            const fixedBare = side === 'baseline' && n > SHIPPED_BARE_MAX_N ? { BENCH_BASELINE_SHARED_ALS: '1' } : {};
            res = await runChild(
              { ...(side === 'worker' ? env : {}), ...common, ...windows, ...fixedBare, BENCH_SIDE: side },
              120_000 + n * 500 + 2 * windowMs,
              onLine,
            );
          } finally {
            loadStats = await load?.stop();
          }
          if (res.idle && res.load) {
            const emuLoadCpu = emuCpu.length ? (await ctx.emulator.cpuSeconds()) - emuCpu[0]! : NaN;
            scale[side].push({ idle: res.idle, load: res.load });
            const w = (x: WindowStats) =>
              `delay p50 ${x.delayP50.toFixed(1)} / p99 ${x.delayP99.toFixed(1)} / max ${x.delayMax.toFixed(0)} ms, CPU ${((x.cpuMicros / x.ms / 1000) * 100).toFixed(1)}% of a core`;
            const line = `N=${n} ${side}: idle ${(res.idle.ms / 1000).toFixed(0)} s: ${w(res.idle)}; load (${loadTargets.length} msg/s offered to ${loadTargets.length} sessions: ${loadStats?.done ?? 0} sent, ${loadStats?.failed ?? 0} failed${loadStats?.firstError ? ` (${loadStats.firstError})` : ''}; emulator ${((emuLoadCpu / (res.load.ms / 1000)) * 100).toFixed(0)}% of a core) ${(res.load.ms / 1000).toFixed(0)} s: ${w(res.load)}, RSS ${(res.load.rss / MB).toFixed(0)} MB`;
            ctx.log(`  ${line}`);
            notes.push(line);
          }
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
      if (n === 5000) totalFig.target = { text: '≤ 2 GB (2048 MB)', met: totalFig.worker.mean <= 2048 };
      figures.push(totalFig);
      if (n === windowed && scale.worker.length && scale.baseline.length) figures.push(...scaleFigures(n, scale));
      absolute[`N=${n}`] = { totalRssMB: total };
    }
  } finally {
    await broker.close();
  }
  notes.push(
    SEED_METHOD,
    ...(Math.max(...ns) > FULL_SEEDS ? [LITE_SEED_METHOD] : []),
    ...(windowMs > 0
      ? [
          `At N=${windowed} only, after the memory reading: an idle window of ${windowMs / 1000} s (open sessions, Baileys keep-alive pings every 30 s, nothing else), then a load window of ${windowMs / 1000} s in which emulated contacts send one text a second to each of 1% of the sessions (${Math.max(1, Math.ceil(windowed / 100))}), spread evenly over the second. Event-loop delay: perf_hooks.monitorEventLoopDelay (10 ms resolution) in the child over each window; CPU: process.cpuUsage over the idle window ÷ window ÷ N (µs of CPU per second per session; × N ÷ 10,000 = % of one core). The worker publishes each received message to the broker (message_received), the bare socket only decrypts and acknowledges it.`,
        ]
      : []),
    ...(Math.max(...ns) > SHIPPED_BARE_MAX_N
      ? [
          `Baseline above N=${SHIPPED_BARE_MAX_N}: bare Baileys plus the worker's one shared AsyncLocalStorage (src/whatsapp/shared-async-local-storage.ts), not Baileys as it ships, whose one AsyncLocalStorage per socket makes opening N sockets O(N²) (180 s for 1,000; hours for 5,000). It is the best bare Baileys a user could run, so the stricter comparison.`,
        ]
      : []),
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
      scaleWindowsMs: windowMs > 0 ? { n: windowed, idle: windowMs, load: windowMs, messagesPerSecond: Math.max(1, Math.ceil(windowed / 100)) } : null,
      loginConcurrency: concurrency,
      storage: 'local disk',
      childProcess: true,
    },
    figures,
    notes,
    durationMs: Date.now() - started,
  };
}

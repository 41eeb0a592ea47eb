/**
 * Scenario 4: restore. N linked sessions persisted in the worker's storage (local disk, then S3
 * on s3rver), encrypted at rest (SESSION_ENCRYPTION_KEY set, as production requires). Worker:
 * `worker.start()` called → the N-th `connected` consumed from the session-events queue (broker
 * connection, ownership of its queue, listing and decrypting the sessions, RESTORE_CONCURRENCY at
 * a time, default 32). Baseline: N bare sockets started at once from in-memory creds → all 'open'.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { BenchBroker } from '../broker.js';
import { authFromSeed, openClient, type BareClient, type Seed } from '../baseline.js';
import { figure, removeDir, tempDir, withTimeout, type BenchContext } from '../context.js';
import { SEED_METHOD, seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { buildWorker, s3Env, workerEnv } from '../worker-side.js';
import { startS3rverChild, type S3Child } from '../s3.js';
import { seedsFor } from './seeds-pool.js';
import { median } from '../stats.js';

async function workerRestore(env: Record<string, string | undefined>, broker: BenchBroker, seeds: readonly Seed[], timeoutMs: number): Promise<number> {
  const ids = new Set(seeds.map((s) => s.numberId));
  const { worker } = await buildWorker(env);
  try {
    const all = broker.events.collect((b) => b?.action === 'connected' && ids.has(b.numberId), seeds.length, timeoutMs, `${seeds.length} connected`);
    const t0 = performance.now();
    await worker.start();
    const got = await all;
    return Math.max(...got.map((m) => m.at)) - t0;
  } finally {
    await worker.stop().catch(() => undefined);
  }
}

async function bareRelogin(url: string, seeds: readonly Seed[], timeoutMs: number): Promise<number> {
  const clients: BareClient[] = [];
  try {
    const auths = seeds.map((s) => authFromSeed(s));
    const t0 = performance.now();
    await withTimeout(
      Promise.all(
        auths.map((auth) => {
          const { client, opened } = openClient(url, auth, timeoutMs);
          clients.push(client);
          return opened;
        }),
      ),
      timeoutMs,
      'bare re-login',
    );
    return performance.now() - t0;
  } finally {
    for (const c of clients) c.end();
  }
}

export async function restoreScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const ns = process.env.BENCH_RESTORE_NS ? process.env.BENCH_RESTORE_NS.split(',').map(Number) : ctx.quick ? [20] : [100, 500];
  const rounds = ctx.quick ? 2 : 3;
  const broker = await BenchBroker.open(`bench.${ctx.runId}.restore`);
  let s3: S3Child | undefined;
  const figures = [];
  const key = randomBytes(32).toString('hex');
  const s3Stats: Array<{ n: number; cpuMsPerSession: number; perSession: string }> = [];
  try {
    s3 = await startS3rverChild();
    const seeds = await seedsFor(ctx, Math.max(...ns));
    for (const n of ns) {
      const subset = seeds.slice(0, n);
      const timeoutMs = 60_000 + n * 300;
      for (const driver of (process.env.BENCH_RESTORE_DRIVERS?.split(',') ?? ['local', 's3']) as Array<'local' | 's3'>) {
        const dir = tempDir(ctx, `restore-${driver}-${n}`);
        const workerId = `bench-restore-${driver}-${n}`;
        broker.trackWorker(workerId);
        const env = {
          ...workerEnv({
            workerId,
            emulatorUrl: ctx.emulator.url,
            rootPublicKeyHex: ctx.emulator.rootPublicKeyHex,
            storageDir: dir,
            extra: {
              SESSION_ENCRYPTION_KEY: key,
              RESTORE_CONCURRENCY: process.env.BENCH_RESTORE_CONCURRENCY,
              ...(driver === 's3' ? s3Env(s3.options(`bench-${ctx.runId}-${n}`)) : {}),
            },
          }),
          ...broker.env,
        };
        await seedWorkerStorage(env, subset);
        const w: number[] = [];
        const b: number[] = [];
        for (let r = 0; r < rounds; r++) {
          for (const side of r % 2 === 0 ? (['worker', 'baseline'] as const) : (['baseline', 'worker'] as const)) {
            const s3Cpu0 = s3.cpuSeconds();
            const s3Req0 = await s3.requests();
            const ms = side === 'worker' ? await workerRestore(env, broker, subset, timeoutMs) : await bareRelogin(ctx.emulator.url, subset, timeoutMs);
            let s3Cpu = '';
            if (side === 'worker' && driver === 's3') {
              const cpuMs = (s3.cpuSeconds() - s3Cpu0) * 1000;
              const req = await s3.requests();
              const perSession = Object.entries(req)
                .map(([k, v]) => `${k} ${((v - (s3Req0[k] ?? 0)) / n).toFixed(2)}`)
                .join(', ');
              s3Cpu = `; s3rver: ${cpuMs.toFixed(0)} ms CPU (${(cpuMs / n).toFixed(1)} ms per session), requests per session: ${perSession}`;
              s3Stats.push({ n, cpuMsPerSession: cpuMs / n, perSession });
            }
            (side === 'worker' ? w : b).push(ms);
            ctx.log(
              `  restore N=${n} ${driver} round ${r + 1}/${rounds} ${side}: all connected in ${ms.toFixed(0)} ms (emulator connections open after teardown: ${await ctx.emulator.connectionCount()}${s3Cpu})`,
            );
          }
        }
        removeDir(dir);
        figures.push(
          figure({
            name: `N=${n} ${driver === 'local' ? 'local disk' : 'S3 (s3rver)'}`,
            unit: 'ms',
            worker: w,
            baseline: b,
            rounds: { worker: w, baseline: b },
            target: ({ ratio }) => ({
              text: n === 500 ? '≤ 1.5× bare re-login' : `≤ 1.5× bare (set for N=500; shown at N=${n})`,
              met: ratio !== null && ratio <= 1.5,
            }),
          }),
        );
      }
    }
  } finally {
    await broker.close();
    await s3?.close().catch(() => undefined);
  }
  return {
    id: 'restore',
    title: 'Restore: start → all connected',
    measures:
      'Wall time per round. Worker: worker.start() → the last of N `connected` events consumed (storage encrypted with SESSION_ENCRYPTION_KEY; RESTORE_CONCURRENCY at its default, 32). Baseline: N bare sockets started at once from in-memory creds → the last connection "open". p50 over rounds.',
    status: 'ok',
    settings: {
      ns,
      rounds,
      drivers: ['local', 's3 (s3rver in its own process)'],
      restoreConcurrency: process.env.BENCH_RESTORE_CONCURRENCY ?? 'default (32)',
      encrypted: true,
    },
    figures,
    notes: [
      SEED_METHOD,
      'Seeded into each storage as a linked session leaves it; emulator skipPrekeyUpload: true, in its own process.',
      ...ns.flatMap((n) => {
        const mine = s3Stats.filter((s) => s.n === n);
        if (!mine.length) return [];
        return [
          `S3, N=${n}: the s3rver process (a single-threaded JS stand-in for S3, on the same cores) spent ${median(mine.map((s) => s.cpuMsPerSession)).toFixed(1)} ms of CPU per restored session (median over worker rounds); requests per session: ${mine[mine.length - 1]!.perSession}.`,
        ];
      }),
    ],
    durationMs: Date.now() - started,
  };
}

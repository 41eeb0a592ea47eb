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
import { authFromSeed, inLanes, openClient, type BareClient, type Seed } from '../baseline.js';
import { figure, removeDir, tempDir, withTimeout, type BenchContext } from '../context.js';
import { LocalSeedCache, SEED_METHOD, seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { buildWorker, s3Env, workerEnv } from '../worker-side.js';
import { startS3rverChild, type S3Child } from '../s3.js';
import { seedsFor } from './seeds-pool.js';
import { median, summarize } from '../stats.js';
import { LiveProbes, type ProbeSamples } from '../live-probes.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { FULL_SEEDS } from './seeds-pool.js';
import { LITE_SEED_METHOD } from '../seed.js';

type Driver = 'local' | 's3';

/** Which sizes run on which storage: the scale sizes (5,000 local, 1,000 S3) only in full mode. */
function cases(quick: boolean): Array<{ n: number; driver: Driver }> {
  const envNs = process.env.BENCH_RESTORE_NS?.split(',').map(Number);
  const envDrivers = process.env.BENCH_RESTORE_DRIVERS?.split(',') as Driver[] | undefined;
  if (envNs) return envNs.flatMap((n) => (envDrivers ?? ['local', 's3']).map((driver) => ({ n, driver })));
  const all: Array<{ n: number; driver: Driver }> = quick
    ? [20].flatMap((n) => (['local', 's3'] as const).map((driver) => ({ n, driver })))
    : [...[100, 500, 1000].flatMap((n) => (['local', 's3'] as const).map((driver) => ({ n, driver }))), { n: 5000, driver: 'local' as const }];
  return envDrivers ? all.filter((c) => envDrivers.includes(c.driver)) : all;
}

/** Emulated contact the live-traffic send probes write to. */
const PROBE_CONTACT = '+4915199990002';
/** Probes after the restore (the same worker, every session open): the reference for those during it. */
const PROBES_AFTER = 10;

async function workerRestore(
  env: Record<string, string | undefined>,
  broker: BenchBroker,
  seeds: readonly Seed[],
  timeoutMs: number,
  probes?: LiveProbes,
): Promise<number> {
  const ids = new Map(seeds.map((s) => [s.numberId, s]));
  const { worker } = await buildWorker(env);
  const off = probes
    ? broker.events.on((m) => {
        const seed = m.body?.action === 'connected' ? ids.get(m.body.numberId) : undefined;
        if (seed) probes.setSender(seed);
      })
    : undefined;
  try {
    const all = broker.events.collect((b) => b?.action === 'connected' && ids.has(b.numberId), seeds.length, timeoutMs, `${seeds.length} connected`);
    const t0 = performance.now();
    await worker.start();
    probes?.start();
    const got = await all;
    const ms = Math.max(...got.map((m) => m.at)) - t0;
    if (probes) {
      probes.phase = 'after';
      await sleep(PROBES_AFTER * 1000);
      await probes.stop();
    }
    return ms;
  } finally {
    off?.();
    await worker.stop().catch(() => undefined);
  }
}

/**
 * From N=1,000 the bare sockets start BARE_LANES at a time, as the worker restores (its default
 * RESTORE_CONCURRENCY): thousands started at once do not finish their Noise handshakes within
 * Baileys' 20 s connect timeout on 2 cores (408), so "all at once" would measure nothing.
 */
const BARE_LANES = 32;

async function bareRelogin(url: string, seeds: readonly Seed[], timeoutMs: number): Promise<number> {
  const clients: BareClient[] = [];
  try {
    const auths = seeds.map((s) => authFromSeed(s));
    const t0 = performance.now();
    const open = (auth: (typeof auths)[number]): Promise<void> => {
      const { client, opened } = openClient(url, auth, timeoutMs);
      clients.push(client);
      return opened;
    };
    await withTimeout(seeds.length >= 1000 ? inLanes(auths, BARE_LANES, open) : Promise.all(auths.map(open)).then(() => undefined), timeoutMs, 'bare re-login');
    return performance.now() - t0;
  } finally {
    for (const c of clients) c.end();
  }
}

/** Rounds per case: one at the scale sizes (minutes each). */
function roundsFor(quick: boolean, n: number): number {
  return quick ? 2 : n >= 1000 ? 1 : 3;
}

function targetText(n: number, driver: Driver): string {
  if (driver === 'local' && n === 5000) return '≤ 180 s';
  if (driver === 's3' && n === 1000) return '≤ 1.5× local disk at N=1000';
  return n === 500 ? '≤ 1.5× bare re-login' : `≤ 1.5× bare (set for N=500; shown at N=${n})`;
}

export async function restoreScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const list = cases(ctx.quick);
  const ns = [...new Set(list.map((c) => c.n))];
  const broker = await BenchBroker.open(`bench.${ctx.runId}.restore`);
  let s3: S3Child | undefined;
  const figures = [];
  const notes: string[] = [];
  const key = randomBytes(32).toString('hex');
  const s3Stats: Array<{ n: number; cpuMsPerSession: number; perSession: string }> = [];
  const localWorkerMs = new Map<number, number>();
  // live traffic is probed while the largest local restore runs (the scale case)
  const probedN = Math.max(...list.filter((c) => c.driver === 'local').map((c) => c.n), 0);
  let probed: ProbeSamples | undefined;
  try {
    s3 = await startS3rverChild();
    const seeds = await seedsFor(ctx, Math.max(...ns));
    if (!(await ctx.emulator.hasContact(PROBE_CONTACT))) await ctx.emulator.addContact(PROBE_CONTACT);
    const s3Child = s3;
    // one worker id per driver: the local storages are copies of one seeding, whose metadata names it
    const envFor = (driver: Driver, n: number, dir: string) => {
      const workerId = `bench-restore-${driver}`;
      broker.trackWorker(workerId);
      return {
        ...workerEnv({
          workerId,
          emulatorUrl: ctx.emulator.url,
          rootPublicKeyHex: ctx.emulator.rootPublicKeyHex,
          storageDir: dir,
          extra: {
            SESSION_ENCRYPTION_KEY: key,
            RESTORE_CONCURRENCY: process.env.BENCH_RESTORE_CONCURRENCY,
            ...(driver === 's3' ? s3Env(s3Child.options(`bench-${ctx.runId}-${n}`)) : {}),
          },
        }),
        ...broker.env,
      };
    };
    const localCache = new LocalSeedCache(envFor('local', 0, tempDir(ctx, 'restore-master')));
    for (const { n, driver } of list) {
      const subset = seeds.slice(0, n);
      const timeoutMs = 60_000 + n * 300;
      const rounds = roundsFor(ctx.quick, n);
      const dir = tempDir(ctx, `restore-${driver}-${n}`);
      const env = envFor(driver, n, dir);
      const seeded0 = Date.now();
      // local disk: copies of one seeding (seed.ts LocalSeedCache); S3: written through the store
      if (driver === 'local') await localCache.fill(subset, dir);
      else await seedWorkerStorage(env, subset);
      if (n >= 1000) ctx.log(`  restore N=${n} ${driver}: storage seeded in ${((Date.now() - seeded0) / 1000).toFixed(1)} s`);
      const w: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const side of r % 2 === 0 ? (['worker', 'baseline'] as const) : (['baseline', 'worker'] as const)) {
          const s3Cpu0 = s3.cpuSeconds();
          const s3Req0 = await s3.requests();
          const emuCpu0 = await ctx.emulator.cpuSeconds();
          const ownCpu0 = process.cpuUsage();
          const probes =
            side === 'worker' && driver === 'local' && n === probedN && r === 0
              ? new LiveProbes(broker, env.WORKER_ID!, PROBE_CONTACT, { intervalMs: 1000, answerTimeoutMs: 120_000 })
              : undefined;
          const ms = side === 'worker' ? await workerRestore(env, broker, subset, timeoutMs, probes) : await bareRelogin(ctx.emulator.url, subset, timeoutMs);
          if (probes) probed = probes.samples;
          let extra = '';
          if (n >= 1000) {
            // where the CPU went during the round (the probes' 10 s after the restore included)
            const emuCpu = (await ctx.emulator.cpuSeconds()) - emuCpu0;
            const own = process.cpuUsage(ownCpu0);
            extra = `; CPU: emulator ${emuCpu.toFixed(1)} s, bench process (${side === 'worker' ? 'the worker' : 'bare sockets'}) ${((own.user + own.system) / 1e6).toFixed(1)} s`;
            notes.push(`N=${n} ${driver} ${side} round ${r + 1}: ${(ms / 1000).toFixed(1)} s${extra}.`);
          }
          if (side === 'worker' && driver === 's3') {
            const cpuMs = (s3.cpuSeconds() - s3Cpu0) * 1000;
            const req = await s3.requests();
            const perSession = Object.entries(req)
              .map(([k, v]) => `${k} ${((v - (s3Req0[k] ?? 0)) / n).toFixed(2)}`)
              .join(', ');
            extra += `; s3rver: ${cpuMs.toFixed(0)} ms CPU (${(cpuMs / n).toFixed(1)} ms per session), requests per session: ${perSession}`;
            s3Stats.push({ n, cpuMsPerSession: cpuMs / n, perSession });
          }
          (side === 'worker' ? w : b).push(ms);
          ctx.log(
            `  restore N=${n} ${driver} round ${r + 1}/${rounds} ${side}: all connected in ${ms.toFixed(0)} ms (emulator connections open after teardown: ${await ctx.emulator.connectionCount()}${extra})`,
          );
        }
      }
      removeDir(dir);
      if (driver === 'local') localWorkerMs.set(n, median(w));
      const local = localWorkerMs.get(n);
      figures.push(
        figure({
          name: `N=${n} ${driver === 'local' ? 'local disk' : 'S3 (s3rver)'}`,
          unit: 'ms',
          worker: w,
          baseline: b,
          rounds: { worker: w, baseline: b },
          target: ({ ratio, worker }) => ({
            text: targetText(n, driver),
            met:
              driver === 'local' && n === 5000
                ? worker <= 180_000
                : driver === 's3' && n === 1000
                  ? local !== undefined && worker <= 1.5 * local
                  : ratio !== null && ratio <= 1.5,
          }),
        }),
      );
      if (probed && driver === 'local' && n === probedN) figures.push(...probeFigures(n, probed, notes));
    }
  } finally {
    await broker.close();
    await s3?.close().catch(() => undefined);
  }
  return {
    id: 'restore',
    title: 'Restore: start → all connected',
    measures:
      'Wall time per round. Worker: worker.start() → the last of N `connected` events consumed (storage encrypted with SESSION_ENCRYPTION_KEY; RESTORE_CONCURRENCY at its default, 32). Baseline: N bare sockets started at once (from N=1000: 32 at a time) from in-memory creds → the last connection "open". p50 over rounds.',
    status: 'ok',
    settings: {
      cases: list.map((c) => `${c.driver} N=${c.n}`),
      rounds: Object.fromEntries(ns.map((n) => [`N=${n}`, roundsFor(ctx.quick, n)])),
      drivers: ['local', 's3 (s3rver in its own process)'],
      restoreConcurrency: process.env.BENCH_RESTORE_CONCURRENCY ?? 'default (32)',
      encrypted: true,
      liveTrafficProbes: probedN ? { n: probedN, driver: 'local', every: '1 s', afterRestore: `${PROBES_AFTER} s` } : null,
    },
    figures,
    notes: [
      SEED_METHOD,
      ...(Math.max(...ns) > FULL_SEEDS ? [LITE_SEED_METHOD] : []),
      'Seeded into each storage as a linked session leaves it; emulator skipPrekeyUpload: true, in its own process. The worker is a fresh one on that storage, as after a SIGKILL: nothing in memory, every session listed and read from storage (the seeded metadata names this worker).',
      ...ns.flatMap((n) => {
        const mine = s3Stats.filter((s) => s.n === n);
        if (!mine.length) return [];
        return [
          `S3, N=${n}: the s3rver process (a single-threaded JS stand-in for S3, on the same cores) spent ${median(mine.map((s) => s.cpuMsPerSession)).toFixed(1)} ms of CPU per restored session (median over worker rounds); requests per session: ${mine[mine.length - 1]!.perSession}.`,
        ];
      }),
      ...notes,
    ],
    durationMs: Date.now() - started,
  };
}

/** QR and send latency of live traffic on the restoring worker, during the restore and after it. */
function probeFigures(n: number, p: ProbeSamples, notes: string[]): ReturnType<typeof figure>[] {
  const out: ReturnType<typeof figure>[] = [];
  for (const [kind, label] of [
    ['qr', 'QR latency of a new number (create → qr_generated)'],
    ['send', 'send latency of a restored number (send_message → message_sent)'],
  ] as const) {
    const during = p[kind].during;
    const after = p[kind].after;
    if (during.length)
      out.push(figure({ name: `N=${n} local: ${kind === 'qr' ? 'QR' : 'send'} latency during restore`, unit: 'ms', worker: during, baseline: null }));
    if (after.length)
      out.push(figure({ name: `N=${n} local: ${kind === 'qr' ? 'QR' : 'send'} latency after restore`, unit: 'ms', worker: after, baseline: null }));
    const d = during.length ? summarize(during) : undefined;
    const a = after.length ? summarize(after) : undefined;
    notes.push(
      `Live traffic on the same worker, N=${n} local, ${label}, one probe a second: during the restore ${d ? `${d.n} probes, p50 ${d.p50.toFixed(0)} ms, p99 ${d.p99.toFixed(0)} ms` : 'no probe answered'}; after it (all ${n} open, ${PROBES_AFTER} s) ${a ? `p50 ${a.p50.toFixed(0)} ms, p99 ${a.p99.toFixed(0)} ms` : 'no probe answered'}; lost (no answer within 120 s): ${p.lost[kind]}.`,
    );
  }
  return out;
}

/**
 * Scenarios 1 and 2, measured in the same rounds.
 * 1. QR latency. Worker: N `create` commands published at once to the shared command queue (as
 *    the backend does) → each session's first `qr_generated` consumed from the session-events
 *    queue; per session: publish → event received. Baseline: N × `makeWASocket()` → first `qr`.
 * 2. Link latency. Then the emulated phone scans every QR at once. Worker: scanQr called →
 *    `connected` consumed. Baseline: scanQr called → `connection: 'open'` (after the 515 restart).
 * Worker and baseline alternate (W,B then B,W …), in the bench process, on the same emulator (its own process).
 */
import { performance } from 'node:perf_hooks';
import { BenchBroker } from '../broker.js';
import { BareClient, memoryAuth } from '../baseline.js';
import { figure, removeDir, tempDir, withTimeout, type BenchContext } from '../context.js';
import { median } from '../stats.js';
import { nextNumber } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { buildWorker, workerEnv } from '../worker-side.js';

interface SideSamples {
  qr: number[];
  link: number[];
}

/** Per round: a fixed minute plus a second per session (N=200: 260 s for all QRs, the same again for all links). */
const timeoutFor = (n: number): number => 60_000 + n * 1000;

async function workerRound(ctx: BenchContext, broker: BenchBroker, n: number, round: number): Promise<SideSamples> {
  const workerId = `bench-qr-${round < 0 ? 'warmup' : round}-${n}`;
  broker.trackWorker(workerId);
  const dir = tempDir(ctx, 'qr-worker');
  const { worker } = await buildWorker({
    ...workerEnv({ workerId, emulatorUrl: ctx.emulator.url, rootPublicKeyHex: ctx.emulator.rootPublicKeyHex, storageDir: dir }),
    ...broker.env,
  });
  try {
    await worker.start();
    await withTimeout(worker.waitUntilActive(), 30_000, 'worker active');
    // A long-running worker is what the backend talks to: one command round trip first (a
    // `status` for an unknown number, answered with command_rejected) so the start-up work
    // (restore of its empty storage, heartbeat, first use of each code path) is over.
    const ping = nextNumber();
    const pong = broker.events.collect((b) => b?.action === 'command_rejected' && b.numberId === ping.numberId, 1, 30_000, 'warm-up command_rejected');
    broker.publishCommand({
      sessionId: ping.numberId,
      action: 'status',
      requestId: `warmup-${ping.numberId}`,
      data: { numberId: ping.numberId, phoneNumber: ping.phone, workerId },
    });
    await pong;
    const numbers = Array.from({ length: n }, () => nextNumber());
    const ids = new Set(numbers.map((x) => x.numberId));
    const qrs = broker.events.collect((b) => b?.action === 'qr_generated' && ids.has(b.numberId) && b.attempt === 1, n, timeoutFor(n), `${n} qr_generated`);
    const sent = new Map<number, number>();
    for (const { numberId, phone } of numbers)
      sent.set(
        numberId,
        broker.publishCommand({ sessionId: numberId, action: 'create', data: { numberId, phoneNumber: phone, workerId }, timestamp: Date.now() }),
      );
    await broker.confirmed();
    const got = await qrs;
    const qr = got.map((m) => m.at - sent.get(m.body.numberId)!);

    const connected = broker.events.collect((b) => b?.action === 'connected' && ids.has(b.numberId), n, timeoutFor(n), `${n} connected`);
    const scanAt = new Map<number, number>();
    for (const m of got) {
      const phone = numbers.find((x) => x.numberId === m.body.numberId)!.phone;
      scanAt.set(m.body.numberId, performance.now());
      ctx.emulator.scanQr(m.body.qrString, { phoneNumber: phone }).catch((err) => ctx.log(`scan failed: ${(err as Error).message}`));
    }
    const link = (await connected).map((m) => m.at - scanAt.get(m.body.numberId)!);
    return { qr, link };
  } finally {
    await worker.stop().catch(() => undefined);
    removeDir(dir);
  }
}

async function baselineRound(ctx: BenchContext, n: number): Promise<SideSamples> {
  const clients: BareClient[] = [];
  try {
    const qr: number[] = [];
    const link: number[] = [];
    await withTimeout(
      Promise.all(
        Array.from({ length: n }, () => {
          const { phone } = nextNumber();
          return new Promise<void>((resolve, reject) => {
            let t0 = 0;
            let scanAt = 0;
            const client = new BareClient(ctx.emulator.url, memoryAuth(), {
              onQr: (q) => {
                if (scanAt) return;
                qr.push(performance.now() - t0);
                scanAt = performance.now();
                ctx.emulator.scanQr(q, { phoneNumber: phone }).catch(reject);
              },
              onOpen: () => {
                link.push(performance.now() - scanAt);
                resolve();
              },
              onClose: (code) => reject(new Error(`bare client closed with ${code}`)),
            });
            clients.push(client);
            t0 = performance.now();
            client.start();
          });
        }),
      ),
      timeoutFor(n) * 2,
      `baseline N=${n}`,
    );
    return { qr, link };
  } finally {
    for (const c of clients) c.end();
  }
}

/**
 * The baseline scans each QR as soon as it shows, the worker side once every QR of the round is
 * in; the link latency is timed from each scan, so this changes what overlaps, not what is timed.
 */
export async function qrLinkScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const started = Date.now();
  const ns = ctx.quick ? [1, 20] : [1, 50, 200];
  // N=1 rounds are cheap and one sample each: more of them. The largest N gets fewer (run time).
  const roundsFor = (n: number): number => (n === 1 ? (ctx.quick ? 7 : 15) : ctx.quick ? 3 : n >= 200 ? 3 : 5);
  const broker = await BenchBroker.open(`bench.${ctx.runId}.qr`);
  const qrFigures = [];
  const linkFigures = [];
  try {
    // One uncounted N=1 round per side first: module loading and JIT warm-up of both code paths.
    await workerRound(ctx, broker, 1, -1);
    await ctx.emulator.forgetAccounts();
    await baselineRound(ctx, 1);
    await ctx.emulator.forgetAccounts();
    for (const n of ns) {
      const rounds = roundsFor(n);
      const w: SideSamples = { qr: [], link: [] };
      const b: SideSamples = { qr: [], link: [] };
      const perRound = { wq: [] as number[], bq: [] as number[], wl: [] as number[], bl: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? (['worker', 'baseline'] as const) : (['baseline', 'worker'] as const);
        for (const side of order) {
          const s = side === 'worker' ? await workerRound(ctx, broker, n, r) : await baselineRound(ctx, n);
          await ctx.emulator.forgetAccounts();
          (side === 'worker' ? w : b).qr.push(...s.qr);
          (side === 'worker' ? w : b).link.push(...s.link);
          if (side === 'worker') {
            perRound.wq.push(median(s.qr));
            perRound.wl.push(median(s.link));
          } else {
            perRound.bq.push(median(s.qr));
            perRound.bl.push(median(s.link));
          }
          ctx.log(`  qr/link N=${n} round ${r + 1}/${rounds} ${side}: qr p50 ${median(s.qr).toFixed(1)} ms, link p50 ${median(s.link).toFixed(1)} ms`);
        }
      }
      const largest = n === ns[ns.length - 1];
      qrFigures.push(
        figure({
          name: `N=${n} first QR`,
          unit: 'ms',
          worker: w.qr,
          baseline: b.qr,
          rounds: { worker: perRound.wq, baseline: perRound.bq },
          ...(n === 1
            ? { target: ({ overhead }) => ({ text: 'p50 overhead ≤ 25 ms', met: overhead !== null && overhead <= 25 }) }
            : largest
              ? {
                  target: ({ ratio }) => ({
                    text: n === 200 ? 'ratio ≤ 1.3 at N=200' : `ratio ≤ 1.3 (set for N=200; shown at N=${n})`,
                    met: ratio !== null && ratio <= 1.3,
                  }),
                }
              : {}),
        }),
      );
      linkFigures.push(
        figure({ name: `N=${n} scan→connected`, unit: 'ms', worker: w.link, baseline: b.link, rounds: { worker: perRound.wl, baseline: perRound.bl } }),
      );
    }
  } finally {
    await broker.close();
  }
  const settings = {
    ns,
    rounds: Object.fromEntries(ns.map((n) => [`N=${n}`, roundsFor(n)])),
    warmUp: 'one uncounted N=1 round per side',
    emulator: { skipPrekeyUpload: true },
    order: 'alternating W,B / B,W',
    workerAndBaseline: 'in the bench process',
    emulatorProcess: 'separate (scripts/bench/emulator-child.ts)',
  };
  const durationMs = Date.now() - started;
  return [
    {
      id: 'qr-latency',
      title: 'QR latency: create → first QR',
      measures:
        'Per session: worker = `create` published to the shared command queue → `qr_generated` consumed from the session-events queue (routing to the worker queue, session start, PNG rendering, publish with confirm included); baseline = makeWASocket() → first connection.update {qr}. N sessions started at once; samples pooled over rounds. Each worker round uses a fresh worker, warmed by one command round trip (a `status` for an unknown number) before the timed creates.',
      status: 'ok',
      settings,
      figures: qrFigures,
      notes: [
        `Rounds per N: ${ns.map((n) => `N=${n}: ${roundsFor(n)}`).join(', ')} (each round = one worker and one baseline pass, alternating order), after one uncounted N=1 warm-up round per side. Emulator in its own process, skipPrekeyUpload: true.`,
      ],
      durationMs,
    },
    {
      id: 'link-latency',
      title: 'Link latency: scan → connected',
      measures:
        "Per session: emulator.scanQr(qr) called → worker: `connected` consumed from the session-events queue (the worker flushes the credentials and saves metadata before publishing it); baseline: connection 'open' after the 515 restart. No target was set for this figure.",
      status: 'ok',
      settings,
      figures: linkFigures,
      notes: ['Same rounds as the QR scenario; emulator skipPrekeyUpload: true.'],
      durationMs,
    },
  ];
}

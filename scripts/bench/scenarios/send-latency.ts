/**
 * Scenario `send-latency` (issue 15): the latency a user feels for one message, one at a time —
 * the next command is published only after the previous `message_sent` arrived. The worker is
 * measured on both roads a backend can take: the shared command queue (the worker forwards it,
 * confirmed, to its own queue, then executes it there) and the worker's own queue
 * (`<commands>.<workerId>`, executed at once). The two alternate sample by sample, so load
 * drift hits both alike. Baseline: bare Baileys' `sendMessage`, awaited, one at a time: the point
 * where the worker publishes `message_sent` is the same promise resolving (WhatsApp took the
 * message), so the worker's overhead is everything around that call: the command's way in, the
 * event's way out to the backend.
 */
import { performance } from 'node:perf_hooks';
import { BenchBroker } from '../broker.js';
import { figure, removeDir, tempDir, withTimeout, type BenchContext } from '../context.js';
import { seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { workerEnv } from '../worker-side.js';
import { seedsFor } from './seeds-pool.js';
import { CONTACT, CONTACT_JID, openedBare, requestId, roundTrip, sendCommand, startedWorker } from './send-common.js';

const TARGET_MS = 15;

export async function sendLatencyScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const samples = ctx.quick ? 50 : 300;
  // Many short rounds, the sides alternating: the load of a shared machine swings within seconds.
  const rounds = ctx.quick ? 2 : 6;
  const perRound = Math.ceil(samples / rounds);
  const settings = { samplesPerPath: perRound * rounds, rounds, contact: 'one emulated contact', type: 'text', oneAtATime: true };
  const broker = await BenchBroker.open(`bench.${ctx.runId}.latency`);
  const dir = tempDir(ctx, 'latency');
  try {
    const seed = (await seedsFor(ctx, 1))[0]!;
    if (!(await ctx.emulator.hasContact(CONTACT))) await ctx.emulator.addContact(CONTACT);
    const workerId = 'bench-latency';
    broker.trackWorker(workerId);
    const env = { ...workerEnv({ workerId, emulatorUrl: ctx.emulator.url, rootPublicKeyHex: ctx.emulator.rootPublicKeyHex, storageDir: dir }), ...broker.env };
    const ownQueue = `${env.QUEUE_SESSION_COMMANDS}.${workerId}`;
    await seedWorkerStorage(env, [seed]);

    const shared: number[] = [];
    const own: number[] = [];
    const bare: number[] = [];
    const roundP50 = { shared: [] as number[], own: [] as number[], bare: [] as number[] };
    const p50 = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

    const workerRound = async () => {
      const { worker } = await startedWorker(ctx, broker, env, seed);
      try {
        const s: number[] = [];
        const o: number[] = [];
        for (let i = 0; i < perRound; i++) {
          for (const road of i % 2 === 0 ? (['shared', 'own'] as const) : (['own', 'shared'] as const)) {
            const id = requestId(ctx, `${road}-${i}`);
            const body = sendCommand(seed, workerId, id, `latency ${road} ${i}`);
            const { sentAt, event } = await roundTrip(broker, id, () => (road === 'shared' ? broker.publishCommand(body) : broker.publishTo(ownQueue, body)));
            (road === 'shared' ? s : o).push(event.at - sentAt);
          }
        }
        shared.push(...s);
        own.push(...o);
        roundP50.shared.push(p50(s));
        roundP50.own.push(p50(o));
        return `shared p50 ${p50(s).toFixed(1)} ms, own queue p50 ${p50(o).toFixed(1)} ms`;
      } finally {
        await worker.stop().catch(() => undefined);
      }
    };

    const bareRound = async () => {
      const client = await openedBare(ctx, seed);
      try {
        const b: number[] = [];
        for (let i = 0; i < perRound; i++) {
          const t0 = performance.now();
          await withTimeout(client.sock!.sendMessage(CONTACT_JID, { text: `latency bare ${i}` }), 30_000, 'sendMessage');
          b.push(performance.now() - t0);
        }
        bare.push(...b);
        roundP50.bare.push(p50(b));
        return `sendMessage p50 ${p50(b).toFixed(1)} ms`;
      } finally {
        client.end();
      }
    };

    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['worker', 'baseline'] as const) : (['baseline', 'worker'] as const)) {
        const line = side === 'worker' ? await workerRound() : await bareRound();
        ctx.log(`  latency round ${r + 1}/${rounds} ${side}: ${line}`);
      }
    }

    const target = ({ overhead }: { overhead: number | null }) => ({ text: `p50 ≤ bare + ${TARGET_MS} ms`, met: overhead !== null && overhead <= TARGET_MS });
    return {
      id: 'send-latency',
      title: 'Send latency, one message at a time',
      measures:
        'One send_message at a time (the next published once the previous message_sent arrived): publish → message_sent consumed by the backend, on the shared command queue and on the worker’s own queue (alternating). Baseline: one awaited bare sock.sendMessage (the call whose resolution the worker reports as message_sent).',
      status: 'ok',
      settings,
      figures: [
        figure({
          name: 'via the shared queue',
          unit: 'ms',
          worker: shared,
          baseline: bare,
          rounds: { worker: roundP50.shared, baseline: roundP50.bare },
          target,
        }),
        figure({
          name: 'via the worker’s own queue',
          unit: 'ms',
          worker: own,
          baseline: bare,
          rounds: { worker: roundP50.own, baseline: roundP50.bare },
          target,
        }),
      ],
      notes: [
        `Own queue vs shared queue, p50: ${(p50(shared) - p50(own)).toFixed(1)} ms saved by publishing straight to <commands>.<workerId> (the shared queue adds one confirmed forward and one more delivery).`,
        'Each worker round: a fresh worker restores the session, then one uncounted send (the first send checks the recipient and opens the Signal session); each bare round: one uncounted send after login.',
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await broker.close();
    removeDir(dir);
  }
}

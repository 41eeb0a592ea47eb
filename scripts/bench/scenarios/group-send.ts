/**
 * Scenario: sends to a 200-participant group, with and without the group metadata cache
 * (GROUP_METADATA_CACHE_SIZE default vs 0). Same worker, same linked account, same group: M
 * `send_message` to the group published at once → M `message_sent`. Without the cache Baileys asks
 * WhatsApp for the whole metadata (200 participants) before every send; with it, once. Reported
 * side by side: "worker" = with the cache, "baseline" = without it (not bare Baileys here), plus the
 * metadata queries the emulator answered per send.
 */
import { randomUUID } from 'node:crypto';
import { BenchBroker } from '../broker.js';
import type { Seed } from '../baseline.js';
import { figure, removeDir, tempDir, type BenchContext } from '../context.js';
import { seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { buildWorker, workerEnv } from '../worker-side.js';
import { seedsFor } from './seeds-pool.js';

const PARTICIPANTS = 200;

interface GroupSamples {
  latencies: number[];
  perSecond: number;
  queriesPerSend: number;
}

function sendCommand(seed: Seed, workerId: string, requestId: string, group: string, text: string): unknown {
  return {
    sessionId: seed.numberId,
    action: 'send_message',
    requestId,
    data: { numberId: seed.numberId, phoneNumber: seed.phone, workerId, to: group, type: 'text', text },
  };
}

export async function groupSendScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const m = ctx.quick ? 20 : 100;
  const rounds = ctx.quick ? 1 : 2;
  const settings = { messages: m, rounds, participants: PARTICIPANTS, type: 'text' };
  const broker = await BenchBroker.open(`bench.${ctx.runId}.group-send`);
  const dir = tempDir(ctx, 'group-send');
  try {
    const seed = (await seedsFor(ctx, 1))[0]!;
    const contacts = Array.from({ length: PARTICIPANTS - 1 }, (_, i) => `+49151977${String(i).padStart(5, '0')}`);
    const { jid: group } = await ctx.emulator.createGroup('bench group', [seed.phone, ...contacts]);
    const workerId = 'bench-group-send';
    broker.trackWorker(workerId);
    const baseEnv = {
      ...workerEnv({ workerId, emulatorUrl: ctx.emulator.url, rootPublicKeyHex: ctx.emulator.rootPublicKeyHex, storageDir: dir }),
      ...broker.env,
    };
    await seedWorkerStorage(baseEnv, [seed]);

    const round = async (cacheSize: string): Promise<GroupSamples> => {
      const { worker } = await buildWorker({ ...baseEnv, GROUP_METADATA_CACHE_SIZE: cacheSize });
      try {
        const connected = broker.events.collect((b) => b?.action === 'connected' && b.numberId === seed.numberId, 1, 60_000, 'connected');
        await worker.start();
        await connected;
        const queriesBefore = await ctx.emulator.groupMetadataQueries(group);
        const sent = new Map<string, number>();
        const reqs = Array.from({ length: m }, (_, i) => `bench-g-${ctx.runId}-${randomUUID().slice(0, 8)}-${i}`);
        const ids = new Set(reqs);
        const all = broker.messages.collect((b) => b?.action === 'message_sent' && ids.has(b.requestId), m, 120_000 + m * 2000, `${m} message_sent`);
        for (const [i, r] of reqs.entries()) sent.set(r, broker.publishCommand(sendCommand(seed, workerId, r, group, `group bench ${i}`)));
        await broker.confirmed();
        const got = await all;
        const first = Math.min(...sent.values());
        const last = Math.max(...got.map((g) => g.at));
        const queries = (await ctx.emulator.groupMetadataQueries(group)) - queriesBefore;
        return { latencies: got.map((g) => g.at - sent.get(g.body.requestId)!), perSecond: (m * 1000) / (last - first), queriesPerSend: queries / m };
      } finally {
        await worker.stop().catch(() => undefined);
      }
    };

    // a first send distributes the sender key to every member (199 pairwise sessions): not measured
    const warm = await round('256');
    ctx.log(`  group-send warm-up: ${warm.perSecond.toFixed(1)} msg/s`);
    const cached = { lat: [] as number[], rate: [] as number[], q: [] as number[] };
    const uncached = { lat: [] as number[], rate: [] as number[], q: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['cached', 'uncached'] as const) : (['uncached', 'cached'] as const)) {
        const s = await round(side === 'cached' ? '256' : '0');
        const into = side === 'cached' ? cached : uncached;
        into.lat.push(...s.latencies);
        into.rate.push(s.perSecond);
        into.q.push(s.queriesPerSend);
        ctx.log(`  group-send round ${r + 1}/${rounds} ${side}: ${s.perSecond.toFixed(1)} msg/s, ${s.queriesPerSend.toFixed(2)} metadata queries per send`);
      }
    }
    return {
      id: 'group-send',
      title: `Sends to a ${PARTICIPANTS}-participant group, with and without the metadata cache`,
      measures: `${m} send_message to one ${PARTICIPANTS}-participant group published at once → ${m} message_sent. "worker" = GROUP_METADATA_CACHE_SIZE=256 (default), "baseline" = GROUP_METADATA_CACHE_SIZE=0 (Baileys queries the metadata before every send).`,
      status: 'ok',
      settings,
      figures: [
        figure({
          name: `${m} group msgs throughput`,
          unit: 'msg/s',
          better: 'higher',
          worker: cached.rate,
          baseline: uncached.rate,
          rounds: { worker: cached.rate, baseline: uncached.rate },
          target: ({ ratio }) => ({ text: 'cache ≥ 1× no cache', met: ratio !== null && ratio >= 1 }),
        }),
        figure({ name: `${m} group msgs per-message latency`, unit: 'ms', worker: cached.lat, baseline: uncached.lat }),
        figure({ name: 'metadata queries per send', unit: 'queries', stat: 'mean', worker: cached.q, baseline: uncached.q }),
      ],
      notes: [
        'Both sides are the worker; only GROUP_METADATA_CACHE_SIZE differs. The cached side fills its cache with the first send of each round (one query per round).',
        'A warm-up round (not measured) distributes the sender key to the 199 member contacts first.',
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await broker.close();
    removeDir(dir);
  }
}

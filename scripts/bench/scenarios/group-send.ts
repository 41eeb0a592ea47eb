/**
 * Scenario: sends to a 200-participant group, with and without the group metadata cache
 * (GROUP_METADATA_CACHE_SIZE default vs 0). Same worker, same linked account, same group: M
 * `send_message` to the group published at once → M `message_sent` (the session sends them one
 * after the other). Without the cache Baileys asks WhatsApp for the whole metadata (a `w:g2`
 * `<query>` answered with 200 `<participant>` nodes) before every send; with it, once. Everything
 * else is the same on both sides, and the emulator's counters show it: the members' devices come
 * from Baileys' own device cache (fetched by each round's untimed primer send, with or without the
 * metadata cache), the sender key is distributed once (the first primer). Reported side by side:
 * "worker" = with the cache, "baseline" = without it (not bare Baileys here), plus the metadata and
 * device queries the emulator answered per send.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BenchBroker } from '../broker.js';
import type { Seed } from '../baseline.js';
import { figure, removeDir, tempDir, type BenchContext } from '../context.js';
import { seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { buildWorker, workerEnv } from '../worker-side.js';
import { seedsFor } from './seeds-pool.js';

const PARTICIPANTS = 200;

interface GroupSamples {
  /** publish → the emulator took the stanza, ms */
  takenLatencies: number[];
  /** sends the emulator took per second, from the first publish */
  takenPerSecond: number;
  /** message_sent per second, from the first publish */
  sentPerSecond: number;
  queriesPerSend: number;
  deviceQueriesPerSend: number;
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

    const member = contacts[0]!;
    let fannedOut = 0; // messages of the group the emulator has delivered to `member` so far
    /**
     * `count` sends published at once, until every message_sent and (untimed) the emulator's fan-out of them to the
     * members. Timed twice: until WhatsApp (the emulator) took each stanza, what the metadata query delays; and until
     * each message_sent, which also waits behind the 199 per-member message_status events of the earlier sends.
     */
    const batch = async (count: number): Promise<Omit<GroupSamples, 'queriesPerSend' | 'deviceQueriesPerSend'>> => {
      const sent = new Map<string, number>();
      const reqs = Array.from({ length: count }, (_, i) => `bench-g-${ctx.runId}-${randomUUID().slice(0, 8)}-${i}`);
      const ids = new Set(reqs);
      const all = broker.messages.collect((b) => b?.action === 'message_sent' && ids.has(b.requestId), count, 120_000 + count * 2000, `${count} message_sent`);
      for (const [i, r] of reqs.entries()) sent.set(r, broker.publishCommand(sendCommand(seed, workerId, r, group, `group bench ${i}`)));
      await broker.confirmed();
      const got = await all;
      const first = Math.min(...sent.values());
      const taken = await ctx.emulator.groupSendTimes(
        group,
        got.map((g) => String(g.body.messageId)),
      );
      if (taken.some((t) => t === null)) throw new Error(`${taken.filter((t) => t === null).length} of ${count} sends never reached the emulator`);
      // the emulator stamps with Date.now() (another process), the runner with performance.now(): mapped at this moment
      const epochOffset = Date.now() - performance.now();
      const takenAt = (taken as number[]).map((t) => t - epochOffset);
      // so that a batch does not inherit the previous one's backlog (the emulator decrypts each send for 199 members)
      fannedOut += count;
      await ctx.emulator.untilGroupReceived(member, group, fannedOut, 120_000);
      return {
        takenLatencies: got.map((g, i) => takenAt[i]! - sent.get(g.body.requestId)!),
        takenPerSecond: (count * 1000) / (Math.max(...takenAt) - first),
        sentPerSecond: (count * 1000) / (Math.max(...got.map((g) => g.at)) - first),
      };
    };
    const round = async (cacheSize: string, count: number): Promise<GroupSamples> => {
      const { worker } = await buildWorker({ ...baseEnv, GROUP_METADATA_CACHE_SIZE: cacheSize });
      try {
        const connected = broker.events.collect((b) => b?.action === 'connected' && b.numberId === seed.numberId, 1, 60_000, 'connected');
        await worker.start();
        await connected;
        // Untimed primer: a fresh socket's first group send fetches the 200 members' devices and re-fetches their
        // prekeys (Baileys re-asserts the sessions of newly mapped LIDs), seconds that do not depend on the cache
        // and swamped a 20-send round; it also fills the cache on the cached side, and the very first one
        // distributes the sender key to the 199 members. The timed sends are the steady state.
        await batch(1);
        const queriesBefore = await ctx.emulator.groupMetadataQueries(group);
        const devicesBefore = await ctx.emulator.deviceQueries();
        const timed = await batch(count);
        const queries = (await ctx.emulator.groupMetadataQueries(group)) - queriesBefore;
        const devices = (await ctx.emulator.deviceQueries()).queries - devicesBefore.queries;
        return { ...timed, queriesPerSend: queries / count, deviceQueriesPerSend: devices / count };
      } finally {
        await worker.stop().catch(() => undefined);
      }
    };

    const empty = () => ({ lat: [] as number[], rate: [] as number[], sentRate: [] as number[], q: [] as number[], d: [] as number[] });
    const cached = empty();
    const uncached = empty();
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['cached', 'uncached'] as const) : (['uncached', 'cached'] as const)) {
        const s = await round(side === 'cached' ? '256' : '0', m);
        const into = side === 'cached' ? cached : uncached;
        into.lat.push(...s.takenLatencies);
        into.rate.push(s.takenPerSecond);
        into.sentRate.push(s.sentPerSecond);
        into.q.push(s.queriesPerSend);
        into.d.push(s.deviceQueriesPerSend);
        ctx.log(
          `  group-send round ${r + 1}/${rounds} ${side}: ${s.takenPerSecond.toFixed(1)} msg/s taken by WhatsApp (${s.sentPerSecond.toFixed(1)} message_sent/s), ${s.queriesPerSend.toFixed(2)} metadata / ${s.deviceQueriesPerSend.toFixed(2)} device queries per send`,
        );
      }
    }
    return {
      id: 'group-send',
      title: `Sends to a ${PARTICIPANTS}-participant group, with and without the metadata cache`,
      measures: `${m} send_message to one ${PARTICIPANTS}-participant group published at once, timed until the emulator took each stanza and until each message_sent, after one untimed primer send per round. "worker" = GROUP_METADATA_CACHE_SIZE=256 (default), "baseline" = GROUP_METADATA_CACHE_SIZE=0 (Baileys queries the metadata before every send).`,
      status: 'ok',
      settings,
      figures: [
        figure({
          name: `${m} group msgs taken by WhatsApp`,
          unit: 'msg/s',
          better: 'higher',
          worker: cached.rate,
          baseline: uncached.rate,
          rounds: { worker: cached.rate, baseline: uncached.rate },
          target: ({ ratio }) => ({ text: 'cache ≥ 1× no cache', met: ratio !== null && ratio >= 1 }),
        }),
        figure({ name: `${m} group msgs publish → taken by WhatsApp`, unit: 'ms', worker: cached.lat, baseline: uncached.lat }),
        figure({
          name: `${m} group msgs message_sent`,
          unit: 'msg/s',
          better: 'higher',
          worker: cached.sentRate,
          baseline: uncached.sentRate,
          rounds: { worker: cached.sentRate, baseline: uncached.sentRate },
        }),
        figure({ name: 'metadata queries per send', unit: 'queries', stat: 'mean', worker: cached.q, baseline: uncached.q }),
        figure({ name: 'device (usync) queries per send', unit: 'queries', stat: 'mean', worker: cached.d, baseline: uncached.d }),
      ],
      notes: [
        'Both sides are the worker, a fresh one per round on the same stored session; only GROUP_METADATA_CACHE_SIZE differs (256 vs 0). Sends of a session go one after the other.',
        `What the baseline pays per send: one \`w:g2\` metadata query round trip before the send can start (the emulator building, Baileys decoding and parsing a ${PARTICIPANTS}-participant \`<group>\` node). The cached side pays it once per round, in the untimed primer send, so its timed sends make no query.`,
        `The same on both sides, and not timed: each round's primer send (a fresh socket fetches the ${PARTICIPANTS} members' devices in one usync query and re-fetches their prekeys); the members' devices then come from Baileys' own device cache (no device query per send on either side); the sender key is distributed once, by the first round's primer, so every timed send is one \`skmsg\` without per-member copies, which the emulator acks at once and fans out to the 199 members in the background (199 delivery receipts back per send, on both sides).`,
        "Each batch ends (untimed) once the emulator has fanned every send out, so a round does not inherit the previous one's backlog.",
        '"taken by WhatsApp" is timed to the moment the emulator received each stanza (what the metadata query delays). message_sent is published in order with the 199 per-member message_status events of the earlier sends, so its rate mostly measures those events: the faster the sends, the longer message_sent queues behind them (the cached side can come out lower there).',
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await broker.close();
    removeDir(dir);
  }
}

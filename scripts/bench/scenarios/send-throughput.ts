/**
 * Scenario `send-throughput` (issue 15): the worker against the baseline a user would build
 * instead of it — `amqp-loop.ts`, an amqplib consumer → Baileys `sendMessage` → confirmed
 * `message_sent` → ack. Same broker, same queue declaration (the worker's command-queue
 * arguments), same prefetch (the worker's RABBITMQ_PREFETCH default), same emulator, same linked
 * account, same TCP_NODELAY. M commands published at once (the worker's on the shared queue, as a
 * backend does by default); throughput = M / (last message_sent consumed − first publish).
 *
 * CPU per message: `process.cpuUsage()` of this process over the same window, divided by M. Both
 * sides run in this process next to the harness (publishing M commands, consuming the events),
 * which is the same work for both, so the difference between the two figures is the side under
 * test; the emulator and RabbitMQ run in their own processes and are read from /proc separately.
 */
import { BenchBroker } from '../broker.js';
import { AmqpSendLoop } from '../amqp-loop.js';
import { figure, removeDir, tempDir, type BenchContext } from '../context.js';
import { seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { workerEnv } from '../worker-side.js';
import { RABBITMQ_URL } from '../broker.js';
import { commandQueueArguments } from '../../../src/broker/topology.js';
import { loadConfig } from '../../../src/config/config.js';
import { seedsFor } from './seeds-pool.js';
import { CONTACT, cpuMeter, openedBare, requestId, sendCommand, startedWorker, type CpuPerMessage } from './send-common.js';

interface RoundResult {
  perSecond: number;
  cpu: CpuPerMessage;
}

export async function sendThroughputScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const m = ctx.quick ? 100 : 500;
  const rounds = ctx.quick ? 2 : 3;
  const broker = await BenchBroker.open(`bench.${ctx.runId}.throughput`);
  const dir = tempDir(ctx, 'throughput');
  try {
    const seed = (await seedsFor(ctx, 1))[0]!;
    if (!(await ctx.emulator.hasContact(CONTACT))) await ctx.emulator.addContact(CONTACT);
    const workerId = 'bench-throughput';
    broker.trackWorker(workerId);
    const env = { ...workerEnv({ workerId, emulatorUrl: ctx.emulator.url, rootPublicKeyHex: ctx.emulator.rootPublicKeyHex, storageDir: dir }), ...broker.env };
    const config = loadConfig(env);
    const prefetch = config.rabbitmq.prefetch;
    const settings = { messages: m, rounds, prefetch, contact: 'one emulated contact', type: 'text', commandsPublished: 'all at once' };
    await seedWorkerStorage(env, [seed]);

    /** Publishes M commands with `publish`, waits for the M message_sent, and measures the window. */
    const timed = async (label: string, publish: (id: string, i: number) => number): Promise<RoundResult> => {
      const ids = Array.from({ length: m }, (_, i) => requestId(ctx, `${label}-${i}`));
      const wanted = new Set(ids);
      const all = broker.messages.collect((b) => b?.action === 'message_sent' && wanted.has(b.requestId), m, 60_000 + m * 200, `${m} message_sent (${label})`);
      const meter = cpuMeter(ctx.emulator.pid);
      const first = ids.map((id, i) => publish(id, i))[0]!;
      await broker.confirmed();
      const got = await all;
      const cpu = meter(m);
      const last = Math.max(...got.map((g) => g.at));
      return { perSecond: (m * 1000) / (last - first), cpu };
    };

    const workerRound = async (): Promise<RoundResult> => {
      const { worker } = await startedWorker(ctx, broker, env, seed);
      try {
        // Development knob: BENCH_THROUGHPUT_OWN_QUEUE=1 publishes to the worker's own queue (no forward hop).
        const own = process.env.BENCH_THROUGHPUT_OWN_QUEUE === '1' ? `${env.QUEUE_SESSION_COMMANDS}.${workerId}` : undefined;
        return await timed('worker', (id, i) => {
          const body = sendCommand(seed, workerId, id, `throughput ${i}`);
          return own ? broker.publishTo(own, body) : broker.publishCommand(body);
        });
      } finally {
        await worker.stop().catch(() => undefined);
      }
    };

    let loopQueues = 0;
    const loopRound = async (): Promise<RoundResult> => {
      // A fresh queue per round: a stopped loop's unacked leftovers never leak into the next round.
      const queue = `${env.QUEUE_SESSION_COMMANDS}.loop${++loopQueues}`;
      await broker.declareQueue(queue, commandQueueArguments(config));
      const client = await openedBare(ctx, seed);
      const loop = await AmqpSendLoop.start({ url: RABBITMQ_URL, queue, exchange: config.queues.eventsExchange, prefetch, sock: client.sock! });
      try {
        return await timed('loop', (id, i) => broker.publishTo(queue, sendCommand(seed, workerId, id, `throughput ${i}`)));
      } finally {
        await loop.stop();
        client.end();
      }
    };

    const w = { rate: [] as number[], cpu: [] as CpuPerMessage[] };
    const b = { rate: [] as number[], cpu: [] as CpuPerMessage[] };
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['worker', 'baseline'] as const) : (['baseline', 'worker'] as const)) {
        const res = side === 'worker' ? await workerRound() : await loopRound();
        (side === 'worker' ? w : b).rate.push(res.perSecond);
        (side === 'worker' ? w : b).cpu.push(res.cpu);
        ctx.log(
          `  throughput round ${r + 1}/${rounds} ${side === 'worker' ? 'worker' : 'amqplib loop'}: ${res.perSecond.toFixed(1)} msg/s; CPU/msg bench ${res.cpu.bench.toFixed(2)} ms, emulator ${res.cpu.emulator.toFixed(2)} ms, RabbitMQ ${res.cpu.rabbitmq.toFixed(2)} ms`,
        );
      }
    }
    const pick = (list: CpuPerMessage[], k: keyof CpuPerMessage) => list.map((c) => c[k]);
    const cpuLine = (k: keyof CpuPerMessage) => {
      const avg = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;
      return `${avg(pick(w.cpu, k)).toFixed(2)} ms worker vs ${avg(pick(b.cpu, k)).toFixed(2)} ms loop`;
    };
    return {
      id: 'send-throughput',
      title: 'Send throughput vs an amqplib loop',
      measures: `${m} send_message commands published at once → ${m} message_sent consumed; msg/s = M / (last event − first publish). Worker: commands on the shared queue. Baseline: a minimal amqplib consumer (prefetch ${prefetch}, manual ack) → Baileys sendMessage in queue order → message_sent on a confirm channel → ack after the confirm (scripts/bench/amqp-loop.ts).`,
      status: 'ok',
      baselineLabel: 'amqplib loop',
      settings,
      figures: [
        figure({
          name: `${m} msgs throughput`,
          unit: 'msg/s',
          better: 'higher',
          worker: w.rate,
          baseline: b.rate,
          rounds: { worker: w.rate, baseline: b.rate },
          target: ({ ratio }) => ({ text: '≥ 0.9× amqplib loop', met: ratio !== null && ratio >= 0.9 }),
        }),
        figure({
          name: 'CPU per message, bench process',
          unit: 'ms',
          stat: 'mean',
          worker: pick(w.cpu, 'bench'),
          baseline: pick(b.cpu, 'bench'),
          rounds: { worker: pick(w.cpu, 'bench'), baseline: pick(b.cpu, 'bench') },
        }),
      ],
      notes: [
        `The "baseline" column of this scenario is the amqplib loop, not bare Baileys.`,
        `CPU per message (mean of rounds): bench process ${cpuLine('bench')}; emulator ${cpuLine('emulator')}; RabbitMQ ${cpuLine('rabbitmq')}. The bench process holds the side under test plus the harness (M publishes, the events consumed), which is the same for both, so the difference is the side's own; the worker also publishes message_status for each delivery receipt (the loop ignores receipts).`,
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await broker.close();
    removeDir(dir);
  }
}

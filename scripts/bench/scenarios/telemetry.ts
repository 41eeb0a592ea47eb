/**
 * The cost of telemetry: the same worker with OpenTelemetry on (exporting OTLP/HTTP to an
 * in-process sink that accepts and discards, metrics every 10 s) — the "worker" side — and off
 * (no endpoint: the no-op) — the "baseline" side, in alternating rounds on the same emulator.
 * A first round (off) is not counted (warm-up). Per round: M `send_message` commands published at once on one restored session → M
 * `message_sent` (throughput), then N `create` commands → each first `qr_generated` (QR latency).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { BenchBroker } from '../broker.js';
import type { Seed } from '../baseline.js';
import { figure, removeDir, tempDir, withTimeout, type BenchContext } from '../context.js';
import { nextNumber, seedWorkerStorage } from '../seed.js';
import type { ScenarioResult } from '../types.js';
import { buildWorker, workerEnv } from '../worker-side.js';
import { seedsFor } from './seeds-pool.js';

const CONTACT = '+4915199990002';

/** An OTLP endpoint that reads every request and answers 200: what a healthy collector costs the worker. */
async function otlpSink(): Promise<{ url: string; requests: () => number; bytes: () => number; close: () => Promise<void> }> {
  let requests = 0;
  let bytes = 0;
  const server: Server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    bytes: () => bytes,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RoundSamples {
  perSecond: number;
  qr: number[];
}

export async function telemetryScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const m = ctx.quick ? 50 : 300;
  const n = ctx.quick ? 5 : 20;
  const rounds = ctx.quick ? 2 : 3;
  const settings = { messages: m, qrSessions: n, rounds, metricExportIntervalMs: 10_000, sink: 'in-process OTLP/HTTP, accepts and discards' };
  const broker = await BenchBroker.open(`bench.${ctx.runId}.telemetry`);
  const sink = await otlpSink();
  try {
    const seed: Seed = (await seedsFor(ctx, 1))[0]!;
    if (!(await ctx.emulator.hasContact(CONTACT))) await ctx.emulator.addContact(CONTACT);

    const round = async (on: boolean, r: number): Promise<RoundSamples> => {
      const workerId = `bench-otel-${r < 0 ? 'warmup' : r}-${on ? 'on' : 'off'}`;
      broker.trackWorker(workerId);
      const dir = tempDir(ctx, 'telemetry');
      const env = {
        ...workerEnv({ workerId, emulatorUrl: ctx.emulator.url, rootPublicKeyHex: ctx.emulator.rootPublicKeyHex, storageDir: dir }),
        ...broker.env,
        ...(on ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_METRIC_EXPORT_INTERVAL: '10000' } : {}),
      };
      await seedWorkerStorage(env, [seed]);
      const { worker } = await buildWorker(env);
      try {
        const connected = broker.events.collect((b) => b?.action === 'connected' && b.numberId === seed.numberId, 1, 60_000, 'connected');
        await worker.start();
        await connected;

        const reqs = Array.from({ length: m }, (_, i) => `otel-${ctx.runId}-${randomUUID().slice(0, 8)}-${i}`);
        const ids = new Set(reqs);
        const all = broker.messages.collect((b) => b?.action === 'message_sent' && ids.has(b.requestId), m, 60_000 + m * 200, `${m} message_sent`);
        const sentAt: number[] = [];
        for (const [i, requestId] of reqs.entries())
          sentAt.push(
            broker.publishCommand({
              sessionId: seed.numberId,
              action: 'send_message',
              requestId,
              data: { numberId: seed.numberId, phoneNumber: seed.phone, workerId, to: CONTACT, type: 'text', text: `bench ${i}` },
            }),
          );
        await broker.confirmed();
        const got = await all;
        const perSecond = (m * 1000) / (Math.max(...got.map((g) => g.at)) - Math.min(...sentAt));

        const numbers = Array.from({ length: n }, () => nextNumber());
        const numberIds = new Set(numbers.map((x) => x.numberId));
        const qrs = broker.events.collect(
          (b) => b?.action === 'qr_generated' && numberIds.has(b.numberId) && b.attempt === 1,
          n,
          60_000 + n * 1000,
          `${n} qr_generated`,
        );
        const createdAt = new Map<number, number>();
        for (const { numberId, phone } of numbers)
          createdAt.set(
            numberId,
            broker.publishCommand({ sessionId: numberId, action: 'create', data: { numberId, phoneNumber: phone, workerId }, timestamp: Date.now() }),
          );
        await broker.confirmed();
        const qr = (await qrs).map((g) => g.at - createdAt.get(g.body.numberId)!);
        return { perSecond, qr };
      } finally {
        await withTimeout(worker.stop(), 30_000, 'worker stop').catch(() => undefined);
        removeDir(dir);
      }
    };

    // One round not counted: the first worker of the process pays for JIT and first-use costs, whichever side it is.
    await round(false, -1);
    const on = { rate: [] as number[], qr: [] as number[] };
    const off = { rate: [] as number[], qr: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? [true, false] : [false, true]) {
        const s = await round(side, r);
        (side ? on : off).rate.push(s.perSecond);
        (side ? on : off).qr.push(...s.qr);
        ctx.log(
          `  telemetry round ${r + 1}/${rounds} ${side ? 'on ' : 'off'}: ${s.perSecond.toFixed(1)} msg/s, QR p50 ${[...s.qr].sort((a, b) => a - b)[Math.floor(s.qr.length / 2)]?.toFixed(0)} ms`,
        );
      }
    }
    return {
      id: 'telemetry',
      title: 'Telemetry on vs off',
      measures: `Worker = telemetry on (OTLP/HTTP to an in-process sink), baseline = telemetry off (no endpoint). Per round: ${m} send_message published at once → message_sent (M / (last event − first publish)); then ${n} create → first qr_generated (publish → event).`,
      status: 'ok',
      settings,
      figures: [
        figure({
          name: `${m} msgs throughput, on vs off`,
          unit: 'msg/s',
          better: 'higher',
          worker: on.rate,
          baseline: off.rate,
          rounds: { worker: on.rate, baseline: off.rate },
          target: ({ ratio }) => ({ text: '≥ 0.9× off', met: ratio !== null && ratio >= 0.9 }),
        }),
        figure({ name: `QR latency (N=${n}), on vs off`, unit: 'ms', worker: on.qr, baseline: off.qr }),
      ],
      notes: [
        `The sink received ${sink.requests()} OTLP requests (${Math.round(sink.bytes() / 1024)} KiB) from the "on" rounds.`,
        'Both sides run in the bench process; once an "on" round has run, the async context manager stays installed for the process (the "off" rounds make no use of it).',
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await sink.close();
    await broker.close();
  }
}

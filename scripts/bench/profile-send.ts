/**
 * Where the worker's send time goes: `node --import tsx scripts/bench/profile-send.ts [messages] [rounds]`
 * (add --cpu-prof for a CPU profile). One linked session restored by the worker; M send_message
 * commands published at once. Reports: wall time (first publish → last message_sent), the time
 * inside Baileys' sendMessage (the same call the bare loop makes) and the lane's idle gaps between
 * two sends, plus the command's route: publish → the WhatsApp send starts.
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { BenchBroker } from './broker.js';
import { newTmpRoot, removeDir } from './context.js';
import { RemoteEmulator } from './emulator-remote.js';
import { registerSeeds, seedWorkerStorage } from './seed.js';
import { median } from './stats.js';
import { buildWorker, trustFromHex, workerEnv } from './worker-side.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import { authFromSeed, openClient, type Seed } from './baseline.js';
import { processCpuSeconds } from './s3.js';
import { execSync } from 'node:child_process';

const beamPid = Number(execSync('pgrep -f beam.smp || true').toString().trim().split('\n')[0]) || undefined;
/** CPU ms per message of: this process, the emulator process, RabbitMQ. */
function cpuMeter(emuPid: number | undefined): () => string {
  const p0 = process.cpuUsage();
  const e0 = processCpuSeconds(emuPid);
  const b0 = processCpuSeconds(beamPid);
  return () => {
    const p = process.cpuUsage(p0);
    return `CPU per message: bench process ${((p.user + p.system) / 1000 / m).toFixed(2)} ms, emulator ${(((processCpuSeconds(emuPid) - e0) * 1000) / m).toFixed(2)} ms, RabbitMQ ${(((processCpuSeconds(beamPid) - b0) * 1000) / m).toFixed(2)} ms`;
  };
}

/**
 * PROFILE_SEND_SERIAL=shared|own: one send at a time (as the send-latency scenario), each split
 * into publish → Baileys' sendMessage starts, inside sendMessage, sendMessage ends → message_sent
 * arrives at the backend.
 */
async function serialBreakdown(broker: BenchBroker, seed: Seed, spans: Array<[number, number]>, own: boolean): Promise<void> {
  const parts = { in: [] as number[], send: [] as number[], out: [] as number[], total: [] as number[] };
  const meter = cpuMeter(emulator.pid);
  for (let i = -3; i < m; i++) {
    const requestId = `s-${randomUUID().slice(0, 8)}-${i}`;
    const body = {
      sessionId: seed.numberId,
      action: 'send_message',
      requestId,
      data: { numberId: seed.numberId, phoneNumber: seed.phone, workerId: 'bench-profile-send', to: CONTACT, type: 'text', text: `s ${i}` },
    };
    const answer = broker.messages.collect((b) => b?.requestId === requestId, 1, 30_000, 'message_sent');
    const t0 = own ? broker.publishTo(`${broker.env.QUEUE_SESSION_COMMANDS}.bench-profile-send`, body) : broker.publishCommand(body);
    const [ev] = await answer;
    const [s, e] = spans[spans.length - 1]!;
    if (i < 0) continue; // warm-up
    parts.in.push(s - t0);
    parts.send.push(e - s);
    parts.out.push(ev!.at - e);
    parts.total.push(ev!.at - t0);
  }
  console.log(`  worker ${meter()}`);
  const p = (v: number[]) => median(v).toFixed(2);
  console.log(
    `worker serial (${own ? 'own queue' : 'shared queue'}), p50 of ${m}: total ${p(parts.total)} ms = publish → send starts ${p(parts.in)} + inside sendMessage ${p(parts.send)} + send ends → event at backend ${p(parts.out)}`,
  );
}

if (process.env.PROFILE_SOURCE_MAPS !== '1') process.setSourceMapsEnabled(false);
const m = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 2);
const CONTACT = '+4915199990001';
for (const k of ['info', 'warn', 'error', 'debug'] as const) console[k] = () => undefined;

const emulator = await RemoteEmulator.start({ skipPrekeyUpload: true });
trustFromHex(emulator.rootPublicKeyHex);
await emulator.addContact(CONTACT);
const broker = await BenchBroker.open(`bench.profile-send.${process.pid}`);
const tmp = newTmpRoot();
try {
  const [seed] = await registerSeeds(emulator, 1);
  broker.trackWorker('bench-profile-send');
  const env = {
    ...workerEnv({
      workerId: 'bench-profile-send',
      emulatorUrl: emulator.url,
      rootPublicKeyHex: emulator.rootPublicKeyHex,
      storageDir: tmp,
      extra: { RABBITMQ_PREFETCH: process.env.PROFILE_PREFETCH },
    }),
    ...broker.env,
  };
  await seedWorkerStorage(env, [seed!]);
  for (let r = 0; r < rounds; r++) {
    if (!process.env.PROFILE_SEND_NO_WORKER) {
      const built = await buildWorker(env);
      const deps = (built.worker.sessions as unknown as { deps: { connector: WhatsAppConnector } }).deps;
      const inner = deps.connector;
      const spans: Array<[number, number]> = [];
      deps.connector = {
        connect: (params) => {
          const conn = inner.connect(params);
          const send = conn.sendMessage.bind(conn);
          conn.sendMessage = async (...args) => {
            const s = performance.now();
            try {
              return await send(...args);
            } finally {
              spans.push([s, performance.now()]);
            }
          };
          return conn;
        },
      };
      const connected = broker.events.collect((b) => b?.action === 'connected', 1, 60_000, 'connected');
      await built.worker.start();
      await connected;
      if (process.env.PROFILE_SEND_SERIAL) {
        await serialBreakdown(broker, seed!, spans, process.env.PROFILE_SEND_SERIAL === 'own');
      } else {
        await throughputRound(built, spans, seed!);
      }
      await built.worker.stop();
    }
    if (process.env.PROFILE_SEND_NO_BARE) continue;
    await bareRound(seed!);
  }
} finally {
  await broker.close();
  await emulator.close();
  removeDir(tmp);
}
process.exit(0);

async function throughputRound(built: Awaited<ReturnType<typeof buildWorker>>, spans: Array<[number, number]>, seed: Seed): Promise<void> {
  const reqs = Array.from({ length: m }, (_, i) => `p-${randomUUID().slice(0, 8)}-${i}`);
  const ids = new Set(reqs);
  const all = broker.messages.collect((b) => b?.action === 'message_sent' && ids.has(b.requestId), m, 120_000, 'message_sent');
  const meter = cpuMeter(emulator.pid);
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (const [i, requestId] of reqs.entries()) {
    broker.publishCommand({
      sessionId: seed.numberId,
      action: 'send_message',
      requestId,
      data: { numberId: seed.numberId, phoneNumber: seed.phone, workerId: 'bench-profile-send', to: CONTACT, type: 'text', text: `m ${i}` },
    });
  }
  await broker.confirmed();
  const got = await all;
  const wall = Math.max(...got.map((g) => g.at)) - t0;
  const inSend = spans.reduce((n, [a, b]) => n + (b - a), 0);
  const gaps = spans.slice(1).map(([a], i) => a - spans[i]![1]);
  const elu = performance.eventLoopUtilization(elu0);
  console.log(`  worker ${meter()}`);
  const big = gaps.filter((g) => g > 2);
  console.log(
    `  event loop utilisation ${(elu.utilization * 100).toFixed(0)}%; gaps > 2 ms: ${big.length}, sum ${big.reduce((a, b) => a + b, 0).toFixed(0)} ms, max ${Math.max(...gaps).toFixed(1)} ms`,
  );
  console.log(
    `worker: ${m} in ${wall.toFixed(0)} ms = ${((m * 1000) / wall).toFixed(0)} msg/s; first send starts ${(spans[0]![0] - t0).toFixed(1)} ms after the first publish; ` +
      `inside sendMessage ${inSend.toFixed(0)} ms (p50 ${median(spans.map(([a, b]) => b - a)).toFixed(2)} ms); lane gaps sum ${gaps.reduce((a, b) => a + b, 0).toFixed(0)} ms (p50 ${median(gaps).toFixed(2)} ms); last send ends → last event ${(Math.max(...got.map((g) => g.at)) - spans[spans.length - 1]![1]).toFixed(1)} ms`,
  );
}

async function bareRound(seed: Seed): Promise<void> {
  const { client, opened } = openClient(emulator.url, authFromSeed(seed), 60_000);
  await opened;
  const bareMeter = cpuMeter(emulator.pid);
  const b0 = performance.now();
  const lat: number[] = [];
  for (let i = 0; i < m; i++) {
    const s = performance.now();
    await client.sock!.sendMessage(`${CONTACT.slice(1)}@s.whatsapp.net`, { text: `b ${i}` });
    lat.push(performance.now() - s);
  }
  const bw = performance.now() - b0;
  console.log(`  bare ${bareMeter()}`);
  console.log(`bare:   ${m} in ${bw.toFixed(0)} ms = ${((m * 1000) / bw).toFixed(0)} msg/s; sendMessage p50 ${median(lat).toFixed(2)} ms`);
  client.end();
}

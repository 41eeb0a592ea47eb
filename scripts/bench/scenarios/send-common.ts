/**
 * What the send-latency and send-throughput scenarios share: the command a backend publishes, a
 * started worker with one linked session, an opened bare client, one timed round trip, and a CPU
 * meter for this process, the emulator's and RabbitMQ's.
 */
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { authFromSeed, openClient, type BareClient, type Seed } from '../baseline.js';
import type { BenchBroker, TapMessage } from '../broker.js';
import type { BenchContext } from '../context.js';
import { withTimeout } from '../context.js';
import { processCpuSeconds } from '../s3.js';
import { buildWorker, type BuiltWorker } from '../worker-side.js';

export const CONTACT = '+4915199990001';
export const CONTACT_JID = `${CONTACT.slice(1)}@s.whatsapp.net`;

export function sendCommand(seed: Seed, workerId: string, requestId: string, text: string): unknown {
  return {
    sessionId: seed.numberId,
    action: 'send_message',
    requestId,
    data: { numberId: seed.numberId, phoneNumber: seed.phone, workerId, to: CONTACT, type: 'text', text },
  };
}

/** A fresh request id for this run. */
export function requestId(ctx: BenchContext, label: string): string {
  return `bench-${ctx.runId}-${label}-${randomUUID().slice(0, 8)}`;
}

/** Publishes with `publish` and resolves with the matching message_sent's arrival (or rejects on message_failed / timeout). */
export async function roundTrip(broker: BenchBroker, id: string, publish: () => number, timeoutMs = 30_000): Promise<{ sentAt: number; event: TapMessage }> {
  const answer = broker.messages.collect((b) => b?.requestId === id, 1, timeoutMs, `the event of ${id}`);
  const sentAt = publish();
  const [event] = await answer;
  if (event!.body?.action !== 'message_sent') throw new Error(`${id} answered ${event!.body?.action}: ${event!.body?.code ?? ''} ${event!.body?.reason ?? ''}`);
  return { sentAt, event: event! };
}

/**
 * The worker started with the seed's session connected, and one uncounted send done (the first
 * send of a fresh worker also checks the recipient on WhatsApp and opens the Signal session: a
 * one-off per contact; a bare client's first send opens the session too and is warmed the same way).
 */
export async function startedWorker(ctx: BenchContext, broker: BenchBroker, env: Record<string, string | undefined>, seed: Seed): Promise<BuiltWorker> {
  const built = await buildWorker(env);
  const workerId = built.config.workerId;
  try {
    const connected = broker.events.collect((b) => b?.action === 'connected' && b.numberId === seed.numberId, 1, 60_000, 'connected');
    await built.worker.start();
    await connected;
    const id = requestId(ctx, 'warm');
    await roundTrip(broker, id, () => broker.publishCommand(sendCommand(seed, workerId, id, 'warm-up')));
    return built;
  } catch (err) {
    await built.worker.stop().catch(() => undefined);
    throw err;
  }
}

/** A bare client logged in with the seed's credentials, after one uncounted send. */
export async function openedBare(ctx: BenchContext, seed: Seed): Promise<BareClient> {
  const { client, opened } = openClient(ctx.emulator.url, authFromSeed(seed), 60_000);
  try {
    await opened;
    await withTimeout(client.sock!.sendMessage(CONTACT_JID, { text: 'warm-up' }), 30_000, 'sendMessage');
    return client;
  } catch (err) {
    client.end();
    throw err;
  }
}

const beamPid = (() => {
  try {
    return Number(execSync('pgrep -f beam.smp || true').toString().trim().split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
})();

export interface CpuPerMessage {
  /** This process: the side under test plus the harness (publisher and event consumer, the same for both sides). */
  bench: number;
  emulator: number;
  rabbitmq: number;
}

/** CPU ms per message since the call, of this process, the emulator's and RabbitMQ's (Linux /proc; 0 elsewhere). */
export function cpuMeter(emulatorPid: number | undefined): (messages: number) => CpuPerMessage {
  const p0 = process.cpuUsage();
  const e0 = processCpuSeconds(emulatorPid);
  const b0 = processCpuSeconds(beamPid);
  return (messages) => {
    const p = process.cpuUsage(p0);
    return {
      bench: (p.user + p.system) / 1000 / messages,
      emulator: ((processCpuSeconds(emulatorPid) - e0) * 1000) / messages,
      rabbitmq: ((processCpuSeconds(beamPid) - b0) * 1000) / messages,
    };
  };
}

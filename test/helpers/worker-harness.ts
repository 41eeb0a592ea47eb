import type { Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config/config.js';
import { Worker, type WorkerParts } from '../../src/worker.js';
import type { SessionStore } from '../../src/storage/types.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { silentLogger } from './silent-logger.js';
import { BrokerProbe, RABBITMQ_URL, uniqueQueueEnv, type Collector } from './broker-probe.js';
import { within } from './wait.js';
import type { Telemetry } from '../../src/telemetry/types.js';

export function testConfig(env: Record<string, string | undefined>): Config {
  return loadConfig({
    NODE_ENV: 'test',
    RABBITMQ_URL,
    WA_RECONNECT_BASE_DELAY_MS: '20',
    WA_RECONNECT_MAX_DELAY_MS: '200',
    RABBITMQ_RECONNECT_MAX_DELAY_MS: '500',
    ...env,
  });
}

export interface TestWorker<C extends WhatsAppConnector = FakeConnector> {
  worker: Worker;
  config: Config;
  connector: C;
  store: SessionStore;
}

export async function startTestWorker<C extends WhatsAppConnector = FakeConnector>(opts: {
  env: Record<string, string | undefined>;
  workerId: string;
  connector?: C;
  store?: SessionStore;
  waitActive?: boolean;
  messaging?: WorkerParts['messaging'];
  /** Traces and metrics for this worker (built from its parsed config); default: the no-op. */
  telemetry?: (config: Config) => Telemetry;
  /** Default: silent. A `recordingLogger()` lets the test read and wait for what the worker logs. */
  logger?: Logger;
}): Promise<TestWorker<C>> {
  const config = testConfig({ ...opts.env, WORKER_ID: opts.workerId });
  const connector = (opts.connector ?? new FakeConnector()) as C;
  const store = opts.store ?? new MemorySessionStore();
  const worker = new Worker({
    config,
    logger: opts.logger ?? silentLogger,
    store,
    connector,
    ...(opts.messaging ? { messaging: opts.messaging } : {}),
    ...(opts.telemetry ? { telemetry: opts.telemetry(config) } : {}),
  });
  await worker.start();
  if (opts.waitActive !== false) await within(worker.waitUntilActive(), 20_000, `worker ${opts.workerId} to become active`);
  return { worker, config, connector, store };
}

/** A test's private set of queues, a probe on them, and collectors for events and health. */
export async function brokerScenario(
  label: string,
  opts: { queueType?: 'classic' | 'quorum' } = {},
): Promise<{
  env: Record<string, string>;
  probe: BrokerProbe;
  events: Collector;
  health: Collector;
  /** Message events (message_sent, message_status, message_failed, message_received). */
  messages: Collector;
  workerQueue: (id: string) => string;
}> {
  const env = uniqueQueueEnv(label);
  const probe = await BrokerProbe.connect();
  probe.track(env.QUEUE_SESSION_COMMANDS!, env.QUEUE_DEAD_LETTER!, env.QUEUE_WORKER_HEARTBEAT!);
  probe.trackExchange(env.EVENTS_EXCHANGE!);
  // Declared like the worker does, so the collectors can start before the first worker.
  await probe.channel.assertExchange(env.EVENTS_EXCHANGE!, 'topic', { durable: true });
  const events = await probe.collect(env.QUEUE_SESSION_EVENTS!, opts);
  await probe.channel.bindQueue(env.QUEUE_SESSION_EVENTS!, env.EVENTS_EXCHANGE!, 'session.#');
  const health = await probe.collect(env.QUEUE_NUMBER_HEALTH!, opts);
  await probe.channel.bindQueue(env.QUEUE_NUMBER_HEALTH!, env.EVENTS_EXCHANGE!, 'health.#');
  const messages = await probe.collect(env.QUEUE_MESSAGE_EVENTS!, opts);
  await probe.channel.bindQueue(env.QUEUE_MESSAGE_EVENTS!, env.EVENTS_EXCHANGE!, 'message.#');
  const workerQueue = (id: string) => {
    const q = `${env.QUEUE_SESSION_COMMANDS}.${id}`;
    // Its send pacing delay queue (broker/delay-queue.ts) too.
    probe.track(q, `${q}:delay`);
    return q;
  };
  return { env, probe, events, health, messages, workerQueue };
}

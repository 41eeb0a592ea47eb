/**
 * The worker as `src/main.ts` composes it (config from an environment, then `composeWorker`),
 * built in-process so a scenario
 * can time it against bare Baileys in the same process and event loop.
 */
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { Storage } from '../../src/storage/index.js';
import { composeWorker } from '../../src/compose.js';
import { installStrictSignatureVerification, trustNoiseRoot } from '../../src/whatsapp/trust.js';
import { installFastSignatures } from '../../src/whatsapp/curve-sign.js';
import { installSharedAsyncLocalStorage } from '../../src/whatsapp/shared-async-local-storage.js';
import type { Worker } from '../../src/worker.js';
import { createOtelTelemetry } from '../../src/telemetry/otel-telemetry.js';
import { RABBITMQ_URL } from './broker.js';
import { WA_VERSION } from './baseline.js';

export interface BuiltWorker {
  worker: Worker;
  storage: Storage;
  config: Config;
}

/** As main.ts does at start when WA_TRUST_ROOT_PUBLIC_KEY is set (for a child process). */
export function trustFromHex(hex: string): void {
  installStrictSignatureVerification();
  trustNoiseRoot(Buffer.from(hex, 'hex'));
}

/** The environment every bench worker gets, on top of the scenario's queues and storage. */
export function workerEnv(opts: {
  workerId: string;
  emulatorUrl: string;
  rootPublicKeyHex: string;
  storageDir: string;
  extra?: Record<string, string | undefined>;
}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? 'silent',
    BAILEYS_LOG_LEVEL: process.env.BENCH_BAILEYS_LOG_LEVEL ?? 'silent',
    RABBITMQ_URL,
    WORKER_ID: opts.workerId,
    WORKER_MAX_SESSIONS: '100000',
    WA_WEBSOCKET_URL: opts.emulatorUrl,
    WA_TRUST_ROOT_PUBLIC_KEY: opts.rootPublicKeyHex,
    WA_VERSION: WA_VERSION.join('.'),
    STORAGE_DIR: opts.storageDir,
    HEALTH_FILE: `${opts.storageDir}/health.json`,
    ...opts.extra,
  };
}

export async function buildWorker(env: Record<string, string | undefined>): Promise<BuiltWorker> {
  installSharedAsyncLocalStorage(); // as main.ts does before any socket exists
  installFastSignatures();
  const config = loadConfig(env);
  const logger = pino({ level: config.logLevel });
  // wired exactly as main.ts wires it (media store and message history included; telemetry when OTEL_EXPORTER_OTLP_* is set)
  const telemetry = config.telemetry ? createOtelTelemetry({ settings: config.telemetry, workerId: config.workerId, version: 'bench', logger }) : undefined;
  const { worker, storage } = await composeWorker(config, logger, config.whatsapp.version ?? WA_VERSION, { telemetry });
  return { worker, storage, config };
}

/** Storage settings for an s3rver bucket, as MINIO_* variables. */
export function s3Env(o: { endPoint: string; port?: number | undefined; accessKey: string; secretKey: string; bucket: string }): Record<string, string> {
  return { MINIO_ENDPOINT: `${o.endPoint}:${o.port}`, MINIO_ACCESS_KEY: o.accessKey, MINIO_SECRET_KEY: o.secretKey, MINIO_BUCKET_NAME: o.bucket };
}

/**
 * The composition root: the only place that reads the environment, builds the logger, installs
 * the process-wide hooks and signal handlers; the parts are wired by `compose.ts`.
 */
import { loadConfig, ConfigError, type Config } from './config/config.js';
import { createLogger } from './util/logger.js';
import { describeError } from './util/errors.js';
import { installStrictSignatureVerification, trustNoiseRoot } from './whatsapp/trust.js';
import { installFastSignatures } from './whatsapp/curve-sign.js';
import { installSharedAsyncLocalStorage } from './whatsapp/shared-async-local-storage.js';
import { routeLibsignalConsole } from './whatsapp/libsignal-console.js';
import { resolveWaVersion } from './whatsapp/version.js';
import { baileysHoldsReceipts } from './whatsapp/receipt-gate-check.js';
import { WHATSAPP_WEBSOCKET_URL } from './config/schema.js';
import { composeWorker } from './compose.js';
import { readFileSync } from 'node:fs';
import { createOtelTelemetry } from './telemetry/otel-telemetry.js';

/** This build's version (service.version, heartbeats), from the package.json beside src/ or dist/. */
function appVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee .env.example for every setting and its default.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ level: config.logLevel, workerId: config.workerId });

  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => logger.error({ err, stack: err.stack }, 'uncaught exception'));

  if (!(await baileysHoldsReceipts())) {
    // Without the patch WhatsApp gets a receipt before the message is safe: a crash loses it.
    logger.fatal('Baileys is not patched (receipt gate): run `npm install` (or `node scripts/patch-baileys.mjs`) instead of installing with --ignore-scripts');
    process.exit(1);
  }
  routeLibsignalConsole(logger.child({ component: 'libsignal' }));
  // Before any socket: Baileys' per-socket AsyncLocalStorage would otherwise make every promise O(sockets ever opened).
  installSharedAsyncLocalStorage();
  installStrictSignatureVerification();
  // A new number's credentials and its device signature: 17× less CPU than libsignal's pure-JS signing.
  installFastSignatures();
  if (config.whatsapp.trustRootPublicKey) {
    trustNoiseRoot(config.whatsapp.trustRootPublicKey);
    logger.warn({ url: config.whatsapp.websocketUrl }, 'trusting a non-WhatsApp Noise root (WA_TRUST_ROOT_PUBLIC_KEY): for an emulator only');
  }
  const version = await resolveWaVersion({
    configured: config.whatsapp.version,
    fetchLatest: config.whatsapp.websocketUrl === WHATSAPP_WEBSOCKET_URL,
    timeoutMs: config.whatsapp.versionFetchTimeoutMs,
    logger,
  });

  const build = appVersion();
  // Push only, and only when an OTLP endpoint is configured: otherwise the no-op, and no SDK object exists.
  const telemetry = config.telemetry
    ? createOtelTelemetry({ settings: config.telemetry, workerId: config.workerId, version: build, logger: logger.child({ component: 'telemetry' }) })
    : undefined;
  if (config.telemetry)
    logger.info({ traces: config.telemetry.tracesEndpoint, metrics: config.telemetry.metricsEndpoint }, 'exporting traces and metrics over OTLP');
  const { worker } = await composeWorker(config, logger, version, { telemetry, appVersion: build });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'signal received: shutting down gracefully (send again to force)');
    void worker.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  logger.info({ version: version.join('.'), websocket: config.whatsapp.websocketUrl, storage: config.storage.minio ? 's3' : 'local' }, 'starting');
  await worker.start();
}

main().catch((err) => {
  process.stderr.write(`wa-worker failed to start: ${describeError(err)}\n`);
  process.exit(1);
});

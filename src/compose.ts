/**
 * The worker's parts wired together from a parsed config: storage, the Baileys connector, media
 * store and history, the Worker. `main.ts` (the composition root: environment, logger, process
 * hooks, signals) calls it, and so does the benchmark, so both run the same wiring.
 */
import type { WAVersion } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { proxyPolicyOf, type Config } from './config/config.js';
import { join } from 'node:path';
import { BlobMessageHistory } from './messaging/message-history.js';
import { BlobPollArchive } from './messaging/poll-archive.js';
import { createMediaStoreFromConfig, createStorageFromConfig, storageOptions, type Storage } from './storage/index.js';

import { createBaileysConnector } from './whatsapp/baileys-connector.js';
import { Worker } from './worker.js';
import type { Telemetry } from './telemetry/types.js';

export async function composeWorker(
  config: Config,
  logger: Logger,
  version: WAVersion,
  extra: { telemetry?: Telemetry | undefined; appVersion?: string | undefined } = {},
): Promise<{ worker: Worker; storage: Storage }> {
  const storage = await createStorageFromConfig(storageOptions(config.storage, logger.child({ component: 'storage' })));
  const connector = createBaileysConnector({
    websocketUrl: config.whatsapp.websocketUrl,
    version,
    qrTimeoutMs: config.whatsapp.qrTimeoutMs,
    groupMetadataCacheSize: config.whatsapp.groupMetadataCacheSize,
    logger: logger.child({ component: 'baileys' }, { level: config.whatsapp.logLevel }),
    // TLS for media hosts is Node's: NODE_EXTRA_CA_CERTS adds a CA (an emulator's self-signed one).
    media: { extraHosts: config.whatsapp.extraMediaHosts, timeoutMs: config.messaging.mediaFetchTimeoutMs },
    // a number's own proxy only where PROXY_ALLOWED_HOSTS allows (also one stored from an earlier command)
    proxyPolicy: proxyPolicyOf(config),
  });
  // Media next to the session storage; the message history in the session store's blobs, through
  // its codec (encrypted when SESSION_ENCRYPTION_KEY is set).
  const media = await createMediaStoreFromConfig(config.storage);
  const history = new BlobMessageHistory(storage.blobStore, storage.codec, {
    flushIntervalMs: config.messaging.historyFlushIntervalMs,
    logger: logger.child({ component: 'message-history' }),
  });
  logger.info({ media: config.storage.minio ? `s3:${config.storage.minio.mediaBucket}` : join(config.storage.dir, 'media') }, 'messaging storage ready');
  const worker = new Worker({
    config,
    logger,
    store: storage.store,
    connector,
    telemetry: extra.telemetry,
    ...(extra.appVersion ? { version: extra.appVersion } : {}),
    // Sent polls beside the history: their secrets read the votes, after a restart too.
    messaging: { media, history, polls: new BlobPollArchive(storage.blobStore, storage.codec) },
    beforeBrokerClose: async () => {
      await history.close().catch((err) => logger.error({ err }, 'could not flush the message history'));
      await storage.close();
    },
  });
  return { worker, storage };
}

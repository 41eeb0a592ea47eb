/**
 * The worker's parts wired together from a parsed config: storage, the Baileys connector, media
 * store and history, the Worker. `main.ts` (the composition root: environment, logger, process
 * hooks, signals) calls it, and so does the benchmark, so both run the same wiring.
 */
import type { WAVersion } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import { createMessagingStorage } from './messaging/messaging-storage.js';
import { createStorageFromConfig, storageOptions, type Storage } from './storage/index.js';
import { describeError } from './util/errors.js';
import { createBaileysConnector } from './whatsapp/baileys-connector.js';
import { Worker } from './worker.js';

export async function composeWorker(config: Config, logger: Logger, version: WAVersion): Promise<{ worker: Worker; storage: Storage }> {
  const storage = await createStorageFromConfig(storageOptions(config.storage, logger.child({ component: 'storage' })));
  const connector = createBaileysConnector({
    websocketUrl: config.whatsapp.websocketUrl,
    version,
    qrTimeoutMs: config.whatsapp.qrTimeoutMs,
    logger: logger.child({ component: 'baileys' }, { level: config.whatsapp.logLevel }),
    // TLS for media hosts is Node's: NODE_EXTRA_CA_CERTS adds a CA (an emulator's self-signed one).
    media: { extraHosts: config.whatsapp.extraMediaHosts, timeoutMs: config.messaging.mediaFetchTimeoutMs },
  });
  const messaging = await createMessagingStorage({ config, blobs: storage.blobStore, codec: storage.codec, logger: logger.child({ component: 'messaging-storage' }) });
  const worker = new Worker({
    config,
    logger,
    store: storage.store,
    connector,
    messaging,
    beforeBrokerClose: async () => {
      await messaging.close().catch((err) => logger.error({ err: describeError(err) }, 'could not flush the message history'));
      await storage.close();
    },
  });
  return { worker, storage };
}

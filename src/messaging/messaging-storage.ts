import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { BlobStore } from '../storage/types.js';
import { LocalMediaStore, S3MediaStore, type MediaStore } from './media-store.js';
import { BlobMessageHistory, type HistoryCodec } from './message-history.js';

export interface MessagingStorage {
  media: MediaStore;
  history: BlobMessageHistory;
  /** Writes the history still pending (graceful shutdown). */
  close(): Promise<void>;
}

/**
 * Media and history next to the session storage: media in the media bucket (S3) or under
 * STORAGE_DIR (local, so STORAGE_DIR/media/…); history in the session store's blobs, through
 * its codec (encrypted when SESSION_ENCRYPTION_KEY is set).
 */
export async function createMessagingStorage(opts: { config: Config; blobs: BlobStore; codec: HistoryCodec; logger: Logger }): Promise<MessagingStorage> {
  const { config } = opts;
  let media: MediaStore;
  const s3 = config.storage.minio;
  if (s3) {
    const store = new S3MediaStore({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region, bucket: s3.mediaBucket });
    await store.ensureBucket();
    media = store;
  } else {
    media = new LocalMediaStore(config.storage.dir);
  }
  const history = new BlobMessageHistory(opts.blobs, opts.codec, { flushIntervalMs: config.messaging.historyFlushIntervalMs, logger: opts.logger });
  opts.logger.info({ media: s3 ? `s3:${s3.mediaBucket}` : join(config.storage.dir, 'media') }, 'messaging storage ready');
  return { media, history, close: () => history.close() };
}

import type { Logger } from 'pino';
import { createCodec, parseEncryptionKey } from './encryption.js';
import { LocalDiskStore } from './local-disk-store.js';
import { S3Store, type S3Options } from './s3-store.js';
import { BlobSessionStore } from './session-store.js';
import type { BlobStore } from './types.js';

export interface StorageOptions {
  /** Local-disk root, used when `minio` is undefined. */
  dir: string;
  minio: S3Options | undefined;
  encryptionKey: string | undefined;
  previousEncryptionKeys: string[];
  flushIntervalMs: number;
  logger: Logger;
}

export interface Storage {
  blobs: BlobStore;
  store: BlobSessionStore;
  driver: 'local' | 's3';
  /** Flush every open auth state (graceful shutdown). */
  close(): Promise<void>;
}

export async function createStorageFromConfig(opts: StorageOptions): Promise<Storage> {
  const current = opts.encryptionKey ? parseEncryptionKey(opts.encryptionKey) : undefined;
  const previous = opts.previousEncryptionKeys.map((k, i) => parseEncryptionKey(k, `SESSION_ENCRYPTION_PREVIOUS_KEYS[${i}]`));
  const codec = createCodec(current, previous);
  let blobs: BlobStore;
  if (opts.minio) {
    const s3 = new S3Store(opts.minio);
    // Fail fast at start on a wrong endpoint or credentials, rather than at the first session.
    await s3.ensureBucket();
    blobs = s3;
  } else {
    blobs = new LocalDiskStore(opts.dir);
  }
  const store = new BlobSessionStore({ blobs, codec, flushIntervalMs: opts.flushIntervalMs, logger: opts.logger });
  opts.logger.info({ driver: opts.minio ? 's3' : 'local', encrypted: codec.encrypted, keyId: current?.id }, 'storage ready');
  return { blobs, store, driver: opts.minio ? 's3' : 'local', close: () => store.close() };
}

export type { BlobStore, SessionStore, SessionMeta, AuthStateHandle } from './types.js';

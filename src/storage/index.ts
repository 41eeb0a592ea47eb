import { WorkerError } from '../util/errors.js';
import { createCodec, parseKeyring, type Codec } from './encryption.js';
import { LocalDiskStore } from './local-disk-store.js';
import { S3Store, type S3StoreOptions } from './s3-store.js';
import { createSessionStore, type BlobSessionStore } from './session-store.js';
import { silentStorageLogger, type StorageLogger } from './storage-logger.js';
import type { BlobStore } from './types.js';
import { LocalMediaStore } from './local-media-store.js';
import type { MediaStore } from './media-store.js';
import { S3MediaStore } from './s3-media-store.js';

/**
 * The worker's storage settings (as `config.ts` parses them) as the options of `createStorageFromConfig`.
 * A missing SESSION_ENCRYPTION_KEY is already one of the config's `warnings` (logged once at start),
 * so the factory does not warn about it a second time.
 */
export function storageOptions(
  settings: { dir: string; minio: S3StoreOptions | undefined; encryptionKey: string | undefined; previousEncryptionKeys: string[]; acceptPlaintext: boolean; flushIntervalMs: number },
  logger?: StorageLogger,
): StorageConfig {
  return { ...settings, warnIfUnencrypted: false, ...(logger ? { logger } : {}) };
}

/**
 * Storage settings as plain values. This module never reads the environment: the composition
 * root (main.ts, from config.ts) does, and hands the values over.
 */
export interface StorageConfig {
  /** 'local' (files under `dir`) or 's3' (MinIO / any S3, with `minio`). Default: 's3' when `minio` is given. */
  driver?: 'local' | 's3';
  /** Root folder of the local driver. */
  dir?: string;
  minio?: S3StoreOptions | undefined;
  /** SESSION_ENCRYPTION_KEY: 64 hex characters or base64 of 32 bytes, optionally "<id>:" first. Unset = plaintext. */
  encryptionKey?: string | undefined;
  /** SESSION_ENCRYPTION_PREVIOUS_KEYS: older keys, still read (and rewritten under the current one). */
  previousEncryptionKeys?: readonly string[];
  /** Read plaintext objects although a key is set (migrating an unencrypted store). Default false. */
  acceptPlaintext?: boolean;
  /** Coalescing window of auth writes. Default 1000 ms. */
  flushIntervalMs?: number;
  logger?: StorageLogger;
  /** Warn when there is no encryption key. Default true; false when the caller reports it itself (`storageOptions`). */
  warnIfUnencrypted?: boolean;
}

export interface Storage {
  driver: 'local' | 's3';
  blobStore: BlobStore;
  codec: Codec;
  store: BlobSessionStore;
  /** Flush every open auth state and release them (graceful shutdown). */
  close(): Promise<void>;
}

/** Builds the blob store, the codec and the session store; for S3, checks (or creates) the bucket now. */
export async function createStorageFromConfig(config: StorageConfig): Promise<Storage> {
  const logger = config.logger ?? silentStorageLogger;
  const keyring = parseKeyring(config.encryptionKey, config.previousEncryptionKeys);
  const codec = createCodec(keyring, { acceptPlaintext: config.acceptPlaintext ?? false });
  const driver = config.driver ?? (config.minio ? 's3' : 'local');
  let blobStore: BlobStore;
  if (driver === 's3') {
    if (!config.minio) throw new WorkerError('INVALID_CONFIG', 'the s3 storage driver needs MinIO settings (MINIO_ENDPOINT, keys, bucket)');
    const s3 = new S3Store(config.minio);
    // Fail fast at start on a wrong endpoint or credentials, rather than at the first session.
    await s3.ensureBucket();
    blobStore = s3;
  } else {
    if (!config.dir) throw new WorkerError('INVALID_CONFIG', 'the local storage driver needs a directory (STORAGE_DIR)');
    const local = new LocalDiskStore(config.dir);
    // Temporary files a crash left between write and rename: bounded, never fatal.
    try {
      const swept = await local.sweepTemporaryFiles();
      if (swept.removed > 0 || swept.truncated) logger.info({ ...swept }, 'removed temporary files left by an interrupted write');
    } catch (err) {
      logger.warn({ err }, 'could not sweep temporary files');
    }
    blobStore = local;
  }
  const store = createSessionStore({ blobStore, codec, flushIntervalMs: config.flushIntervalMs ?? 1000, logger });
  if (!codec.encrypted && config.warnIfUnencrypted !== false) logger.warn({ driver }, 'no SESSION_ENCRYPTION_KEY: WhatsApp credentials are stored UNENCRYPTED');
  logger.info({ driver, encrypted: codec.encrypted, keyId: codec.keyId, previousKeys: keyring?.previous?.length ?? 0 }, 'storage ready');
  return { driver, blobStore, codec, store, close: () => store.close() };
}

/**
 * The media store next to the session storage: the media bucket on S3 (checked or created now),
 * else files under STORAGE_DIR (so STORAGE_DIR/media/…).
 */
export async function createMediaStoreFromConfig(settings: { dir: string; minio: (S3StoreOptions & { mediaBucket: string }) | undefined }): Promise<MediaStore> {
  const s3 = settings.minio;
  if (!s3) return new LocalMediaStore(settings.dir);
  const store = new S3MediaStore({ endPoint: s3.endPoint, port: s3.port, useSSL: s3.useSSL, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region ?? 'us-east-1', bucket: s3.mediaBucket });
  await store.ensureBucket();
  return store;
}

export { LocalDiskStore } from './local-disk-store.js';
export type { SweepOptions, SweepResult } from './stale-temp-files.js';
export { S3Store, type S3StoreOptions } from './s3-store.js';
export { createSessionStore, BlobSessionStore, type SessionStoreOptions, type PersistentAuthStateHandle } from './session-store.js';
export { createCodec, plaintextCodec, parseEncryptionKey, parseKeyring, deriveKeyId, type Codec, type Keyring, type EncryptionKey } from './encryption.js';
export { objectKeys, encodeSessionId, decodeSessionId } from './object-keys.js';
export type { StorageLogger } from './storage-logger.js';
export type { BlobStore, SessionStore, ClosableSessionStore, SessionMeta, StoredSessionMeta, AuthChainLink, AuthStateHandle } from './types.js';

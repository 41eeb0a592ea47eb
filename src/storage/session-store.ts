import { isWorkerError, WorkerError } from '../util/errors.js';
import type { AuthStateOptions, WriteStats } from './auth-journal-writer.js';
import type { Codec } from './encryption.js';
import { decodeSessionId, objectKeys } from './object-keys.js';
import { OpenAuthStates, type PersistentAuthStateHandle } from './open-auth-states.js';
import { isUnreadable, SessionMetaStore } from './session-meta-store.js';
import { silentStorageLogger, type StorageLogger } from './storage-logger.js';
import type { BlobStore, ClosableSessionStore, SessionMeta } from './types.js';

export type { PersistentAuthStateHandle } from './open-auth-states.js';

export interface SessionStoreOptions {
  blobStore: BlobStore;
  codec: Codec;
  /** Coalescing window for auth writes. Default 1000 ms. */
  flushIntervalMs?: number;
  logger?: StorageLogger;
  /** Journal compaction thresholds (defaults: 32 segments, or segments ≥ max(64 KiB, snapshot size)). */
  compaction?: Partial<AuthStateOptions['compaction']>;
  /** Backoff between retries of a failed write (defaults: 500 ms doubling to 30 s, randomised). */
  retry?: Partial<AuthStateOptions['retry']>;
}

export function createSessionStore(opts: SessionStoreOptions): BlobSessionStore {
  return new BlobSessionStore(opts);
}

/** Parallel reads when listing every session's metadata. */
const META_CONCURRENCY = 8;

/**
 * Sessions in a BlobStore. Every object goes through the codec: auth objects are encrypted when a
 * key is configured, and so is the metadata. It holds no secret, but it does hold the phone
 * number and the JID (personal data), and one rule ("everything at rest is encrypted") is easier
 * to audit than a list of exceptions.
 *
 * One in-memory auth state per session, shared by every handle on it (`OpenAuthStates`).
 * `removeAuth` / `removeSession` first stop the open state from writing (and wait for a write in
 * flight), so a late flush cannot bring deleted credentials back.
 *
 * Rollback detection (issue 11). Storage handed back older state (an object deleted, an old
 * copy put back) must never load older credentials silently: it is STORAGE_ROLLBACK, naming the
 * session and what was expected and found, raised where the session is opened (`openAuthState`;
 * `loadMeta` for what this process already knows; `listMeta` logs and skips such a session).
 * How, and what cannot be detected: the journal's hash chain (auth-chain.ts), anchored in the
 * metadata (`SessionMetaStore`).
 */
export class BlobSessionStore implements ClosableSessionStore {
  /** Totals over every session since start (benchmarks: objects written per flush window). */
  readonly stats: WriteStats = { writes: 0, bytes: 0, failures: 0 };
  private readonly meta: SessionMetaStore;
  private readonly authStates: OpenAuthStates;
  private readonly blobs: BlobStore;
  private readonly codec: Codec;
  private readonly logger: StorageLogger;
  private closed = false;

  constructor(opts: SessionStoreOptions) {
    this.blobs = opts.blobStore;
    this.codec = opts.codec;
    this.logger = opts.logger ?? silentStorageLogger;
    const flushIntervalMs = opts.flushIntervalMs ?? 1000;
    if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) throw new WorkerError('INVALID_CONFIG', `flush interval must be a non-negative number of ms, got ${flushIntervalMs}`);
    const authOptions: AuthStateOptions = {
      flushIntervalMs,
      compaction: { maxSegments: 32, minJournalBytes: 64 * 1024, ...opts.compaction },
      retry: { baseMs: 500, maxMs: 30_000, ...opts.retry },
      logger: this.logger,
      stats: this.stats,
    };
    // The metadata records the head of the session's open auth state, when there is one.
    this.meta = new SessionMetaStore(this.blobs, this.codec, this.logger, (sessionId) => this.authStates.get(sessionId));
    this.authStates = new OpenAuthStates(this.blobs, this.codec, authOptions, this.meta);
  }

  async openAuthState(sessionId: string): Promise<PersistentAuthStateHandle> {
    this.assertOpen();
    objectKeys.auth(sessionId); // validates the id before anything else
    return this.authStates.open(sessionId);
  }

  async removeAuth(sessionId: string): Promise<void> {
    this.assertOpen();
    const prefix = objectKeys.auth(sessionId);
    const discarded = await this.authStates.disarm(sessionId);
    await this.meta.recordLogout(sessionId, discarded);
    await this.blobs.deletePrefix(prefix);
  }

  async removeSession(sessionId: string): Promise<void> {
    this.assertOpen();
    const prefix = objectKeys.session(sessionId);
    const discarded = await this.authStates.disarm(sessionId);
    // As a logout first: should the deletion below stop half way, what is left is not a rollback.
    await this.meta.recordLogout(sessionId, discarded);
    await this.blobs.deletePrefix(prefix);
    this.meta.forget(sessionId);
  }

  /**
   * Writes the metadata with `revision`, `authHead` and `authSeqFloor` set by the store (see
   * `SessionMetaStore`); rejects with STORAGE_ROLLBACK instead of writing over metadata that the
   * stored credentials show to be older (or missing).
   */
  async saveMeta(meta: SessionMeta): Promise<void> {
    this.assertOpen();
    await this.meta.save(meta);
  }

  async loadMeta(sessionId: string): Promise<SessionMeta | undefined> {
    this.assertOpen();
    return this.meta.load(sessionId);
  }

  /**
   * The metadata of every stored session. One unreadable session (wrong key, corrupt object) or
   * one found rolled back (STORAGE_ROLLBACK) is logged and skipped, so it cannot hide the others;
   * storage being down still rejects.
   */
  async listMeta(): Promise<SessionMeta[]> {
    const ids = await this.listSessionIds();
    const out: SessionMeta[] = [];
    for (let i = 0; i < ids.length; i += META_CONCURRENCY) {
      const batch = await Promise.all(
        ids.slice(i, i + META_CONCURRENCY).map(async (id) => {
          try {
            return await this.loadMeta(id);
          } catch (err) {
            if (!isUnreadable(err) && !isWorkerError(err, 'STORAGE_ROLLBACK')) throw err;
            this.logger.error({ sessionId: id, err }, err.code === 'STORAGE_ROLLBACK' ? 'session storage rolled back: skipped' : 'session metadata unreadable: skipped');
            return undefined;
          }
        }),
      );
      for (const meta of batch) if (meta) out.push(meta);
    }
    return out;
  }

  /** Every session folder in storage (with metadata or not), decoded back to session ids. */
  async listSessionIds(): Promise<string[]> {
    this.assertOpen();
    const ids: string[] = [];
    for (const segment of await this.blobs.listChildren(objectKeys.sessionsRoot)) {
      const id = decodeSessionId(segment);
      if (id === undefined) this.logger.warn({ folder: segment }, 'ignoring a folder that is not a session');
      else ids.push(id);
    }
    return ids;
  }

  /**
   * Key rotation: rewrites a session's objects under the current key (one snapshot replacing
   * the journal, the metadata and the message history). Reading needs the old key in the keyring's `previous`.
   * Opening a session whose objects use an old key schedules the same rewrite by itself; this
   * makes it happen now, e.g. for sessions that are not running.
   */
  async reencryptSession(sessionId: string): Promise<void> {
    const handle = await this.openAuthState(sessionId);
    try {
      // Only sessions with stored credentials: a logged-out session must not gain fresh ones.
      const auth = this.authStates.get(sessionId);
      if (auth?.persisted) auth.requestSnapshot();
      await handle.flush();
    } finally {
      await handle.close();
    }
    const meta = await this.loadMeta(sessionId);
    if (meta) await this.saveMeta(meta);
    // The message history is append-only: each batch is rewritten in place, same key.
    for (const key of await this.blobs.list(objectKeys.messages(sessionId))) {
      const stored = await this.blobs.get(key);
      if (!stored) continue;
      const { data } = this.codec.decode(stored, key);
      await this.blobs.put(key, this.codec.encode(data, key));
    }
  }

  /** `reencryptSession` for every stored session, one after another; returns how many. */
  async reencryptAll(): Promise<number> {
    const ids = await this.listSessionIds();
    for (const id of ids) await this.reencryptSession(id);
    return ids.length;
  }

  /** Persists what every open auth state has pending. Rejects if any cannot (nothing is dropped). */
  flushAll(): Promise<void> {
    return this.authStates.flushAll();
  }

  /** Flushes everything, then releases every auth state. Rejects (and stays usable) if the flush fails. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled(this.authStates.loadsInProgress());
    await this.flushAll();
    this.authStates.releaseAll();
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new WorkerError('STORAGE_UNAVAILABLE', 'the session store is closed (shutting down)');
  }
}

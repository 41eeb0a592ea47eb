import { describeError, isWorkerError, WorkerError } from '../util/errors.js';
import { JournaledAuthState, type AuthStateOptions, type WriteStats } from './auth-state.js';
import type { Codec } from './encryption.js';
import { decodeSessionId, objectKeys } from './object-keys.js';
import { silentStorageLogger, type StorageLogger } from './storage-logger.js';
import type { AuthStateHandle, BlobStore, ClosableSessionStore, SessionMeta } from './types.js';

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

/** What `openAuthState` returns: the contract, plus a per-session write counter. */
export interface PersistentAuthStateHandle extends AuthStateHandle {
  /** Objects this session's auth state has written (shared by every handle on the session). */
  readonly writes: number;
}

export function createSessionStore(opts: SessionStoreOptions): BlobSessionStore {
  return new BlobSessionStore(opts);
}

interface OpenEntry {
  auth: JournaledAuthState;
  handles: number;
}

/** Parallel reads when listing every session's metadata. */
const META_CONCURRENCY = 8;

/**
 * Sessions in a BlobStore. Every object goes through the codec: auth objects are encrypted when a
 * key is configured, and so is the metadata. It holds no secret, but it does hold the phone
 * number and the JID (personal data), and one rule ("everything at rest is encrypted") is easier
 * to audit than a list of exceptions.
 *
 * One in-memory auth state per session: concurrent `openAuthState` calls share it (each gets
 * its own handle; the state is released when the last handle closes), so there is never more
 * than one writer per session in a process, and a reopen never reads storage that is older than
 * memory. `removeAuth` / `removeSession` first stop the open state from writing (and wait for
 * a write in flight), so a late flush cannot bring deleted credentials back.
 */
export class BlobSessionStore implements ClosableSessionStore {
  /** Totals over every session since start (benchmarks: objects written per flush window). */
  readonly stats: WriteStats = { writes: 0, bytes: 0, failures: 0 };
  private readonly entries = new Map<string, OpenEntry>();
  private readonly loading = new Map<string, Promise<OpenEntry>>();
  private readonly authOptions: AuthStateOptions;
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
    this.authOptions = {
      flushIntervalMs,
      compaction: { maxSegments: 32, minJournalBytes: 64 * 1024, ...opts.compaction },
      retry: { baseMs: 500, maxMs: 30_000, ...opts.retry },
      logger: this.logger,
      stats: this.stats,
    };
  }

  async openAuthState(sessionId: string): Promise<PersistentAuthStateHandle> {
    this.assertOpen();
    objectKeys.auth(sessionId); // validates the id before anything else
    const entry = await this.entryFor(sessionId);
    entry.handles++;
    return this.handle(sessionId, entry);
  }

  async removeAuth(sessionId: string): Promise<void> {
    this.assertOpen();
    const prefix = objectKeys.auth(sessionId);
    await this.disarm(sessionId);
    await this.blobs.deletePrefix(prefix);
  }

  async removeSession(sessionId: string): Promise<void> {
    this.assertOpen();
    const prefix = objectKeys.session(sessionId);
    await this.disarm(sessionId);
    await this.blobs.deletePrefix(prefix);
  }

  async saveMeta(meta: SessionMeta): Promise<void> {
    this.assertOpen();
    const key = objectKeys.meta(meta.sessionId);
    await this.blobs.put(key, this.codec.encode(Buffer.from(JSON.stringify(meta), 'utf8'), key));
  }

  async loadMeta(sessionId: string): Promise<SessionMeta | undefined> {
    this.assertOpen();
    const key = objectKeys.meta(sessionId);
    const stored = await this.blobs.get(key);
    if (!stored) return undefined;
    const { data, stale } = this.codec.decode(stored, key);
    let meta: SessionMeta;
    try {
      meta = JSON.parse(data.toString('utf8')) as SessionMeta;
    } catch (err) {
      throw new WorkerError('DECRYPTION_FAILED', `${key} is not valid JSON`, { cause: err });
    }
    if (meta?.sessionId !== sessionId) throw new WorkerError('DECRYPTION_FAILED', `${key} holds the metadata of another session (${JSON.stringify(meta?.sessionId)})`);
    if (stale) {
      // Opportunistic re-encryption under the current key; a failure here must not fail the read.
      await this.saveMeta(meta).catch((err) => this.logger.warn({ sessionId, err: describeError(err) }, 'could not re-encrypt session metadata'));
    }
    return meta;
  }

  /**
   * The metadata of every stored session. One unreadable session (wrong key, corrupt object) is
   * logged and skipped, so it cannot hide the others; storage being down still rejects.
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
            if (!isWorkerError(err, 'DECRYPTION_FAILED')) throw err;
            this.logger.error({ sessionId: id, err: err.message }, 'session metadata unreadable: skipped');
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
      const entry = this.entries.get(sessionId);
      if (entry?.auth.persisted) entry.auth.requestSnapshot();
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
  async flushAll(): Promise<void> {
    const results = await Promise.allSettled([...this.entries.values()].map((e) => e.auth.flush()));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) {
      throw new WorkerError('STORAGE_UNAVAILABLE', `${failed.length} session(s) could not be persisted: ${describeError(failed[0])}`, { cause: failed[0] });
    }
  }

  /** Flushes everything, then releases every auth state. Rejects (and stays usable) if the flush fails. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.loading.values()]);
    await this.flushAll();
    for (const entry of this.entries.values()) entry.auth.release();
    this.entries.clear();
    this.closed = true;
  }

  private async entryFor(sessionId: string): Promise<OpenEntry> {
    const open = this.entries.get(sessionId);
    if (open) return open;
    let loading = this.loading.get(sessionId);
    if (!loading) {
      loading = JournaledAuthState.load(sessionId, this.blobs, this.codec, this.authOptions)
        .then((auth) => {
          const entry: OpenEntry = { auth, handles: 0 };
          this.entries.set(sessionId, entry);
          return entry;
        })
        .finally(() => this.loading.delete(sessionId));
      this.loading.set(sessionId, loading);
    }
    return loading;
  }

  private handle(sessionId: string, entry: OpenEntry): PersistentAuthStateHandle {
    const { auth } = entry;
    let closed = false;
    return {
      state: auth.state,
      saveCreds: () => auth.saveCreds(),
      isLinked: () => auth.isLinked(),
      get writes() {
        return auth.writes;
      },
      flush: () => auth.flush(),
      close: async () => {
        if (closed) return;
        // Rejects if storage refuses: the handle stays open (close again later), and the state
        // keeps retrying in the background, so nothing is lost.
        await auth.flush();
        if (closed) return;
        closed = true;
        entry.handles--;
        if (entry.handles <= 0 && this.entries.get(sessionId) === entry) {
          auth.release();
          this.entries.delete(sessionId);
        }
      },
    };
  }

  /** Stops a session's open auth state from writing before its objects are removed. */
  private async disarm(sessionId: string): Promise<void> {
    const loading = this.loading.get(sessionId);
    if (loading) await loading.catch(() => undefined);
    const entry = this.entries.get(sessionId);
    if (!entry) return;
    this.entries.delete(sessionId);
    await entry.auth.discard();
  }

  private assertOpen(): void {
    if (this.closed) throw new WorkerError('STORAGE_UNAVAILABLE', 'the session store is closed (shutting down)');
  }
}

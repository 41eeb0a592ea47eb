import { describeError, isWorkerError, WorkerError } from '../util/errors.js';
import { isChainLink, parseRecord } from './auth-record.js';
import { JournaledAuthState, type AuthStateOptions, type MetaAnchor, type SessionLedger, type WriteStats } from './auth-state.js';
import type { Codec } from './encryption.js';
import { decodeSessionId, objectKeys, parseAuthKey } from './object-keys.js';
import { silentStorageLogger, type StorageLogger } from './storage-logger.js';
import type { AuthChainLink, AuthStateHandle, BlobStore, ClosableSessionStore, SessionMeta, StoredSessionMeta } from './types.js';

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
  /** Storage's own view: Baileys' `AuthenticationState` (opaque `WhatsAppAuthState` in the contract). */
  readonly state: JournaledAuthState['state'];
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
 *
 * Rollback detection (issue 11). Storage handed back older state (an object deleted, an old
 * copy put back) must never load older credentials silently: it is STORAGE_ROLLBACK, naming the
 * session and what was expected and found, raised where the session is opened (`openAuthState`;
 * `loadMeta` for what this process already knows; `listMeta` logs and skips such a session).
 *   - The auth journal is a hash chain (auth-state.ts): a segment missing in the middle, or
 *     replaced, breaks it. Attempts that failed but landed are told apart and ignored.
 *   - The chain cannot see its newest objects deleted. `session-data.json`, written anyway on
 *     link, ownership change and handover (never per flush window: still ONE object per window),
 *     records the journal head as of that write (`authHead`) and a `revision` that only grows;
 *     each auth record carries the newest revision its writer knew (`metaRevision`). At open, a
 *     journal not reaching `authHead` is STORAGE_ROLLBACK, and so is metadata older than a
 *     revision a record (or this process) knew: an old `session-data.json` put back.
 *   - `saveMeta` reads the stored metadata first (and, the first time in a process, the newest
 *     auth record), and refuses (STORAGE_ROLLBACK) to write over metadata that is older than the
 *     credentials know, or missing although they knew one: otherwise a routine write (a claim)
 *     would launder the rollback into a fresh revision. The head it records is the open auth
 *     state's (or the one this process just released); otherwise the stored one is kept: the
 *     anchor only moves when this process knows the journal is current.
 *   - Logout / delete are not rollbacks: they first record `authHead: null` and `authSeqFloor`
 *     (every sequence number used so far) in the metadata, then delete the journal. Objects at or
 *     below the floor (a partial deletion, an old one put back) are ignored, and a new journal
 *     starts above it.
 * What cannot be detected: objects written after the last metadata write that are deleted (the
 * newest segments after a link or handover, e.g. following a SIGKILL: what the metadata does not
 * record cannot be missed); the metadata and the journal rolled back together, consistently, to
 * an earlier moment (a whole-folder restore from a backup looks like the real thing to a
 * process that restarts); anything at all while the metadata is unreadable (reported by
 * `loadMeta` as STORAGE_CORRUPT; `saveMeta` overwrites it, restarting the anchor); objects of a
 * session deleted (`removeSession`, metadata gone) and created again, put back with sequence
 * numbers above the new journal's. Conversely, a metadata write that timed out and lands after
 * a later one looks like an old copy put back, and is reported: the check errs on the loud side.
 */
export class BlobSessionStore implements ClosableSessionStore {
  /** Totals over every session since start (benchmarks: objects written per flush window). */
  readonly stats: WriteStats = { writes: 0, bytes: 0, failures: 0 };
  private readonly entries = new Map<string, OpenEntry>();
  /** Per session: what this process knows (see SessionLedger). Small; dropped by removeSession. */
  private readonly ledgers = new Map<string, SessionLedger>();
  /** Per session: metadata read-modify-writes run one at a time (revisions strictly increase). */
  private readonly metaLocks = new Map<string, Promise<unknown>>();
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
    const discarded = await this.disarm(sessionId);
    await this.forgetAuthInMeta(sessionId, discarded);
    await this.blobs.deletePrefix(prefix);
  }

  async removeSession(sessionId: string): Promise<void> {
    this.assertOpen();
    const prefix = objectKeys.session(sessionId);
    const discarded = await this.disarm(sessionId);
    // As a logout first: should the deletion below stop half way, what is left is not a rollback.
    await this.forgetAuthInMeta(sessionId, discarded);
    await this.blobs.deletePrefix(prefix);
    this.ledgers.delete(sessionId);
  }

  /**
   * Writes the metadata with `revision`, `authHead` and `authSeqFloor` set by the store (see the
   * class comment); rejects with STORAGE_ROLLBACK instead of writing over metadata that the
   * stored credentials show to be older (or missing).
   */
  async saveMeta(meta: SessionMeta): Promise<void> {
    this.assertOpen();
    const key = objectKeys.meta(meta.sessionId);
    const sessionId = meta.sessionId;
    await this.withMetaLock(sessionId, async () => {
      const ledger = this.ledgerFor(sessionId);
      let stored: StoredSessionMeta | undefined;
      let unreadable = false;
      try {
        stored = (await this.readMeta(sessionId))?.meta;
      } catch (err) {
        if (!isUnreadable(err)) throw err;
        unreadable = true;
        this.logger.warn({ sessionId, err: err.message }, 'overwriting unreadable session metadata: the rollback check restarts from this write');
      }
      const entry = this.entries.get(sessionId);
      const floor = stored?.authSeqFloor ?? 0;
      let known = ledger.metaRevision;
      if (!entry && !unreadable) {
        if (!stored) {
          // Fresh evidence only: what this process remembers may be of a session since deleted.
          const evidence = await this.probeJournal(sessionId, floor);
          if (evidence > 0) {
            throw new WorkerError(
              'STORAGE_ROLLBACK',
              `storage of session ${sessionId} was rolled back or tampered with: session-data.json is missing, but the stored credentials were written knowing its revision ${evidence}; not writing a new one over that`,
            );
          }
        } else if (!ledger.journalKnown) {
          known = Math.max(known, await this.probeJournal(sessionId, floor));
        }
      }
      if (stored && (stored.revision ?? 0) < known) {
        throw new WorkerError(
          'STORAGE_ROLLBACK',
          `storage of session ${sessionId} was rolled back or tampered with: session-data.json is at revision ${stored.revision ?? 0}, but revision ${known} was already known; not writing over an older copy that was put back`,
        );
      }
      const revision = nextRevision(stored?.revision, known);
      let authHead: AuthChainLink | null;
      const released = ledger.released;
      if (entry) authHead = entry.auth.head;
      else if (released && stored && (stored.revision ?? 0) <= released.asOfRevision) authHead = released.head;
      else authHead = stored?.authHead ?? null;
      // The caller's copy of the store's own fields (none, normally) is ignored.
      const next: StoredSessionMeta = { ...withoutStoreFields(meta), revision, authHead, ...(floor > 0 ? { authSeqFloor: floor } : {}) };
      await this.blobs.put(key, this.codec.encode(Buffer.from(JSON.stringify(next), 'utf8'), key));
      ledger.metaRevision = Math.max(ledger.metaRevision, revision);
      if (released && !entry && authHead === released.head) released.asOfRevision = revision;
    });
  }

  async loadMeta(sessionId: string): Promise<SessionMeta | undefined> {
    this.assertOpen();
    const found = await this.readMeta(sessionId);
    if (!found) return undefined;
    const { meta, stale, stored } = found;
    const ledger = this.ledgerFor(sessionId);
    if ((meta.revision ?? 0) < ledger.metaRevision) {
      throw new WorkerError(
        'STORAGE_ROLLBACK',
        `storage of session ${sessionId} was rolled back or tampered with: session-data.json is at revision ${meta.revision ?? 0}, but this process already saw revision ${ledger.metaRevision}: an older copy was put back`,
      );
    }
    ledger.metaRevision = Math.max(ledger.metaRevision, meta.revision ?? 0);
    if (stale) {
      // Opportunistic re-encryption under the current key, of exactly what was read (same
      // revision), unless it changed meanwhile; a failure here must not fail the read.
      const key = objectKeys.meta(sessionId);
      await this.withMetaLock(sessionId, async () => {
        const now = await this.blobs.get(key);
        if (now && now.equals(stored)) await this.blobs.put(key, this.codec.encode(this.codec.decode(stored, key).data, key));
      }).catch((err) => this.logger.warn({ sessionId, err: err }, 'could not re-encrypt session metadata'));
    }
    return withoutStoreFields(meta);
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
            this.logger.error({ sessionId: id, code: err.code, err: err.message }, err.code === 'STORAGE_ROLLBACK' ? 'session storage rolled back: skipped' : 'session metadata unreadable: skipped');
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
      loading = JournaledAuthState.load(sessionId, this.blobs, this.codec, this.authOptions, { meta: this.anchorOf(sessionId), ledger: this.ledgerFor(sessionId) })
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
          // A handover writes the metadata right after this: it records the head left here.
          const ledger = this.ledgerFor(sessionId);
          ledger.released = { head: auth.head, asOfRevision: ledger.metaRevision };
        }
      },
    };
  }

  /** Stops a session's open auth state from writing before its objects are removed; returns it. */
  private async disarm(sessionId: string): Promise<JournaledAuthState | undefined> {
    const loading = this.loading.get(sessionId);
    if (loading) await loading.catch(() => undefined);
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    this.entries.delete(sessionId);
    await entry.auth.discard();
    return entry.auth;
  }

  /**
   * Before the journal is deleted (logout, delete): records in the metadata that no credentials
   * are stored (`authHead: null`) and that every sequence number used so far is behind a logout
   * (`authSeqFloor`), so that neither the deletion nor what it may leave behind is a rollback.
   * Without readable metadata there is nothing to update (and nothing anchored).
   */
  private async forgetAuthInMeta(sessionId: string, discarded: JournaledAuthState | undefined): Promise<void> {
    await this.withMetaLock(sessionId, async () => {
      let stored: StoredSessionMeta | undefined;
      try {
        stored = (await this.readMeta(sessionId))?.meta;
      } catch (err) {
        if (!isUnreadable(err)) throw err;
        this.logger.warn({ sessionId, err: err.message }, 'session metadata unreadable: removing the credentials without recording it there');
        return;
      }
      const ledger = this.ledgerFor(sessionId);
      ledger.released = undefined;
      if (!stored) return;
      const prefix = objectKeys.auth(sessionId);
      let floor = Math.max(stored.authSeqFloor ?? 0, discarded?.highestSeq ?? 0);
      for (const key of await this.blobs.list(prefix)) floor = Math.max(floor, parseAuthKey(prefix, key)?.seq ?? 0);
      const revision = nextRevision(stored.revision, ledger.metaRevision);
      const next: StoredSessionMeta = { ...stored, revision, authHead: null, ...(floor > 0 ? { authSeqFloor: floor } : {}) };
      const key = objectKeys.meta(sessionId);
      await this.blobs.put(key, this.codec.encode(Buffer.from(JSON.stringify(next), 'utf8'), key));
      ledger.metaRevision = Math.max(ledger.metaRevision, revision);
      ledger.released = { head: null, asOfRevision: revision };
    });
  }

  /**
   * The newest `session-data.json` revision the stored credentials know: read from the newest
   * auth object above `floor` (revisions only grow along the journal). 0 when there are none.
   */
  private async probeJournal(sessionId: string, floor: number): Promise<number> {
    const prefix = objectKeys.auth(sessionId);
    let newest: { key: string; kind: 'snapshot' | 'segment'; seq: number } | undefined;
    for (const key of await this.blobs.list(prefix)) {
      const parsed = parseAuthKey(prefix, key);
      if (parsed && parsed.seq > floor && (!newest || parsed.seq > newest.seq)) newest = { key, ...parsed };
    }
    const ledger = this.ledgerFor(sessionId);
    let known = 0;
    if (newest) {
      const stored = await this.blobs.get(newest.key);
      if (stored) known = parseRecord(this.codec.decode(stored, newest.key).data, { context: newest.key, sessionId, kind: newest.kind, seq: newest.seq }).metaRevision ?? 0;
    }
    ledger.metaRevision = Math.max(ledger.metaRevision, known);
    ledger.journalKnown = true;
    return known;
  }

  /** The stored metadata, checked; undefined when there is none. Throws DECRYPTION_FAILED or STORAGE_CORRUPT when unreadable. */
  private async readMeta(sessionId: string): Promise<{ meta: StoredSessionMeta; stale: boolean; stored: Buffer } | undefined> {
    const key = objectKeys.meta(sessionId);
    const stored = await this.blobs.get(key);
    if (!stored) return undefined;
    const { data, stale } = this.codec.decode(stored, key);
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8'));
    } catch (err) {
      // It decoded (and, when encrypted, authenticated): the key is right, the content is not.
      // STORAGE_CORRUPT, which callers treat like DECRYPTION_FAILED ("cannot be read"): such sessions are skipped.
      throw new WorkerError('STORAGE_CORRUPT', `${key} (metadata of session ${sessionId}) is not valid JSON: the object is corrupt (it was decoded, so the key is not the problem)`, { cause: err });
    }
    const meta = value as Partial<StoredSessionMeta> | null;
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw new WorkerError('STORAGE_CORRUPT', `${key} is valid JSON but not session metadata (not an object)`);
    if (meta.sessionId !== sessionId) throw new WorkerError('STORAGE_CORRUPT', `${key} holds the metadata of another session (${JSON.stringify(meta.sessionId)})`);
    const count = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
    if (!count(meta.revision) || !count(meta.authSeqFloor) || !(meta.authHead === undefined || meta.authHead === null || isChainLink(meta.authHead))) {
      throw new WorkerError('STORAGE_CORRUPT', `${key} (metadata of session ${sessionId}) has malformed revision, authHead or authSeqFloor fields`);
    }
    return { meta: meta as StoredSessionMeta, stale, stored };
  }

  /** `session-data.json` for the auth loader's checks (an unreadable one is for it to judge). */
  private async anchorOf(sessionId: string): Promise<MetaAnchor> {
    try {
      const found = await this.readMeta(sessionId);
      if (!found) return { state: 'missing' };
      const { revision, authHead, authSeqFloor } = found.meta;
      return { state: 'present', revision: revision ?? 0, authHead, authSeqFloor: authSeqFloor ?? 0 };
    } catch (err) {
      if (isUnreadable(err)) return { state: 'unreadable', error: err };
      throw err;
    }
  }

  private ledgerFor(sessionId: string): SessionLedger {
    let ledger = this.ledgers.get(sessionId);
    if (!ledger) this.ledgers.set(sessionId, (ledger = { metaRevision: 0, journalKnown: false }));
    return ledger;
  }

  /** Runs metadata read-modify-writes of one session one after another. */
  private async withMetaLock<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.metaLocks.get(sessionId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.metaLocks.set(sessionId, tail);
    try {
      return await run;
    } finally {
      if (this.metaLocks.get(sessionId) === tail) this.metaLocks.delete(sessionId);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new WorkerError('STORAGE_UNAVAILABLE', 'the session store is closed (shutting down)');
  }
}

/**
 * The next metadata revision: above every one known, and seeded by the wall clock, so that a
 * session deleted and created again (whose old revisions nobody in storage remembers) still
 * starts above what a running process may remember of it.
 */
function nextRevision(...known: Array<number | undefined>): number {
  return Math.max(Date.now(), ...known.map((r) => (r ?? 0) + 1));
}

/** The metadata as callers know it: the store's own fields (StoredSessionMeta) left out. */
function withoutStoreFields(meta: SessionMeta): SessionMeta {
  const { revision: _revision, authHead: _authHead, authSeqFloor: _floor, ...rest } = meta as StoredSessionMeta;
  return rest;
}

/** An object that cannot be used as it is: not decryptable with our keys, or decoded but corrupt. */
function isUnreadable(err: unknown): err is WorkerError {
  return isWorkerError(err, 'DECRYPTION_FAILED') || isWorkerError(err, 'STORAGE_CORRUPT');
}

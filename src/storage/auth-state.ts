import { initAuthCreds, type AuthenticationCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap } from '@whiskeysockets/baileys';
import { backoffDelay, SingleTimer } from '../util/backoff.js';
import { describeError, isWorkerError, WorkerError } from '../util/errors.js';
import { parseRecord, reviveKeyValue, serialiseRecord, type AuthRecord, type KeyEntry } from './auth-record.js';
import type { Codec } from './encryption.js';
import { objectKeys, parseAuthKey } from './object-keys.js';
import type { StorageLogger } from './storage-logger.js';
import type { BlobStore } from './types.js';

export interface AuthStateOptions {
  /** Changes are written at most this long after the first of them (one object per window). */
  flushIntervalMs: number;
  compaction: {
    /** A snapshot replaces the journal once it holds this many segments... */
    maxSegments: number;
    /** ...or once the segments weigh as much as the snapshot (and at least this many bytes). */
    minJournalBytes: number;
  };
  /** Backoff between attempts after a failed write (randomised, exponential). */
  retry: { baseMs: number; maxMs: number; random?: () => number };
  logger: StorageLogger;
  /** Shared counters (the store's), updated on every object written. */
  stats?: WriteStats;
}

export interface WriteStats {
  /** Objects put (snapshots and segments): what a benchmark of write amplification counts. */
  writes: number;
  bytes: number;
  /** Failed write attempts (each retried later). */
  failures: number;
}

type Mode = 'open' | 'released' | 'discarded';
/** Parallel GETs while loading a journal. */
const LOAD_CONCURRENCY = 8;

/**
 * One session's Baileys auth state: held in memory, persisted as a journal.
 *
 * Reads: everything is loaded once, at open; `keys.get` is then served from memory. This is why
 * no `makeCacheableSignalKeyStore` is needed on top (it would cache what is already in memory).
 * The memory cost is the session's key material, typically tens to hundreds of KB.
 *
 * Writes are coalesced: `keys.set` and `saveCreds` only mark what changed and arm ONE timer;
 * when it fires (`flushIntervalMs` after the first change, however many follow: bounded delay)
 * ONE object is written for the whole window:
 *   - normally a journal segment `auth/journal/<seq>`: the creds plus the keys changed (deletions
 *     as null);
 *   - or, when the journal has grown (see `compaction`), a snapshot `auth/snapshot/<seq>`: the
 *     creds plus every key, after which older snapshots and segments at or below <seq> are
 *     deleted (best effort: leftovers are ignored at load and swept at the next compaction).
 * Restore = the highest snapshot, then every segment above it, in sequence order.
 *
 * Every object is complete and written atomically, so a crash loses at most the changes of the
 * current window and never leaves creds and keys from different moments.
 *
 * Each write ATTEMPT takes a fresh sequence number. So an attempt that looked failed (a timeout)
 * but lands later cannot overwrite what a later attempt wrote: it sits at a lower sequence
 * number, and is either replayed before the newer segment (which carries newer values of the
 * same keys, so they win) or ignored as older than the snapshot. Gaps in the sequence are normal.
 *
 * Failures never lose data: what was being written goes back to the pending changes (under
 * anything newer), and a retry is scheduled with randomised exponential backoff, one timer at a
 * time, until storage accepts it. `flush()` rejects while storage refuses, keeping everything.
 *
 * One instance per session per process (the session store shares it between handles); a
 * session is owned by a single worker, so there is a single writer.
 */
export class JournaledAuthState {
  readonly state: AuthenticationState;
  /** Objects this session has written (snapshots and segments). */
  writes = 0;
  private readonly memory = new Map<string, Map<string, unknown>>();
  private pendingKeys = new Map<string, Map<string, unknown>>();
  private credsDirty = false;
  /** Force the next write to be a snapshot (stale objects found at load, `keys.clear()`). */
  private snapshotDue = false;
  /** The highest sequence number seen in storage or used by an attempt. */
  private lastSeq: number;
  private snapshotSeq: number | undefined;
  private snapshotBytes: number;
  private journalSegments: number;
  private journalBytes: number;
  private readonly timer = new SingleTimer();
  private inflight: Promise<void> | undefined;
  private failures = 0;
  private mode: Mode = 'open';
  private warnedAfterRelease = false;

  private constructor(
    readonly sessionId: string,
    creds: AuthenticationCreds,
    keys: Map<string, Map<string, unknown>>,
    loaded: { lastSeq: number; snapshotSeq: number | undefined; snapshotBytes: number; segments: number; journalBytes: number; stale: boolean },
    private readonly blobs: BlobStore,
    private readonly codec: Codec,
    private readonly opts: AuthStateOptions,
  ) {
    this.memory = keys;
    this.lastSeq = loaded.lastSeq;
    this.snapshotSeq = loaded.snapshotSeq;
    this.snapshotBytes = loaded.snapshotBytes;
    this.journalSegments = loaded.segments;
    this.journalBytes = loaded.journalBytes;
    this.state = {
      creds,
      keys: {
        get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => this.getKeys(type, ids),
        set: async (data: SignalDataSet) => this.setKeys(data),
        clear: async () => this.clearKeys(),
      },
    };
    if (loaded.stale) {
      // Objects under an old key (or accepted plaintext): rewrite everything under the current one.
      this.snapshotDue = true;
      this.arm();
    }
  }

  /** Loads a session's auth state (fresh creds when nothing is stored). */
  static async load(sessionId: string, blobs: BlobStore, codec: Codec, opts: AuthStateOptions): Promise<JournaledAuthState> {
    const prefix = objectKeys.auth(sessionId);
    const found = (await blobs.list(prefix)).flatMap((key) => {
      const parsed = parseAuthKey(prefix, key);
      return parsed ? [{ key, ...parsed }] : [];
    });
    const lastSeq = found.reduce((max, o) => Math.max(max, o.seq), 0);
    const snapshot = found.filter((o) => o.kind === 'snapshot').sort((a, b) => b.seq - a.seq)[0];
    const segments = found.filter((o) => o.kind === 'segment' && o.seq > (snapshot?.seq ?? 0)).sort((a, b) => a.seq - b.seq);

    const read = async (o: (typeof found)[number]): Promise<{ record: AuthRecord; bytes: number; stale: boolean }> => {
      const stored = await blobs.get(o.key);
      if (!stored) throw new WorkerError('STORAGE_UNAVAILABLE', `${o.key} disappeared while the auth state of ${sessionId} was loading; retry`);
      const { data, stale } = codec.decode(stored, o.key);
      return { record: parseRecord(data, { context: o.key, sessionId, kind: o.kind, seq: o.seq }), bytes: stored.length, stale };
    };

    const keys = new Map<string, Map<string, unknown>>();
    let creds: AuthenticationCreds | undefined;
    let stale = false;
    let snapshotBytes = 0;
    let journalBytes = 0;
    const apply = (record: AuthRecord) => {
      creds = record.creds;
      for (const [type, id, value] of record.keys) {
        let byId = keys.get(type);
        if (!byId) keys.set(type, (byId = new Map()));
        if (value === null || value === undefined) byId.delete(id);
        else byId.set(id, reviveKeyValue(type, value));
      }
    };
    if (snapshot) {
      const { record, bytes, stale: s } = await read(snapshot);
      apply(record);
      snapshotBytes = bytes;
      stale ||= s;
    }
    // Fetched in parallel (bounded), applied strictly in order.
    for (let i = 0; i < segments.length; i += LOAD_CONCURRENCY) {
      for (const { record, bytes, stale: s } of await Promise.all(segments.slice(i, i + LOAD_CONCURRENCY).map(read))) {
        apply(record);
        journalBytes += bytes;
        stale ||= s;
      }
    }
    if (!snapshot && segments.length > 0) {
      opts.logger.warn({ sessionId, segments: segments.length }, 'auth journal without a snapshot (removed by hand?): restoring from the segments alone');
    }
    if (found.length > 0) {
      opts.logger.debug({ sessionId, snapshot: snapshot?.seq, segments: segments.length, keys: [...keys.values()].reduce((n, m) => n + m.size, 0) }, 'auth state loaded');
    }
    return new JournaledAuthState(
      sessionId,
      creds ?? initAuthCreds(),
      keys,
      { lastSeq, snapshotSeq: snapshot?.seq, snapshotBytes, segments: segments.length, journalBytes, stale },
      blobs,
      codec,
      opts,
    );
  }

  /** Baileys' `creds.update`: the creds object was changed in place; persist it with the next write. */
  saveCreds(): void {
    if (!this.accepting('creds update')) return;
    this.credsDirty = true;
    this.arm();
  }

  isLinked(): boolean {
    return !!this.state.creds.me;
  }

  /** Something of this session is in storage (loaded at open, or written since). */
  get persisted(): boolean {
    return this.snapshotSeq !== undefined || this.journalSegments > 0;
  }

  /** Something is waiting to be written. */
  get dirty(): boolean {
    return this.credsDirty || this.snapshotDue || this.pendingKeys.size > 0;
  }

  /** Writes what is pending now. Rejects (STORAGE_UNAVAILABLE) while storage refuses; nothing is dropped. */
  async flush(): Promise<void> {
    if (this.mode === 'discarded') return;
    this.timer.cancel();
    // A write in progress may not hold the latest changes: let it settle, then write the rest.
    while (this.inflight) await this.inflight.catch(() => undefined);
    this.timer.cancel();
    if (this.dirty) await this.persistOnce();
  }

  /** After a successful final flush: nothing more will be written by this instance. */
  release(): void {
    this.mode = 'released';
    this.timer.cancel();
  }

  /**
   * The credentials are being removed (logout / delete): stop writing for good, and wait for a
   * write in flight, so that nothing lands after the removal and resurrects them.
   */
  async discard(): Promise<void> {
    this.mode = 'discarded';
    this.timer.cancel();
    this.pendingKeys.clear();
    this.credsDirty = false;
    this.snapshotDue = false;
    while (this.inflight) await this.inflight.catch(() => undefined);
  }

  /** Re-encryption / compaction on demand: the next write is a full snapshot. */
  requestSnapshot(): void {
    if (!this.accepting('snapshot request')) return;
    this.snapshotDue = true;
    this.arm();
  }

  // ---- the key store --------------------------------------------------------------------------

  private getKeys<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): { [id: string]: SignalDataTypeMap[T] } {
    const out: { [id: string]: SignalDataTypeMap[T] } = {};
    const byId = this.memory.get(type);
    if (!byId) return out;
    for (const id of ids) {
      const value = byId.get(id);
      if (value !== undefined && id !== '__proto__') out[id] = value as SignalDataTypeMap[T];
    }
    return out;
  }

  private setKeys(data: SignalDataSet): void {
    const accepting = this.accepting('key update');
    for (const [type, entries] of Object.entries(data)) {
      if (!entries) continue;
      let byId = this.memory.get(type);
      if (!byId) this.memory.set(type, (byId = new Map()));
      let pending = this.pendingKeys.get(type);
      for (const [id, value] of Object.entries(entries)) {
        if (value === null || value === undefined) byId.delete(id);
        else byId.set(id, value);
        if (!accepting) continue;
        if (!pending) this.pendingKeys.set(type, (pending = new Map()));
        pending.set(id, value ?? null);
      }
    }
    if (accepting) this.arm();
  }

  private clearKeys(): void {
    this.memory.clear();
    this.pendingKeys.clear();
    this.requestSnapshot();
  }

  private accepting(what: string): boolean {
    if (this.mode === 'open') return true;
    if (this.mode === 'released' && !this.warnedAfterRelease) {
      this.warnedAfterRelease = true;
      this.opts.logger.warn({ sessionId: this.sessionId, what }, 'auth state used after close: change kept in memory only');
    }
    return false;
  }

  // ---- writing --------------------------------------------------------------------------------

  /** Arms the single timer: the flush window, or the backoff after failures. */
  private arm(): void {
    if (this.mode !== 'open' || this.timer.pending || this.inflight || !this.dirty) return;
    const delay = this.failures === 0 ? this.opts.flushIntervalMs : backoffDelay(this.failures - 1, this.opts.retry);
    this.timer.schedule(delay, () => {
      // Failures are logged (and retried) by write(); nobody awaits a background write.
      this.persistOnce().catch(() => undefined);
    });
  }

  private persistOnce(): Promise<void> {
    this.inflight ??= this.write().finally(() => {
      this.inflight = undefined;
      this.arm(); // changes that arrived meanwhile, or the retry after a failure
    });
    return this.inflight;
  }

  private shouldSnapshot(): boolean {
    const { maxSegments, minJournalBytes } = this.opts.compaction;
    return (
      this.snapshotDue ||
      this.snapshotSeq === undefined ||
      this.journalSegments >= maxSegments ||
      this.journalBytes >= Math.max(minJournalBytes, this.snapshotBytes)
    );
  }

  private async write(): Promise<void> {
    if (this.mode !== 'open' || !this.dirty) return;
    const snapshot = this.shouldSnapshot();
    const seq = ++this.lastSeq; // fresh for every attempt: see the class comment
    // Take the pending changes: what arrives during the write goes to the next one.
    const taken = { keys: this.pendingKeys, creds: this.credsDirty, snapshotDue: this.snapshotDue };
    this.pendingKeys = new Map();
    this.credsDirty = false;
    this.snapshotDue = false;

    const objectKey = snapshot ? objectKeys.snapshot(this.sessionId, seq) : objectKeys.segment(this.sessionId, seq);
    let body: Buffer;
    try {
      // Serialised synchronously: the object is the state at this instant, consistent.
      const entries: KeyEntry[] = [];
      const source = snapshot ? this.memory : taken.keys;
      for (const [type, byId] of source) for (const [id, value] of byId) entries.push([type, id, value]);
      const record: AuthRecord = { format: 'wa-worker/auth@1', kind: snapshot ? 'snapshot' : 'segment', seq, sessionId: this.sessionId, writtenAt: Date.now(), creds: this.state.creds, keys: entries };
      body = this.codec.encode(serialiseRecord(record), objectKey);
      await this.blobs.put(objectKey, body);
    } catch (err) {
      this.restorePending(taken);
      this.failures++;
      if (this.opts.stats) this.opts.stats.failures++;
      this.opts.logger.warn({ sessionId: this.sessionId, object: objectKey, failures: this.failures, err: describeError(err) }, 'auth state write failed; changes kept, will retry');
      throw isWorkerError(err) ? err : new WorkerError('STORAGE_UNAVAILABLE', `cannot write ${objectKey}: ${describeError(err)}`, { cause: err });
    }

    this.writes++;
    if (this.opts.stats) {
      this.opts.stats.writes++;
      this.opts.stats.bytes += body.length;
    }
    if (this.failures > 0) this.opts.logger.info({ sessionId: this.sessionId, failures: this.failures }, 'auth state written again after failures');
    this.failures = 0;
    if (snapshot) {
      this.snapshotSeq = seq;
      this.snapshotBytes = body.length;
      this.journalSegments = 0;
      this.journalBytes = 0;
      await this.prune(seq);
    } else {
      this.journalSegments++;
      this.journalBytes += body.length;
    }
  }

  /** Puts taken changes back, under anything newer that arrived during the failed write. */
  private restorePending(taken: { keys: Map<string, Map<string, unknown>>; creds: boolean; snapshotDue: boolean }): void {
    if (this.mode === 'discarded') return; // removed meanwhile: nothing is to be written any more
    for (const [type, older] of taken.keys) {
      const newer = this.pendingKeys.get(type);
      if (newer) for (const [id, value] of newer) older.set(id, value);
      this.pendingKeys.set(type, older);
    }
    this.credsDirty ||= taken.creds;
    this.snapshotDue ||= taken.snapshotDue;
  }

  /** Deletes what the snapshot at `seq` supersedes. Best effort: leftovers are harmless. */
  private async prune(seq: number): Promise<void> {
    const prefix = objectKeys.auth(this.sessionId);
    try {
      const obsolete = (await this.blobs.list(prefix)).filter((key) => {
        const parsed = parseAuthKey(prefix, key);
        return parsed && (parsed.kind === 'snapshot' ? parsed.seq < seq : parsed.seq <= seq);
      });
      await Promise.all(obsolete.map((key) => this.blobs.delete(key)));
    } catch (err) {
      this.opts.logger.warn({ sessionId: this.sessionId, err: describeError(err) }, 'could not prune the auth journal after a snapshot; will retry at the next one');
    }
  }
}

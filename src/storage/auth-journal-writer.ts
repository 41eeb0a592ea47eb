import type { AuthenticationCreds } from '@whiskeysockets/baileys';
import { backoffDelay, SingleTimer } from '../util/backoff.js';
import { describeError, isWorkerError, WorkerError } from '../util/errors.js';
import type { SessionLedger } from './auth-chain.js';
import { keyEntries, type AuthKeyStore, type KeyMap } from './auth-key-store.js';
import { recordHash, serialiseRecord, type AuthRecord } from './auth-record.js';
import type { Codec } from './encryption.js';
import { objectKeys, parseAuthKey } from './object-keys.js';
import type { StorageLogger } from './storage-logger.js';
import type { AuthChainLink, BlobStore } from './types.js';

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

/** Where a session's journal stands in storage: what the loader found, kept current by the writer. */
export interface JournalPosition {
  /** The highest sequence number seen in storage (or used by an attempt). */
  lastSeq: number;
  /** The newest object in storage the state is built on (undefined: nothing stored). */
  head: AuthChainLink | undefined;
  snapshotSeq: number | undefined;
  snapshotBytes: number;
  /** Objects above the snapshot, and their bytes (orphans included: compaction removes them too). */
  segments: number;
  journalBytes: number;
}

/** `open`: writing; `retired`: closed after a final flush; `discarded`: the credentials are being removed. */
export type WriterMode = 'open' | 'retired' | 'discarded';

/**
 * Persists one session's auth state as a journal, coalescing its changes.
 *
 * Writes are coalesced: key changes and creds updates only mark what changed and arm ONE timer;
 * when it fires (`flushIntervalMs` after the first change, however many follow: bounded delay)
 * ONE object is written for the whole window:
 *   - normally a journal segment `auth/journal/<seq>`: the creds plus the keys changed (deletions
 *     as null);
 *   - or, when the journal has grown (see `compaction`), a snapshot `auth/snapshot/<seq>`: the
 *     creds plus every key, after which older snapshots and segments at or below <seq> are
 *     deleted (best effort: leftovers are ignored at load and swept at the next compaction).
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
 * Each object is also a link of the hash chain that detects rollbacks (see `walkChain`).
 */
export class AuthJournalWriter {
  /** Objects this session has written (snapshots and segments). */
  writes = 0;
  private credsDirty = false;
  /** Force the next write to be a snapshot (stale objects found at load, `keys.clear()`). */
  private snapshotDue = false;
  /** The highest sequence number seen in storage or used by an attempt. */
  private lastSeq: number;
  /** The newest object in storage that this state is built on (its last successful write). */
  private chainHead: AuthChainLink | undefined;
  private snapshotSeq: number | undefined;
  private snapshotBytes: number;
  private journalSegments: number;
  private journalBytes: number;
  private readonly timer = new SingleTimer();
  private inflight: Promise<void> | undefined;
  private failures = 0;
  private currentMode: WriterMode = 'open';

  constructor(
    private readonly sessionId: string,
    /** The creds as they are now: every object carries them whole. */
    private readonly creds: () => AuthenticationCreds,
    private readonly keys: AuthKeyStore,
    loaded: JournalPosition,
    private readonly blobs: BlobStore,
    private readonly codec: Codec,
    private readonly opts: AuthStateOptions,
    private readonly ledger: SessionLedger,
  ) {
    this.lastSeq = loaded.lastSeq;
    this.chainHead = loaded.head;
    this.snapshotSeq = loaded.snapshotSeq;
    this.snapshotBytes = loaded.snapshotBytes;
    this.journalSegments = loaded.segments;
    this.journalBytes = loaded.journalBytes;
  }

  get mode(): WriterMode {
    return this.currentMode;
  }

  get head(): AuthChainLink | undefined {
    return this.chainHead;
  }

  get highestSeq(): number {
    return this.lastSeq;
  }

  /** Something of this session is in storage (loaded at open, or written since). */
  get persisted(): boolean {
    return this.snapshotSeq !== undefined || this.journalSegments > 0;
  }

  /** Something is waiting to be written. */
  get dirty(): boolean {
    return this.credsDirty || this.snapshotDue || this.keys.hasPending;
  }

  /** The creds changed (in place): write them with the next object. */
  credsChanged(): void {
    this.credsDirty = true;
    this.arm();
  }

  /** Keys were recorded as pending in the key store: write them with the next object. */
  keysChanged(): void {
    this.arm();
  }

  /** The next write is a full snapshot. */
  snapshotRequested(): void {
    this.snapshotDue = true;
    this.arm();
  }

  /** Writes what is pending now. Rejects (STORAGE_UNAVAILABLE) while storage refuses; nothing is dropped. */
  async flush(): Promise<void> {
    if (this.currentMode === 'discarded') return;
    this.timer.cancel();
    // A write in progress may not hold the latest changes: let it settle, then write the rest.
    while (this.inflight) await this.inflight.catch(() => undefined);
    this.timer.cancel();
    if (this.dirty) await this.persistOnce();
  }

  /** After a successful final flush: nothing more will be written. */
  retire(): void {
    this.currentMode = 'retired';
    this.timer.cancel();
  }

  /** Stops writing for good and waits for a write in flight, so that nothing lands after a removal. */
  async discard(): Promise<void> {
    this.currentMode = 'discarded';
    this.timer.cancel();
    this.keys.dropPending();
    this.credsDirty = false;
    this.snapshotDue = false;
    while (this.inflight) await this.inflight.catch(() => undefined);
  }

  /** Arms the single timer: the flush window, or the backoff after failures. */
  private arm(): void {
    if (this.currentMode !== 'open' || this.timer.pending || this.inflight || !this.dirty) return;
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
    if (this.currentMode !== 'open' || !this.dirty) return;
    const snapshot = this.shouldSnapshot();
    const seq = ++this.lastSeq; // fresh for every attempt: see the class comment
    // Take the pending changes: what arrives during the write goes to the next one.
    // A failed snapshot is retried as a snapshot (see restorePending): the chain relies on it.
    const taken = { keys: this.keys.takePending(), creds: this.credsDirty, snapshotDue: this.snapshotDue || snapshot };
    this.credsDirty = false;
    this.snapshotDue = false;

    const objectKey = snapshot ? objectKeys.snapshot(this.sessionId, seq) : objectKeys.segment(this.sessionId, seq);
    let body: Buffer;
    let link: AuthChainLink;
    try {
      // Serialised synchronously: the object is the state at this instant, consistent.
      const record: AuthRecord = {
        format: 'wa-worker/auth@1',
        kind: snapshot ? 'snapshot' : 'segment',
        seq,
        sessionId: this.sessionId,
        writtenAt: Date.now(),
        // On top of the last SUCCESSFUL write, whatever attempts failed since (see walkChain).
        prev: this.chainHead ?? null,
        metaRevision: this.ledger.metaRevision,
        creds: this.creds(),
        keys: snapshot ? this.keys.all() : keyEntries(taken.keys),
      };
      const plain = serialiseRecord(record);
      link = { seq, hash: recordHash(plain) };
      body = this.codec.encode(plain, objectKey);
      await this.blobs.put(objectKey, body);
    } catch (err) {
      this.restorePending(taken);
      this.failures++;
      if (this.opts.stats) this.opts.stats.failures++;
      this.opts.logger.warn({ sessionId: this.sessionId, object: objectKey, failures: this.failures, err }, 'auth state write failed; changes kept, will retry');
      throw isWorkerError(err) ? err : new WorkerError('STORAGE_UNAVAILABLE', `cannot write ${objectKey}: ${describeError(err)}`, { cause: err });
    }

    this.chainHead = link;
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

  /**
   * Puts taken changes back, under anything newer that arrived during the failed write. A failed
   * snapshot comes back as `snapshotDue`, so its retry is a snapshot too: an orphan snapshot then
   * always has a higher snapshot above it, and the loader's "highest snapshot" is never an
   * orphan with chained successors.
   */
  private restorePending(taken: { keys: KeyMap; creds: boolean; snapshotDue: boolean }): void {
    if (this.currentMode === 'discarded') return; // removed meanwhile: nothing is to be written any more
    this.keys.restorePending(taken.keys);
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
      this.opts.logger.warn({ sessionId: this.sessionId, err }, 'could not prune the auth journal after a snapshot; will retry at the next one');
    }
  }
}

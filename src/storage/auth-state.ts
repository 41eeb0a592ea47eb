import { initAuthCreds, type AuthenticationCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap } from '@whiskeysockets/baileys';
import { backoffDelay, SingleTimer } from '../util/backoff.js';
import { describeError, isWorkerError, WorkerError } from '../util/errors.js';
import { parseRecord, recordHash, reviveKeyValue, serialiseRecord, type AuthRecord, type KeyEntry } from './auth-record.js';
import type { Codec } from './encryption.js';
import { objectKeys, parseAuthKey, type AuthObjectKind } from './object-keys.js';
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

/**
 * What one process knows of a session besides its journal: shared (one object per session) by
 * the session store and the session's auth state, so that whichever learns something first
 * (a metadata write, a journal load) the other sees it.
 */
export interface SessionLedger {
  /** The highest `session-data.json` revision known here: read, written, or carried by an auth record. */
  metaRevision: number;
  /** The journal itself was read in this process (an auth state loaded, or its newest record probed). */
  journalKnown: boolean;
  /** The head as this process's last auth state left it once released, and `metaRevision` then. */
  released?: { head: AuthChainLink | null; asOfRevision: number };
}

/** `session-data.json` as the loader found it, for the checks that anchor the journal to it. */
export type MetaAnchor =
  | { state: 'missing' }
  | { state: 'unreadable'; error: WorkerError }
  | { state: 'present'; revision: number; authHead: AuthChainLink | null | undefined; authSeqFloor: number };

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
 *
 * Rollback detection: a hash chain. Every object names the object it was written on top of,
 * `prev = { seq, hash }` of the writer's last SUCCESSFUL write (hash: `recordHash`, over the
 * record before encryption), and carries `metaRevision`, the newest `session-data.json`
 * revision the writer knew. It costs no extra object: the link rides in the one object a flush
 * window writes anyway. At load the chain is walked from the snapshot up:
 *   - Attempts share a predecessor: every attempt between two successful writes W1 and W2 has
 *     `prev = W1`, and W2 is the last of them (attempts are strictly sequential, and the
 *     predecessor only moves on success). So among the segments naming the current head as
 *     `prev`, the highest sequence number is the chain's next member, and the lower ones are
 *     attempts that reported failure but landed (late or not): orphans, ignored. Ignoring them
 *     loses nothing, since a failed attempt's changes go back to pending and are in every later
 *     attempt. If every attempt after the last success failed (then the process stopped), the
 *     newest of them is taken: it holds the newest state and the next writer chains onto it.
 *   - A segment above the snapshot that is left over once the walk ends (its `prev` is not in
 *     the chain: a segment in the middle was deleted, or replaced by another object, e.g. one from
 *     before a logout) is STORAGE_ROLLBACK. So is a legacy (unchained) segment above a chained one.
 *   - Compaction's leftovers (objects at or below the snapshot) are ignored, as before, and so
 *     are objects at or below the metadata's `authSeqFloor` (written by a logout: they predate it).
 *   - A failed snapshot attempt is retried as a snapshot (see `restorePending`), so an orphan
 *     snapshot never sits above the real one's successors.
 * The chain cannot see its own newest objects being deleted: the metadata anchors it. See
 * `checkAgainstMeta` and the session store for what is (and is not) detected.
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
  /** The newest object in storage that this state is built on (its last successful write). */
  private chainHead: AuthChainLink | undefined;
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
    loaded: { lastSeq: number; head: AuthChainLink | undefined; snapshotSeq: number | undefined; snapshotBytes: number; segments: number; journalBytes: number; stale: boolean },
    private readonly blobs: BlobStore,
    private readonly codec: Codec,
    private readonly opts: AuthStateOptions,
    private readonly ledger: SessionLedger,
  ) {
    this.memory = keys;
    this.lastSeq = loaded.lastSeq;
    this.chainHead = loaded.head;
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

  /**
   * Loads a session's auth state (fresh creds when nothing is stored), verifying the journal's
   * chain and anchoring it to the session's metadata (`anchor.meta`, read by the caller).
   * Rejects with STORAGE_ROLLBACK rather than load older credentials than were written.
   */
  static async load(
    sessionId: string,
    blobs: BlobStore,
    codec: Codec,
    opts: AuthStateOptions,
    /** `meta` may be a promise: it is read while the journal is listed. */
    anchor: { meta: MetaAnchor | Promise<MetaAnchor>; ledger: SessionLedger },
  ): Promise<JournaledAuthState> {
    const { ledger } = anchor;
    const prefix = objectKeys.auth(sessionId);
    const [meta, keys0] = await Promise.all([anchor.meta, blobs.list(prefix)]);
    const floor = meta.state === 'present' ? meta.authSeqFloor : 0;
    const listed = keys0.flatMap((key) => {
      const parsed = parseAuthKey(prefix, key);
      return parsed ? [{ key, ...parsed }] : [];
    });
    // Every sequence number ever seen stays used: new writes go above all of them (and the floor).
    const lastSeq = listed.reduce((max, o) => Math.max(max, o.seq), floor);
    const beforeLogout = listed.filter((o) => o.seq <= floor);
    if (beforeLogout.length > 0) opts.logger.warn({ sessionId, objects: beforeLogout.length, floor }, 'ignoring auth objects from before the last logout');
    const found = listed.filter((o) => o.seq > floor);
    const snapshot = found.filter((o) => o.kind === 'snapshot').sort((a, b) => b.seq - a.seq)[0];
    const segments = found.filter((o) => o.kind === 'segment' && o.seq > (snapshot?.seq ?? 0)).sort((a, b) => a.seq - b.seq);

    const read = async (o: (typeof found)[number]): Promise<LoadedObject> => {
      const stored = await blobs.get(o.key);
      if (!stored) throw new WorkerError('STORAGE_UNAVAILABLE', `${o.key} disappeared while the auth state of ${sessionId} was loading; retry`);
      const { data, stale } = codec.decode(stored, o.key);
      const record = parseRecord(data, { context: o.key, sessionId, kind: o.kind, seq: o.seq });
      return { kind: o.kind, seq: o.seq, record, link: { seq: o.seq, hash: recordHash(data) }, bytes: stored.length, stale };
    };
    const base = snapshot ? await read(snapshot) : undefined;
    const above: LoadedObject[] = [];
    // Fetched in parallel (bounded), in order.
    for (let i = 0; i < segments.length; i += LOAD_CONCURRENCY) above.push(...(await Promise.all(segments.slice(i, i + LOAD_CONCURRENCY).map(read))));

    const chain = walkChain(sessionId, base, above);
    checkAgainstMeta(sessionId, chain, [...(base ? [base] : []), ...above], meta, ledger, opts.logger);

    const keys = new Map<string, Map<string, unknown>>();
    let creds: AuthenticationCreds | undefined;
    let stale = false;
    let journalBytes = 0;
    for (const o of chain.members) {
      creds = o.record.creds;
      for (const [type, id, value] of o.record.keys) {
        let byId = keys.get(type);
        if (!byId) keys.set(type, (byId = new Map()));
        if (value === null || value === undefined) byId.delete(id);
        else byId.set(id, reviveKeyValue(type, value));
      }
      stale ||= o.stale;
    }
    // Compaction weighs what is stored above the snapshot, orphans included (it removes them too).
    for (const o of above) journalBytes += o.bytes;
    const applied = chain.members.length - (base ? 1 : 0);
    if (!base && applied > 0) {
      opts.logger.warn({ sessionId, segments: applied }, 'auth journal without a snapshot (removed by hand?): restoring from the segments alone');
    }
    if (chain.orphans > 0) opts.logger.info({ sessionId, orphans: chain.orphans }, 'ignored auth objects of write attempts that reported failure but landed');
    if (found.length > 0) {
      opts.logger.debug({ sessionId, snapshot: base?.seq, segments: applied, head: chain.head?.seq, legacy: chain.legacy, keys: [...keys.values()].reduce((n, m) => n + m.size, 0) }, 'auth state loaded');
    }
    return new JournaledAuthState(
      sessionId,
      creds ?? initAuthCreds(),
      keys,
      { lastSeq, head: chain.head, snapshotSeq: base?.seq, snapshotBytes: base?.bytes ?? 0, segments: above.length, journalBytes, stale },
      blobs,
      codec,
      opts,
      ledger,
    );
  }

  /** Baileys' `creds.update`: the creds object was changed in place; persist it with the next write. */
  saveCreds(): void {
    if (!this.accepting('creds update')) return;
    this.credsDirty = true;
    this.arm();
  }

  /**
   * Linked = the phone accepted this device: both `me` and `account` are set. `me` alone is not
   * enough: Baileys (7.0.0-rc14) sets `creds.me` in `requestPairingCode` before any phone accepted
   * anything (lib/Socket/socket.js), while `account` (the signed device identity) is only written,
   * together with `me`, by `configureSuccessfulPairing` on `pair-success`
   * (lib/Utils/validate-connection.js). The one definition of "linked" (AuthStateHandle.isLinked).
   */
  isLinked(): boolean {
    return !!this.state.creds.me && !!this.state.creds.account;
  }

  /** The newest object this state is built on (null: nothing stored): what the metadata records as `authHead`. */
  get head(): AuthChainLink | null {
    return this.chainHead ?? null;
  }

  /** The highest sequence number seen in storage or used by an attempt (a logout's `authSeqFloor`). */
  get highestSeq(): number {
    return this.lastSeq;
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
    // A failed snapshot is retried as a snapshot (see restorePending): the chain relies on it.
    const taken = { keys: this.pendingKeys, creds: this.credsDirty, snapshotDue: this.snapshotDue || snapshot };
    this.pendingKeys = new Map();
    this.credsDirty = false;
    this.snapshotDue = false;

    const objectKey = snapshot ? objectKeys.snapshot(this.sessionId, seq) : objectKeys.segment(this.sessionId, seq);
    let body: Buffer;
    let link: AuthChainLink;
    try {
      // Serialised synchronously: the object is the state at this instant, consistent.
      const entries: KeyEntry[] = [];
      const source = snapshot ? this.memory : taken.keys;
      for (const [type, byId] of source) for (const [id, value] of byId) entries.push([type, id, value]);
      const record: AuthRecord = {
        format: 'wa-worker/auth@1',
        kind: snapshot ? 'snapshot' : 'segment',
        seq,
        sessionId: this.sessionId,
        writtenAt: Date.now(),
        // On top of the last SUCCESSFUL write, whatever attempts failed since (see the class comment).
        prev: this.chainHead ?? null,
        metaRevision: this.ledger.metaRevision,
        creds: this.state.creds,
        keys: entries,
      };
      const plain = serialiseRecord(record);
      link = { seq, hash: recordHash(plain) };
      body = this.codec.encode(plain, objectKey);
      await this.blobs.put(objectKey, body);
    } catch (err) {
      this.restorePending(taken);
      this.failures++;
      if (this.opts.stats) this.opts.stats.failures++;
      this.opts.logger.warn({ sessionId: this.sessionId, object: objectKey, failures: this.failures, err: err }, 'auth state write failed; changes kept, will retry');
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
      this.opts.logger.warn({ sessionId: this.sessionId, err: err }, 'could not prune the auth journal after a snapshot; will retry at the next one');
    }
  }
}

interface LoadedObject {
  kind: AuthObjectKind;
  seq: number;
  record: AuthRecord;
  link: AuthChainLink;
  bytes: number;
  stale: boolean;
}

interface Chain {
  /** What is applied, in order: the snapshot (if any), then the segments of the chain. */
  members: LoadedObject[];
  /** The last member (undefined: nothing stored). */
  head: AuthChainLink | undefined;
  /** Segments ignored as landed attempts whose successor chained past the same predecessor. */
  orphans: number;
  /** Some member carries no chain link (written before the chain existed). */
  legacy: boolean;
}

const GENESIS = 'genesis';
const linkKey = (link: AuthChainLink | null | undefined): string => (link ? `${link.seq}:${link.hash}` : GENESIS);
const fmt = (link: AuthChainLink): string => `seq ${link.seq} (sha256 ${link.hash.slice(0, 12)}…)`;

function rollback(sessionId: string, what: string): WorkerError {
  return new WorkerError('STORAGE_ROLLBACK', `storage of session ${sessionId} was rolled back or tampered with: ${what}; refusing to load older credentials`);
}

/** The chain from the snapshot up (see the class comment); throws STORAGE_ROLLBACK where it is broken. */
function walkChain(sessionId: string, base: LoadedObject | undefined, above: LoadedObject[]): Chain {
  const members: LoadedObject[] = base ? [base] : [];
  let head = base?.link;
  let legacy = !!base && base.record.prev === undefined;
  let i = 0;
  // Legacy segments (no link) are replayed in order as before, but only below every chained object.
  if (!base || legacy) {
    for (; i < above.length && above[i]!.record.prev === undefined; i++) {
      members.push(above[i]!);
      head = above[i]!.link;
      legacy = true;
    }
  }
  const byPrev = new Map<string, LoadedObject[]>();
  const rest = above.slice(i);
  for (const o of rest) {
    if (o.record.prev === undefined) throw rollback(sessionId, `journal segment ${o.seq} carries no chain link although older objects do (put back from an older store?)`);
    const k = linkKey(o.record.prev);
    byPrev.set(k, [...(byPrev.get(k) ?? []), o]);
  }
  let consumed = 0;
  let orphans = 0;
  for (;;) {
    const group = byPrev.get(linkKey(head));
    if (!group) break;
    byPrev.delete(linkKey(head));
    consumed += group.length;
    // Sorted by seq already: the last attempt on top of `head` is the one that succeeded.
    const next = group[group.length - 1]!;
    orphans += group.length - 1;
    members.push(next);
    head = next.link;
  }
  if (consumed < rest.length) {
    const stray = rest.find((o) => byPrev.get(linkKey(o.record.prev))?.includes(o))!;
    const prev = stray.record.prev;
    throw rollback(
      sessionId,
      `journal segment ${stray.seq} was written on top of ${prev ? fmt(prev) : 'an empty journal'}, which is not in the journal (whose chain ends at ${head ? fmt(head) : 'nothing'}): an object in the middle was deleted or replaced`,
    );
  }
  return { members, head, orphans, legacy };
}

/**
 * Anchors the journal to `session-data.json`, which records the journal head at each metadata
 * write (`authHead`) and its own `revision`, which each auth record knows (`metaRevision`):
 *   - the journal must still hold the recorded head in its chain, or have compacted past it
 *     (a snapshot above it: it cannot be older then); a journal ending below it, or holding
 *     another object at that place, or gone entirely although the head says otherwise (a logout
 *     clears it first), is STORAGE_ROLLBACK;
 *   - the metadata must not be older than any revision an auth record (or this process) knew:
 *     an older `session-data.json` put back (or a missing one, once records knew one) is
 *     STORAGE_ROLLBACK.
 * Unreadable metadata cannot anchor anything: when the records say there was one, the load fails
 * with the metadata's own error; otherwise (legacy, or never written) the journal loads unanchored.
 */
function checkAgainstMeta(sessionId: string, chain: Chain, read: LoadedObject[], meta: MetaAnchor, ledger: SessionLedger, logger: StorageLogger): void {
  const known = read.reduce((max, o) => Math.max(max, o.record.metaRevision ?? 0), 0);
  if (meta.state === 'unreadable') {
    if (known > 0) throw new WorkerError(meta.error.code, `cannot check the credentials of session ${sessionId} against its metadata: ${meta.error.message}`, { cause: meta.error });
    logger.warn({ sessionId, err: meta.error.message }, 'session metadata unreadable: auth journal loaded without the rollback check against it');
  } else if (meta.state === 'missing') {
    if (known > 0) throw rollback(sessionId, `session-data.json is missing, but the credentials were written knowing its revision ${known}`);
  } else {
    const expected = meta.authHead;
    if (expected) {
      const bySeq = new Map(chain.members.map((o) => [o.seq, o]));
      const base = chain.members[0]?.kind === 'snapshot' ? chain.members[0] : undefined;
      const found = chain.head;
      const where = `session-data.json (revision ${meta.revision}) recorded the auth journal head at ${fmt(expected)}`;
      if (!found) throw rollback(sessionId, `${where}, but no credentials are stored (removed other than by a logout)`);
      if (!(base && expected.seq < base.seq)) {
        const member = bySeq.get(expected.seq);
        if (!member && found.seq < expected.seq) throw rollback(sessionId, `${where}, but the journal ends at ${fmt(found)}: its newest objects were deleted`);
        if (!member) throw rollback(sessionId, `${where}, but that object is not in the journal's chain (head ${fmt(found)})`);
        if (member.link.hash !== expected.hash) throw rollback(sessionId, `${where}, but the journal holds another object there, ${fmt(member.link)} (head ${fmt(found)})`);
      }
    }
    const newest = Math.max(known, ledger.metaRevision);
    if (meta.revision < newest) {
      throw rollback(sessionId, `session-data.json is at revision ${meta.revision}, but revision ${newest} was already ${known >= newest ? 'known to the credentials' : 'seen by this process'}: an older copy was put back`);
    }
  }
  ledger.metaRevision = Math.max(ledger.metaRevision, known, meta.state === 'present' ? meta.revision : 0);
  ledger.journalKnown = true;
}

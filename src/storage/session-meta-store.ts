import { isWorkerError, WorkerError } from '../util/errors.js';
import type { MetaAnchor, SessionLedger } from './auth-chain.js';
import { isChainLink, parseRecord } from './auth-record.js';
import type { JournaledAuthState } from './auth-state.js';
import type { Codec } from './encryption.js';
import { objectKeys, parseAuthKey } from './object-keys.js';
import type { StorageLogger } from './storage-logger.js';
import type { AuthChainLink, BlobStore, SessionMeta, StoredSessionMeta } from './types.js';

/**
 * Each session's `session-data.json`: read and checked, written with the fields the store owns
 * (`revision`, `authHead`, `authSeqFloor`), and the anchor the auth journal is checked against.
 *
 * Rollback detection (issue 11), the metadata's part. The journal's hash chain (auth-chain.ts)
 * finds a segment missing in the middle, or replaced, and tells attempts that failed but landed
 * apart; it cannot see its newest objects deleted. So:
 *   - `session-data.json`, written anyway on link, ownership change and handover (never per
 *     flush window: still ONE object per window), records the journal head as of that write
 *     (`authHead`) and a `revision` that only grows; each auth record carries the newest revision
 *     its writer knew (`metaRevision`). At open, a journal not reaching `authHead` is
 *     STORAGE_ROLLBACK, and so is metadata older than a revision a record (or this process)
 *     knew: an old `session-data.json` put back.
 *   - `save` reads the stored metadata first (and, the first time in a process, the newest
 *     auth record), and refuses (STORAGE_ROLLBACK) to write over metadata that is older than the
 *     credentials know, or missing although they knew one: otherwise a routine write (a claim)
 *     would launder the rollback into a fresh revision. The head it records is the open auth
 *     state's (or the one this process just retired); otherwise the stored one is kept: the
 *     anchor only moves when this process knows the journal is current.
 *   - Logout / delete are not rollbacks: they first record `authHead: null` and `authSeqFloor`
 *     (every sequence number used so far) in the metadata (`recordLogout`), then delete the
 *     journal. Objects at or below the floor (a partial deletion, an old one put back) are
 *     ignored, and a new journal starts above it.
 * What cannot be detected: objects written after the last metadata write that are deleted (the
 * newest segments after a link or handover, e.g. following a SIGKILL: what the metadata does not
 * record cannot be missed); the metadata and the journal rolled back together, consistently, to
 * an earlier moment (a whole-folder restore from a backup looks like the real thing to a
 * process that restarts); anything at all while the metadata is unreadable (reported by
 * `load` as STORAGE_CORRUPT; `save` overwrites it, restarting the anchor); objects of a
 * session deleted (`removeSession`, metadata gone) and created again, put back with sequence
 * numbers above the new journal's. Conversely, a metadata write that timed out and lands after
 * a later one looks like an old copy put back, and is reported: the check errs on the loud side.
 */
export class SessionMetaStore {
  /** Per session: what this process knows (see SessionLedger). Small; dropped by `forget`. */
  private readonly ledgers = new Map<string, SessionLedger>();
  /** Per session: metadata read-modify-writes run one at a time (revisions strictly increase). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly codec: Codec,
    private readonly logger: StorageLogger,
    /** The session's auth state open in this process, if any: the head `save` records is its. */
    private readonly openAuth: (sessionId: string) => JournaledAuthState | undefined,
  ) {}

  /**
   * Writes the metadata with `revision`, `authHead` and `authSeqFloor` set by the store (see the
   * class comment); rejects with STORAGE_ROLLBACK instead of writing over metadata that the
   * stored credentials show to be older (or missing).
   */
  async save(meta: SessionMeta): Promise<void> {
    const key = objectKeys.meta(meta.sessionId);
    const sessionId = meta.sessionId;
    await this.withLock(sessionId, async () => {
      const ledger = this.ledgerFor(sessionId);
      let stored: StoredSessionMeta | undefined;
      let unreadable = false;
      try {
        stored = (await this.read(sessionId))?.meta;
      } catch (err) {
        if (!isUnreadable(err)) throw err;
        unreadable = true;
        this.logger.warn({ sessionId, err }, 'overwriting unreadable session metadata: the rollback check restarts from this write');
      }
      const open = this.openAuth(sessionId);
      const floor = stored?.authSeqFloor ?? 0;
      let known = ledger.metaRevision;
      if (!open && !unreadable) {
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
      const retired = ledger.retired;
      if (open) authHead = open.head;
      else if (retired && stored && (stored.revision ?? 0) <= retired.asOfRevision) authHead = retired.head;
      else authHead = stored?.authHead ?? null;
      // The caller's copy of the store's own fields (none, normally) is ignored.
      const next: StoredSessionMeta = { ...withoutStoreFields(meta), revision, authHead, ...(floor > 0 ? { authSeqFloor: floor } : {}) };
      await this.blobs.put(key, this.codec.encode(Buffer.from(JSON.stringify(next), 'utf8'), key));
      ledger.justRead = undefined;
      ledger.metaRevision = Math.max(ledger.metaRevision, revision);
      if (retired && !open && authHead === retired.head) retired.asOfRevision = revision;
    });
  }

  /** The metadata as callers know it; STORAGE_ROLLBACK when it is older than this process saw. */
  async load(sessionId: string): Promise<SessionMeta | undefined> {
    const found = await this.read(sessionId);
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
    ledger.justRead = { anchor: anchorFrom(meta), at: Date.now() };
    if (stale) {
      // Opportunistic re-encryption under the current key, of exactly what was read (same
      // revision), unless it changed meanwhile; a failure here must not fail the read.
      const key = objectKeys.meta(sessionId);
      await this.withLock(sessionId, async () => {
        const now = await this.blobs.get(key);
        if (now && now.equals(stored)) await this.blobs.put(key, this.codec.encode(this.codec.decode(stored, key).data, key));
      }).catch((err) => this.logger.warn({ sessionId, err }, 'could not re-encrypt session metadata'));
    }
    return withoutStoreFields(meta);
  }

  /**
   * Before the journal is deleted (logout, delete): records in the metadata that no credentials
   * are stored (`authHead: null`) and that every sequence number used so far is behind a logout
   * (`authSeqFloor`), so that neither the deletion nor what it may leave behind is a rollback.
   * Without readable metadata there is nothing to update (and nothing anchored).
   */
  async recordLogout(sessionId: string, discarded: JournaledAuthState | undefined): Promise<void> {
    await this.withLock(sessionId, async () => {
      let stored: StoredSessionMeta | undefined;
      try {
        stored = (await this.read(sessionId))?.meta;
      } catch (err) {
        if (!isUnreadable(err)) throw err;
        this.logger.warn({ sessionId, err }, 'session metadata unreadable: removing the credentials without recording it there');
        return;
      }
      const ledger = this.ledgerFor(sessionId);
      ledger.retired = undefined;
      if (!stored) return;
      const prefix = objectKeys.auth(sessionId);
      let floor = Math.max(stored.authSeqFloor ?? 0, discarded?.highestSeq ?? 0);
      for (const key of await this.blobs.list(prefix)) floor = Math.max(floor, parseAuthKey(prefix, key)?.seq ?? 0);
      const revision = nextRevision(stored.revision, ledger.metaRevision);
      const next: StoredSessionMeta = { ...stored, revision, authHead: null, ...(floor > 0 ? { authSeqFloor: floor } : {}) };
      const key = objectKeys.meta(sessionId);
      await this.blobs.put(key, this.codec.encode(Buffer.from(JSON.stringify(next), 'utf8'), key));
      ledger.justRead = undefined;
      ledger.metaRevision = Math.max(ledger.metaRevision, revision);
      ledger.retired = { head: null, asOfRevision: revision };
    });
  }

  /** `session-data.json` for the auth loader's checks (an unreadable one is for it to judge). */
  async anchorOf(sessionId: string): Promise<MetaAnchor> {
    const ledger = this.ledgerFor(sessionId);
    const recent = ledger.justRead;
    ledger.justRead = undefined;
    if (recent && Date.now() - recent.at < JUST_READ_MS) return recent.anchor;
    try {
      const found = await this.read(sessionId);
      if (!found) return { state: 'missing' };
      return anchorFrom(found.meta);
    } catch (err) {
      if (isUnreadable(err)) return { state: 'unreadable', error: err };
      throw err;
    }
  }

  ledgerFor(sessionId: string): SessionLedger {
    let ledger = this.ledgers.get(sessionId);
    if (!ledger) this.ledgers.set(sessionId, (ledger = { metaRevision: 0, journalKnown: false }));
    return ledger;
  }

  /** Drops what this process knows of a session (deleted). */
  forget(sessionId: string): void {
    this.ledgers.delete(sessionId);
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
  private async read(sessionId: string): Promise<{ meta: StoredSessionMeta; stale: boolean; stored: Buffer } | undefined> {
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

  /** Runs metadata read-modify-writes of one session one after another. */
  private async withLock<T>(sessionId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(sessionId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.locks.set(sessionId, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(sessionId) === tail) this.locks.delete(sessionId);
    }
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
export function isUnreadable(err: unknown): err is WorkerError {
  return isWorkerError(err, 'DECRYPTION_FAILED') || isWorkerError(err, 'STORAGE_CORRUPT');
}

/** How long a metadata read stands in for the next auth load's (see `SessionLedger.justRead`). */
const JUST_READ_MS = 2000;

function anchorFrom(meta: StoredSessionMeta): MetaAnchor {
  return { state: 'present', revision: meta.revision ?? 0, authHead: meta.authHead, authSeqFloor: meta.authSeqFloor ?? 0 };
}

import { WorkerError } from '../util/errors.js';
import type { AuthRecord } from './auth-record.js';
import type { AuthObjectKind } from './object-keys.js';
import type { StorageLogger } from './storage-logger.js';
import type { AuthChainLink } from './types.js';

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
  /** The head as this process's last auth state left it once retired, and `metaRevision` then. */
  retired?: { head: AuthChainLink | null; asOfRevision: number };
  /**
   * What `loadMeta` just read, kept for the auth load that usually follows at once (a restore
   * lists the metadata, then opens the session): one GET per session instead of two. Used once,
   * only while fresh, and dropped by any metadata write of this process.
   */
  justRead?: { anchor: MetaAnchor; at: number };
}

/** `session-data.json` as the loader found it, for the checks that anchor the journal to it. */
export type MetaAnchor =
  | { state: 'missing' }
  | { state: 'unreadable'; error: WorkerError }
  | { state: 'present'; revision: number; authHead: AuthChainLink | null | undefined; authSeqFloor: number };

/** One auth object as the loader read it: its record, its link in the chain, its stored size. */
export interface LoadedObject {
  kind: AuthObjectKind;
  seq: number;
  record: AuthRecord;
  link: AuthChainLink;
  bytes: number;
  stale: boolean;
}

export interface Chain {
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

/**
 * The chain from the snapshot up; throws STORAGE_ROLLBACK where it is broken.
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
 *   - A failed snapshot attempt is retried as a snapshot (see `AuthJournalWriter.restorePending`),
 *     so an orphan snapshot never sits above the real one's successors.
 * The chain cannot see its own newest objects being deleted: the metadata anchors it. See
 * `checkAgainstMeta` and the session store for what is (and is not) detected.
 */
export function walkChain(sessionId: string, base: LoadedObject | undefined, above: LoadedObject[]): Chain {
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
export function checkAgainstMeta(sessionId: string, chain: Chain, read: LoadedObject[], meta: MetaAnchor, ledger: SessionLedger, logger: StorageLogger): void {
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

import { initAuthCreds, type AuthenticationCreds } from '@whiskeysockets/baileys';
import { WorkerError } from '../util/errors.js';
import { checkAgainstMeta, walkChain, type LoadedObject, type MetaAnchor, type SessionLedger } from './auth-chain.js';
import type { JournalPosition } from './auth-journal-writer.js';
import type { KeyMap } from './auth-key-store.js';
import { parseRecord, recordHash, reviveKeyValue } from './auth-record.js';
import type { Codec } from './encryption.js';
import { objectKeys, parseAuthKey } from './object-keys.js';
import type { StorageLogger } from './storage-logger.js';
import type { BlobStore } from './types.js';

/** Parallel GETs while loading a journal. */
const LOAD_CONCURRENCY = 8;

/** What the journal is checked against: the session's metadata, and what this process knows. */
export interface JournalAnchor {
  /** May be a promise: it is read while the journal is listed. */
  meta: MetaAnchor | Promise<MetaAnchor>;
  ledger: SessionLedger;
}

/** A session's auth state as restored from storage. */
export interface LoadedJournal {
  /** Fresh creds when nothing is stored. */
  creds: AuthenticationCreds;
  keys: KeyMap;
  position: JournalPosition;
  /** Some object is under an old key (or was accepted as plaintext): everything is to be rewritten. */
  stale: boolean;
}

/**
 * Restores a session's auth state: the highest snapshot, then every segment above it, in
 * sequence order, verifying the journal's chain (`walkChain`) and anchoring it to the session's
 * metadata (`checkAgainstMeta`). Rejects with STORAGE_ROLLBACK rather than return older
 * credentials than were written.
 */
export async function loadAuthJournal(sessionId: string, blobs: BlobStore, codec: Codec, logger: StorageLogger, anchor: JournalAnchor): Promise<LoadedJournal> {
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
  if (beforeLogout.length > 0) logger.warn({ sessionId, objects: beforeLogout.length, floor }, 'ignoring auth objects from before the last logout');
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
  checkAgainstMeta(sessionId, chain, [...(base ? [base] : []), ...above], meta, ledger, logger);

  const keys: KeyMap = new Map();
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
    logger.warn({ sessionId, segments: applied }, 'auth journal without a snapshot (removed by hand?): restoring from the segments alone');
  }
  if (chain.orphans > 0) logger.info({ sessionId, orphans: chain.orphans }, 'ignored auth objects of write attempts that reported failure but landed');
  if (found.length > 0) {
    logger.debug({ sessionId, snapshot: base?.seq, segments: applied, head: chain.head?.seq, legacy: chain.legacy, keys: [...keys.values()].reduce((n, m) => n + m.size, 0) }, 'auth state loaded');
  }
  return {
    creds: creds ?? initAuthCreds(),
    keys,
    position: { lastSeq, head: chain.head, snapshotSeq: base?.seq, snapshotBytes: base?.bytes ?? 0, segments: above.length, journalBytes },
    stale,
  };
}

import { createHash } from 'node:crypto';
import { BufferJSON, proto, type AuthenticationCreds } from '@whiskeysockets/baileys';
import { WorkerError } from '../util/errors.js';
import type { AuthObjectKind } from './object-keys.js';
import type { AuthChainLink } from './types.js';

/**
 * The content of one stored auth object (before the codec). Snapshot and journal segment have
 * the same shape, and each is complete on its own: the whole creds, plus either every key
 * (snapshot) or the keys changed in one flush window (segment, `null` = deleted). Because creds
 * ride along in every object, creds and keys can never be restored from different moments.
 *
 * Keys are a list of [type, id, value] triples rather than nested objects: ids are arbitrary
 * strings (a `__proto__` id must stay data), and Baileys' BufferJSON reviver turns any object
 * whose keys are all numeric and whose values are all numbers into a Buffer, which a nested
 * `{ "1": …, "2": … }` map could trip over. Values are serialised with BufferJSON like Baileys'
 * own stores do, so Buffers and Uint8Arrays come back as Buffers.
 */
export interface AuthRecord {
  format: typeof FORMAT;
  kind: AuthObjectKind;
  seq: number;
  /** Checked on load: defence in depth against objects moved between sessions (plaintext mode). */
  sessionId: string;
  writtenAt: number;
  /**
   * The hash chain (rollback detection, see auth-state.ts): the object this one was written on
   * top of, i.e. the writer's last SUCCESSFUL write, as its sequence number and `recordHash` of
   * its record; null for the first object of a journal. Absent in records written before the
   * chain existed (legacy: loaded as before, unverified; the next write chains onto them).
   */
  prev?: AuthChainLink | null;
  /** The highest `session-data.json` revision the writer knew of (0: none). Absent in legacy records. */
  metaRevision?: number;
  creds: AuthenticationCreds;
  keys: KeyEntry[];
}

/** [Signal key type, id, value or null (deleted)]. */
export type KeyEntry = [type: string, id: string, value: unknown];

const FORMAT = 'wa-worker/auth@1';

export function serialiseRecord(record: AuthRecord): Buffer {
  return Buffer.from(JSON.stringify(record, BufferJSON.replacer), 'utf8');
}

/**
 * What the chain links by: SHA-256 of the record as serialised, BEFORE the codec. Hashing the
 * plaintext rather than the stored bytes keeps the chain valid whatever the encryption (a
 * re-encryption in place would not break it), while the stored object stays authenticated by
 * the codec. Legacy records are hashed the same way, so a new chain can start on top of them.
 */
export function recordHash(serialised: Buffer): string {
  return createHash('sha256').update(serialised).digest('hex');
}

/** Parses and checks a decoded object against where it was found. */
export function parseRecord(data: Buffer, where: { context: string; sessionId: string; kind: AuthObjectKind; seq: number }): AuthRecord {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'), BufferJSON.reviver);
  } catch (err) {
    throw corrupt(where.context, 'is not valid JSON', err);
  }
  const r = value as Partial<AuthRecord> | null;
  if (!r || typeof r !== 'object' || r.format !== FORMAT) throw corrupt(where.context, 'is not a wa-worker auth record');
  if (r.kind !== where.kind || r.seq !== where.seq || r.sessionId !== where.sessionId) {
    throw corrupt(where.context, `belongs elsewhere (it says ${r.kind} ${r.seq} of ${JSON.stringify(r.sessionId)})`);
  }
  if (!r.creds || typeof r.creds !== 'object' || !Array.isArray(r.keys)) throw corrupt(where.context, 'has no creds or keys');
  if (r.prev !== undefined && r.prev !== null && !isChainLink(r.prev)) throw corrupt(where.context, 'has a malformed chain link (prev)');
  if (r.metaRevision !== undefined && !(Number.isSafeInteger(r.metaRevision) && r.metaRevision >= 0)) throw corrupt(where.context, 'has a malformed metaRevision');
  for (const entry of r.keys) {
    if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw corrupt(where.context, 'has a malformed key entry');
    }
  }
  return r as AuthRecord;
}

/**
 * Brings a value read from storage back to what Baileys stored: app-state sync keys are
 * protobuf messages (Baileys' own file store does the same `fromObject`).
 */
export function reviveKeyValue(type: string, value: unknown): unknown {
  if (type === 'app-state-sync-key' && value && typeof value === 'object') {
    return proto.Message.AppStateSyncKeyData.fromObject(value as Record<string, unknown>);
  }
  return value;
}

/** A well-formed `{ seq, hash }` (as found in records and in session metadata). */
export function isChainLink(value: unknown): value is AuthChainLink {
  const v = value as Partial<AuthChainLink> | null;
  return !!v && typeof v === 'object' && Number.isSafeInteger(v.seq) && (v.seq as number) >= 0 && typeof v.hash === 'string' && /^[0-9a-f]{64}$/.test(v.hash);
}

function corrupt(context: string, what: string, cause?: unknown): WorkerError {
  // Decoded fine (so the key is not the problem) but not a record: it says so, and callers treat it
  // like an object they cannot decrypt (unreadable: skipped, never trusted).
  return new WorkerError('STORAGE_CORRUPT', `${context} ${what}`, cause === undefined ? undefined : { cause });
}

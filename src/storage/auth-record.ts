import { BufferJSON, proto, type AuthenticationCreds } from '@whiskeysockets/baileys';
import { WorkerError } from '../util/errors.js';
import type { AuthObjectKind } from './object-keys.js';

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
  creds: AuthenticationCreds;
  keys: KeyEntry[];
}

/** [Signal key type, id, value or null (deleted)]. */
export type KeyEntry = [type: string, id: string, value: unknown];

const FORMAT = 'wa-worker/auth@1';

export function serialiseRecord(record: AuthRecord): Buffer {
  return Buffer.from(JSON.stringify(record, BufferJSON.replacer), 'utf8');
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

function corrupt(context: string, what: string, cause?: unknown): WorkerError {
  // DECRYPTION_FAILED: "this object cannot be trusted/read", the same verdict as a failed tag.
  return new WorkerError('DECRYPTION_FAILED', `${context} ${what}`, cause === undefined ? undefined : { cause });
}

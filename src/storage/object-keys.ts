import { WorkerError } from '../util/errors.js';

/**
 * The only way object keys are built. A session id becomes one key segment: each byte outside
 * [A-Za-z0-9._-] becomes `~` and two hex digits (`session_6_+221771234567` →
 * `session_6_~2B221771234567`). Only URL-unreserved characters remain, so no S3 server or client
 * can decode a key differently on one path than on another (with `%2B`, s3rver's listing
 * returned `+`); it round-trips, is safe on every file system, and cannot climb out of its folder.
 * Layout (as the backend's documents describe):
 *   sessions/<id>/session-data.json          metadata (owner worker, number, jid)
 *   sessions/<id>/auth/snapshot              credentials + keys, compacted
 *   sessions/<id>/auth/journal/<seq>         one segment per flush window since the snapshot
 */
const MAX_ID_LENGTH = 200;

export function encodeSegment(id: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new WorkerError('INVALID_SESSION_ID', `session id must be 1 to ${MAX_ID_LENGTH} characters`);
  }
  if (id === '.' || id === '..' || /[/\\\0]/.test(id) || id.includes('..')) {
    throw new WorkerError('INVALID_SESSION_ID', `session id "${id.slice(0, 60)}" contains a path separator or "..".`);
  }
  return id.replace(/[^A-Za-z0-9._-]/g, (c) => Buffer.from(c, 'utf8').reduce((s, b) => s + `~${b.toString(16).toUpperCase().padStart(2, '0')}`, ''));
}

export function decodeSegment(segment: string): string {
  return segment.replace(/(?:~[0-9A-F]{2})+/g, (run) => Buffer.from(run.replace(/~/g, ''), 'hex').toString('utf8'));
}

export const keys = {
  sessionsRoot: 'sessions/',
  session: (id: string) => `sessions/${encodeSegment(id)}/`,
  meta: (id: string) => `sessions/${encodeSegment(id)}/session-data.json`,
  auth: (id: string) => `sessions/${encodeSegment(id)}/auth/`,
  snapshot: (id: string) => `sessions/${encodeSegment(id)}/auth/snapshot`,
  journal: (id: string) => `sessions/${encodeSegment(id)}/auth/journal/`,
  /** Zero-padded so that lexical order is sequence order. */
  journalSegment: (id: string, seq: number) => `sessions/${encodeSegment(id)}/auth/journal/${String(seq).padStart(12, '0')}`,
  seqOf: (key: string) => Number(key.slice(key.lastIndexOf('/') + 1)),
};

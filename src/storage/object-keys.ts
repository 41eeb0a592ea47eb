import { WorkerError } from '../util/errors.js';

/**
 * The ONLY place object keys are built. Nothing else concatenates paths, so a session id can
 * never address anything outside its own folder.
 *
 * Layout (as the backend's documents describe, with the id encoded as below):
 *   sessions/<id>/session-data.json            metadata (owner worker, number, jid)
 *   sessions/<id>/auth/snapshot/<seq>          creds + every key, as of flush <seq>
 *   sessions/<id>/auth/journal/<seq>           creds + the keys changed in one flush window
 *   sessions/<id>/messages/<YYYY-MM-DD>/<seq>  message history: the records of one flush window
 *   sessions/<id>/polls/<messageId>  a poll the session sent (its secret: votes are read with it)
 * `<seq>` is a zero-padded decimal (lexical order = numeric order). Restore = the highest
 * snapshot, then the journal segments above it, in order (see auth-state.ts).
 *
 * Session id encoding: every UTF-8 byte outside [A-Za-z0-9._-] becomes `~` and two upper-case
 * hex digits: `session_6_+221771234567` → `session_6_~2B221771234567`. Reversible (`~` itself is
 * encoded, as `~7E`), safe on every file system, and made only of URL-unreserved characters.
 * That last point is why this is not `%2B`: a `%` in a key gets decoded one time too many by
 * some S3 servers and proxies (s3rver with the minio client lists `a%2Bb/` back as `a+b/`, and a
 * raw `+` as a space), so percent-encoded keys would not round-trip through a listing.
 */
const MAX_ID_LENGTH = 128;
/** Encoded length bound: one path segment must stay well below the usual 255-byte name limit. */
const MAX_SEGMENT_LENGTH = 200;
const SEQ_DIGITS = 12;

export const SESSIONS_PREFIX = 'sessions/';

/** Validates a session id and returns its encoded key segment. */
export function encodeSessionId(id: string): string {
  if (typeof id !== 'string' || id.length === 0) throw invalid('session id is empty');
  if (id.length > MAX_ID_LENGTH) throw invalid(`session id is longer than ${MAX_ID_LENGTH} characters`);
  // Rejected outright rather than encoded: such an id is a bug or an attack, never a session.
  if (/[/\\\0]/.test(id)) throw invalid(`session id ${JSON.stringify(id.slice(0, 60))} contains a path separator or NUL`);
  if (id.includes('..') || id === '.') throw invalid(`session id ${JSON.stringify(id.slice(0, 60))} contains "." or ".." path tricks`);
  // Lone surrogates would not survive UTF-8: such an id could not be decoded back.
  if (Buffer.from(id, 'utf8').toString('utf8') !== id) throw invalid('session id is not valid Unicode text');
  const encoded = id.replace(/[^A-Za-z0-9._-]/gu, (c) => {
    let out = '';
    for (const byte of Buffer.from(c, 'utf8')) out += `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    return out;
  });
  if (encoded.length > MAX_SEGMENT_LENGTH) throw invalid('session id is too long once encoded');
  return encoded;
}

/**
 * The session id behind a key segment, or undefined when the segment is not one that
 * `encodeSessionId` produces (a stray folder such as `lost+found`): strict, so that decoding
 * and re-encoding always lead back to the same folder.
 */
export function decodeSessionId(segment: string): string | undefined {
  if (!/^(?:[A-Za-z0-9._-]|~[0-9A-F]{2})+$/.test(segment)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; ) {
    if (segment[i] === '~') {
      bytes.push(parseInt(segment.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(segment.charCodeAt(i));
      i += 1;
    }
  }
  const id = Buffer.from(bytes).toString('utf8');
  try {
    return encodeSessionId(id) === segment ? id : undefined;
  } catch {
    return undefined;
  }
}

function formatSeq(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0 || String(seq).length > SEQ_DIGITS) {
    throw new WorkerError('INTERNAL', `invalid journal sequence number ${seq}`);
  }
  return String(seq).padStart(SEQ_DIGITS, '0');
}

const SEQ_PATTERN = new RegExp(`^\\d{${SEQ_DIGITS}}$`);

export const objectKeys = {
  /** Parent of every session folder (list its children to enumerate sessions). */
  sessionsRoot: SESSIONS_PREFIX,
  /** Everything stored for a session (ends in '/', so `session_1` never matches `session_10`). */
  session: (id: string) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/`,
  meta: (id: string) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/session-data.json`,
  /** Credentials and Signal keys: what a logout removes. */
  auth: (id: string) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/auth/`,
  snapshot: (id: string, seq: number) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/auth/snapshot/${formatSeq(seq)}`,
  segment: (id: string, seq: number) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/auth/journal/${formatSeq(seq)}`,
  /** The message history (every day). */
  messages: (id: string) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/messages/`,
  messagesDay: (id: string, day: string) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/messages/${checkDay(day)}/`,
  messagesBatch: (id: string, day: string, seq: number) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/messages/${checkDay(day)}/${formatSeq(seq)}`,
  /** A poll the session sent: its secret and options, to read the votes after a restart. */
  poll: (id: string, messageId: string) => `${SESSIONS_PREFIX}${encodeSessionId(id)}/polls/${checkMessageId(messageId)}`,
};

function checkMessageId(messageId: string): string {
  if (!/^[A-Za-z0-9]{1,128}$/.test(messageId)) throw new WorkerError('INTERNAL', `invalid message id ${JSON.stringify(messageId.slice(0, 40))}`);
  return messageId;
}

function checkDay(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new WorkerError('INTERNAL', `invalid history day ${JSON.stringify(day.slice(0, 20))}`);
  return day;
}

export type AuthObjectKind = 'snapshot' | 'segment';

/** Classifies a key listed under `objectKeys.auth(id)`; undefined for anything else (ignored). */
export function parseAuthKey(authPrefix: string, key: string): { kind: AuthObjectKind; seq: number } | undefined {
  if (!key.startsWith(authPrefix)) return undefined;
  const [folder, name, ...rest] = key.slice(authPrefix.length).split('/');
  if (rest.length > 0 || name === undefined || !SEQ_PATTERN.test(name)) return undefined;
  if (folder === 'snapshot') return { kind: 'snapshot', seq: Number(name) };
  if (folder === 'journal') return { kind: 'segment', seq: Number(name) };
  return undefined;
}

function invalid(message: string): WorkerError {
  return new WorkerError('INVALID_SESSION_ID', message);
}

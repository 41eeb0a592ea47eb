import { isWorkerError, WorkerError, type ErrorCode } from '../util/errors.js';

/**
 * A session is named `session_<numberId>_<phone>`, with the phone in ONE canonical form: `+`
 * followed by its E.164 digits (`session_6_+221771234567`). `+221771234567`, `221771234567`,
 * `00221771234567`, `+221 77 123 45 67` and `(221) 77-123-4567` are one number, hence one
 * session, however the backend spells it.
 *
 * Sessions stored before the phone was canonicalised were named with the phone "as sent"; the
 * backend sends `+<digits>`, which is exactly the canonical form, so their ids do not change.
 *
 * The phone is validated here, so nothing else ever sees a session id that could smuggle a path
 * or key trick into storage.
 */
/** What the canonical form looks like: `+`, a non-zero digit, 6 to 15 digits in all. */
export const CANONICAL_PHONE = /^\+[1-9][0-9]{5,14}$/;
/** Separators people and systems put in numbers: spaces (any), parentheses, dots, hyphens. */
const SEPARATORS = /[\s().-]/g;
/** Longer than any spelling of a 15-digit number with separators: refused before any work. */
const MAX_RAW_LENGTH = 64;
/** The phone part of a session id: canonical, or one of the spellings that normalise to it (`00…`, digits only). */
const SESSION_ID = /^session_([0-9]{1,16})_(\+?[0-9]{6,17})$/;

/**
 * Any accepted spelling of a phone number → `+<E.164 digits>`. Throws INVALID_PHONE otherwise.
 *
 * Accepted: an optional international prefix, `+` or `00`, then 6 to 15 digits, the first not 0
 * (no E.164 country code starts with 0), with spaces, `(`, `)`, `.` and `-` anywhere. Not
 * accepted: a national number with a trunk 0 (`0771234567`: its country cannot be known), other
 * international prefixes (`011…`), letters, a `+` anywhere but first.
 */
export function normalisePhone(raw: string): string {
  const bad = (why: string) => new WorkerError('INVALID_PHONE', `phoneNumber "${String(raw).slice(0, 40)}" is not a phone number (${why})`);
  if (typeof raw !== 'string' || raw.length > MAX_RAW_LENGTH) throw bad(`at most ${MAX_RAW_LENGTH} characters`);
  const compact = raw.replace(SEPARATORS, '');
  const digits = compact.startsWith('+') ? compact.slice(1) : compact.startsWith('00') ? compact.slice(2) : compact;
  if (!/^[0-9]{6,15}$/.test(digits)) throw bad('6 to 15 digits, optionally after + or 00');
  if (digits.startsWith('0')) throw bad('international form expected: a country code never starts with 0');
  return `+${digits}`;
}

/** `normalisePhone` for one field of a command: its canonical form, or the refusal naming the field. */
export function phoneField(raw: string, field: string): { ok: true; phone: string } | { ok: false; code: ErrorCode; reason: string } {
  try {
    return { ok: true, phone: normalisePhone(raw) };
  } catch (err) {
    return { ok: false, code: isWorkerError(err) ? err.code : 'INVALID_PHONE', reason: `${field}: ${(err as Error).message}` };
  }
}

/** The digits alone (what WhatsApp's pairing-code request wants). */
export function phoneDigits(phone: string): string {
  return phone.replace(/^\+/, '');
}

/** `session_<numberId>_+<digits>`, whatever spelling of the phone it is given. Throws INVALID_PHONE. */
export function sessionIdFor(numberId: number, phone: string): string {
  return `session_${numberId}_${CANONICAL_PHONE.test(phone) ? phone : normalisePhone(phone)}`;
}

/**
 * Our own session id → its number id and canonical phone; undefined for anything else (the
 * backend's `session_6_2533b0aa`). A non-canonical spelling (`session_6_221771234567`,
 * `session_06_00221771234567`) maps to the canonical session: `sessionIdFor` of the result is
 * the one id for that number.
 */
export function parseSessionId(sessionId: string): { numberId: number; phoneNumber: string } | undefined {
  if (typeof sessionId !== 'string') return undefined;
  const m = SESSION_ID.exec(sessionId);
  if (!m) return undefined;
  const numberId = Number(m[1]);
  // Every numberId a command may carry (up to Number.MAX_SAFE_INTEGER), and no more.
  if (!Number.isSafeInteger(numberId)) return undefined;
  try {
    return { numberId, phoneNumber: normalisePhone(m[2]!) };
  } catch {
    return undefined;
  }
}

/** The canonical form of one of our session ids, or undefined when it is not one. */
export function canonicalSessionId(sessionId: string): string | undefined {
  const parsed = parseSessionId(sessionId);
  return parsed ? sessionIdFor(parsed.numberId, parsed.phoneNumber) : undefined;
}

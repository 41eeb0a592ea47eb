import { WorkerError } from '../util/errors.js';

/**
 * A session is named `session_<numberId>_<phone>`, with the phone exactly as the backend sent
 * it (`session_6_+221771234567`). The phone is validated here, so nothing else ever sees a
 * session id that could smuggle a path or key trick into storage.
 */
const PHONE = /^\+?[0-9]{6,15}$/;
const SESSION_ID = /^session_([0-9]{1,15})_(\+?[0-9]{6,15})$/;

export function normalisePhone(raw: string): string {
  const phone = raw.trim().replace(/[\s().-]/g, '');
  if (!PHONE.test(phone)) {
    throw new WorkerError('INVALID_PHONE', `phoneNumber "${raw.slice(0, 40)}" is not a phone number (6 to 15 digits, optional leading +)`);
  }
  return phone;
}

export function phoneDigits(phone: string): string {
  return phone.replace(/^\+/, '');
}

export function sessionIdFor(numberId: number, phone: string): string {
  return `session_${numberId}_${phone}`;
}

export function parseSessionId(sessionId: string): { numberId: number; phoneNumber: string } | undefined {
  const m = SESSION_ID.exec(sessionId);
  if (!m) return undefined;
  return { numberId: Number(m[1]), phoneNumber: m[2]! };
}

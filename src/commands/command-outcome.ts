import type { Outcome } from '../broker/types.js';
import { backoffDelay } from '../util/backoff.js';
import { describeError, isWorkerError, type ErrorCode } from '../util/errors.js';

/**
 * What a failed command becomes. Well-formed commands that cannot be done are answered with
 * `command_rejected` and acked (retrying cannot help); infrastructure failures, and a session
 * still held by the worker that is handing it over (OWNED_ELSEWHERE), are retried with backoff,
 * and dead-lettered once their attempts run out, so nothing loops forever.
 */
const REJECTION_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNKNOWN_SESSION',
  'CAPACITY',
  'INVALID_PHONE',
  'INVALID_COMMAND',
  'ALREADY_LINKED',
  'NOT_CONNECTED',
  'INVALID_SESSION_ID',
  'STALE',
  'RATE_LIMITED',
  'NOT_AUTHORIZED',
  'STORAGE_ROLLBACK',
]);

export type FailureVerdict =
  { kind: 'reject'; code: ErrorCode; reason: string } | { kind: 'retry'; outcome: Outcome } | { kind: 'give-up'; code: ErrorCode; reason: string };

export function judgeFailure(err: unknown, attempt: number, maxAttempts: number): FailureVerdict {
  const code: ErrorCode = isWorkerError(err) ? err.code : 'INTERNAL';
  const reason = describeError(err);
  if (REJECTION_CODES.has(code)) return { kind: 'reject', code, reason };
  if (attempt >= maxAttempts) return { kind: 'give-up', code, reason: `${reason} (gave up after ${attempt} attempts)` };
  return { kind: 'retry', outcome: { kind: 'retry', reason, delayMs: backoffDelay(attempt - 1, { baseMs: 500, maxMs: 10_000 }) } };
}

/**
 * Attempts per message. Quorum queues count deliveries themselves; on classic queues we count
 * in memory by message id (or body), bounded, so a restart forgets counts (safe: it only means
 * a few more tries).
 */
export class AttemptCounter {
  private readonly counts = new Map<string, number>();
  constructor(private readonly capacity = 10_000) {}

  next(key: string): number {
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.delete(key);
    this.counts.set(key, n);
    if (this.counts.size > this.capacity) this.counts.delete(this.counts.keys().next().value!);
    return n;
  }

  forget(key: string): void {
    this.counts.delete(key);
  }
}

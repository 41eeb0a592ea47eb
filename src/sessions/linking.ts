import { WorkerError } from '../util/errors.js';
import type { TraceRef } from '../telemetry/types.js';

/**
 * What lives exactly as long as one attempt to bring a session's socket to `connected`: the
 * requestId its events answer, and the QRs it showed. An attempt starts with the command that
 * opens a socket (create, reconnect, request_pairing_code; a restore is a create without
 * requestId), goes on across a 515 restart and the retries before the first open, and ends at
 * `connected`, at a close that stops the session, or when a command closes the socket. Which
 * events carry its requestId: see the rule on `Session` (session.ts).
 */
export class OpeningAttempt {
  private qrs = 0;
  /** When the attempt began (performance.now()): QR and link durations are measured from it. */
  readonly startedAt = performance.now();

  /** The trace of the command that began the attempt (telemetry on): its QR and `connected` continue it. */
  constructor(
    private answering: string | undefined,
    readonly trace?: TraceRef | undefined,
  ) {}

  /** The requestId of the command this attempt answers (none: opened by WhatsApp's own retry, or a restore). */
  get requestId(): string | undefined {
    return this.answering;
  }

  /**
   * A create or request_pairing_code arriving while the attempt is under way joins it: the QRs
   * and the `connected` still to come answer the newest one (the backend correlates with it).
   */
  join(requestId: string | undefined): void {
    if (requestId !== undefined) this.answering = requestId;
  }

  /** A QR was shown in this attempt: a 408 now means that nobody scanned it (disconnect-reasons.ts). */
  get qrShown(): boolean {
    return this.qrs > 0;
  }

  /**
   * Numbers the next QR and says when it expires: WhatsApp gives the first one 60 s and every
   * later one 20 s, unless Baileys is configured with one lifetime for all (`qrTimeoutMs`).
   */
  nextQr(qrTimeoutMs: number | undefined, now = Date.now()): { attempt: number; ttlMs: number; expiresAt: number } {
    const attempt = ++this.qrs;
    const ttlMs = qrTimeoutMs ?? (attempt === 1 ? 60_000 : 20_000);
    return { attempt, ttlMs, expiresAt: now + ttlMs };
  }
}

/**
 * Pairing codes, paced: every request makes WhatsApp push a notification to the phone, and
 * WhatsApp throttles numbers that ask too often, so at most one per `minIntervalMs`.
 */
export class PairingPace {
  private lastAt: number | undefined;

  constructor(private readonly minIntervalMs: number) {}

  /** Undefined when a code may be requested now; otherwise the RATE_LIMITED error to answer with. */
  refusal(now = Date.now()): WorkerError | undefined {
    const since = this.lastAt === undefined ? Infinity : now - this.lastAt;
    if (since >= this.minIntervalMs) return undefined;
    return new WorkerError(
      'RATE_LIMITED',
      `a pairing code was requested ${Math.round(since / 1000)} s ago; wait ${Math.ceil((this.minIntervalMs - since) / 1000)} s (PAIRING_CODE_MIN_INTERVAL_MS)`,
    );
  }

  requested(now = Date.now()): void {
    this.lastAt = now;
  }
}

/**
 * WhatsApp offers registration (a pairing code can be asked for) once it shows the first QR:
 * `request_pairing_code` on a fresh socket waits for that.
 */
export class RegistrationWait {
  private readonly waiters = new Set<() => void>();

  /** A QR arrived: whoever waits may ask for a code now. */
  offered(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves at the next QR; rejects with TIMEOUT after `timeoutMs`. */
  next(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new WorkerError('TIMEOUT', 'WhatsApp did not offer registration in time'));
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.add(wake);
    });
  }
}

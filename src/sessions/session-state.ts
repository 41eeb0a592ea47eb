import type { LinkedAccount } from '../whatsapp/types.js';

/** A session's lifecycle. Only `SessionStateCell.set` changes it (the session logs every change). */
export type SessionState =
  /** Known, no socket (never started, or released by a shutdown). */
  | { status: 'idle' }
  /** A socket is being opened. */
  | { status: 'starting' }
  /** Waiting for the phone to scan the current QR. */
  | { status: 'awaiting_scan'; qr: string; attempt: number; expiresAt: number }
  /** Waiting for the code to be typed on the phone. */
  | { status: 'awaiting_pairing'; pairingCode: string }
  | { status: 'connected'; account: LinkedAccount }
  /** The socket dropped; a retry timer is pending. */
  | { status: 'reconnecting'; attempt: number; statusCode: number | undefined; retryAt: number }
  /** No socket, credentials kept: a `disconnect`, QR expiry, or given up after conflicts. */
  | { status: 'stopped'; reason: string }
  | { status: 'logged_out'; reason: string }
  | { status: 'banned'; reason: string };

export type SessionStatus = SessionState['status'];

/** States in which the session holds (or is about to hold) a WhatsApp socket. */
export function isLive(state: SessionState): boolean {
  return (
    state.status === 'starting' ||
    state.status === 'awaiting_scan' ||
    state.status === 'awaiting_pairing' ||
    state.status === 'connected' ||
    state.status === 'reconnecting'
  );
}

/**
 * A session's current state: the one place it changes (`set`, which reports every change of
 * status), and where commands wait for it to reach a condition.
 */
export class SessionStateCell {
  private state: SessionState = { status: 'idle' };
  private readonly waiters = new Set<(state: SessionState) => void>();

  constructor(private readonly onStatusChange: (from: SessionStatus, to: SessionStatus) => void) {}

  get current(): SessionState {
    return this.state;
  }

  set(next: SessionState): void {
    const from = this.state.status;
    this.state = next;
    if (from !== next.status) this.onStatusChange(from, next.status);
    for (const notify of this.waiters) notify(next);
  }

  /** Resolves true when the state matches `done` (at once if it does now), false after `timeoutMs`. */
  waitFor(done: (state: SessionState) => boolean, timeoutMs: number): Promise<boolean> {
    if (done(this.state)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const listener = (state: SessionState) => {
        if (done(state)) finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(listener);
        resolve(ok);
      };
      this.waiters.add(listener);
    });
  }
}

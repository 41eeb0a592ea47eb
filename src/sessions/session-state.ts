import type { LinkedAccount } from '../whatsapp/types.js';

/** A session's lifecycle. Only `Session.setState` changes it (and logs the change). */
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
  return state.status === 'starting' || state.status === 'awaiting_scan' || state.status === 'awaiting_pairing' || state.status === 'connected' || state.status === 'reconnecting';
}

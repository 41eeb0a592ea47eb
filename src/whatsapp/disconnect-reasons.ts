/**
 * The one place that decides what a closed WhatsApp socket means for its session.
 * Baileys reports a status code (its `DisconnectReason`); the same code can mean different
 * things before and after linking (408 is both "QR refs ran out" and "connection lost").
 */
export type DisconnectClass =
  /** 515 after pairing, or a server restart request: reconnect at once with the same creds. */
  | { kind: 'restart' }
  /** Transient: network drop, timeout, 5xx. Reconnect with backoff. */
  | { kind: 'retry' }
  /** 440: another connection took the session. Retry a few times, then give up. */
  | { kind: 'replaced' }
  /** Nobody scanned any of the QR codes in time. */
  | { kind: 'qr_expired' }
  /** 401 / 411 / 500 bad session: the credentials are dead; drop them. */
  | { kind: 'logged_out' }
  /** 403 (and 402): the number is banned or blocked. */
  | { kind: 'banned' };

export const STATUS = {
  loggedOut: 401,
  paymentRequired: 402,
  forbidden: 403,
  timedOut: 408,
  multideviceMismatch: 411,
  connectionClosed: 428,
  connectionReplaced: 440,
  badSession: 500,
  unavailableService: 503,
  restartRequired: 515,
} as const;

export function classifyDisconnect(
  statusCode: number | undefined,
  ctx: { linked: boolean; qrShown: boolean; message?: string; proxyFailure?: boolean },
): DisconnectClass {
  // The number's proxy did not carry the socket: nothing was said by WhatsApp, whatever status
  // Baileys made of the error (a 500 would otherwise drop linked credentials). Retried with
  // backoff, through the proxy again: never around it. A proxy the address policy refuses
  // (proxy_not_allowed) too: its name may resolve elsewhere later, and update_settings replaces it.
  if (ctx.proxyFailure) return { kind: 'retry' };
  switch (statusCode) {
    case STATUS.restartRequired:
      return { kind: 'restart' };
    case STATUS.loggedOut:
    case STATUS.multideviceMismatch:
      return { kind: 'logged_out' };
    case STATUS.badSession:
      // Before linking a "bad session" only means the half-made registration is unusable.
      return ctx.linked ? { kind: 'logged_out' } : { kind: 'retry' };
    case STATUS.forbidden:
    case STATUS.paymentRequired:
      return { kind: 'banned' };
    case STATUS.connectionReplaced:
      return { kind: 'replaced' };
    case STATUS.timedOut:
      // Baileys closes with 408 "QR refs attempts ended" when no QR was scanned.
      if (!ctx.linked && (ctx.qrShown || /qr refs/i.test(ctx.message ?? ''))) return { kind: 'qr_expired' };
      return { kind: 'retry' };
    default:
      return { kind: 'retry' };
  }
}

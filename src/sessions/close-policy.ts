import { backoffDelay } from '../util/backoff.js';
import { classifyDisconnect, type DisconnectClass } from '../whatsapp/disconnect-reasons.js';

/**
 * What a closed WhatsApp socket means for its session, and when to try again. Pure: the session
 * hands in the close, what it knows and the history so far, and gets back a decision and the
 * next history; it carries the decision out (state, events, timers) itself.
 */

export interface ReconnectPolicy {
  reconnectBaseDelayMs: number;
  reconnectMaxDelayMs: number;
  /** 440 conflicts within `conflictWindowMs` after which the session gives up. */
  maxConflicts: number;
  conflictWindowMs: number;
}

/** What the policy remembers between closes. */
export interface ReconnectHistory {
  /** Reconnects scheduled since the socket last opened (the backoff exponent). */
  readonly failures: number;
  /** When recent 440 conflicts happened (epoch ms), oldest first. */
  readonly conflicts: readonly number[];
}

export const NO_HISTORY: ReconnectHistory = { failures: 0, conflicts: [] };

/** The socket opened: the backoff starts over; conflicts still count within their window. */
export function afterOpen(history: ReconnectHistory): ReconnectHistory {
  return { failures: 0, conflicts: history.conflicts };
}

export interface SocketClose {
  /** Baileys' status code (see disconnect-reasons.ts). */
  statusCode: number | undefined;
  message: string;
  /** The credentials are linked ones (AuthStateHandle.isLinked). */
  linked: boolean;
  /** A QR was shown in this linking attempt. */
  qrShown: boolean;
  /** False while cut off from the broker: another process may be taking this worker's sessions over. */
  ownershipCertain: boolean;
  /** The number's proxy did not carry the socket (`message` says why): a retry, whatever the status. */
  proxyFailure?: boolean;
}

export type CloseDecision =
  /** Reopen at once, silently (515 after pairing: the new credentials log in on a fresh socket). */
  | { kind: 'restart' }
  /** Reopen after `delayMs`; `attempt` counts from 1 since the socket last opened. */
  | { kind: 'reconnect'; attempt: number; delayMs: number; reason: string }
  /** Replaced while this worker cannot confirm it owns the session: most likely a replica took over. Let go, silently. */
  | { kind: 'yield' }
  /** Replaced too often: stop, keep the credentials. */
  | { kind: 'give_up'; reason: string }
  | { kind: 'qr_expired' }
  /** The credentials are dead: drop them. */
  | { kind: 'logged_out'; reason: string }
  | { kind: 'banned'; reason: string };

export function decideOnClose(
  close: SocketClose,
  history: ReconnectHistory,
  policy: ReconnectPolicy,
  now = Date.now(),
  random?: () => number,
): { decision: CloseDecision; history: ReconnectHistory; verdict: DisconnectClass['kind'] } {
  const { statusCode } = close;
  const verdict = classifyDisconnect(statusCode, {
    linked: close.linked,
    qrShown: close.qrShown,
    message: close.message,
    proxyFailure: close.proxyFailure ?? false,
  }).kind;
  const reconnect = (reason: string, conflicts = history.conflicts) => {
    const delayMs = backoffDelay(history.failures, { baseMs: policy.reconnectBaseDelayMs, maxMs: policy.reconnectMaxDelayMs, ...(random ? { random } : {}) });
    return {
      decision: { kind: 'reconnect', attempt: history.failures + 1, delayMs, reason } as const,
      history: { failures: history.failures + 1, conflicts },
      verdict,
    };
  };
  switch (verdict) {
    case 'restart':
      return { decision: { kind: 'restart' }, history, verdict };
    case 'retry':
      return reconnect(close.message);
    case 'replaced': {
      if (!close.ownershipCertain) return { decision: { kind: 'yield' }, history, verdict };
      const conflicts = [...history.conflicts.filter((t) => now - t < policy.conflictWindowMs), now];
      if (conflicts.length >= policy.maxConflicts) {
        return {
          decision: { kind: 'give_up', reason: `replaced by another connection ${conflicts.length} times; not reconnecting` },
          history: { ...history, conflicts },
          verdict,
        };
      }
      return reconnect('replaced by another connection', conflicts);
    }
    case 'qr_expired':
      return { decision: { kind: 'qr_expired' }, history, verdict };
    case 'logged_out':
      return {
        decision: { kind: 'logged_out', reason: statusCode === 401 ? 'logged out from the phone' : `credentials refused (${statusCode})` },
        history,
        verdict,
      };
    case 'banned':
      return { decision: { kind: 'banned', reason: `refused by WhatsApp (${statusCode}): the number is banned or blocked` }, history, verdict };
  }
}

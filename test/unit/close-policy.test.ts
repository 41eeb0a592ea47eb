import { afterOpen, decideOnClose, NO_HISTORY, type ReconnectHistory, type SocketClose } from '../../src/sessions/close-policy.js';

const policy = { reconnectBaseDelayMs: 100, reconnectMaxDelayMs: 1000, maxConflicts: 3, conflictWindowMs: 60_000 };
const linked: SocketClose = { statusCode: 428, message: 'Connection Closed', linked: true, qrShown: false, ownershipCertain: true };
/** Full jitter at its top: the delay is the ceiling itself. */
const top = () => 0.999999;

describe('close policy: what a close means and when to retry', () => {
  it('a transient drop reconnects with a growing, capped delay; attempts count from 1 and start over once open', () => {
    let history: ReconnectHistory = NO_HISTORY;
    const delays: number[] = [];
    const attempts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const out = decideOnClose(linked, history, policy, 0, top);
      if (out.decision.kind !== 'reconnect') throw new Error(`expected a reconnect, got ${out.decision.kind}`);
      delays.push(out.decision.delayMs);
      attempts.push(out.decision.attempt);
      expect(out.decision.reason).toBe('Connection Closed');
      history = out.history;
    }
    expect(attempts).toEqual([1, 2, 3, 4, 5, 6]);
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    const reopened = decideOnClose(linked, afterOpen(history), policy, 0, top);
    expect(reopened.decision).toMatchObject({ kind: 'reconnect', attempt: 1, delayMs: 100 });
  });

  it('440 conflicts: reconnect until maxConflicts within the window, then give up; old conflicts no longer count', () => {
    const replaced = { ...linked, statusCode: 440, message: 'replaced' };
    let history: ReconnectHistory = NO_HISTORY;
    const kinds: string[] = [];
    for (const at of [0, 10_000, 20_000]) {
      const out = decideOnClose(replaced, history, policy, at, top);
      kinds.push(out.decision.kind);
      history = out.history;
    }
    expect(kinds).toEqual(['reconnect', 'reconnect', 'give_up']);
    expect(decideOnClose(replaced, NO_HISTORY, policy, 0, top).decision).toMatchObject({ reason: 'replaced by another connection' });
    expect(decideOnClose(replaced, { failures: 0, conflicts: [0, 10_000] }, policy, 20_000).decision).toEqual({
      kind: 'give_up',
      reason: 'replaced by another connection 3 times; not reconnecting',
    });
    // The first two conflicts left the 60 s window: this is the second one that counts.
    expect(decideOnClose(replaced, { failures: 0, conflicts: [0, 10_000, 65_000] }, policy, 75_000).decision.kind).toBe('reconnect');
    // A successful open resets the backoff, not the conflict count.
    expect(afterOpen({ failures: 4, conflicts: [5] })).toEqual({ failures: 0, conflicts: [5] });
  });

  it('replaced while ownership is uncertain: yield at once, without counting a conflict', () => {
    const out = decideOnClose({ ...linked, statusCode: 440, ownershipCertain: false }, NO_HISTORY, policy, 0);
    expect(out.decision).toEqual({ kind: 'yield' });
    expect(out.history).toBe(NO_HISTORY);
  });

  it.each([
    [{ statusCode: 515 }, { kind: 'restart' }],
    [{ statusCode: 401 }, { kind: 'logged_out', reason: 'logged out from the phone' }],
    [{ statusCode: 411 }, { kind: 'logged_out', reason: 'credentials refused (411)' }],
    [{ statusCode: 403 }, { kind: 'banned', reason: 'refused by WhatsApp (403): the number is banned or blocked' }],
    [{ statusCode: 408, linked: false, qrShown: true }, { kind: 'qr_expired' }],
    [
      { statusCode: 408, linked: true, qrShown: false },
      { kind: 'reconnect', attempt: 1 },
    ],
  ] as const)('%o → %o', (close, decision) => {
    expect(decideOnClose({ ...linked, ...close }, NO_HISTORY, policy, 0, top).decision).toMatchObject(decision);
  });

  it('only a reconnect moves the backoff; the other decisions leave the history as it was', () => {
    const history = { failures: 2, conflicts: [1] };
    for (const statusCode of [515, 401, 403]) expect(decideOnClose({ ...linked, statusCode }, history, policy, 0).history).toBe(history);
    expect(decideOnClose(linked, history, policy, 0).history).toEqual({ failures: 3, conflicts: [1] });
  });
});

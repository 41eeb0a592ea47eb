import { jest } from '@jest/globals';
import { drivesSessions, OwnershipLease, type WorkerState } from '../../src/fleet/ownership-lease.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const LEASE = 30_000;

/** A lease with every change recorded as `kind` (or `standby:<cause>`). */
function lease() {
  const log = recordingLogger('info');
  const l = new OwnershipLease({ leaseMs: LEASE, logger: log.logger });
  const changes: string[] = [];
  l.onChange((next) => changes.push(next.kind === 'standby' ? `standby:${next.cause}` : next.kind));
  return { l, changes, log };
}

describe('the worker state and its ownership lease', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('starts in `starting`, the broker counted as unreachable until it is first reached', () => {
    const { l } = lease();
    expect(l.state).toEqual({ kind: 'starting' });
    expect(l.brokerDownSince).toBe(Date.now());
    l.brokerBack();
    expect(l.brokerDownSince).toBeNull();
    expect(l.state).toEqual({ kind: 'starting' });
  });

  it('holding the queue makes it active; refused first, it stands by without having driven anything', () => {
    const a = lease();
    a.l.queueHeld();
    expect(a.l.state).toEqual({ kind: 'active', since: Date.now() });
    const b = lease();
    b.l.queueRefused();
    b.l.queueRefused(); // the standby's retries: no change
    expect(b.changes).toEqual(['standby:queue-held']);
    b.l.queueHeld(); // the holder went away
    expect(b.changes).toEqual(['standby:queue-held', 'active']);
  });

  it('cut off, it keeps its sessions for exactly the lease, then stands by', () => {
    const { l, changes, log } = lease();
    l.brokerBack();
    l.queueHeld();
    l.queueLost(false); // the consumer goes with the connection…
    const cutAt = Date.now();
    l.brokerLost(); // …and the connection says so
    expect(l.state).toEqual({ kind: 'cut-off', since: cutAt, leaseEndsAt: cutAt + LEASE });
    expect(l.brokerDownSince).toBe(cutAt);
    jest.advanceTimersByTime(LEASE - 1);
    expect(l.state.kind).toBe('cut-off');
    jest.advanceTimersByTime(1);
    expect(l.state).toEqual({ kind: 'standby', since: cutAt + LEASE, cause: 'lease-expired' });
    expect(changes).toEqual(['active', 'cut-off', 'standby:lease-expired']);
    // Standing down is what an operator must see: a warning naming the setting.
    expect(log.lines.filter((x) => x.level === 40).map((x) => [x.from, x.to, x.why])).toEqual([
      ['cut-off', 'standby', expect.stringMatching(/OWNERSHIP_LEASE_MS/)],
    ]);
  });

  it('a connection lost again before it was fully back does not extend the lease', () => {
    const { l } = lease();
    l.queueHeld();
    l.brokerLost();
    jest.advanceTimersByTime(LEASE / 2);
    l.brokerLost(); // a reconnection attempt that failed during its setup
    jest.advanceTimersByTime(LEASE / 2);
    expect(l.state).toMatchObject({ kind: 'standby', cause: 'lease-expired' });
  });

  it('back within the lease it keeps its sessions until the broker answers: held, it stays active; refused, it stands by', () => {
    const held = lease();
    held.l.queueHeld();
    held.l.brokerLost();
    held.l.brokerBack();
    expect(held.l.state.kind).toBe('reclaiming');
    expect(drivesSessions(held.l.state)).toBe(true);
    jest.advanceTimersByTime(LEASE * 2); // the lease is over: no timer left to fire
    expect(held.l.state.kind).toBe('reclaiming');
    held.l.queueHeld();
    expect(held.changes).toEqual(['active', 'cut-off', 'reclaiming', 'active']);

    const refused = lease();
    refused.l.queueHeld();
    refused.l.brokerLost();
    refused.l.brokerBack();
    refused.l.queueRefused();
    expect(refused.changes).toEqual(['active', 'cut-off', 'reclaiming', 'standby:queue-held']);
    expect(drivesSessions(refused.l.state)).toBe(false);
  });

  it('refused while still cut off (the answer came before the connection said it was back), it stands by at once', () => {
    const { l, changes } = lease();
    l.queueHeld();
    l.brokerLost();
    l.queueRefused();
    jest.advanceTimersByTime(LEASE);
    expect(changes).toEqual(['active', 'cut-off', 'standby:queue-held']);
  });

  it('losing only its channel (broker up) it reclaims the queue with no lease running', () => {
    const { l, changes } = lease();
    l.brokerBack();
    l.queueHeld();
    l.queueLost(true);
    jest.advanceTimersByTime(LEASE * 2);
    expect(changes).toEqual(['active', 'reclaiming']);
    l.queueRefused();
    expect(l.state).toMatchObject({ kind: 'standby', cause: 'queue-held' });
  });

  it('a standby whose lease ran out records that it was then refused; cut off, a standby has no lease', () => {
    const { l, changes } = lease();
    l.queueHeld();
    l.brokerLost();
    jest.advanceTimersByTime(LEASE);
    l.brokerBack();
    l.queueRefused();
    l.brokerLost();
    jest.advanceTimersByTime(LEASE);
    expect(changes).toEqual(['active', 'cut-off', 'standby:lease-expired', 'standby:queue-held']);
  });

  it('once stopping, nothing the broker says changes the state, and a running lease is cancelled', () => {
    const { l, changes } = lease();
    l.queueHeld();
    l.brokerLost();
    l.stopping();
    jest.advanceTimersByTime(LEASE);
    l.brokerBack();
    l.queueHeld();
    l.queueRefused();
    l.stopping();
    l.stopped();
    expect(changes).toEqual(['active', 'cut-off', 'stopping', 'stopped']);
    expect(l.state).toEqual({ kind: 'stopped' });
  });

  it('waitFor resolves with the current state when it matches, else with the first change that does', async () => {
    const { l } = lease();
    const active = l.waitFor((s) => s.kind === 'active');
    const seen: WorkerState[] = [];
    void active.then((s) => seen.push(s));
    l.queueRefused();
    await Promise.resolve();
    expect(seen).toEqual([]);
    l.queueHeld();
    await expect(active).resolves.toMatchObject({ kind: 'active' });
    await expect(l.waitFor((s) => s.kind === 'active')).resolves.toBe(l.state);
  });
});

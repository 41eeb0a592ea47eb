import { refuseForwardTarget, routeCommand } from '../../src/commands/routing.js';
import { AttemptCounter, judgeFailure } from '../../src/commands/command-outcome.js';
import { WorkerError } from '../../src/util/errors.js';

describe('routeCommand', () => {
  it("moves everything on the shared queue to the executing worker's own queue", () => {
    expect(routeCommand({ workerId: '2' }, { self: '1', source: 'shared' })).toEqual({ kind: 'forward', workerId: '2' });
    expect(routeCommand({ workerId: '1' }, { self: '1', source: 'shared' })).toEqual({ kind: 'forward', workerId: '1' });
    expect(routeCommand({ workerId: undefined }, { self: '1', source: 'shared' })).toEqual({ kind: 'forward', workerId: '1' });
  });

  it('executes on the own queue only what is addressed to this worker (or to nobody)', () => {
    expect(routeCommand({ workerId: '1' }, { self: '1', source: 'own' })).toEqual({ kind: 'execute' });
    expect(routeCommand({ workerId: undefined }, { self: '1', source: 'own' })).toEqual({ kind: 'execute' });
    expect(routeCommand({ workerId: '3' }, { self: '1', source: 'own' })).toEqual({ kind: 'forward', workerId: '3' });
  });
});

describe('routing to the owner, and who may be addressed', () => {
  it('executes a command a worker moved here because this worker drives the session, whoever the body names', () => {
    expect(routeCommand({ workerId: '3' }, { self: '1', source: 'own', forwardedToOwner: '1' })).toEqual({ kind: 'execute' });
    // The mark counts only on the named worker's own queue.
    expect(routeCommand({ workerId: '3' }, { self: '1', source: 'own', forwardedToOwner: '2' })).toEqual({ kind: 'forward', workerId: '3' });
    expect(routeCommand({ workerId: '3' }, { self: '1', source: 'shared', forwardedToOwner: '1' })).toEqual({ kind: 'forward', workerId: '3' });
  });

  it('refuses worker ids that name another kind of queue, or that are not in the listed fleet', () => {
    const fleet = { commandsQueue: 'wa.update', reservedQueues: ['wa.update', 'wa.update.dlq', 'wa.update.events'], workerIds: undefined };
    expect(refuseForwardTarget('dlq', fleet)).toMatch(/wa\.update\.dlq/);
    expect(refuseForwardTarget('events', fleet)).toMatch(/not a worker's command queue/);
    expect(refuseForwardTarget('worker-7', fleet)).toBeUndefined();
    const listed = { ...fleet, workerIds: ['w1', 'w2'] };
    expect(refuseForwardTarget('w2', listed)).toBeUndefined();
    expect(refuseForwardTarget('w3', listed)).toMatch(/FLEET_WORKER_IDS/);
  });
});

describe('judgeFailure', () => {
  it('rejects (no retry) what cannot be done', () => {
    for (const code of ['UNKNOWN_SESSION', 'CAPACITY', 'INVALID_PHONE', 'ALREADY_LINKED'] as const) {
      expect(judgeFailure(new WorkerError(code, 'x'), 1, 5)).toMatchObject({ kind: 'reject', code });
    }
  });

  it('retries infrastructure failures with growing delays, then gives up', () => {
    const err = new WorkerError('STORAGE_UNAVAILABLE', 'minio down');
    // Every branch asserts: a verdict that is not a retry fails here instead of skipping the delay checks.
    const delayOf = (attempt: number): number => {
      const verdict = judgeFailure(err, attempt, 3);
      if (verdict.kind !== 'retry' || verdict.outcome.kind !== 'retry') throw new Error(`attempt ${attempt}: expected a retry, got ${JSON.stringify(verdict)}`);
      return verdict.outcome.delayMs;
    };
    // Backoff with jitter over 500 ms · 2^(attempt-1): between half the ceiling and the ceiling.
    for (let i = 0; i < 20; i++) {
      expect(delayOf(1)).toBeGreaterThanOrEqual(250);
      expect(delayOf(1)).toBeLessThanOrEqual(500);
      expect(delayOf(2)).toBeGreaterThanOrEqual(500);
      expect(delayOf(2)).toBeLessThanOrEqual(1000);
    }
    expect(judgeFailure(err, 3, 3)).toMatchObject({ kind: 'give-up', code: 'STORAGE_UNAVAILABLE' });
    expect(judgeFailure(new Error('boom'), 3, 3)).toMatchObject({ kind: 'give-up', code: 'INTERNAL' });
  });
});

describe('AttemptCounter', () => {
  it('counts per key, forgets on request and stays bounded', () => {
    const c = new AttemptCounter(2);
    expect(c.next('a')).toBe(1);
    expect(c.next('a')).toBe(2);
    c.forget('a');
    expect(c.next('a')).toBe(1);
    c.next('b');
    c.next('c'); // evicts the oldest ('a')
    expect(c.next('a')).toBe(1);
  });
});

import { refuseForwardTarget, routeCommand } from '../../src/commands/routing.js';
import { AttemptCounter, judgeFailure } from '../../src/commands/command-outcome.js';
import { WorkerError } from '../../src/util/errors.js';

describe('routeCommand', () => {
  it('moves everything on the shared queue to the executing worker\'s own queue', () => {
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
    const first = judgeFailure(err, 1, 3);
    const second = judgeFailure(err, 2, 3);
    expect(first.kind).toBe('retry');
    expect(second.kind).toBe('retry');
    if (first.kind === 'retry' && second.kind === 'retry' && first.outcome.kind === 'retry' && second.outcome.kind === 'retry') {
      expect(first.outcome.delayMs).toBeLessThanOrEqual(500);
      expect(second.outcome.delayMs).toBeGreaterThanOrEqual(500);
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

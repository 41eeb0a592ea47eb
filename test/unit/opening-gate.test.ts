import { jest } from '@jest/globals';
import { OpeningGate, type OpeningSlot } from '../../src/sessions/opening-gate.js';

/** Lets the gate's resolved promises run (each `acquire` resolves in a microtask). */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('OpeningGate', () => {
  it('lets `max` through at once and the waiters in the order they asked', async () => {
    const gate = new OpeningGate({ max: 2 });
    const granted: string[] = [];
    const slots = new Map<string, OpeningSlot>();
    for (const name of ['a', 'b', 'c', 'd', 'e']) void gate.acquire().then((slot) => (granted.push(name), slots.set(name, slot)));
    await drain();
    expect(granted).toEqual(['a', 'b']);
    expect(gate.opening).toBe(2);
    expect(gate.queued).toBe(3);

    slots.get('b')!.release();
    await drain();
    expect(granted).toEqual(['a', 'b', 'c']);
    slots.get('a')!.release();
    slots.get('c')!.release();
    await drain();
    expect(granted).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(gate.opening).toBe(2);
    expect(gate.queued).toBe(0);
  });

  it('a slot released twice frees one place only', async () => {
    const gate = new OpeningGate({ max: 1 });
    const first = await gate.acquire();
    let second: OpeningSlot | undefined;
    let third: OpeningSlot | undefined;
    void gate.acquire().then((s) => (second = s));
    void gate.acquire().then((s) => (third = s));
    first.release();
    first.release();
    await drain();
    expect(second).toBeDefined();
    expect(third).toBeUndefined();
    expect(gate.opening).toBe(1);
    second!.release();
    await drain();
    expect(third).toBeDefined();
  });

  it('`take` never waits but counts: a reconnect waits until the taken slots are given back', async () => {
    const gate = new OpeningGate({ max: 1 });
    const command = gate.take();
    const another = gate.take();
    expect(gate.opening).toBe(2);
    let reconnect: OpeningSlot | undefined;
    void gate.acquire().then((s) => (reconnect = s));
    command.release();
    await drain();
    expect(reconnect).toBeUndefined();
    another.release();
    await drain();
    expect(reconnect).toBeDefined();
  });

  describe('with fake timers', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('a slot never released is given back after the hold limit, once', async () => {
      const gate = new OpeningGate({ max: 1, holdLimitMs: 60_000 });
      const stuck = await gate.acquire();
      let next: OpeningSlot | undefined;
      void gate.acquire().then((s) => (next = s));
      await jest.advanceTimersByTimeAsync(59_999);
      expect(next).toBeUndefined();
      await jest.advanceTimersByTimeAsync(1);
      expect(next).toBeDefined();
      expect(gate.opening).toBe(1);
      stuck.release(); // late: the timeout gave its place back already
      expect(gate.opening).toBe(1);
      next!.release();
      expect(gate.opening).toBe(0);
    });
  });
});

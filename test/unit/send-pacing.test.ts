import { PacingBucket, type PacingRate } from '../../src/messaging/pacing-bucket.js';
import { SendPacer, type NumberPacing, type PacedSend, type SendPacerDeps } from '../../src/messaging/send-pacer.js';
import { pacedExecute } from '../../src/messaging/paced-execution.js';
import { isPacedReturn } from '../../src/broker/delay-queue.js';
import { sessionPacing, simulateTyping } from '../../src/sessions/session-pacing.js';
import { SessionRecord } from '../../src/sessions/session-record.js';
import { parseCommand } from '../../src/commands/parse-command.js';
import { loadConfig } from '../../src/config/config.js';
import type { Command, SendMessageCommand } from '../../src/commands/command.js';
import type { Delivery } from '../../src/broker/types.js';
import { KeyedSerialQueue } from '../../src/util/keyed-serial-queue.js';
import { isWorkerError } from '../../src/util/errors.js';
import { DEFAULT_SESSION_SETTINGS, effectiveSettings, PACING_OFF, storedSettings, type SessionSettings } from '../../src/util/session-settings.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';

/** A clock the test moves: sleeps end when it passes their time (or when woken), never on their own. */
class FakeClock {
  t = 0;
  private timers: Array<{ at: number; resolve: () => void }> = [];
  readonly now = (): number => this.t;
  readonly sleep = (ms: number, wake: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = { at: this.t + ms, resolve };
      this.timers.push(timer);
      const done = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      };
      if (wake.aborted) done();
      else wake.addEventListener('abort', done, { once: true });
    });

  /** Moves time on by `ms`, firing each timer at its own time, letting the code run in between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.t = Math.max(this.t, next.at);
      this.timers = this.timers.filter((x) => x !== next);
      next.resolve();
    }
    this.t = end;
    await settle();
  }
}

/** Lets every pending promise chain run (a macrotask turn, no timer). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

const rate = (r: Partial<PacingRate> = {}): PacingRate => ({ perMinute: 60, burst: 1, minGapMs: 0, jitterMs: 0, ...r });

describe('pacing bucket (token bucket as GCRA, injected clock)', () => {
  it('lets a burst leave at once, then one per interval', () => {
    const b = new PacingBucket();
    expect([0, 0, 0, 0, 0].map(() => b.reserve(0, rate({ burst: 3 })))).toEqual([0, 0, 0, 1000, 2000]);
  });

  it('never reserves two sends closer than minGapMs', () => {
    const b = new PacingBucket();
    expect([0, 0, 0, 0, 0, 0].map(() => b.reserve(0, rate({ burst: 3, minGapMs: 500 })))).toEqual([0, 500, 1000, 1500, 2000, 3000]);
  });

  it('adds at most jitterMs of random wait (from the injected randomness)', () => {
    const b = new PacingBucket();
    expect(b.reserve(0, rate({ jitterMs: 200 }), () => 0.5)).toBe(100);
    expect(b.reserve(0, rate({ jitterMs: 200 }), () => 0.999)).toBe(1100 + 200);
  });

  it('refills during a quiet spell, and says when it is idle (forgettable)', () => {
    const b = new PacingBucket();
    expect(b.reserve(0, rate())).toBe(0);
    expect(b.reserve(0, rate())).toBe(1000);
    expect(b.idleAt(1500, rate())).toBe(false);
    expect(b.idleAt(2000, rate())).toBe(true);
    expect(b.reserve(10_000, rate())).toBe(10_000);
  });

  it('follows a rate changed between two reservations', () => {
    const b = new PacingBucket();
    b.reserve(0, rate({ perMinute: 60 }));
    expect(b.reserve(0, rate({ perMinute: 6 }))).toBe(1000);
    expect(b.reserve(0, rate({ perMinute: 6 }))).toBe(11_000);
  });
});

function pacerWith(clock: FakeClock, opts: Partial<SendPacerDeps> & { pacing?: NumberPacing | undefined } = {}) {
  const pacing = 'pacing' in opts ? opts.pacing : { rate: rate() };
  return new SendPacer({ now: clock.now, sleep: clock.sleep, maxHoldMs: 60_000, maxHeld: 100, pacingFor: () => pacing, ...opts });
}

const paced = (requestId: string, numberId = 6): PacedSend => ({ numberId, requestId, toJid: '221770000001@s.whatsapp.net', typingMs: 0 });
const noPostpone = () => Promise.reject(new Error('not expected in the delay queue'));

describe('send pacer', () => {
  it('runs an unpaced number’s send at once', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { pacing: undefined });
    const ran: string[] = [];
    await pacer.pace(paced('r1'), async () => void ran.push('r1'), noPostpone);
    expect(ran).toEqual(['r1']);
  });

  it('sends in arrival order, each at its time, and resolves each only once it has run', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock);
    const ran: Array<[string, number]> = [];
    const done: string[] = [];
    const sends = ['r1', 'r2', 'r3'].map((id) => pacer.pace(paced(id), async () => void ran.push([id, clock.t]), noPostpone).then(() => done.push(id)));
    await clock.advance(0);
    expect(ran).toEqual([['r1', 0]]);
    expect(done).toEqual(['r1']);
    expect(pacer.backlog()).toEqual([{ numberId: 6, queued: 2, delayed: 0, oldestAgeMs: 0 }]);
    await clock.advance(999);
    expect(ran).toHaveLength(1);
    await clock.advance(1001);
    await Promise.all(sends);
    expect(ran).toEqual([
      ['r1', 0],
      ['r2', 1000],
      ['r3', 2000],
    ]);
    expect(done).toEqual(['r1', 'r2', 'r3']);
    expect(pacer.heldCount).toBe(0);
  });

  it('numbers do not wait for each other', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock);
    const ran: string[] = [];
    void pacer.pace(paced('a1', 6), async () => void ran.push('a1'), noPostpone);
    void pacer.pace(paced('a2', 6), async () => void ran.push('a2'), noPostpone);
    void pacer.pace(paced('b1', 7), async () => void ran.push('b1'), noPostpone);
    await clock.advance(0);
    expect(ran).toEqual(['a1', 'b1']);
    await clock.advance(1000);
    expect(ran).toEqual(['a1', 'b1', 'a2']);
  });

  it("does not hold the number's lane: a logout or mark_read is done while its sends wait", async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { maxHoldMs: 1_000_000, maxHeld: 1000 });
    const lane = new KeyedSerialQueue<number>();
    const done: string[] = [];
    const execute = (command: Command) => lane.run(command.numberId, async () => void done.push(command.requestId ?? command.action));
    const run = pacedExecute(pacer, execute, noPostpone, { typingMsPerChar: 0, typingMaxMs: 0 });
    const delivery: Delivery = {
      queue: 'q',
      body: Buffer.from('{}'),
      contentType: undefined,
      correlationId: undefined,
      messageId: undefined,
      type: undefined,
      headers: {},
      userId: undefined,
      redelivered: false,
      deliveryCount: undefined,
    };
    const sends = Array.from({ length: 500 }, (_, i) => run(sendCommand(`s${i}`), delivery));
    await run(
      { ...commandBase, action: 'mark_read', requestId: 'read-1', chat: '+221770000001', chatJid: '221770000001@s.whatsapp.net', messageIds: ['X'] },
      delivery,
    );
    await run({ ...commandBase, action: 'logout', requestId: 'logout-1' }, delivery);
    await clock.advance(0);
    // Both answered while 499 sends still wait for their time (only s0 had its time yet).
    expect(done.sort()).toEqual(['logout-1', 'read-1', 's0']);
    expect(pacer.backlog()[0]).toMatchObject({ numberId: 6, queued: 499 });
    pacer.stop();
    await Promise.allSettled(sends);
  });

  it('holds at most maxHeld sends: the others go to the delay queue (bounded memory)', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { maxHeld: 2 });
    const postponed: Array<[string, number]> = [];
    const sends = ['r1', 'r2', 'r3', 'r4'].map((id) =>
      pacer.pace(
        paced(id),
        async () => undefined,
        async (ttl) => void postponed.push([id, ttl]),
      ),
    );
    await clock.advance(0);
    expect(pacer.heldCount).toBe(1); // r1 went at once; r2 waits, r3 and r4 were postponed
    expect(postponed.map(([id]) => id)).toEqual(['r3', 'r4']);
    // Never sooner than the minimum TTL (no ping-pong with the broker), later ones no earlier.
    expect(postponed[0]![1]).toBeGreaterThanOrEqual(1000);
    expect(postponed[1]![1]).toBeGreaterThanOrEqual(postponed[0]![1]);
    expect(pacer.backlog()).toEqual([{ numberId: 6, queued: 1, delayed: 2, oldestAgeMs: 0 }]);
    await clock.advance(1000);
    await Promise.all(sends);
  });

  it('with the hold full, a send due now (another number’s) still runs at once', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { maxHeld: 1 });
    const ran: string[] = [];
    await pacer.pace(paced('a1', 6), async () => void ran.push('a1'), noPostpone);
    const a2 = pacer.pace(paced('a2', 6), async () => void ran.push('a2'), noPostpone);
    await clock.advance(0);
    expect(pacer.heldCount).toBe(1);
    await pacer.pace(paced('b1', 7), async () => void ran.push('b1'), noPostpone);
    expect(ran).toEqual(['a1', 'b1']);
    await clock.advance(1000);
    await a2;
    expect(ran).toEqual(['a1', 'b1', 'a2']);
  });

  it('puts a send whose wait exceeds maxHoldMs in the delay queue, keeps its time, and its later sends behind it', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { maxHoldMs: 1500 });
    const ran: Array<[string, number]> = [];
    const postponed = new Map<string, number>();
    const run = (id: string) => async () => void ran.push([id, clock.t]);
    const postpone = (id: string) => async (ttl: number) => void postponed.set(id, clock.t + ttl);
    const first = [pacer.pace(paced('r1'), run('r1'), postpone('r1')), pacer.pace(paced('r2'), run('r2'), postpone('r2'))];
    await pacer.pace(paced('r3'), run('r3'), postpone('r3')); // time 2000: 2000 ms > 1500 away
    await clock.advance(100);
    await pacer.pace(paced('r4'), run('r4'), postpone('r4')); // time 3000, behind r3
    // Each comes back half a hold before its time, in order.
    expect([...postponed]).toEqual([
      ['r3', 1250],
      ['r4', 2250],
    ]);
    expect(pacer.backlog()).toEqual([{ numberId: 6, queued: 1, delayed: 2, oldestAgeMs: 100 }]);
    await clock.advance(1150); // t = 1250: r3 is back (a new delivery, same requestId)
    const r3 = pacer.pace(paced('r3'), run('r3'), postpone('r3'));
    await clock.advance(1000); // t = 2250: r4 is back
    const r4 = pacer.pace(paced('r4'), run('r4'), postpone('r4'));
    await clock.advance(1000);
    await Promise.all([...first, r3, r4]);
    expect(ran).toEqual([
      ['r1', 0],
      ['r2', 1000],
      ['r3', 2000],
      ['r4', 3000],
    ]);
    expect(pacer.backlog()).toEqual([]);
  });

  it('a send back late from the delay queue still keeps minGapMs from the previous one', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { maxHoldMs: 1000, pacing: { rate: rate({ perMinute: 600, minGapMs: 300 }) } });
    const ran: Array<[string, number]> = [];
    const postponed: string[] = [];
    const run = (id: string) => async () => void ran.push([id, clock.t]);
    // r1 at 0, r2..r4 fit in the hold; r3 and r4 fill it
    const held = ['r1', 'r2', 'r3', 'r4'].map((id) => pacer.pace(paced(id), run(id), async () => void postponed.push(id)));
    const late = pacer.pace(paced('r5'), run('r5'), async () => void postponed.push('r5')); // at 1200: postponed
    await late;
    expect(postponed).toEqual(['r5']);
    await clock.advance(5000); // r5 comes back long after its time
    await Promise.all(held);
    const back = pacer.pace(paced('r5'), run('r5'), noPostpone);
    await clock.advance(0);
    await back;
    expect(ran.map(([id]) => id)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    for (let i = 1; i < ran.length; i++) expect(ran[i]![1] - ran[i - 1]![1]).toBeGreaterThanOrEqual(300);
  });

  it('shows typing to the recipient before the send, for the time given', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const pacer = pacerWith(clock, { pacing: { rate: rate(), typing: async (jid, ms) => void calls.push(`typing ${jid} ${ms}`) } });
    await pacer.pace({ ...paced('r1'), typingMs: 750 }, async () => void calls.push('sent'), noPostpone);
    expect(calls).toEqual(['typing 221770000001@s.whatsapp.net 750', 'sent']);
  });

  it('a send that fails rejects its own command only; the next one still goes', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { pacing: { rate: rate({ burst: 2 }) } });
    const failed = pacer.pace(paced('r1'), () => Promise.reject(new Error('broker down')), noPostpone);
    const ok = pacer.pace(paced('r2'), async () => undefined, noPostpone);
    await expect(failed).rejects.toThrow('broker down');
    await expect(ok).resolves.toBeUndefined();
  });

  it('on stop, held sends are given back for a retry (not a rejection), and new ones too', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock);
    const ran: string[] = [];
    const first = pacer.pace(paced('r1'), async () => void ran.push('r1'), noPostpone);
    const second = pacer.pace(paced('r2'), async () => void ran.push('r2'), noPostpone);
    await first;
    await clock.advance(0);
    pacer.stop();
    const err = await second.catch((e: unknown) => e);
    expect(isWorkerError(err, 'SESSION_BUSY')).toBe(true);
    await expect(pacer.pace(paced('r3'), async () => undefined, noPostpone)).rejects.toThrow(/stopping/);
    expect(ran).toEqual(['r1']);
    expect(pacer.heldCount).toBe(0);
  });

  it('releaseHeld (the worker stood down) gives held sends back for a retry but keeps taking new ones', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock);
    await pacer.pace(paced('r1'), async () => undefined, noPostpone);
    const held = pacer.pace(paced('r2'), async () => undefined, noPostpone);
    await clock.advance(0);
    expect(pacer.heldCount).toBe(1);
    pacer.releaseHeld();
    expect(isWorkerError(await held.catch((e: unknown) => e), 'SESSION_BUSY')).toBe(true);
    const next = pacer.pace(paced('r3'), async () => undefined, noPostpone);
    await clock.advance(2000);
    await expect(next).resolves.toBeUndefined();
  });

  it('a failed re-publish to the delay queue fails the command (retried) and forgets the reservation', async () => {
    const clock = new FakeClock();
    const pacer = pacerWith(clock, { maxHoldMs: 500 });
    void pacer.pace(paced('r1'), async () => undefined, noPostpone);
    await expect(
      pacer.pace(
        paced('r2'),
        async () => undefined,
        () => Promise.reject(new Error('no confirm')),
      ),
    ).rejects.toThrow('no confirm');
    expect(pacer.backlog().every((b) => b.delayed === 0)).toBe(true);
  });
});

const commandBase = { numberId: 6, sessionId: undefined, phoneNumber: undefined, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
function sendCommand(requestId: string): SendMessageCommand {
  return {
    ...commandBase,
    action: 'send_message',
    requestId,
    to: '+221770000001',
    toJid: '221770000001@s.whatsapp.net',
    message: { type: 'text', text: 'hello' },
    replyTo: undefined,
  };
}

describe('pacing settings', () => {
  const parse = (body: unknown) => parseCommand(Buffer.from(JSON.stringify(body)), {}, { maxBytes: 1024 * 1024 });
  const update = (pacing: unknown) => parse({ action: 'update_settings', numberId: 6, workerId: '1', requestId: 'req-1', data: { settings: { pacing } } });

  it('accepts a pacing object (any subset of its fields) and null', () => {
    expect(update({ perMinute: 20, burst: 2, minGapMs: 1500, jitterMs: 500, typing: true })).toMatchObject({
      ok: true,
      command: { settings: { pacing: { perMinute: 20, burst: 2, minGapMs: 1500, jitterMs: 500, typing: true } } },
    });
    expect(update({ perMinute: 0 })).toMatchObject({ ok: true, command: { settings: { pacing: { perMinute: 0 } } } });
    expect(update(null)).toMatchObject({ ok: true, command: { settings: { pacing: null } } });
    expect(parse({ action: 'create', numberId: 6, data: { phoneNumber: '+221771234567', settings: { pacing: { perMinute: 10 } } } })).toMatchObject({
      ok: true,
      command: { settings: { pacing: { perMinute: 10 } } },
    });
  });

  it.each([
    ['perMinute above 600', { perMinute: 601 }, /pacing\.perMinute/],
    ['perMinute negative', { perMinute: -1 }, /pacing\.perMinute/],
    ['perMinute not an integer', { perMinute: 1.5 }, /pacing\.perMinute/],
    ['burst 0', { burst: 0 }, /pacing\.burst/],
    ['minGapMs above 10 minutes', { minGapMs: 600_001 }, /pacing\.minGapMs/],
    ['jitterMs a string', { jitterMs: '100' }, /pacing\.jitterMs/],
    ['typing not a boolean', { typing: 'yes' }, /pacing\.typing/],
    ['an unknown field (named)', { perMinute: 5, perHour: 100 }, /"perHour"/],
    ['not an object', 30, /pacing/],
  ])('%s → INVALID_COMMAND', (_what, pacing, reason) => {
    expect(update(pacing)).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(reason) });
  });

  it('a number’s own fields override the PACING_* defaults one by one; null (or none) follows them', () => {
    const defaults: SessionSettings = { ...DEFAULT_SESSION_SETTINGS, pacing: { perMinute: 30, burst: 3, minGapMs: 1000, jitterMs: 1000, typing: true } };
    expect(effectiveSettings(defaults, { pacing: { perMinute: 10 } }).pacing).toEqual({ ...defaults.pacing, perMinute: 10 });
    expect(effectiveSettings(defaults, { pacing: null }).pacing).toEqual(defaults.pacing);
    expect(effectiveSettings(DEFAULT_SESSION_SETTINGS, { pacing: { perMinute: 10 } }).pacing).toEqual({ ...PACING_OFF, perMinute: 10 });
    expect('pacing' in effectiveSettings(DEFAULT_SESSION_SETTINGS, {})).toBe(false);
  });

  it('stored pacing is checked field by field (out of bounds: back to the default)', () => {
    expect(storedSettings({ pacing: { perMinute: 10, burst: 0, minGapMs: 'x', jitterMs: 100, typing: 'yes', colour: 1 } })).toEqual({
      pacing: { perMinute: 10, jitterMs: 100 },
    });
    expect(storedSettings({ pacing: [1] })).toEqual({});
  });

  it('PACING_* set the defaults; pacing is off unless PACING_PER_MINUTE > 0', () => {
    const env = { NODE_ENV: 'test', RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672' };
    expect(loadConfig(env).sessionDefaults.pacing).toBeUndefined();
    const config = loadConfig({ ...env, PACING_PER_MINUTE: '20', PACING_BURST: '2', PACING_TYPING: 'true', PACING_MAX_HOLD_MS: '30000' });
    expect(config.sessionDefaults.pacing).toEqual({ perMinute: 20, burst: 2, minGapMs: 1000, jitterMs: 1000, typing: true });
    expect(config.pacing).toMatchObject({ maxHoldMs: 30_000, warmupDays: 0 });
    expect(() => loadConfig({ ...env, PACING_PER_MINUTE: '601' })).toThrow(/PACING_PER_MINUTE/);
  });
});

describe('warm-up after linking', () => {
  const DAY = 24 * 60 * 60_000;
  const paced30 = { ...DEFAULT_SESSION_SETTINGS, pacing: { ...PACING_OFF, perMinute: 30 } };
  const typing = async () => undefined;

  it('caps the rate for the first days after the link, even of an unpaced number; not after, nor when the link time is unknown', () => {
    const warmUp = { days: 3, perMinute: 5 };
    expect(sessionPacing({ settings: paced30, linkedAt: 0 }, warmUp, typing, 2 * DAY)?.rate.perMinute).toBe(5);
    expect(sessionPacing({ settings: paced30, linkedAt: 0 }, warmUp, typing, 3 * DAY)?.rate.perMinute).toBe(30);
    expect(sessionPacing({ settings: DEFAULT_SESSION_SETTINGS, linkedAt: 0 }, warmUp, typing, DAY)?.rate).toEqual({ ...rate(), perMinute: 5 });
    expect(sessionPacing({ settings: DEFAULT_SESSION_SETTINGS, linkedAt: undefined }, warmUp, typing, DAY)).toBeUndefined();
    expect(sessionPacing({ settings: DEFAULT_SESSION_SETTINGS, linkedAt: 0 }, { days: 0, perMinute: 5 }, typing, 0)).toBeUndefined();
  });

  it('passes the typing simulation only when the number types', () => {
    const typed = { ...DEFAULT_SESSION_SETTINGS, pacing: { ...PACING_OFF, perMinute: 30, typing: true } };
    expect(sessionPacing({ settings: typed, linkedAt: undefined }, { days: 0, perMinute: 5 }, typing)?.typing).toBe(typing);
    expect(sessionPacing({ settings: paced30, linkedAt: undefined }, { days: 0, perMinute: 5 }, typing)?.typing).toBeUndefined();
  });

  it('typing: composing to the recipient, then paused; a session not connected shows nothing and does not fail', async () => {
    const socket = {
      presences: [] as Array<{ state: string; jid?: string }>,
      sendPresence: async (state: string, jid?: string) => void socket.presences.push({ state, jid }),
    };
    await simulateTyping({ connectionForSend: async () => socket }, '221770000001@s.whatsapp.net', 1);
    expect(socket.presences).toEqual([
      { state: 'composing', jid: '221770000001@s.whatsapp.net' },
      { state: 'paused', jid: '221770000001@s.whatsapp.net' },
    ]);
    await expect(simulateTyping({ connectionForSend: () => Promise.reject(new Error('not connected')) }, 'x@s.whatsapp.net', 1)).resolves.toBeUndefined();
  });

  it('the link time is recorded with the first JID and kept afterwards', async () => {
    const store = new MemorySessionStore();
    const record = new SessionRecord({ id: 'session_6_+221771234567', numberId: 6, phoneNumber: '+221771234567' }, store, 'w1');
    await record.claim();
    expect(record.linkedAt).toBeUndefined();
    const before = Date.now();
    await record.claim('221771234567:1@s.whatsapp.net');
    const linkedAt = record.linkedAt!;
    expect(linkedAt).toBeGreaterThanOrEqual(before);
    await record.handOver('w2');
    await record.claim('221771234567:2@s.whatsapp.net');
    expect(record.linkedAt).toBe(linkedAt);
    expect((await store.loadMeta('session_6_+221771234567'))?.linkedAt).toBe(linkedAt);
  });
});

describe('a send back from the delay queue', () => {
  it('is recognised only with the header naming this worker AND the workers’ broker-checked user_id', () => {
    const headers = { 'x-paced-by': 'w1' };
    expect(isPacedReturn({ headers, userId: 'workers' }, 'w1', 'workers')).toBe(true);
    expect(isPacedReturn({ headers, userId: undefined }, 'w1', 'workers')).toBe(false); // a backend forging the header
    expect(isPacedReturn({ headers, userId: 'backend' }, 'w1', 'workers')).toBe(false);
    expect(isPacedReturn({ headers, userId: 'workers' }, 'w2', 'workers')).toBe(false);
    expect(isPacedReturn({ headers: {}, userId: 'workers' }, 'w1', 'workers')).toBe(false);
  });
});

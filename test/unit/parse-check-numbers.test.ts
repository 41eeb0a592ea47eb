import type { Delivery } from '../../src/broker/types.js';
import type { Command } from '../../src/commands/command.js';
import { createCommandHandler } from '../../src/commands/command-handler.js';
import { parseCommand } from '../../src/commands/parse-command.js';
import { DEFAULT_CHECK_NUMBERS_MAX_BATCH } from '../../src/commands/parse-limits.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';

const limits = { maxBytes: 1024 * 1024, maxCheckNumbers: 3 };
const parse = (body: unknown, meta = {}, l: Parameters<typeof parseCommand>[2] = limits) => parseCommand(Buffer.from(JSON.stringify(body)), meta, l);
const check = (data: Record<string, unknown>, top: Record<string, unknown> = {}) =>
  parse({ action: 'check_numbers', numberId: 6, workerId: '1', requestId: 'req-1', ...top, data });
const phonesOf = (r: ReturnType<typeof parse>): string[] | undefined => (r.ok && r.command.action === 'check_numbers' ? r.command.phones : undefined);

describe('parseCommand: check_numbers', () => {
  it("accepts the backend's batch: every phone canonical (+E.164), in order, addressed like the other commands", () => {
    const r = check({ phones: ['+221770000001', '221 77 000-00-02', '0033 6 12 34 56 78'] });
    expect(r).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'check_numbers',
        numberId: 6,
        workerId: '1',
        requestId: 'req-1',
        sessionId: undefined,
        phones: ['+221770000001', '+221770000002', '+33612345678'],
      }),
    });
  });

  it('a phone given twice (in any spelling) is asked and answered once, where it first appeared', () => {
    expect(phonesOf(check({ phones: ['+221770000002', '221770000001', '00221 77 000 00 02'] }))).toEqual(['+221770000002', '+221770000001']);
  });

  it('duplicates count against the batch limit as sent: the limit bounds the command, not its answer', () => {
    const r = check({ phones: ['+221770000001', '+221770000001', '+221770000001', '+221770000001'] });
    expect(r).toMatchObject({ ok: false, code: 'BATCH_TOO_LARGE' });
  });

  it('fields may sit at the top level; the correlation id stands in for requestId; phoneNumber names the session', () => {
    const r = parse({ action: 'check_numbers', numberId: '6', phoneNumber: '+221771234567', phones: ['221770000001'] }, { correlationId: 'corr-9' });
    expect(r.ok && r.command).toMatchObject({ requestId: 'corr-9', sessionId: 'session_6_+221771234567', phones: ['+221770000001'] });
  });

  it(`defaults to ${DEFAULT_CHECK_NUMBERS_MAX_BATCH} phones when CHECK_NUMBERS_MAX_BATCH is not given`, () => {
    const phones = (n: number) => Array.from({ length: n }, (_, i) => `+2217700${String(i).padStart(5, '0')}`);
    const at = parse({ action: 'check_numbers', numberId: 6, requestId: 'r', phones: phones(DEFAULT_CHECK_NUMBERS_MAX_BATCH) }, {}, { maxBytes: 1 << 20 });
    expect(phonesOf(at)).toHaveLength(DEFAULT_CHECK_NUMBERS_MAX_BATCH);
    const over = parse(
      { action: 'check_numbers', numberId: 6, requestId: 'r', phones: phones(DEFAULT_CHECK_NUMBERS_MAX_BATCH + 1) },
      {},
      { maxBytes: 1 << 20 },
    );
    expect(over).toMatchObject({
      ok: false,
      code: 'BATCH_TOO_LARGE',
      reason: expect.stringContaining(`CHECK_NUMBERS_MAX_BATCH (${DEFAULT_CHECK_NUMBERS_MAX_BATCH})`),
    });
  });

  it.each([
    ['"phones" missing', 'INVALID_COMMAND', {}, /needs "phones", a non-empty array/],
    ['"phones" empty', 'INVALID_COMMAND', { phones: [] }, /needs "phones", a non-empty array/],
    ['"phones" not an array', 'INVALID_COMMAND', { phones: '+221770000001' }, /data\.phones/],
    ['"phones" an object', 'INVALID_COMMAND', { phones: { 0: '+221770000001' } }, /data\.phones/],
    ['a phone that is not a string', 'INVALID_COMMAND', { phones: ['+221770000001', 221770000002] }, /data\.phones\.1/],
    [
      'more phones than CHECK_NUMBERS_MAX_BATCH',
      'BATCH_TOO_LARGE',
      { phones: ['+221770000001', '+221770000002', '+221770000003', '+221770000004'] },
      /4 entries, more than CHECK_NUMBERS_MAX_BATCH \(3\)/,
    ],
    ['letters', 'INVALID_PHONE', { phones: ['+221770000001', 'call me'] }, /phones\[1\]: .*"call me" is not a phone number/],
    ['a national number (trunk 0)', 'INVALID_PHONE', { phones: ['0771234567'] }, /phones\[0\]: .*country code never starts with 0/],
    ['too short', 'INVALID_PHONE', { phones: ['+12345'] }, /phones\[0\]: .*6 to 15 digits/],
    ['too long', 'INVALID_PHONE', { phones: ['+1234567890123456'] }, /phones\[0\]: .*6 to 15 digits/],
    ['a JID (phones only)', 'INVALID_PHONE', { phones: ['221770000001@s.whatsapp.net'] }, /phones\[0\]/],
    ['an empty string', 'INVALID_PHONE', { phones: [''] }, /phones\[0\]/],
  ])('%s → %s', (_what, code, data, reason) => {
    const r = check(data);
    expect(r).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason), hint: { action: 'check_numbers', numberId: 6, requestId: 'req-1' } });
  });

  it('needs a requestId (or a correlation id): its answer carries it', () => {
    const r = parse({ action: 'check_numbers', numberId: 6, data: { phones: ['+221770000001'] } });
    expect(r).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(/"check_numbers" needs "requestId"/) });
  });
});

describe('check_numbers through the command handler', () => {
  const delivery = (body: unknown): Delivery => ({
    queue: 'own',
    body: Buffer.from(JSON.stringify(body)),
    contentType: 'application/json',
    correlationId: undefined,
    messageId: undefined,
    type: undefined,
    headers: {},
    userId: undefined,
    redelivered: false,
    deliveryCount: undefined,
  });

  function handler() {
    const events = new RecordingEvents('w1');
    const executed: Command[] = [];
    const handle = createCommandHandler({
      self: 'w1',
      source: 'own',
      maxBytes: 1 << 20,
      maxAttempts: 3,
      parseLimits: { maxCheckNumbers: 2 },
      execute: async (command) => void executed.push(command),
      forward: async () => {
        throw new Error('nothing is forwarded here');
      },
      events,
      logger: silentLogger,
    });
    return { handle, events, executed };
  }

  it.each([
    ['BATCH_TOO_LARGE', { phones: ['+221770000001', '+221770000002', '+221770000003'] }],
    ['INVALID_PHONE', { phones: ['+221770000001', 'nope'] }],
    ['INVALID_COMMAND', { phones: [] }],
    ['INVALID_COMMAND', { phones: 'not a list' }],
  ])('a bad batch is dead-lettered with %s and answered with command_rejected, never executed', async (code, data) => {
    const { handle, events, executed } = handler();
    const outcome = await handle(delivery({ action: 'check_numbers', numberId: 6, workerId: 'w1', requestId: 'req-bad', data }));
    expect(outcome).toEqual({ kind: 'dead-letter', code, reason: expect.any(String) });
    expect(events.sessionEvents).toEqual([expect.objectContaining({ action: 'command_rejected', numberId: 6, code, command: 'check_numbers' })]);
    expect(executed).toEqual([]);
  });

  it('a good batch is executed (limit from CHECK_NUMBERS_MAX_BATCH) and acked', async () => {
    const { handle, events, executed } = handler();
    const outcome = await handle(
      delivery({ action: 'check_numbers', numberId: 6, workerId: 'w1', requestId: 'req-ok', data: { phones: ['+221770000001', '221770000002'] } }),
    );
    expect(outcome).toEqual({ kind: 'ack' });
    expect(executed).toEqual([expect.objectContaining({ action: 'check_numbers', requestId: 'req-ok', phones: ['+221770000001', '+221770000002'] })]);
    expect(events.sessionEvents).toEqual([]);
  });
});

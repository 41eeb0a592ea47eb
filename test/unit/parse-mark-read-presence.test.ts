import type { Delivery } from '../../src/broker/types.js';
import type { Command } from '../../src/commands/command.js';
import { createCommandHandler } from '../../src/commands/command-handler.js';
import { parseCommand } from '../../src/commands/parse-command.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';

const parse = (body: unknown, meta = {}) => parseCommand(Buffer.from(JSON.stringify(body)), meta, { maxBytes: 1024 * 1024 });
const markRead = (data: Record<string, unknown>) => parse({ action: 'mark_read', numberId: 6, workerId: '1', requestId: 'req-1', data });
const presence = (data: Record<string, unknown>) => parse({ action: 'send_presence', numberId: 6, workerId: '1', requestId: 'req-1', data });
const ids = (n: number) => Array.from({ length: n }, (_, i) => `3EB0${String(i).padStart(8, '0')}`);

describe('parseCommand: mark_read', () => {
  it('accepts a contact (canonical +E.164) and its message ids, each once, in order', () => {
    const r = markRead({ chat: '221 77 000 00 01', messageIds: ['3EB0AA', 'ABCDEF0123456789', '3EB0AA'] });
    expect(r).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'mark_read',
        numberId: 6,
        requestId: 'req-1',
        chat: '+221770000001',
        messageIds: ['3EB0AA', 'ABCDEF0123456789'],
      }),
    });
  });

  it('fields may sit at the top level; the correlation id stands in for requestId; 100 ids and 128-character ids are fine', () => {
    const long = 'A'.repeat(128);
    const r = parse({ action: 'mark_read', numberId: 6, chat: '+221770000001', messageIds: [...ids(99), long] }, { correlationId: 'corr-1' });
    expect(r.ok && r.command).toMatchObject({ requestId: 'corr-1', chat: '+221770000001' });
    expect(r.ok && r.command.action === 'mark_read' && r.command.messageIds).toHaveLength(100);
  });

  it.each([
    ['"messageIds" missing', 'INVALID_COMMAND', { chat: '+221770000001' }, /needs "messageIds", a non-empty array/],
    ['"messageIds" empty', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: [] }, /needs "messageIds", a non-empty array/],
    ['"messageIds" not an array', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: '3EB0AA' }, /data\.messageIds/],
    ['an id that is not a string', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: ['3EB0AA', 7] }, /data\.messageIds\.1/],
    ['more than 100 ids', 'BATCH_TOO_LARGE', { chat: '+221770000001', messageIds: ids(101) }, /101 entries, more than 100/],
    [
      'an id with other characters',
      'INVALID_COMMAND',
      { chat: '+221770000001', messageIds: ['3EB0AA', 'a b'] },
      /messageIds\[1\]: .*not a WhatsApp message id/,
    ],
    ['an empty id', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: [''] }, /messageIds\[0\]/],
    ['an id longer than 128', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: ['A'.repeat(129)] }, /messageIds\[0\]/],
    ['"chat" missing', 'INVALID_COMMAND', { messageIds: ['3EB0AA'] }, /needs "chat"/],
    ['"chat" not a phone', 'INVALID_PHONE', { chat: 'call me', messageIds: ['3EB0AA'] }, /^chat: .*not a phone number/],
    ['"chat" a national number', 'INVALID_PHONE', { chat: '0771234567', messageIds: ['3EB0AA'] }, /^chat: /],
  ])('%s → %s', (_what, code, data, reason) => {
    expect(markRead(data)).toMatchObject({
      ok: false,
      code,
      reason: expect.stringMatching(reason),
      hint: { action: 'mark_read', numberId: 6, requestId: 'req-1' },
    });
  });

  it('needs a requestId (or a correlation id): its answer carries it', () => {
    const r = parse({ action: 'mark_read', numberId: 6, data: { chat: '+221770000001', messageIds: ['3EB0AA'] } });
    expect(r).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(/"mark_read" needs "requestId"/) });
  });
});

describe('parseCommand: send_presence', () => {
  it.each(['composing', 'recording', 'paused'])('%s with a chat: the contact canonical', (state) => {
    expect(presence({ state, chat: '00221770000001' })).toEqual({
      ok: true,
      command: expect.objectContaining({ action: 'send_presence', requestId: 'req-1', state, chat: '+221770000001' }),
    });
  });

  it.each(['available', 'unavailable'])('%s without a chat: the account presence', (state) => {
    const r = presence({ state });
    expect(r).toEqual({ ok: true, command: expect.objectContaining({ action: 'send_presence', state, chat: undefined }) });
  });

  it.each([
    ['"state" missing', 'INVALID_COMMAND', {}, /needs "state", one of available, unavailable, composing, recording, paused \(got missing\)/],
    ['a bad state', 'INVALID_COMMAND', { state: 'typing', chat: '+221770000001' }, /needs "state".*\(got "typing"\)/],
    ['"state" not a string', 'INVALID_COMMAND', { state: 1 }, /data\.state/],
    ['chat missing for composing', 'INVALID_COMMAND', { state: 'composing' }, /"composing" is a chat state: it needs "chat"/],
    ['chat missing for recording', 'INVALID_COMMAND', { state: 'recording' }, /needs "chat"/],
    ['chat missing for paused', 'INVALID_COMMAND', { state: 'paused' }, /needs "chat"/],
    ['chat given for available', 'INVALID_COMMAND', { state: 'available', chat: '+221770000001' }, /"available" is the account's presence: it takes no "chat"/],
    ['chat given for unavailable', 'INVALID_COMMAND', { state: 'unavailable', chat: '+221770000001' }, /takes no "chat"/],
    ['a bad phone', 'INVALID_PHONE', { state: 'composing', chat: 'call me' }, /^chat: .*not a phone number/],
    ['a JID (phones only)', 'INVALID_PHONE', { state: 'composing', chat: '221770000001@s.whatsapp.net' }, /^chat: /],
  ])('%s → %s', (_what, code, data, reason) => {
    expect(presence(data)).toMatchObject({
      ok: false,
      code,
      reason: expect.stringMatching(reason),
      hint: { action: 'send_presence', numberId: 6, requestId: 'req-1' },
    });
  });

  it('needs a requestId (or a correlation id): its answer carries it', () => {
    const r = parse({ action: 'send_presence', numberId: 6, data: { state: 'available' } });
    expect(r).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(/"send_presence" needs "requestId"/) });
  });
});

describe('mark_read and send_presence through the command handler', () => {
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
    ['mark_read', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: [] }],
    ['mark_read', 'BATCH_TOO_LARGE', { chat: '+221770000001', messageIds: ids(101) }],
    ['mark_read', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: ['no!'] }],
    ['mark_read', 'INVALID_PHONE', { chat: 'nope', messageIds: ['3EB0AA'] }],
    ['send_presence', 'INVALID_COMMAND', { state: 'typing' }],
    ['send_presence', 'INVALID_COMMAND', { state: 'composing' }],
    ['send_presence', 'INVALID_COMMAND', { state: 'available', chat: '+221770000001' }],
    ['send_presence', 'INVALID_PHONE', { state: 'paused', chat: 'nope' }],
  ])('a bad %s is dead-lettered with %s and answered with command_rejected, never executed', async (action, code, data) => {
    const { handle, events, executed } = handler();
    const outcome = await handle(delivery({ action, numberId: 6, workerId: 'w1', requestId: 'req-bad', data }));
    expect(outcome).toEqual({ kind: 'dead-letter', code, reason: expect.any(String) });
    expect(events.sessionEvents).toEqual([expect.objectContaining({ action: 'command_rejected', numberId: 6, code, command: action })]);
    expect(executed).toEqual([]);
  });

  it('good commands are executed and acked', async () => {
    const { handle, events, executed } = handler();
    expect(
      await handle(delivery({ action: 'mark_read', numberId: 6, workerId: 'w1', requestId: 'r-1', data: { chat: '+221770000001', messageIds: ['3EB0AA'] } })),
    ).toEqual({
      kind: 'ack',
    });
    expect(
      await handle(delivery({ action: 'send_presence', numberId: 6, workerId: 'w1', requestId: 'r-2', data: { state: 'recording', chat: '+221770000001' } })),
    ).toEqual({
      kind: 'ack',
    });
    expect(executed).toEqual([
      expect.objectContaining({ action: 'mark_read', requestId: 'r-1', chat: '+221770000001', messageIds: ['3EB0AA'] }),
      expect.objectContaining({ action: 'send_presence', requestId: 'r-2', state: 'recording', chat: '+221770000001' }),
    ]);
    expect(events.sessionEvents).toEqual([]);
  });
});

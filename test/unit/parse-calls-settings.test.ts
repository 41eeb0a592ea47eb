import { parseCommand } from '../../src/commands/parse-command.js';

const parse = (body: unknown, meta = {}) => parseCommand(Buffer.from(JSON.stringify(body)), meta, { maxBytes: 1024 * 1024 });
const rejectCall = (data: Record<string, unknown>, requestId: string | null = 'req-1') =>
  parse({ action: 'reject_call', numberId: 6, workerId: '1', ...(requestId ? { requestId } : {}), data });
const update = (data: Record<string, unknown>, requestId: string | null = 'req-1') =>
  parse({ action: 'update_settings', numberId: 6, workerId: '1', ...(requestId ? { requestId } : {}), data });
const create = (settings: unknown) => parse({ action: 'create', numberId: 6, workerId: '1', data: { phoneNumber: '+221771234567', settings } });

describe('parseCommand: reject_call', () => {
  it('accepts a call id and the caller by PN JID, LID or phone (a phone becomes its JID)', () => {
    expect(rejectCall({ callId: 'A1B2C3D4E5F60718', from: '221770000001@s.whatsapp.net' })).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'reject_call',
        numberId: 6,
        requestId: 'req-1',
        callId: 'A1B2C3D4E5F60718',
        from: '221770000001@s.whatsapp.net',
      }),
    });
    expect(rejectCall({ callId: 'c-1_x', from: '123456789012345@LID' })).toMatchObject({ ok: true, command: { from: '123456789012345@lid' } });
    expect(rejectCall({ callId: 'c1', from: '+221 77 000 00 01' })).toMatchObject({ ok: true, command: { from: '221770000001@s.whatsapp.net' } });
    // Top level, correlation id for requestId.
    expect(parse({ action: 'reject_call', numberId: 6, callId: 'c1', from: '+221770000001' }, { correlationId: 'corr-1' })).toMatchObject({
      ok: true,
      command: { requestId: 'corr-1', callId: 'c1' },
    });
  });

  it.each([
    ['no requestId', 'INVALID_COMMAND', { callId: 'c1', from: '+221770000001' }, null, /needs "requestId".*call_rejected/],
    ['"callId" missing', 'INVALID_COMMAND', { from: '+221770000001' }, 'req-1', /needs "callId"/],
    ['"callId" with a space', 'INVALID_COMMAND', { callId: 'a b', from: '+221770000001' }, 'req-1', /callId: .*not a call id/],
    ['"callId" empty', 'INVALID_COMMAND', { callId: '', from: '+221770000001' }, 'req-1', /callId: .*not a call id/],
    ['"callId" longer than 128', 'INVALID_COMMAND', { callId: 'A'.repeat(129), from: '+221770000001' }, 'req-1', /callId: .*not a call id/],
    ['"callId" beyond the wire bound', 'INVALID_COMMAND', { callId: 'A'.repeat(201), from: '+221770000001' }, 'req-1', /data\.callId/],
    ['"callId" not a string', 'INVALID_COMMAND', { callId: 7, from: '+221770000001' }, 'req-1', /data\.callId/],
    ['"from" missing', 'INVALID_COMMAND', { callId: 'c1' }, 'req-1', /needs "from"/],
    ['"from" a group', 'INVALID_RECIPIENT', { callId: 'c1', from: '120363000000000000@g.us' }, 'req-1', /from: .*not a caller's JID/],
    ['"from" a device JID', 'INVALID_RECIPIENT', { callId: 'c1', from: '221770000001:3@s.whatsapp.net' }, 'req-1', /from: /],
    ['"from" another server', 'INVALID_RECIPIENT', { callId: 'c1', from: '221770000001@example.com' }, 'req-1', /from: /],
    ['"from" not a phone', 'INVALID_PHONE', { callId: 'c1', from: 'call me' }, 'req-1', /^from: /],
    ['"from" a national number', 'INVALID_PHONE', { callId: 'c1', from: '0771234567' }, 'req-1', /^from: /],
  ])('%s → %s', (_what, code, data, requestId, reason) => {
    expect(rejectCall(data, requestId)).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason), hint: { action: 'reject_call', numberId: 6 } });
  });
});

describe('parseCommand: update_settings', () => {
  it('accepts the fields it names, null (back to the default) included', () => {
    const r = update({ settings: { autoRead: true, rejectCallMessage: null, historySync: 'full' } });
    expect(r).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'update_settings',
        requestId: 'req-1',
        settings: { autoRead: true, rejectCallMessage: null, historySync: 'full' },
      }),
    });
    expect(update({ settings: { rejectCalls: false, rejectCallMessage: 'x'.repeat(1000), alwaysOnline: true } })).toMatchObject({ ok: true });
  });

  it.each([
    ['no requestId', { settings: { autoRead: true } }, null, /needs "requestId".*settings_updated/],
    ['"settings" missing', {}, 'req-1', /needs "settings"/],
    ['"settings" empty', { settings: {} }, 'req-1', /names no field/],
    ['an unknown field (named)', { settings: { autoRead: true, ringtone: 'loud' } }, 'req-1', /data\.settings: .*"ringtone"/],
    ['"settings" not an object', { settings: ['autoRead'] }, 'req-1', /data\.settings/],
    ['"rejectCalls" not a boolean', { settings: { rejectCalls: 'yes' } }, 'req-1', /data\.settings\.rejectCalls/],
    ['"autoRead" not a boolean', { settings: { autoRead: 1 } }, 'req-1', /data\.settings\.autoRead/],
    ['"alwaysOnline" not a boolean', { settings: { alwaysOnline: 'true' } }, 'req-1', /data\.settings\.alwaysOnline/],
    ['"historySync" not a mode', { settings: { historySync: 'all' } }, 'req-1', /data\.settings\.historySync/],
    ['"rejectCallMessage" empty', { settings: { rejectCallMessage: '' } }, 'req-1', /data\.settings\.rejectCallMessage/],
    ['"rejectCallMessage" longer than 1000', { settings: { rejectCallMessage: 'x'.repeat(1001) } }, 'req-1', /data\.settings\.rejectCallMessage/],
  ])('%s → INVALID_COMMAND', (_what, data, requestId, reason) => {
    expect(update(data, requestId)).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(reason) });
  });
});

describe('parseCommand: create with settings', () => {
  it('carries them (possibly empty); without settings, none', () => {
    expect(create({ rejectCalls: true, rejectCallMessage: 'Please write' })).toMatchObject({
      ok: true,
      command: { action: 'create', settings: { rejectCalls: true, rejectCallMessage: 'Please write' } },
    });
    expect(create({})).toMatchObject({ ok: true, command: { settings: {} } });
    const plain = parse({ action: 'create', numberId: 6, data: { phoneNumber: '+221771234567' } });
    expect(plain.ok && 'settings' in plain.command).toBe(false);
  });

  it('refuses unknown or malformed fields like update_settings, and settings on another session action', () => {
    expect(create({ rejectCalls: true, colour: 'blue' })).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(/"colour"/) });
    expect(create({ historySync: 'everything' })).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(/historySync/) });
    expect(parse({ action: 'status', numberId: 6, data: { settings: { autoRead: true } } })).toMatchObject({
      ok: false,
      code: 'INVALID_COMMAND',
      reason: expect.stringMatching(/"status" takes no "settings"/),
    });
  });
});

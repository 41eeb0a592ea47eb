import { parseCommand } from '../../src/commands/parse-command.js';

const parse = (body: unknown, meta = {}) => parseCommand(Buffer.from(JSON.stringify(body)), meta, { maxBytes: 1024 * 1024 });
const edit = (data: Record<string, unknown>) => parse({ action: 'edit_message', numberId: 6, workerId: '1', requestId: 'req-1', data });
const del = (data: Record<string, unknown>) => parse({ action: 'delete_message', numberId: 6, workerId: '1', requestId: 'req-1', data });
const GROUP = '120363000000000001@g.us';

describe('parseCommand: edit_message', () => {
  it('accepts a phone chat (kept as given, and as a JID), the message id and the new text', () => {
    expect(edit({ chat: '+221 77 000 00 01', messageId: '3EB0ABCDEF0123456789AB', text: 'fixed typo' })).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'edit_message',
        numberId: 6,
        requestId: 'req-1',
        chat: '+221 77 000 00 01',
        chatJid: '221770000001@s.whatsapp.net',
        messageId: '3EB0ABCDEF0123456789AB',
        text: 'fixed typo',
      }),
    });
  });

  it('accepts LID and group JIDs, fields at the top level, the correlation id as requestId', () => {
    const r = parse({ action: 'edit_message', numberId: 6, chat: GROUP, messageId: 'A'.repeat(128), text: 'x' }, { correlationId: 'corr-1' });
    expect(r.ok && r.command).toMatchObject({ requestId: 'corr-1', chatJid: GROUP });
    expect(edit({ chat: '111222333444@lid', messageId: '3EB0AA', text: 'y' })).toMatchObject({ ok: true, command: { chatJid: '111222333444@lid' } });
  });

  it.each([
    ['"chat" missing', 'INVALID_COMMAND', { messageId: '3EB0AA', text: 'x' }, /needs "chat"/],
    ['"chat" neither phone nor JID', 'INVALID_RECIPIENT', { chat: 'call me', messageId: '3EB0AA', text: 'x' }, /^chat: .*neither a phone number/],
    ['"chat" a device JID', 'INVALID_RECIPIENT', { chat: '221770000001:3@s.whatsapp.net', messageId: '3EB0AA', text: 'x' }, /^chat: /],
    ['"chat" too long', 'INVALID_COMMAND', { chat: '1'.repeat(65), messageId: '3EB0AA', text: 'x' }, /data\.chat/],
    ['"messageId" missing', 'INVALID_COMMAND', { chat: '+221770000001', text: 'x' }, /needs "messageId"/],
    ['"messageId" with other characters', 'INVALID_COMMAND', { chat: '+221770000001', messageId: '3EB0/../x', text: 'x' }, /not a WhatsApp message id/],
    ['"messageId" longer than 128', 'INVALID_COMMAND', { chat: '+221770000001', messageId: 'A'.repeat(129), text: 'x' }, /not a WhatsApp message id/],
    ['"messageId" longer than the schema allows', 'INVALID_COMMAND', { chat: '+221770000001', messageId: 'A'.repeat(201), text: 'x' }, /data\.messageId/],
    ['"messageId" not a string', 'INVALID_COMMAND', { chat: '+221770000001', messageId: 7, text: 'x' }, /data\.messageId/],
    ['"text" missing', 'INVALID_COMMAND', { chat: '+221770000001', messageId: '3EB0AA' }, /needs "text"/],
    ['"text" blank', 'INVALID_COMMAND', { chat: '+221770000001', messageId: '3EB0AA', text: '   ' }, /needs "text"/],
    ['"text" too long', 'INVALID_COMMAND', { chat: '+221770000001', messageId: '3EB0AA', text: 'x'.repeat(65_537) }, /data\.text/],
  ])('%s → %s', (_what, code, data, reason) => {
    expect(edit(data)).toMatchObject({
      ok: false,
      code,
      reason: expect.stringMatching(reason),
      hint: { action: 'edit_message', numberId: 6, requestId: 'req-1' },
    });
  });

  it('needs a requestId (its answer carries it; it keeps a redelivery from editing twice)', () => {
    expect(parse({ action: 'edit_message', numberId: 6, chat: '+221770000001', messageId: '3EB0AA', text: 'x' })).toMatchObject({
      ok: false,
      code: 'INVALID_COMMAND',
      reason: expect.stringMatching(/"edit_message" needs "requestId".*message_edit_sent/),
    });
  });
});

describe('parseCommand: delete_message', () => {
  it('our own message by default (fromMe true, no participant)', () => {
    expect(del({ chat: '+221770000001', messageId: '3EB0AA' })).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'delete_message',
        requestId: 'req-1',
        chat: '+221770000001',
        chatJid: '221770000001@s.whatsapp.net',
        messageId: '3EB0AA',
        fromMe: true,
        participant: undefined,
      }),
    });
  });

  it("a member's message in a group, as admin: fromMe false with the member (phone, JID or LID) as a JID", () => {
    expect(del({ chat: GROUP, messageId: '3EB0AA', fromMe: false, participant: '111222333444@lid' })).toMatchObject({
      ok: true,
      command: { chatJid: GROUP, fromMe: false, participant: '111222333444@lid' },
    });
    expect(del({ chat: GROUP, messageId: '3EB0AA', fromMe: false, participant: '+221770000002' })).toMatchObject({
      ok: true,
      command: { participant: '221770000002@s.whatsapp.net' },
    });
  });

  it.each([
    ['"chat" missing', 'INVALID_COMMAND', { messageId: '3EB0AA' }, /needs "chat"/],
    ['"chat" neither phone nor JID', 'INVALID_RECIPIENT', { chat: 'x@evil.com', messageId: '3EB0AA' }, /^chat: /],
    ['"messageId" missing', 'INVALID_COMMAND', { chat: '+221770000001' }, /needs "messageId"/],
    ['"messageId" with other characters', 'INVALID_COMMAND', { chat: '+221770000001', messageId: 'a b' }, /not a WhatsApp message id/],
    ['"fromMe" not a boolean', 'INVALID_COMMAND', { chat: '+221770000001', messageId: '3EB0AA', fromMe: 'no' }, /data\.fromMe/],
    ['"participant" with fromMe true', 'INVALID_COMMAND', { chat: GROUP, messageId: '3EB0AA', participant: '+221770000002' }, /"fromMe": false only/],
    [
      'fromMe false in a 1:1 chat',
      'INVALID_COMMAND',
      { chat: '+221770000001', messageId: '3EB0AA', fromMe: false, participant: '+221770000001' },
      /only for groups/,
    ],
    ['fromMe false without participant', 'INVALID_COMMAND', { chat: GROUP, messageId: '3EB0AA', fromMe: false }, /needs "participant"/],
    ['a participant that is nobody', 'INVALID_RECIPIENT', { chat: GROUP, messageId: '3EB0AA', fromMe: false, participant: 'admin' }, /^participant: /],
    ['a participant that is a group', 'INVALID_RECIPIENT', { chat: GROUP, messageId: '3EB0AA', fromMe: false, participant: GROUP }, /not a group/],
    ['a participant too long', 'INVALID_COMMAND', { chat: GROUP, messageId: '3EB0AA', fromMe: false, participant: '1'.repeat(101) }, /data\.participant/],
  ])('%s → %s', (_what, code, data, reason) => {
    expect(del(data)).toMatchObject({
      ok: false,
      code,
      reason: expect.stringMatching(reason),
      hint: { action: 'delete_message', numberId: 6, requestId: 'req-1' },
    });
  });

  it('needs a requestId', () => {
    expect(parse({ action: 'delete_message', numberId: 6, chat: '+221770000001', messageId: '3EB0AA' })).toMatchObject({
      ok: false,
      code: 'INVALID_COMMAND',
      reason: expect.stringMatching(/"delete_message" needs "requestId".*message_deleted/),
    });
  });
});

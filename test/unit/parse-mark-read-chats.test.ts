import { parseCommand } from '../../src/commands/parse-command.js';
import { parseMarkRead } from '../../src/commands/parse-mark-read.js';

const parse = (body: unknown) => parseCommand(Buffer.from(JSON.stringify(body)), {}, { maxBytes: 1024 * 1024 });
const markRead = (data: Record<string, unknown>) => parse({ action: 'mark_read', numberId: 6, workerId: '1', requestId: 'req-1', data });
const GROUP = '120363000000000001@g.us';

describe('parseCommand: mark_read of a JID chat, a group, upTo', () => {
  it.each([
    [
      'a user JID',
      { chat: '221770000001@S.WhatsApp.net', messageIds: ['3EB0AA'] },
      { chat: '221770000001@s.whatsapp.net', chatJid: '221770000001@s.whatsapp.net' },
    ],
    ['a LID', { chat: '111111111111111@lid', messageIds: ['3EB0AA'] }, { chat: '111111111111111@lid', chatJid: '111111111111111@lid' }],
    ['a group', { chat: GROUP, messageIds: ['3EB0AA'] }, { chat: GROUP, chatJid: GROUP, participant: undefined }],
    [
      'a phone, answered canonical as before',
      { chat: '00221 77 000 00 01', upTo: '3EB0BB' },
      { chat: '+221770000001', chatJid: '221770000001@s.whatsapp.net' },
    ],
  ])('%s', (_what, data, expected) => {
    const r = markRead(data);
    expect(r).toEqual({ ok: true, command: expect.objectContaining({ action: 'mark_read', requestId: 'req-1', ...expected }) });
  });

  it('upTo instead of messageIds: no messageIds on the command', () => {
    const r = markRead({ chat: '+221770000001', upTo: '3EB0BB' });
    expect(r.ok && r.command.action === 'mark_read' && [r.command.upTo, r.command.messageIds]).toEqual(['3EB0BB', undefined]);
  });

  it('a group member named by phone, JID or LID: its JID', () => {
    expect(parseMarkRead({ chat: GROUP, messageIds: ['3EB0AA'], participant: '+221 77 000 00 02' })).toMatchObject({
      ok: true,
      participant: '221770000002@s.whatsapp.net',
    });
    expect(parseMarkRead({ chat: GROUP, upTo: '3EB0AA', participant: '222222222222222@lid' })).toMatchObject({ ok: true, participant: '222222222222222@lid' });
    const top = parse({ action: 'mark_read', numberId: 6, requestId: 'r', chat: GROUP, messageIds: ['3EB0AA'], participant: '221770000002@s.whatsapp.net' });
    expect(top.ok && top.command).toMatchObject({ participant: '221770000002@s.whatsapp.net' });
  });

  it.each([
    ['a device JID', 'INVALID_RECIPIENT', { chat: '221770000001:3@s.whatsapp.net', messageIds: ['3EB0AA'] }, /^chat: .*not a user/],
    ['a newsletter JID', 'INVALID_RECIPIENT', { chat: '1203630000@newsletter', messageIds: ['3EB0AA'] }, /^chat: /],
    ['a broadcast JID', 'INVALID_RECIPIENT', { chat: 'status@broadcast', messageIds: ['3EB0AA'] }, /^chat: /],
    [
      'both messageIds and upTo',
      'INVALID_COMMAND',
      { chat: '+221770000001', messageIds: ['3EB0AA'], upTo: '3EB0BB' },
      /either "messageIds" .* or "upTo" .*not both/,
    ],
    ['neither messageIds nor upTo', 'INVALID_COMMAND', { chat: '+221770000001' }, /needs "messageIds", .* or "upTo"/],
    ['an empty upTo', 'INVALID_COMMAND', { chat: '+221770000001', upTo: '' }, /^upTo: .*not a WhatsApp message id/],
    ['an upTo with other characters', 'INVALID_COMMAND', { chat: '+221770000001', upTo: '3EB0/../x' }, /^upTo: /],
    ['an upTo longer than 128', 'INVALID_COMMAND', { chat: '+221770000001', upTo: 'A'.repeat(129) }, /^upTo: /],
    ['an upTo longer than the wire allows', 'INVALID_COMMAND', { chat: '+221770000001', upTo: 'A'.repeat(201) }, /data\.upTo/],
    ['an upTo that is not a string', 'INVALID_COMMAND', { chat: '+221770000001', upTo: 7 }, /data\.upTo/],
    ['participant outside a group', 'INVALID_COMMAND', { chat: '+221770000001', messageIds: ['3EB0AA'], participant: '+221770000002' }, /group "chat" .* only/],
    ['participant not a phone or JID', 'INVALID_RECIPIENT', { chat: GROUP, messageIds: ['3EB0AA'], participant: 'the admin' }, /^participant: /],
    ['participant a device JID', 'INVALID_RECIPIENT', { chat: GROUP, messageIds: ['3EB0AA'], participant: '221770000002:7@s.whatsapp.net' }, /^participant: /],
    ['participant a group', 'INVALID_RECIPIENT', { chat: GROUP, upTo: '3EB0AA', participant: '120363000000000002@g.us' }, /a person .* not a group/],
    ['participant not a string', 'INVALID_COMMAND', { chat: GROUP, upTo: '3EB0AA', participant: ['+221770000002'] }, /data\.participant/],
  ])('%s → %s', (_what, code, data, reason) => {
    expect(markRead(data)).toMatchObject({
      ok: false,
      code,
      reason: expect.stringMatching(reason),
      hint: { action: 'mark_read', numberId: 6, requestId: 'req-1' },
    });
  });
});

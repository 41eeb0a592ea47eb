import { parseCommand } from '../../src/commands/parse-command.js';
import { GROUP_PARTICIPANTS_MAX } from '../../src/commands/parse-group-commands.js';

const limits = { maxBytes: 1024 * 1024, maxMediaBytes: 64 * 1024 };
const parse = (body: unknown, meta = {}) => parseCommand(Buffer.from(JSON.stringify(body)), meta, limits);
const command = (action: string, data: Record<string, unknown> = {}) => parse({ action, numberId: 6, workerId: '1', requestId: 'req-1', data });
const GROUP = '120363000000000001@g.us';

describe('parseCommand: the group commands', () => {
  it('create_group: phones become JIDs, JIDs and LIDs are kept, duplicates dropped; the subject is trimmed', () => {
    expect(command('create_group', { subject: '  Team ', participants: ['+221 77 000 00 01', '221770000001@s.whatsapp.net', '123456789012345@LID'] })).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'create_group',
        requestId: 'req-1',
        subject: 'Team',
        participants: ['221770000001@s.whatsapp.net', '123456789012345@lid'],
      }),
    });
  });

  it('update_group: the changes given; group_participants: the operation; group_invite: revoke defaults to false', () => {
    expect(command('update_group', { group: GROUP.toUpperCase().replace('@G.US', '@g.us'), subject: 'New', announce: false, ephemeral: 0 })).toMatchObject({
      ok: true,
      command: { group: GROUP, changes: { subject: 'New', announce: false, ephemeral: 0 } },
    });
    expect(command('update_group', { group: GROUP, description: 'line one\nline two', locked: true, ephemeral: 7776000 })).toMatchObject({
      ok: true,
      command: { changes: { description: 'line one\nline two', locked: true, ephemeral: 7776000 } },
    });
    expect(command('group_participants', { group: GROUP, operation: 'demote', participants: ['+221770000001'] })).toMatchObject({
      ok: true,
      command: { action: 'group_participants', group: GROUP, operation: 'demote', participants: ['221770000001@s.whatsapp.net'] },
    });
    expect(command('group_invite', { group: GROUP })).toMatchObject({ ok: true, command: { revoke: false } });
    expect(command('group_invite', { group: GROUP, revoke: true })).toMatchObject({ ok: true, command: { revoke: true } });
  });

  it('join_group / group_invite_info take a code or its link; leave_group, get_group a group; list_groups nothing', () => {
    expect(command('join_group', { code: 'AbCdEf0123456789GhIjKl' })).toMatchObject({ ok: true, command: { code: 'AbCdEf0123456789GhIjKl' } });
    expect(command('group_invite_info', { code: 'https://chat.whatsapp.com/AbCdEf0123456789GhIjKl' })).toMatchObject({
      ok: true,
      command: { code: 'AbCdEf0123456789GhIjKl' },
    });
    expect(command('leave_group', { group: GROUP })).toMatchObject({ ok: true, command: { action: 'leave_group', group: GROUP } });
    expect(command('get_group', { group: GROUP })).toMatchObject({ ok: true, command: { action: 'get_group', group: GROUP } });
    expect(command('group_requests', { group: GROUP, operation: 'list' })).toMatchObject({ ok: true, command: { operation: 'list' } });
    expect(command('group_requests', { group: GROUP, operation: 'reject', participants: ['+221770000001'] })).toMatchObject({
      ok: true,
      command: { operation: 'reject', participants: ['221770000001@s.whatsapp.net'] },
    });
    expect(command('list_groups')).toMatchObject({ ok: true, command: { action: 'list_groups', requestId: 'req-1' } });
    expect(parse({ action: 'list_groups', numberId: 6 }, { correlationId: 'corr-1' })).toMatchObject({ ok: true, command: { requestId: 'corr-1' } });
  });

  const many = Array.from({ length: GROUP_PARTICIPANTS_MAX + 1 }, (_, i) => `+2217700${String(i).padStart(5, '0')}`);
  it.each([
    ['no requestId', 'INVALID_COMMAND', { action: 'list_groups', numberId: 6 }, /needs "requestId".*groups_listed/, ''],
    ['create_group without subject', 'INVALID_COMMAND', { subject: undefined, participants: ['+221770000001'] }, /needs "subject"/, 'create_group'],
    ['an empty subject', 'INVALID_COMMAND', { subject: '   ', participants: ['+221770000001'] }, /must not be empty/, 'create_group'],
    [
      'a subject over 100 characters',
      'INVALID_COMMAND',
      { subject: 'x'.repeat(101), participants: ['+221770000001'] },
      /more than WhatsApp's 100/,
      'create_group',
    ],
    ['a subject with a newline', 'INVALID_COMMAND', { subject: 'a\nb', participants: ['+221770000001'] }, /control characters/, 'create_group'],
    ['no participants', 'INVALID_COMMAND', { subject: 'T' }, /needs "participants"/, 'create_group'],
    ['empty participants', 'INVALID_COMMAND', { subject: 'T', participants: [] }, /needs "participants"/, 'create_group'],
    ['more than 1024 participants', 'BATCH_TOO_LARGE', { subject: 'T', participants: many }, /more than WhatsApp's 1024/, 'create_group'],
    ['a participant not a phone', 'INVALID_PHONE', { subject: 'T', participants: ['+221770000001', 'bob'] }, /participants\[1\]/, 'create_group'],
    ['a participant a group', 'INVALID_RECIPIENT', { subject: 'T', participants: [GROUP] }, /is a group/, 'create_group'],
    ['a participant a device JID', 'INVALID_RECIPIENT', { subject: 'T', participants: ['221770000001:3@s.whatsapp.net'] }, /participants\[0\]/, 'create_group'],
    [
      'a field the command does not take',
      'INVALID_COMMAND',
      { subject: 'T', participants: ['+221770000001'], group: GROUP },
      /takes no "group"/,
      'create_group',
    ],
    ['update_group without group', 'INVALID_COMMAND', { subject: 'T' }, /needs "group"/, 'update_group'],
    ['a group that is a user', 'INVALID_RECIPIENT', { group: '221770000001@s.whatsapp.net', subject: 'T' }, /not a group JID/, 'update_group'],
    ['a group that is a phone', 'INVALID_RECIPIENT', { group: '+221770000001' }, /not a group JID/, 'get_group'],
    ['update_group without changes', 'INVALID_COMMAND', { group: GROUP }, /at least one of/, 'update_group'],
    ['a description over 2048', 'INVALID_COMMAND', { group: GROUP, description: 'x'.repeat(2049) }, /more than WhatsApp's 2048/, 'update_group'],
    ['a description with a control character', 'INVALID_COMMAND', { group: GROUP, description: 'a\u0007' }, /control characters/, 'update_group'],
    ['an ephemeral WhatsApp does not offer', 'INVALID_COMMAND', { group: GROUP, ephemeral: 3600 }, /one of 0, 86400/, 'update_group'],
    ['group_participants without operation', 'INVALID_COMMAND', { group: GROUP, participants: ['+221770000001'] }, /needs "operation"/, 'group_participants'],
    ['an unknown operation', 'INVALID_COMMAND', { group: GROUP, operation: 'ban', participants: ['+221770000001'] }, /needs "operation"/, 'group_participants'],
    ['group_participants without participants', 'INVALID_COMMAND', { group: GROUP, operation: 'add' }, /needs "participants"/, 'group_participants'],
    ['join_group without code', 'INVALID_COMMAND', {}, /needs "code"/, 'join_group'],
    ['a code that is not one', 'INVALID_COMMAND', { code: 'abc def' }, /neither an invite code/, 'group_invite_info'],
    ['a link elsewhere', 'INVALID_COMMAND', { code: 'https://evil.example/AbCdEf0123456789GhIjKl' }, /neither an invite code/, 'join_group'],
    ['group_requests without operation', 'INVALID_COMMAND', { group: GROUP }, /list, approve or reject/, 'group_requests'],
    ['group_requests approve without participants', 'INVALID_COMMAND', { group: GROUP, operation: 'approve' }, /needs "participants"/, 'group_requests'],
    [
      'group_requests list with participants',
      'INVALID_COMMAND',
      { group: GROUP, operation: 'list', participants: ['+221770000001'] },
      /takes no "participants"/,
      'group_requests',
    ],
    [
      'picture with removePicture',
      'INVALID_COMMAND',
      { group: GROUP, picture: { url: 'https://cdn.example/p.png' }, removePicture: true },
      /exclude each other/,
      'update_group',
    ],
    [
      'a picture that is not an image',
      'INVALID_MEDIA',
      { group: GROUP, picture: { base64: Buffer.from('hello').toString('base64') } },
      /^picture: /,
      'update_group',
    ],
    ['a picture without a source', 'INVALID_MEDIA', { group: GROUP, picture: {} }, /^picture: /, 'update_group'],
    ['list_groups with a field', 'INVALID_COMMAND', { group: GROUP }, /takes no "group"/, 'list_groups'],
    ['a non-boolean announce', 'INVALID_COMMAND', { group: GROUP, announce: 'yes' }, /announce/, 'update_group'],
  ] as Array<[string, string, Record<string, unknown>, RegExp, string]>)('%s → %s', (_what, code, body, reason, action) => {
    const r = action ? command(action, body) : parse(body);
    expect(r).toMatchObject({ ok: false, code });
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

import type { GroupCommand, SessionCommand } from '../../src/commands/command.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import { WorkerError } from '../../src/util/errors.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { PNG_8x8 } from '../helpers/images.js';
import { testSessionDeps } from '../fakes/session-deps.js';

const SID = 'session_6_+221771234567';
const ALICE = '221770000001@s.whatsapp.net';
const BOB = '221770000002@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const base = { numberId: 6, phoneNumber: '+221771234567', sessionId: SID, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
const create: SessionCommand = { ...base, action: 'create', requestId: 'req-create' };
const group = (requestId: string, part: Record<string, unknown>): GroupCommand => ({ ...base, requestId, ...part }) as GroupCommand;
const unknown = { numberId: 99, sessionId: undefined };

async function connected(waitMs = 2000) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const deps = testSessionDeps({ connector, events, messaging: { sendWaitForOpenMs: waitMs, mediaMaxBytes: 64 * 1024 } });
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  await manager.execute(create);
  const socket = connector.latest(SID)!;
  socket.open('221771234567');
  await events.until(() => events.actions().includes('connected'));
  return { manager, socket, events };
}

describe('group commands, session side', () => {
  it('create_group answers group_created with the failures and their reasons', async () => {
    const { manager, socket, events } = await connected();
    socket.groups.statuses.set(BOB, 403);
    await manager.execute(group('c-1', { action: 'create_group', subject: 'Team', participants: [ALICE, BOB] }));
    expect(socket.groups.calls).toEqual([{ method: 'createGroup', args: ['Team', [ALICE, BOB]] }]);
    expect(events.messages('group_created')).toEqual([
      expect.objectContaining({
        sessionId: SID,
        requestId: 'c-1',
        subject: 'Team',
        groupJid: expect.stringMatching(/@g\.us$/),
        participants: [{ jid: ALICE, role: 'member' }],
        failed: [{ jid: BOB, status: 403, ok: false, reason: 'privacy' }],
      }),
    ]);
  });

  it('a redelivered create_group (same requestId) answers with the same group without creating another', async () => {
    const { manager, socket, events } = await connected();
    const cmd = group('c-2', { action: 'create_group', subject: 'Once', participants: [ALICE] });
    await manager.execute(cmd);
    await manager.execute(cmd);
    expect(socket.groups.calls.filter((c) => c.method === 'createGroup')).toHaveLength(1);
    const [first, second] = events.messages('group_created');
    expect(second?.groupJid).toBe(first?.groupJid);
  });

  it('update_group applies each change in order and says what changed; a refusal midway names the field', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(group('u-1', { action: 'update_group', group: GROUP, changes: { ephemeral: 0, subject: 'S', locked: true } }));
    expect(socket.groups.calls.map((c) => c.args[1])).toEqual([
      { field: 'subject', value: 'S' },
      { field: 'locked', value: true },
      { field: 'ephemeral', value: 0 },
    ]);
    expect(events.messages('group_update_done')).toEqual([
      expect.objectContaining({ requestId: 'u-1', groupJid: GROUP, updated: ['subject', 'locked', 'ephemeral'] }),
    ]);
    const update = group('u-2', { action: 'update_group', group: GROUP, changes: { subject: 'S', announce: true } });
    const realUpdate = socket.groups.updateGroup.bind(socket.groups);
    let calls = 0;
    socket.groups.updateGroup = async (jid, change) => {
      if (++calls === 2) throw new WorkerError('NOT_ADMIN', 'only admins');
      return realUpdate(jid, change);
    };
    await manager.execute(update);
    expect(events.messages('group_update_failed')).toEqual([
      expect.objectContaining({
        requestId: 'u-2',
        groupJid: GROUP,
        code: 'NOT_ADMIN',
        requested: ['subject', 'announce'],
        updated: ['subject'],
        failed: 'announce',
      }),
    ]);
  });

  it('update_group picture: fetched and checked first (a file that is no image changes nothing), then sent before the other fields', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(group('pic-1', { action: 'update_group', group: GROUP, changes: { subject: 'S', picture: { kind: 'base64', data: PNG_8x8 } } }));
    expect(socket.groups.calls.map((c) => (c.args[1] as { field: string }).field)).toEqual(['picture', 'subject']);
    expect(events.messages('group_update_done')).toEqual([expect.objectContaining({ requestId: 'pic-1', updated: ['picture', 'subject'] })]);
    await manager.execute(
      group('pic-2', { action: 'update_group', group: GROUP, changes: { subject: 'S', picture: { kind: 'base64', data: Buffer.from('not an image') } } }),
    );
    expect(events.messages('group_update_failed')).toEqual([
      expect.objectContaining({ requestId: 'pic-2', code: 'INVALID_MEDIA', requested: ['picture', 'subject'], updated: [], failed: 'picture' }),
    ]);
    expect(socket.groups.calls).toHaveLength(2);
  });

  it('group_participants: one result per participant with its reason', async () => {
    const { manager, socket, events } = await connected();
    socket.groups.statuses.set(BOB, 404);
    await manager.execute(group('p-1', { action: 'group_participants', group: GROUP, operation: 'remove', participants: [ALICE, BOB] }));
    expect(events.messages('group_participants_done')).toEqual([
      expect.objectContaining({
        requestId: 'p-1',
        operation: 'remove',
        results: [
          { jid: ALICE, status: 200, ok: true },
          { jid: BOB, status: 404, ok: false, reason: 'not_a_member' },
        ],
      }),
    ]);
  });

  it('group_invite, join_group, group_invite_info, leave_group, list_groups, get_group answer with their events', async () => {
    const { manager, socket, events } = await connected();
    const info = {
      jid: GROUP,
      subject: 'T',
      size: 1,
      announce: false,
      locked: false,
      joinApproval: false,
      participants: [{ jid: ALICE, role: 'superadmin' as const }],
    };
    socket.groups.groups.set(GROUP, info);
    await manager.execute(group('i-1', { action: 'group_invite', group: GROUP, revoke: true }));
    await manager.execute(group('j-1', { action: 'join_group', code: 'AbCdEf0123456789GhIjKl' }));
    await manager.execute(group('ii-1', { action: 'group_invite_info', code: 'AbCdEf0123456789GhIjKl' }));
    await manager.execute(group('lv-1', { action: 'leave_group', group: GROUP }));
    await manager.execute(group('l-1', { action: 'list_groups' }));
    await manager.execute(group('g-1', { action: 'get_group', group: GROUP }));
    expect(events.messages('group_invite_fetched')).toEqual([
      expect.objectContaining({
        groupJid: GROUP,
        inviteCode: 'NewInviteCode0123456789',
        inviteLink: 'https://chat.whatsapp.com/NewInviteCode0123456789',
        revoked: true,
      }),
    ]);
    expect(events.messages('group_join_done')).toEqual([
      expect.objectContaining({ inviteCode: 'AbCdEf0123456789GhIjKl', groupJid: '120363999999999999@g.us' }),
    ]);
    expect(events.messages('group_invite_info_fetched')).toEqual([expect.objectContaining({ metadata: info })]);
    expect(events.messages('group_left')).toEqual([expect.objectContaining({ requestId: 'lv-1', groupJid: GROUP })]);
    expect(events.messages('groups_listed')).toEqual([expect.objectContaining({ groups: [info] })]);
    expect(events.messages('group_fetched')).toEqual([expect.objectContaining({ metadata: info })]);
  });

  it('group_requests: list gives the requests; approve / reject one result per participant', async () => {
    const { manager, socket, events } = await connected();
    socket.groups.joinRequests.push({ jid: '111111111111111@lid', phone: ALICE, requestedAt: 1_700_000_000_000 });
    socket.groups.statuses.set(BOB, 404);
    await manager.execute(group('rq-1', { action: 'group_requests', group: GROUP, operation: 'list' }));
    await manager.execute(group('rq-2', { action: 'group_requests', group: GROUP, operation: 'approve', participants: [ALICE, BOB] }));
    expect(socket.groups.calls.at(-1)).toEqual({ method: 'answerJoinRequests', args: [GROUP, [ALICE, BOB], true] });
    expect(events.messages('group_requests_done')).toEqual([
      expect.objectContaining({
        requestId: 'rq-1',
        operation: 'list',
        requests: [{ jid: '111111111111111@lid', phone: ALICE, requestedAt: 1_700_000_000_000 }],
      }),
      expect.objectContaining({
        requestId: 'rq-2',
        operation: 'approve',
        results: [
          { jid: ALICE, status: 200, ok: true },
          { jid: BOB, status: 404, ok: false, reason: 'not_a_member' },
        ],
      }),
    ]);
  });

  it.each([
    ['NOT_ADMIN', new WorkerError('NOT_ADMIN', 'only admins')],
    ['NOT_A_MEMBER', new WorkerError('NOT_A_MEMBER', 'not in it')],
    ['UNKNOWN_GROUP', new WorkerError('UNKNOWN_GROUP', 'no such group')],
    ['WHATSAPP_ERROR', new Error('socket write failed')],
  ])('a WhatsApp refusal → the failure event with %s', async (code, err) => {
    const { manager, socket, events } = await connected();
    socket.groups.failNext = err;
    await manager.execute(group('g-1', { action: 'get_group', group: GROUP }));
    expect(events.messages('group_fetch_failed')).toEqual([expect.objectContaining({ requestId: 'g-1', groupJid: GROUP, code })]);
  });

  it('unknown session and not connected: every command answers with its own failure event', async () => {
    const { manager, socket, events } = await connected(50);
    const commands: Array<[Record<string, unknown>, string]> = [
      [{ action: 'create_group', subject: 'T', participants: [ALICE] }, 'group_create_failed'],
      [{ action: 'update_group', group: GROUP, changes: { subject: 'S' } }, 'group_update_failed'],
      [{ action: 'group_participants', group: GROUP, operation: 'add', participants: [ALICE] }, 'group_participants_failed'],
      [{ action: 'group_invite', group: GROUP, revoke: false }, 'group_invite_failed'],
      [{ action: 'join_group', code: 'AbCdEf0123456789GhIjKl' }, 'group_join_failed'],
      [{ action: 'group_invite_info', code: 'AbCdEf0123456789GhIjKl' }, 'group_invite_info_failed'],
      [{ action: 'leave_group', group: GROUP }, 'group_leave_failed'],
      [{ action: 'list_groups' }, 'groups_list_failed'],
      [{ action: 'get_group', group: GROUP }, 'group_fetch_failed'],
      [{ action: 'group_requests', group: GROUP, operation: 'list' }, 'group_requests_failed'],
    ];
    for (const [part, failed] of commands) {
      await manager.execute({ ...group(`u-${failed}`, part), ...unknown });
      expect(events.messages(failed as 'group_fetch_failed')).toEqual([expect.objectContaining({ requestId: `u-${failed}`, code: 'UNKNOWN_SESSION' })]);
    }
    socket.close(428, 'dropped');
    for (const [part, failed] of commands) {
      await manager.execute(group(`n-${failed}`, part));
      expect(events.messages(failed as 'group_fetch_failed').at(-1)).toEqual(expect.objectContaining({ requestId: `n-${failed}`, code: 'NOT_CONNECTED' }));
    }
    expect(socket.groups.calls).toEqual([]);
  });
});

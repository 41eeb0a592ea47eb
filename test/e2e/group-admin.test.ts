import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import type { Emulator } from '../emulator/index.js';
import { PNG_8x8 } from '../helpers/images.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * Group administration end to end (issue 13): the real worker (real broker, real Baileys) sends the
 * `w:g2` IQs to the emulator, which keeps the groups' state and answers as WhatsApp does (per-participant
 * codes, 401 for a member who is not admin, 403 for a non-member, 404 for an unknown group or code).
 * The `w:gp2` notifications members get are not asserted here (the incoming side); the emulator's state is.
 */
const ACCOUNT = '+221771230041';
const ACCOUNT_DIGITS = ACCOUNT.slice(1);
const ALICE = '15550004101';
const BOB = '15550004102';
const CAROL = '15550004103'; // her privacy refuses being added
const NOBODY = '15550004199'; // not on WhatsApp

describe('group administration over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const command = (w: TestWorker<WhatsAppConnector>, action: string, requestId: string, data: Record<string, unknown> = {}) =>
    scenario.probe.publish(w.config.queues.commands, { action, numberId: 41, workerId: 'ga1', requestId, data: { phoneNumber: ACCOUNT, ...data } });
  const answer = (action: string, requestId: string) => scenario.messages.untilAction(action, (e) => e.requestId === requestId, 20_000);

  const startAndLink = async (): Promise<TestWorker<WhatsAppConnector>> => {
    scenario.workerQueue('ga1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '5000' },
      workerId: 'ga1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 41, workerId: 'ga1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
    return w;
  };

  beforeEach(async () => {
    emulator = await trustedEmulator();
    scenario = await brokerScenario('groupadmin');
    for (const phone of [ALICE, BOB, CAROL]) emulator.addContact(phone);
    emulator.refuseGroupAdds(CAROL);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('create_group (one contact refuses, one is not on WhatsApp), update_group (picture included), participants, get/list, invite, membership requests, leave and join back', async () => {
    const w = await startAndLink();
    await command(w, 'create_group', 'c-1', {
      subject: 'Project',
      participants: [`+${ALICE}`, `${BOB}@s.whatsapp.net`, `+${CAROL}`, `+${NOBODY}`, `+${ALICE}`],
    });
    const created = await answer('group_created', 'c-1');
    const groupJid: string = created.groupJid;
    expect(groupJid).toMatch(/@g\.us$/);
    expect(created.subject).toBe('Project');
    expect(created.failed).toEqual([
      { jid: `${CAROL}@s.whatsapp.net`, status: 403, ok: false, reason: 'privacy', inviteCode: expect.any(String) },
      { jid: `${NOBODY}@s.whatsapp.net`, status: 404, ok: false, reason: 'not_on_whatsapp' },
    ]);
    expect(created.participants.map((p: { phone: string }) => p.phone).sort()).toEqual([ACCOUNT_DIGITS, ALICE, BOB].map((p) => `${p}@s.whatsapp.net`).sort());
    expect(emulator.groupState(groupJid)).toMatchObject({ subject: 'Project', admins: [ACCOUNT_DIGITS] });
    expect(emulator.groupState(groupJid)?.members.sort()).toEqual([ACCOUNT_DIGITS, ALICE, BOB].sort());
    // Each member's phone is told of the new group; the one that refused is not a member and is not told.
    const told = (phone: string) => emulator.groupNotify.seenBy(phone).filter((n) => n.group === groupJid && n.tag === 'create');
    await emulator.until(() => (told(ALICE).length && told(BOB).length ? true : undefined), { what: 'the create notification at each member' });
    expect([told(ALICE).length, told(BOB).length, told(CAROL).length]).toEqual([1, 1, 0]);
    // The account's own devices are told too: the worker reports the group it created.
    const joined = await scenario.messages.untilAction('group_joined', (e) => e.group === groupJid, 20_000);
    expect(joined).toMatchObject({ how: 'created' });

    const picture = { base64: PNG_8x8.toString('base64') };
    await command(w, 'update_group', 'u-1', { group: groupJid, subject: 'Project X', description: 'What we build', announce: true, ephemeral: 86400, picture });
    expect(await answer('group_update_done', 'u-1')).toMatchObject({ groupJid, updated: ['picture', 'subject', 'description', 'announce', 'ephemeral'] });
    expect(emulator.groupState(groupJid)).toMatchObject({
      subject: 'Project X',
      description: 'What we build',
      announce: true,
      ephemeral: 86400,
      locked: false,
    });
    expect(emulator.groupState(groupJid)?.pictureBytes).toBeGreaterThan(0);
    await command(w, 'update_group', 'u-2', { group: groupJid, removePicture: true });
    expect(await answer('group_update_done', 'u-2')).toMatchObject({ updated: ['removePicture'] });
    expect(emulator.groupState(groupJid)?.pictureBytes).toBe(0);

    await command(w, 'group_participants', 'p-1', { group: groupJid, operation: 'promote', participants: [`+${ALICE}`] });
    expect((await answer('group_participants_done', 'p-1')).results).toEqual([{ jid: `${ALICE}@s.whatsapp.net`, status: 200, ok: true }]);
    await command(w, 'group_participants', 'p-2', { group: groupJid, operation: 'remove', participants: [`+${BOB}`] });
    expect((await answer('group_participants_done', 'p-2')).results).toEqual([{ jid: `${BOB}@s.whatsapp.net`, status: 200, ok: true }]);
    await command(w, 'group_participants', 'p-3', { group: groupJid, operation: 'add', participants: [`+${CAROL}`, `+${ALICE}`] });
    expect((await answer('group_participants_done', 'p-3')).results).toEqual([
      { jid: `${CAROL}@s.whatsapp.net`, status: 403, ok: false, reason: 'privacy', inviteCode: expect.any(String) },
      { jid: `${ALICE}@s.whatsapp.net`, status: 409, ok: false, reason: 'already_member' },
    ]);
    expect(emulator.groupState(groupJid)?.members.sort()).toEqual([ACCOUNT_DIGITS, ALICE].sort());
    expect(emulator.groupState(groupJid)?.admins.sort()).toEqual([ACCOUNT_DIGITS, ALICE].sort());

    await command(w, 'get_group', 'g-1', { group: groupJid });
    const { metadata } = await answer('group_fetched', 'g-1');
    expect(metadata).toMatchObject({
      jid: groupJid,
      subject: 'Project X',
      description: 'What we build',
      announce: true,
      locked: false,
      ephemeral: 86400,
      size: 2,
    });
    const roles = Object.fromEntries(metadata.participants.map((p: { phone: string; role: string }) => [p.phone, p.role]));
    expect(roles).toEqual({ [`${ACCOUNT_DIGITS}@s.whatsapp.net`]: 'superadmin', [`${ALICE}@s.whatsapp.net`]: 'admin' });

    await command(w, 'list_groups', 'l-1');
    const listed = await answer('groups_listed', 'l-1');
    expect(listed.groups.map((g: { jid: string; subject: string }) => [g.jid, g.subject])).toEqual([[groupJid, 'Project X']]);

    await command(w, 'group_invite', 'i-1', { group: groupJid });
    const invite = await answer('group_invite_fetched', 'i-1');
    expect(invite).toMatchObject({ inviteCode: emulator.groupState(groupJid)?.inviteCode, revoked: false });
    expect(invite.inviteLink).toBe(`https://chat.whatsapp.com/${invite.inviteCode}`);
    await command(w, 'group_invite', 'i-2', { group: groupJid, revoke: true });
    const revoked = await answer('group_invite_fetched', 'i-2');
    expect(revoked.inviteCode).not.toBe(invite.inviteCode);
    expect(revoked.inviteCode).toBe(emulator.groupState(groupJid)?.inviteCode);

    await command(w, 'group_invite_info', 'ii-1', { code: revoked.inviteLink });
    expect((await answer('group_invite_info_fetched', 'ii-1')).metadata).toMatchObject({ jid: groupJid, subject: 'Project X' });

    emulator.requestToJoinGroup(groupJid, BOB);
    emulator.requestToJoinGroup(groupJid, CAROL);
    await command(w, 'group_requests', 'rq-1', { group: groupJid, operation: 'list' });
    const { requests } = await answer('group_requests_done', 'rq-1');
    expect(requests.map((r: { phone: string }) => r.phone)).toEqual([`${BOB}@s.whatsapp.net`, `${CAROL}@s.whatsapp.net`]);
    await command(w, 'group_requests', 'rq-2', { group: groupJid, operation: 'approve', participants: [`+${BOB}`, `+${ALICE}`] });
    expect((await answer('group_requests_done', 'rq-2')).results).toEqual([
      { jid: `${BOB}@s.whatsapp.net`, status: 200, ok: true },
      { jid: `${ALICE}@s.whatsapp.net`, status: 404, ok: false, reason: 'not_a_member' },
    ]);
    await command(w, 'group_requests', 'rq-3', { group: groupJid, operation: 'reject', participants: [`+${CAROL}`] });
    expect((await answer('group_requests_done', 'rq-3')).results).toEqual([{ jid: `${CAROL}@s.whatsapp.net`, status: 200, ok: true }]);
    expect(emulator.groupState(groupJid)).toMatchObject({ requests: [] });
    expect(emulator.groupState(groupJid)?.members.sort()).toEqual([ACCOUNT_DIGITS, ALICE, BOB].sort());

    await command(w, 'leave_group', 'lv-1', { group: groupJid });
    expect(await answer('group_left', 'lv-1')).toMatchObject({ groupJid });
    expect(emulator.groupState(groupJid)?.members.sort()).toEqual([ALICE, BOB]);

    await command(w, 'join_group', 'j-1', { code: revoked.inviteCode });
    expect(await answer('group_join_done', 'j-1')).toMatchObject({ groupJid, inviteCode: revoked.inviteCode });
    expect(emulator.groupState(groupJid)?.members.sort()).toEqual([ACCOUNT_DIGITS, ALICE, BOB].sort());
  }, 90_000);

  it('refusals: NOT_ADMIN in a group the account is only a member of, NOT_A_MEMBER, UNKNOWN_GROUP for a group or an invite code', async () => {
    const w = await startAndLink();
    const theirs = emulator.createGroup('Theirs', [ALICE, ACCOUNT, BOB]).jid;
    const notMine = emulator.createGroup('Private', [ALICE, BOB]).jid;

    await command(w, 'group_participants', 'r-1', { group: theirs, operation: 'remove', participants: [`+${BOB}`] });
    expect(await answer('group_participants_failed', 'r-1')).toMatchObject({ groupJid: theirs, operation: 'remove', code: 'NOT_ADMIN' });
    await command(w, 'update_group', 'r-2', { group: theirs, subject: 'Ours now', locked: true });
    // an unlocked group lets members change the subject; the setting is admins' only
    expect(await answer('group_update_failed', 'r-2')).toMatchObject({
      code: 'NOT_ADMIN',
      requested: ['subject', 'locked'],
      updated: ['subject'],
      failed: 'locked',
    });
    await command(w, 'group_invite', 'r-3', { group: theirs });
    expect(await answer('group_invite_failed', 'r-3')).toMatchObject({ groupJid: theirs, code: 'NOT_ADMIN' });
    await command(w, 'group_requests', 'r-7', { group: theirs, operation: 'list' });
    expect(await answer('group_requests_failed', 'r-7')).toMatchObject({ groupJid: theirs, operation: 'list', code: 'NOT_ADMIN' });
    expect(emulator.groupState(theirs)).toMatchObject({ subject: 'Ours now', locked: false, members: [ALICE, ACCOUNT_DIGITS, BOB] });

    await command(w, 'get_group', 'r-4', { group: notMine });
    expect(await answer('group_fetch_failed', 'r-4')).toMatchObject({ groupJid: notMine, code: 'NOT_A_MEMBER' });
    await command(w, 'get_group', 'r-5', { group: '120363000000000001@g.us' });
    expect(await answer('group_fetch_failed', 'r-5')).toMatchObject({ code: 'UNKNOWN_GROUP' });
    await command(w, 'join_group', 'r-6', { code: 'NoSuchInviteCode000000' });
    expect(await answer('group_join_failed', 'r-6')).toMatchObject({ inviteCode: 'NoSuchInviteCode000000', code: 'UNKNOWN_GROUP' });
    expect(emulator.groupState(notMine)?.members).toEqual([ALICE, BOB]);
  }, 60_000);
});

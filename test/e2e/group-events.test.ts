import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * Group notifications end to end: emulated contacts create a group with the account in it, add and
 * remove members, change the subject, ask to join; the real worker (real Baileys, real broker)
 * publishes group_joined, group_participants_changed, group_updated, group_membership_request. After
 * a removal the account's next group message uses a new sender key: the removed contact, holding the
 * old one, cannot read it; the remaining members can.
 */
const ACCOUNT = '+221771230041';
const ALICE = '15550004101';
const BOB = '15550004102';
const CAROL = '15550004103';
const DAVE = '15550004104';
const SID = `session_41_${ACCOUNT}`;

describe('group events over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const command = (w: TestWorker<WhatsAppConnector>, action: string, requestId: string, data: Record<string, unknown>) =>
    scenario.probe.publish(w.config.queues.commands, { action, numberId: 41, workerId: 'ge1', requestId, data: { phoneNumber: ACCOUNT, ...data } });

  const startAndLink = async (): Promise<TestWorker<WhatsAppConnector>> => {
    scenario.workerQueue('ge1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '5000' },
      workerId: 'ge1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 41, workerId: 'ge1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
    return w;
  };

  const lidOf = (phone: string): string => emulator.addContact(phone).lid;

  beforeEach(async () => {
    emulator = await trustedEmulator();
    scenario = await brokerScenario('groupevents');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('a contact creates a group with the account → group_joined; adds a member → group_participants_changed; renames it → group_updated', async () => {
    await startAndLink();
    const { jid, notificationId } = emulator.groupNotify.createGroup(ALICE, 'Project', [ACCOUNT, BOB]);
    const joined = await scenario.messages.untilAction('group_joined', (e) => e.group === jid, 20_000);
    expect(joined).toMatchObject({ sessionId: SID, group: jid, notificationId, how: 'created', subject: 'Project', participantCount: 3 });

    const addId = emulator.groupNotify.addParticipants(ALICE, jid, [CAROL]);
    const added = await scenario.messages.untilAction('group_participants_changed', (e) => e.notificationId === addId, 20_000);
    expect(added).toMatchObject({ group: jid, change: 'added', by: { lid: lidOf(ALICE), pn: `${ALICE}@s.whatsapp.net` } });
    expect(added.participants).toEqual([{ lid: lidOf(CAROL), pn: `${CAROL}@s.whatsapp.net`, admin: null }]);

    const subjectId = emulator.groupNotify.setSubject(BOB, jid, 'Project: phase 2');
    const updated = await scenario.messages.untilAction('group_updated', (e) => e.notificationId === subjectId, 20_000);
    expect(updated).toMatchObject({ group: jid, changes: { subject: 'Project: phase 2' }, by: { lid: lidOf(BOB) } });
    // back to back: each its own event (Baileys' own groups.update would merge them while it buffers)
    const announceId = emulator.groupNotify.setSetting(BOB, jid, 'announcement');
    const lockedId = emulator.groupNotify.setSetting(BOB, jid, 'locked');
    const announced = await scenario.messages.untilAction('group_updated', (e) => e.notificationId === announceId, 20_000);
    const locked = await scenario.messages.untilAction('group_updated', (e) => e.notificationId === lockedId, 20_000);
    expect([announced.changes, locked.changes]).toEqual([{ announce: true }, { locked: true }]);
  });

  it('a contact adds the account to an existing group → group_participants_changed, then group_joined (added) with its subject and size', async () => {
    await startAndLink();
    const { jid } = emulator.createGroup('Old group', [ALICE, BOB]);
    const addId = emulator.groupNotify.addParticipants(ALICE, jid, [ACCOUNT]);
    const joined = await scenario.messages.untilAction('group_joined', (e) => e.group === jid, 20_000);
    expect(joined).toMatchObject({ notificationId: addId, how: 'added', subject: 'Old group', participantCount: 3, by: { lid: lidOf(ALICE) } });
    const added = scenario.messages.bodies().find((b) => b.action === 'group_participants_changed' && b.notificationId === addId);
    expect(added).toMatchObject({ change: 'added' });
  });

  it('a member is removed: the account’s next message uses a new sender key the removed member cannot read; the others can', async () => {
    const w = await startAndLink();
    const { jid } = emulator.groupNotify.createGroup(ALICE, 'Team', [ACCOUNT, BOB, CAROL]);
    await scenario.messages.untilAction('group_joined', (e) => e.group === jid, 20_000);
    const send = async (requestId: string, text: string, members: string[]) => {
      await command(w, 'send_message', requestId, { to: jid, type: 'text', text });
      await scenario.messages.untilAction('message_sent', (e) => e.requestId === requestId, 20_000);
      const messageId = deriveMessageId(SID, requestId);
      for (const phone of members) {
        const got = await emulator.until(() => emulator.receivedBy(phone).find((m) => m.id === messageId), {
          what: `${phone} reading ${requestId}`,
          timeoutMs: 20_000,
        });
        expect(got.message.conversation ?? got.message.extendedTextMessage?.text).toBe(text);
      }
      return messageId;
    };
    // Carol gets the account's sender key with the first message
    await send('ge-1', 'before', [ALICE, BOB, CAROL]);
    const removeId = emulator.groupNotify.removeParticipants(ALICE, jid, [CAROL]);
    const removed = await scenario.messages.untilAction('group_participants_changed', (e) => e.notificationId === removeId, 20_000);
    expect(removed).toMatchObject({ change: 'removed', participants: [{ lid: lidOf(CAROL) }], by: { lid: lidOf(ALICE) } });

    const after = await send('ge-2', 'after Carol left', [ALICE, BOB]);
    const tried = await emulator.until(() => emulator.groupNotify.formerMemberReads(jid).find((r) => r.id === after), {
      what: 'the second message tried on Carol',
      timeoutMs: 20_000,
    });
    expect(tried).toEqual({ id: after, phone: CAROL, decrypted: false });
    expect(emulator.receivedBy(CAROL).some((m) => m.id === after)).toBe(false);
  });

  it('someone asks to join a group the account administers → group_membership_request', async () => {
    await startAndLink();
    const { jid } = emulator.groupNotify.createGroup(ALICE, 'Club', [ACCOUNT], { admins: [ACCOUNT] });
    await scenario.messages.untilAction('group_joined', (e) => e.group === jid, 20_000);
    const requestId = emulator.groupNotify.requestMembership(jid, DAVE, 'invite_link');
    const request = await scenario.messages.untilAction('group_membership_request', (e) => e.notificationId === requestId, 20_000);
    expect(request).toMatchObject({
      group: jid,
      request: 'created',
      method: 'invite_link',
      participant: { lid: lidOf(DAVE), pn: `${DAVE}@s.whatsapp.net` },
    });
  });
});

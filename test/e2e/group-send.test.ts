import { proto } from '@whiskeysockets/baileys';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { protocolFor } from '../emulator/contact-actions.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * Groups end to end: the real worker (real broker, real Baileys) sends to a group on the emulator, which
 * answers the metadata query and fans the sender-key message out to its member contacts (each decrypts it
 * and sends a delivery receipt); a member votes on a group poll; the account, group admin, revokes a
 * member's message and every member receives the REVOKE.
 */
const ACCOUNT = '+221771230031';
const ALICE = '15550003101';
const BOB = '15550003102';
const CAROL = '15550003103';
const MEMBERS = [ALICE, BOB, CAROL];
const SID = `session_31_${ACCOUNT}`;
const { REVOKE } = proto.Message.ProtocolMessage.Type;

describe('sending to a group over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let groupJid: string;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const command = (w: TestWorker<WhatsAppConnector>, action: string, requestId: string, data: Record<string, unknown>) =>
    scenario.probe.publish(w.config.queues.commands, { action, numberId: 31, workerId: 'gs1', requestId, data: { phoneNumber: ACCOUNT, ...data } });

  const startAndLink = async (): Promise<TestWorker<WhatsAppConnector>> => {
    scenario.workerQueue('gs1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '5000' },
      workerId: 'gs1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 31, workerId: 'gs1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
    // the account created the group (superadmin)
    groupJid = emulator.createGroup('Team', [ACCOUNT, ...MEMBERS]).jid;
    return w;
  };

  const lidOf = (phone: string): string => emulator.addContact(phone).lid;

  beforeEach(async () => {
    emulator = await trustedEmulator();
    scenario = await brokerScenario('groupsend');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('send_message to the group → message_sent; every member decrypts it; message_status delivered per member; a second message too', async () => {
    const w = await startAndLink();
    for (const [requestId, text] of [
      ['g-1', 'hello team'],
      ['g-2', 'second, on the same sender key'],
    ] as const) {
      await command(w, 'send_message', requestId, { to: groupJid, type: 'text', text });
      const sent = await scenario.messages.untilAction('message_sent', (e) => e.requestId === requestId, 20_000);
      const messageId = deriveMessageId(SID, requestId);
      expect(sent).toMatchObject({ sessionId: SID, messageId, toJid: groupJid, type: 'text' });
      for (const phone of MEMBERS) {
        const got = await emulator.until(() => emulator.receivedBy(phone).find((m) => m.id === messageId), {
          what: `${phone} decrypting ${requestId}`,
          timeoutMs: 20_000,
        });
        expect(got.message.conversation ?? got.message.extendedTextMessage?.text).toBe(text);
        expect(got.group).toBe(groupJid);
      }
      const delivered = await scenario.messages.until(
        (bodies) => {
          const mine = bodies.filter((b) => b.action === 'message_status' && b.messageId === messageId && b.status === 'delivered');
          return new Set(mine.map((b) => b.participant)).size >= MEMBERS.length ? mine : undefined;
        },
        20_000,
        `message_status delivered for ${requestId} from every member`,
      );
      expect([...new Set(delivered.map((b) => b.participant))].sort()).toEqual(MEMBERS.map(lidOf).sort());
      expect(delivered.every((b) => b.chat === groupJid)).toBe(true);
    }
  });

  it('a poll sent to the group: a member votes in the group → poll_vote', async () => {
    const w = await startAndLink();
    await command(w, 'send_message', 'g-poll', { to: groupJid, type: 'poll', name: 'Lunch?', options: ['pizza', 'salad'], selectableCount: 1 });
    const sent = await scenario.messages.untilAction('message_sent', (e) => e.requestId === 'g-poll', 20_000);
    const poll = await emulator.until(() => emulator.receivedBy(BOB).find((m) => m.id === sent.messageId), { what: 'the poll at Bob', timeoutMs: 20_000 });
    const vote = await emulator.sendPollVote(BOB, poll, ['salad']);
    const event = await scenario.messages.untilAction('poll_vote', (e) => e.messageId === vote.id, 20_000);
    expect(event).toMatchObject({ sessionId: SID, pollMessageId: sent.messageId, chat: groupJid, selectedOptions: ['salad'] });
  });

  it("delete_message fromMe false as the group's admin: every member receives the REVOKE of the member's message", async () => {
    const w = await startAndLink();
    const { id } = await emulator.sendGroupMessage(ALICE, groupJid, 'something to take back');
    const received = await scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);
    expect(received).toMatchObject({ chat: groupJid });
    await command(w, 'delete_message', 'g-del', { chat: groupJid, messageId: id, fromMe: false, participant: received.participant });
    const answer = await scenario.messages.untilAction('message_deleted', (e) => e.requestId === 'g-del', 20_000);
    expect(answer).toMatchObject({ chat: groupJid, messageId: id, fromMe: false });
    for (const phone of MEMBERS) {
      const revoke = await emulator.until(() => emulator.receivedBy(phone).find((m) => protocolFor(m.message, REVOKE, id)), {
        what: `the revoke at ${phone}`,
        timeoutMs: 20_000,
      });
      expect(revoke.group).toBe(groupJid);
      expect(revoke.message.protocolMessage?.key).toMatchObject({ remoteJid: groupJid, id, fromMe: false, participant: lidOf(ALICE) });
    }
  });
});

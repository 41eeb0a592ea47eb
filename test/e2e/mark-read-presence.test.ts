import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * `mark_read` and `send_presence` end to end: the real worker (real broker, real Baileys) sends
 * read receipts and presence to the emulator, whose contacts record what they observe.
 */
const ACCOUNT = '+221771230003';
const ALICE = '15550000301';
const BOB = '15550000302';

describe('mark_read and send_presence over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const start = async () => {
    scenario.workerQueue('p1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '1500' },
      workerId: 'p1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    return w;
  };

  const command = (w: TestWorker<WhatsAppConnector>, action: string, requestId: string, data: Record<string, unknown>) =>
    scenario.probe.publish(w.config.queues.commands, { action, numberId: 23, workerId: 'p1', requestId, data });

  const link = async (w: TestWorker<WhatsAppConnector>, businessName?: string) => {
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 23, workerId: 'p1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT, ...(businessName ? { businessName } : {}) });
    await scenario.events.untilAction('connected', undefined, 30_000);
  };

  beforeEach(async () => {
    emulator = await trustedEmulator();
    scenario = await brokerScenario('mrp');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('a message the contact sent, marked read by the backend: the contact observes the read receipt for its id, messages_read answers', async () => {
    emulator.addContact(ALICE);
    const w = await start();
    await link(w);
    const { id } = await emulator.sendMessage(ALICE, ACCOUNT, 'hello, helpdesk');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);
    expect(emulator.readBy(ALICE)).toEqual([]);

    await command(w, 'mark_read', 'read-1', { chat: `+${ALICE}`, messageIds: [id] });
    const answer = await scenario.messages.untilAction('messages_read', (e) => e.requestId === 'read-1', 20_000);
    expect(answer).toMatchObject({ numberId: 23, sessionId: `session_23_${ACCOUNT}`, requestId: 'read-1', chat: `+${ALICE}`, messageIds: [id] });
    await emulator.until(() => (emulator.readBy(ALICE).includes(id) ? true : undefined), { what: 'the read receipt' });
    expect(emulator.readBy(ALICE)).toEqual([id]);
    expect(scenario.messages.bodies().filter((b) => b.action === 'mark_read_failed')).toEqual([]);
  });

  it('upTo the second of three messages: the contact observes read receipts for the first two only; then a group message marked read by id names its sender', async () => {
    emulator.addContact(ALICE);
    emulator.addContact(BOB);
    const w = await start();
    await link(w);
    const sent = [];
    for (const text of ['one', 'two', 'three']) sent.push((await emulator.sendMessage(ALICE, ACCOUNT, text)).id);
    const [first, second, third] = sent as [string, string, string];
    await scenario.messages.until((bs) => bs.filter((b) => b.action === 'message_received').length === 3, 20_000, 'three messages received');

    await command(w, 'mark_read', 'upto-1', { chat: `+${ALICE}`, upTo: second });
    const answer = await scenario.messages.untilAction('messages_read', (e) => e.requestId === 'upto-1', 20_000);
    expect(answer).toMatchObject({ chat: `+${ALICE}`, messageIds: [first, second], upTo: second, upToRemembered: true });
    await emulator.until(() => (emulator.readBy(ALICE).length >= 2 ? true : undefined), { what: 'the read receipts' });
    expect(emulator.readBy(ALICE)).toEqual([first, second]);
    expect(emulator.readBy(ALICE)).not.toContain(third);

    const group = emulator.createGroup('Support', [ACCOUNT, ALICE, BOB]);
    const { id } = await emulator.sendGroupMessage(BOB, group.jid, 'hello team');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === id && e.chat === group.jid, 20_000);
    await command(w, 'mark_read', 'group-1', { chat: group.jid, messageIds: [id] });
    const groupAnswer = await scenario.messages.untilAction('messages_read', (e) => e.requestId === 'group-1', 20_000);
    expect(groupAnswer).toMatchObject({ chat: group.jid, messageIds: [id] });
    expect(groupAnswer.skipped).toBeUndefined();
    const reads = await emulator.until(() => (emulator.groupReads(group.jid).length > 0 ? emulator.groupReads(group.jid) : undefined), {
      what: 'the group read receipt',
    });
    expect(reads).toEqual([{ id, sender: BOB }]);

    // An id this session never received (e.g. before a restart): upTo marks it alone, with the sender the backend names.
    await command(w, 'mark_read', 'group-2', { chat: group.jid, upTo: '3EB0FFFF0001', participant: `+${ALICE}` });
    const named = await scenario.messages.untilAction('messages_read', (e) => e.requestId === 'group-2', 20_000);
    expect(named).toMatchObject({ messageIds: ['3EB0FFFF0001'], upTo: '3EB0FFFF0001', upToRemembered: false });
    await emulator.until(() => (emulator.groupReads(group.jid).length > 1 ? true : undefined), { what: 'the second group read receipt' });
    expect(emulator.groupReads(group.jid)).toEqual([
      { id, sender: BOB },
      { id: '3EB0FFFF0001', sender: ALICE },
    ]);
    expect(emulator.readBy(ALICE)).toEqual([first, second]);
    expect(scenario.messages.bodies().filter((b) => b.action === 'mark_read_failed')).toEqual([]);
  });

  it('composing to a contact: the contact observes it, presence_sent answers; available: the account is available in the emulator', async () => {
    emulator.addContact(ALICE);
    const w = await start();
    // A name: Baileys sends no available/unavailable without one.
    await link(w, 'Helpdesk');
    await command(w, 'send_presence', 'typing-1', { state: 'composing', chat: `+${ALICE}` });
    const sent = await scenario.messages.untilAction('presence_sent', (e) => e.requestId === 'typing-1', 20_000);
    expect(sent).toMatchObject({ numberId: 23, requestId: 'typing-1', state: 'composing', chat: `+${ALICE}` });
    const states = await emulator.until(() => (emulator.chatStates(ALICE).length > 0 ? emulator.chatStates(ALICE) : undefined), { what: 'a chat state' });
    expect(states).toEqual([{ from: ACCOUNT.slice(1), state: 'composing' }]);

    await command(w, 'send_presence', 'online-1', { state: 'available' });
    const online = await scenario.messages.untilAction('presence_sent', (e) => e.requestId === 'online-1', 20_000);
    expect(online).toMatchObject({ requestId: 'online-1', state: 'available' });
    expect(online.chat).toBeUndefined();
    const account = () => emulator.state().accounts.find((a) => a.phone === ACCOUNT.slice(1));
    await emulator.until(() => (account()?.presence === 'available' ? true : undefined), { what: 'the account available' });
    expect(scenario.messages.bodies().filter((b) => b.action === 'presence_failed')).toEqual([]);
  });

  it('available for an account WhatsApp has told no name yet: presence_failed (WHATSAPP_ERROR), never a presence_sent that did not happen', async () => {
    const w = await start();
    await link(w);
    await command(w, 'send_presence', 'online-2', { state: 'available' });
    const failed = await scenario.messages.untilAction('presence_failed', (e) => e.requestId === 'online-2', 20_000);
    expect(failed).toMatchObject({ requestId: 'online-2', state: 'available', code: 'WHATSAPP_ERROR', reason: expect.stringMatching(/push name/) });
    expect(emulator.state().accounts.find((a) => a.phone === ACCOUNT.slice(1))?.presence).toBeUndefined();
  });

  it('bad payloads are dead-lettered with their code and answered with command_rejected', async () => {
    const w = await start();
    const dlq = await scenario.probe.collect(w.config.queues.deadLetter, { declare: false });
    await command(w, 'mark_read', 'bad-ids', { chat: `+${ALICE}`, messageIds: [] });
    await command(w, 'mark_read', 'bad-chat', { chat: 'call me', messageIds: ['3EB0ABC'] });
    await command(w, 'mark_read', 'bad-jid', { chat: '15550000301:2@s.whatsapp.net', upTo: '3EB0ABC' });
    await command(w, 'mark_read', 'both', { chat: `+${ALICE}`, messageIds: ['3EB0ABC'], upTo: '3EB0ABC' });
    await command(w, 'send_presence', 'bad-state', { state: 'typing', chat: `+${ALICE}` });
    await command(w, 'send_presence', 'bad-chat-2', { state: 'available', chat: `+${ALICE}` });
    await dlq.until((bs) => bs.length === 6, 20_000, 'six dead letters');
    const codes = dlq.messages.map((m) => (m.raw.properties.headers as Record<string, string>)['x-error-code']).sort();
    expect(codes).toEqual(['INVALID_COMMAND', 'INVALID_COMMAND', 'INVALID_COMMAND', 'INVALID_COMMAND', 'INVALID_PHONE', 'INVALID_RECIPIENT']);
    const rejected = await scenario.events.until((bs) => {
      const r = bs.filter((b) => b.action === 'command_rejected');
      return r.length === 6 && r;
    });
    expect(rejected.map((r: { requestId: string; command: string; code: string }) => [r.requestId, r.command, r.code]).sort()).toEqual([
      ['bad-chat', 'mark_read', 'INVALID_PHONE'],
      ['bad-chat-2', 'send_presence', 'INVALID_COMMAND'],
      ['bad-ids', 'mark_read', 'INVALID_COMMAND'],
      ['bad-jid', 'mark_read', 'INVALID_RECIPIENT'],
      ['bad-state', 'send_presence', 'INVALID_COMMAND'],
      ['both', 'mark_read', 'INVALID_COMMAND'],
    ]);
    expect(scenario.messages.bodies().filter((b) => ['messages_read', 'presence_sent'].includes(b.action))).toEqual([]);
  });
});

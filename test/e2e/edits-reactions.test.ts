import { proto } from '@whiskeysockets/baileys';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { adminRevoke, editOfOwn, protocolFor, reactionInGroup, reactionTo, revokeOfOwn } from '../emulator/contact-actions.js';
import type { Emulator, EmulatorServer } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * Edits, revokes and reactions end to end: the real worker (real broker, real Baileys) edits and
 * revokes its messages at the emulator's contacts, which decrypt the protocol messages; the
 * contacts react, edit and revoke, and the worker publishes message_reaction, message_edited and
 * message_revoked, releasing WhatsApp's receipt only after each is confirmed.
 */
const ACCOUNT = '+221771230007';
const ALICE = '15550000701';
const BOB = '15550000702';
const SID = `session_27_${ACCOUNT}`;
const { MESSAGE_EDIT, REVOKE } = proto.Message.ProtocolMessage.Type;

describe('edits, revokes and reactions over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const start = async (store = new MemorySessionStore()) => {
    scenario.workerQueue('er1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '5000' },
      workerId: 'er1',
      connector: baileysConnector(emulator),
      store,
    });
    workers.push(w);
    return w;
  };

  const command = (w: TestWorker<WhatsAppConnector>, action: string, requestId: string, data: Record<string, unknown>) =>
    scenario.probe.publish(w.config.queues.commands, { action, numberId: 27, workerId: 'er1', requestId, data: { phoneNumber: ACCOUNT, ...data } });

  const link = async (w: TestWorker<WhatsAppConnector>) => {
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 27, workerId: 'er1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
  };

  /** What the contact received that is an edit or a revoke (by type) of `messageId`. */
  const protocolsAt = (type: proto.Message.ProtocolMessage.Type, messageId: string) =>
    emulator.receivedBy(ALICE).filter((m) => protocolFor(m.message, type, messageId) !== undefined);

  const sendText = async (w: TestWorker<WhatsAppConnector>, requestId: string, text: string) => {
    await command(w, 'send_message', requestId, { to: `+${ALICE}`, type: 'text', text });
    const sent = await scenario.messages.untilAction('message_sent', (e) => e.requestId === requestId, 20_000);
    await emulator.until(() => emulator.receivedBy(ALICE).find((m) => m.id === sent.messageId), {
      what: `message ${requestId} at the contact`,
      timeoutMs: 20_000,
    });
    return sent.messageId as string;
  };

  const account = () => emulator.state().accounts.find((a) => a.phone === ACCOUNT.slice(1))!;

  beforeEach(async () => {
    emulator = await trustedEmulator();
    emulator.addContact(ALICE);
    scenario = await brokerScenario('edits');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('edit_message: the contact decrypts a MESSAGE_EDIT of our message with the new text, message_edit_sent answers; a redelivery edits nothing again', async () => {
    const w = await start();
    await link(w);
    const messageId = await sendText(w, 'send-1', 'helo');

    await command(w, 'edit_message', 'edit-1', { chat: `+${ALICE}`, messageId, text: 'hello' });
    const answer = await scenario.messages.untilAction('message_edit_sent', (e) => e.requestId === 'edit-1', 20_000);
    const editId = deriveMessageId(SID, 'edit_message\0edit-1');
    expect(answer).toMatchObject({
      numberId: 27,
      sessionId: SID,
      requestId: 'edit-1',
      chat: `+${ALICE}`,
      chatJid: `${ALICE}@s.whatsapp.net`,
      messageId,
      editId,
      text: 'hello',
    });
    const [edit] = await emulator.until(() => (protocolsAt(MESSAGE_EDIT, messageId).length ? protocolsAt(MESSAGE_EDIT, messageId) : undefined), {
      what: 'the edit at the contact',
      timeoutMs: 20_000,
    });
    expect(edit!.id).toBe(editId);
    const p = edit!.message.protocolMessage!;
    expect(p.key).toMatchObject({ id: messageId, fromMe: true, remoteJid: `${ALICE}@s.whatsapp.net` });
    expect(p.editedMessage?.extendedTextMessage?.text ?? p.editedMessage?.conversation).toBe('hello');

    // The backend redelivers the command: answered again, the same edit, nothing sent again.
    await command(w, 'edit_message', 'edit-1', { chat: `+${ALICE}`, messageId, text: 'hello' });
    await scenario.messages.until((bs) => bs.filter((b) => b.action === 'message_edit_sent').length === 2, 20_000, 'a second message_edit_sent');
    expect(scenario.messages.bodies().filter((b) => b.action === 'message_edit_sent')[1]).toMatchObject({ editId, messageId });
    // A later message overtakes nothing: once it is at the contact, the redelivery would have been too.
    await sendText(w, 'send-2', 'after');
    expect(protocolsAt(MESSAGE_EDIT, messageId)).toHaveLength(1);
    expect(scenario.messages.bodies().filter((b) => b.action === 'message_edit_failed')).toEqual([]);
  });

  it('a redelivery after a restart (the session forgot the edit) sends the same edit id: WhatsApp takes it as a duplicate, the contact sees one edit', async () => {
    const store = new MemorySessionStore();
    const first = await start(store);
    await link(first);
    const messageId = await sendText(first, 'send-r', 'v1');
    await command(first, 'edit_message', 'edit-r', { chat: `+${ALICE}`, messageId, text: 'v2' });
    await scenario.messages.untilAction('message_edit_sent', (e) => e.requestId === 'edit-r', 20_000);
    await emulator.until(() => (protocolsAt(MESSAGE_EDIT, messageId).length ? true : undefined), { what: 'the edit at the contact', timeoutMs: 20_000 });
    await first.worker.stop(5000);
    workers.splice(workers.indexOf(first), 1);
    expect(account().duplicateSends).toBe(0);

    const second = await start(store);
    await scenario.events.until((bs) => bs.filter((b) => b.action === 'connected').length === 2 || undefined, 30_000, 'the restored session connected');
    await command(second, 'edit_message', 'edit-r', { chat: `+${ALICE}`, messageId, text: 'v2' });
    await scenario.messages.until((bs) => bs.filter((b) => b.action === 'message_edit_sent').length === 2, 20_000, 'the second answer');
    await emulator.until(() => (account().duplicateSends === 1 ? true : undefined), { what: 'the resent edit counted as a duplicate', timeoutMs: 20_000 });
    expect(protocolsAt(MESSAGE_EDIT, messageId)).toHaveLength(1);
  });

  it('delete_message: the contact decrypts a REVOKE of our message, message_deleted answers', async () => {
    const w = await start();
    await link(w);
    const messageId = await sendText(w, 'send-d', 'oops');
    await command(w, 'delete_message', 'del-1', { chat: `${ALICE}@s.whatsapp.net`, messageId });
    const answer = await scenario.messages.untilAction('message_deleted', (e) => e.requestId === 'del-1', 20_000);
    expect(answer).toMatchObject({
      requestId: 'del-1',
      chat: `${ALICE}@s.whatsapp.net`,
      messageId,
      fromMe: true,
      revokeId: deriveMessageId(SID, 'delete_message\0del-1'),
    });
    const [revoke] = await emulator.until(() => (protocolsAt(REVOKE, messageId).length ? protocolsAt(REVOKE, messageId) : undefined), {
      what: 'the revoke at the contact',
      timeoutMs: 20_000,
    });
    expect(revoke!.message.protocolMessage!.key).toMatchObject({ id: messageId, fromMe: true });
    expect(revoke!.id).toBe(answer.revokeId);
  });

  it('editing a message the contact sent is refused without asking WhatsApp (NOT_EDITABLE)', async () => {
    const w = await start();
    await link(w);
    const { id } = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'not yours to edit');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);
    await command(w, 'edit_message', 'edit-x', { chat: `+${ALICE}`, messageId: id, text: 'mine now' });
    const failed = await scenario.messages.untilAction('message_edit_failed', (e) => e.requestId === 'edit-x', 20_000);
    expect(failed).toMatchObject({ code: 'NOT_EDITABLE', chat: `+${ALICE}`, messageId: id, reason: expect.stringMatching(/not sent by this session/) });
    expect(protocolsAt(MESSAGE_EDIT, id)).toEqual([]);
  });

  it('the contact reacts to our message, edits and revokes its own: message_reaction, message_edited, message_revoked, each receipted after its event', async () => {
    const w = await start();
    await link(w);
    const ours = await sendText(w, 'send-x', 'how was it?');

    const reaction = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), reactionTo(ACCOUNT, ours, '👍'));
    const reacted = await scenario.messages.untilAction('message_reaction', (e) => e.messageId === reaction.id, 20_000);
    expect(reacted).toMatchObject({ numberId: 27, sessionId: SID, reactedTo: ours, reactedToFromMe: true, emoji: '👍', isGroup: false, offline: false });
    expect(reacted.from).toMatchObject({ pn: `${ALICE}@s.whatsapp.net` });
    const removed = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), reactionTo(ACCOUNT, ours, ''));
    expect(await scenario.messages.untilAction('message_reaction', (e) => e.messageId === removed.id, 20_000)).toMatchObject({ reactedTo: ours, emoji: '' });

    const { id } = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'see you at 5');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);
    const edit = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), editOfOwn(ACCOUNT, id, 'see you at 6'));
    const edited = await scenario.messages.untilAction('message_edited', (e) => e.editId === edit.id, 20_000);
    expect(edited).toMatchObject({ messageId: id, newText: 'see you at 6', isGroup: false, offline: false });
    const revoke = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), revokeOfOwn(ACCOUNT, id));
    const revoked = await scenario.messages.untilAction('message_revoked', (e) => e.revokeId === revoke.id, 20_000);
    expect(revoked).toMatchObject({ messageId: id, isGroup: false });
    expect(revoked.author).toBeUndefined();

    // None of them is a message_received; all of them were receipted (once their events were confirmed).
    const received = scenario.messages.bodies().filter((b) => b.action === 'message_received');
    expect(received.map((b) => b.messageId)).toEqual([id]);
    await emulator.until(() => (account().unacked === 0 ? true : undefined), { what: 'every update receipted', timeoutMs: 20_000 });
  });

  it('a reaction and an edit made while the session was away are replayed on reconnect: offline true, each once', async () => {
    const w = await start();
    await link(w);
    const ours = await sendText(w, 'send-o', 'are you there?');
    const { id } = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'at 5');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);

    await scenario.probe.publish(w.config.queues.commands, { action: 'disconnect', numberId: 27, workerId: 'er1', data: { phoneNumber: ACCOUNT } });
    await scenario.events.untilAction('disconnected');
    await (emulator as EmulatorServer).waitForConnectionCount(0);
    const reaction = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), reactionTo(ACCOUNT, ours, '🙏'));
    const edit = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), editOfOwn(ACCOUNT, id, 'at 7'));
    expect([reaction.delivery, edit.delivery]).toEqual(['queued', 'queued']);

    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 27, workerId: 'er1', data: { phoneNumber: ACCOUNT } });
    const reacted = await scenario.messages.untilAction('message_reaction', (e) => e.messageId === reaction.id, 30_000);
    expect(reacted).toMatchObject({ reactedTo: ours, emoji: '🙏', offline: true });
    const edited = await scenario.messages.untilAction('message_edited', (e) => e.editId === edit.id, 30_000);
    expect(edited).toMatchObject({ messageId: id, newText: 'at 7', offline: true });
    await emulator.until(() => (account().unacked === 0 ? true : undefined), { what: 'the replayed updates receipted', timeoutMs: 20_000 });
    const updates = scenario.messages.distinct().filter((b) => ['message_reaction', 'message_edited'].includes(b.action));
    expect(updates.map((b) => b.action)).toEqual(['message_reaction', 'message_edited']);
  });

  it('bad payloads are dead-lettered with their code and answered with command_rejected', async () => {
    const w = await start();
    const dlq = await scenario.probe.collect(w.config.queues.deadLetter, { declare: false });
    await command(w, 'edit_message', 'bad-edit', { chat: `+${ALICE}`, messageId: '3EB0/../../x', text: 'x' });
    await command(w, 'delete_message', 'bad-chat', { chat: 'everyone@example.com', messageId: '3EB0AA' });
    await command(w, 'delete_message', 'bad-admin', { chat: `+${ALICE}`, messageId: '3EB0AA', fromMe: false, participant: `+${ALICE}` });
    await dlq.until((bs) => bs.length === 3, 20_000, 'three dead letters');
    const rejected = await scenario.events.until((bs) => {
      const r = bs.filter((b) => b.action === 'command_rejected');
      return r.length === 3 && r;
    });
    expect(rejected.map((r: { requestId: string; command: string; code: string }) => [r.requestId, r.command, r.code]).sort()).toEqual([
      ['bad-admin', 'delete_message', 'INVALID_COMMAND'],
      ['bad-chat', 'delete_message', 'INVALID_RECIPIENT'],
      ['bad-edit', 'edit_message', 'INVALID_COMMAND'],
    ]);
    expect(scenario.messages.bodies()).toEqual([]);
  });

  it("in a group: a member's reaction to another's message, and an admin revoking it, name the member who did it and the author", async () => {
    const w = await start();
    await link(w);
    const alice = emulator.addContact(ALICE);
    const bob = emulator.addContact(BOB);
    const group = emulator.createGroup('Support', [ACCOUNT, ALICE, BOB]);
    const { id } = await emulator.sendGroupMessage(BOB, group.jid, 'spam');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);

    const reaction = await emulator.sendGroupMessage(ALICE, group.jid, reactionInGroup(group.jid, id, bob.lid, '😡'));
    const reacted = await scenario.messages.untilAction('message_reaction', (e) => e.messageId === reaction.id, 20_000);
    expect(reacted).toMatchObject({ chat: group.jid, isGroup: true, participant: alice.lid, reactedTo: id, reactedToFromMe: false, emoji: '😡' });
    expect(reacted.from).toMatchObject({ lid: alice.lid, pn: `${ALICE}@s.whatsapp.net` });

    const revoke = await emulator.sendGroupMessage(ALICE, group.jid, adminRevoke(group.jid, id, bob.lid));
    const revoked = await scenario.messages.untilAction('message_revoked', (e) => e.revokeId === revoke.id, 20_000);
    expect(revoked).toMatchObject({ chat: group.jid, isGroup: true, messageId: id, participant: alice.lid, author: bob.lid });
  });
});

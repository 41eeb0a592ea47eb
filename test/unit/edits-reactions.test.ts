import type { DeleteMessageCommand, EditMessageCommand, SendMessageCommand, SessionCommand } from '../../src/commands/command.js';
import { stableEventId } from '../../src/events/event-publisher.js';
import { EDIT_WINDOW_MS, REVOKE_WINDOW_MS } from '../../src/messaging/message-changes.js';
import type { HistoryRecord, MessageHistory } from '../../src/messaging/message-history.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import type { SessionDeps } from '../../src/sessions/session.js';
import { WorkerError } from '../../src/util/errors.js';
import type { IncomingMessage, IncomingUpdateContent } from '../../src/whatsapp/types.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';
import { waitFor } from '../helpers/wait.js';

const SID = 'session_6_+221771234567';
const CONTACT = '221770000001@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const base = { numberId: 6, phoneNumber: '+221771234567', sessionId: SID, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
const create: SessionCommand = { ...base, action: 'create', requestId: 'req-create' };
const send = (requestId: string, message: SendMessageCommand['message'] = { type: 'text', text: 'helo' }): SendMessageCommand => ({
  ...base,
  action: 'send_message',
  requestId,
  to: '+221770000001',
  toJid: CONTACT,
  message,
  replyTo: undefined,
});
const edit = (requestId: string, messageId: string, text = 'hello'): EditMessageCommand => ({
  ...base,
  action: 'edit_message',
  requestId,
  chat: '+221770000001',
  chatJid: CONTACT,
  messageId,
  text,
});
const del = (requestId: string, messageId: string, extra: Partial<DeleteMessageCommand> = {}): DeleteMessageCommand => ({
  ...base,
  action: 'delete_message',
  requestId,
  chat: '+221770000001',
  chatJid: CONTACT,
  messageId,
  fromMe: true,
  participant: undefined,
  ...extra,
});

class MemoryHistory implements MessageHistory {
  readonly records: HistoryRecord[] = [];
  append(_sessionId: string, record: HistoryRecord): void {
    this.records.push(record);
  }
  async flush(): Promise<void> {}
  async forget(): Promise<void> {}
  async close(): Promise<void> {}
}

async function connected(waitMs = 2000) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const history = new MemoryHistory();
  const deps: SessionDeps = {
    workerId: 'w1',
    connector,
    store: new MemorySessionStore(),
    events,
    logger: silentLogger,
    renderQr: async (qr) => qr,
    policy: {
      reconnectBaseDelayMs: 5,
      reconnectMaxDelayMs: 20,
      maxConflicts: 3,
      conflictWindowMs: 60_000,
      qrTimeoutMs: undefined,
      pairingReadyTimeoutMs: 1000,
    },
    messaging: { history, sendWaitForOpenMs: waitMs, mediaMaxBytes: 1024 },
  };
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  await manager.execute(create);
  const socket = connector.latest(SID)!;
  socket.open('221771234567');
  await events.until(() => events.actions().includes('connected'));
  return { manager, socket, events, history };
}

describe('edit_message', () => {
  it('edits a text this session sent: the edit carries an id derived from the requestId; message_edit_sent answers; a redelivery re-answers without editing again', async () => {
    const { manager, socket, events, history } = await connected();
    await manager.execute(send('s-1'));
    const messageId = deriveMessageId(SID, 's-1');
    await manager.execute(edit('e-1', messageId));
    const editId = deriveMessageId(SID, 'edit_message\0e-1');
    expect(editId).not.toBe(deriveMessageId(SID, 'e-1'));
    expect(socket.edits).toEqual([{ jid: CONTACT, messageId, text: 'hello', editId }]);
    expect(events.messages('message_edit_sent')).toEqual([
      expect.objectContaining({ numberId: 6, sessionId: SID, requestId: 'e-1', chat: '+221770000001', chatJid: CONTACT, messageId, editId, text: 'hello' }),
    ]);
    await manager.execute(edit('e-1', messageId));
    expect(socket.edits).toHaveLength(1);
    expect(events.messages('message_edit_sent').map((e) => e.editId)).toEqual([editId, editId]);
    expect(history.records.filter((r) => r.type === 'edit')).toEqual([
      expect.objectContaining({ direction: 'out', messageId: editId, replyTo: messageId, text: 'hello' }),
    ]);
  });

  it('a contact sending a message with the id of ours does not make ours uneditable', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(send('s-own'));
    const messageId = deriveMessageId(SID, 's-own');
    socket.receive([{ id: messageId, chat: '111@lid', isGroup: false, from: { lid: '111@lid' }, sentAt: Date.now(), type: 'text', text: 'spoof' }]);
    await events.until(() => events.messages('message_received').length === 1);
    await manager.execute(edit('e-own', messageId));
    expect(socket.edits.map((e) => e.messageId)).toEqual([messageId]);
  });

  it('a message the session does not remember is left to WhatsApp to judge', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(edit('e-2', '3EB0UNKNOWN'));
    expect(socket.edits.map((e) => e.messageId)).toEqual(['3EB0UNKNOWN']);
    expect(events.messages('message_edit_sent')).toHaveLength(1);
  });

  it('NOT_EDITABLE without asking WhatsApp: a message received, a media message, a text older than 15 minutes', async () => {
    const { manager, socket, events } = await connected();
    socket.receive([
      { id: 'IN1', chat: '111@lid', isGroup: false, from: { lid: '111@lid' }, sentAt: Date.now(), type: 'text', text: 'theirs' } satisfies Omit<
        IncomingMessage,
        'acknowledge'
      >,
    ]);
    await events.until(() => events.messages('message_received').length === 1);
    await manager.execute(
      send('s-img', {
        type: 'image',
        media: { kind: 'base64', data: Buffer.from('x') },
        mimeType: 'image/jpeg',
        caption: 'c',
        fileName: undefined,
        ptt: false,
      }),
    );
    socket.sendTime = Date.now() - EDIT_WINDOW_MS - 1000;
    await manager.execute(send('s-old'));
    await manager.execute(edit('e-in', 'IN1'));
    await manager.execute(edit('e-img', deriveMessageId(SID, 's-img')));
    await manager.execute(edit('e-old', deriveMessageId(SID, 's-old')));
    expect(socket.edits).toEqual([]);
    expect(events.messages('message_edit_failed').map((e) => [e.requestId, e.code, e.reason])).toEqual([
      ['e-in', 'NOT_EDITABLE', expect.stringMatching(/not sent by this session/)],
      ['e-img', 'NOT_EDITABLE', expect.stringMatching(/image message: only text/)],
      ['e-old', 'NOT_EDITABLE', expect.stringMatching(/more than 15 minutes ago/)],
    ]);
    expect(events.messages('message_edit_sent')).toEqual([]);
  });

  it('answered message_edit_failed, not retried: unknown session, WhatsApp refusing, not open in time', async () => {
    const { manager, socket, events } = await connected(100);
    await manager.execute({ ...edit('e-unknown', '3EB0AA'), numberId: 99, sessionId: undefined });
    socket.failNextEdit = new Error('edit window closed');
    await manager.execute(edit('e-wa', '3EB0AA'));
    socket.close(428, 'dropped');
    await manager.execute(edit('e-late', '3EB0AA'));
    expect(events.messages('message_edit_failed').map((e) => [e.requestId, e.code, e.chat, e.messageId])).toEqual([
      ['e-unknown', 'UNKNOWN_SESSION', '+221770000001', '3EB0AA'],
      ['e-wa', 'WHATSAPP_ERROR', '+221770000001', '3EB0AA'],
      ['e-late', 'NOT_CONNECTED', '+221770000001', '3EB0AA'],
    ]);
    expect(events.messages('message_edit_failed')[1]).toMatchObject({ reason: expect.stringMatching(/edit window closed/) });
  });

  it('an answer the broker does not confirm fails the command (retried); the retry answers without editing again', async () => {
    const { manager, socket, events } = await connected();
    events.failNextMessage = new WorkerError('BROKER_UNAVAILABLE', 'broker down');
    await expect(manager.execute(edit('e-3', '3EB0AA'))).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    await manager.execute(edit('e-3', '3EB0AA'));
    expect(socket.edits.map((e) => e.editId)).toEqual([deriveMessageId(SID, 'edit_message\0e-3')]);
    expect(events.messages('message_edit_sent').map((e) => e.editId)).toEqual([deriveMessageId(SID, 'edit_message\0e-3')]);
  });
});

describe('delete_message', () => {
  it('revokes our own message once per requestId; message_deleted answers, a redelivery re-answers', async () => {
    const { manager, socket, events, history } = await connected();
    await manager.execute(send('s-d'));
    const messageId = deriveMessageId(SID, 's-d');
    await manager.execute(del('d-1', messageId));
    await manager.execute(del('d-1', messageId));
    const revokeId = deriveMessageId(SID, 'delete_message\0d-1');
    expect(socket.deletes).toEqual([{ jid: CONTACT, message: { id: messageId, fromMe: true }, revokeId }]);
    expect(events.messages('message_deleted')).toEqual([
      expect.objectContaining({ requestId: 'd-1', chat: '+221770000001', chatJid: CONTACT, messageId, fromMe: true, revokeId }),
      expect.objectContaining({ requestId: 'd-1', revokeId }),
    ]);
    expect(events.messages('message_deleted')[0]).not.toHaveProperty('participant');
    expect(history.records.filter((r) => r.type === 'revoke')).toEqual([
      expect.objectContaining({ direction: 'out', messageId: revokeId, replyTo: messageId }),
    ]);
  });

  it("a group admin revokes a member's message: fromMe false and the member reach WhatsApp", async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(del('d-admin', 'MEMBERMSG1', { chat: GROUP, chatJid: GROUP, fromMe: false, participant: '111@lid' }));
    expect(socket.deletes).toEqual([
      { jid: GROUP, message: { id: 'MEMBERMSG1', fromMe: false, participant: '111@lid' }, revokeId: deriveMessageId(SID, 'delete_message\0d-admin') },
    ]);
    expect(events.messages('message_deleted')[0]).toMatchObject({ chat: GROUP, fromMe: false, participant: '111@lid' });
  });

  it("NOT_DELETABLE without asking WhatsApp: a received message as our own, our own as a member's, older than the revoke window", async () => {
    const { manager, socket, events } = await connected();
    socket.receive([{ id: 'IN2', chat: GROUP, isGroup: true, participant: '111@lid', from: { lid: '111@lid' }, sentAt: Date.now(), type: 'text', text: 'x' }]);
    await events.until(() => events.messages('message_received').length === 1);
    await manager.execute(send('s-mine'));
    socket.sendTime = Date.now() - REVOKE_WINDOW_MS - 1000;
    await manager.execute(send('s-ancient'));
    await manager.execute(del('d-in', 'IN2', { chat: GROUP, chatJid: GROUP }));
    await manager.execute(del('d-mine', deriveMessageId(SID, 's-mine'), { chat: GROUP, chatJid: GROUP, fromMe: false, participant: '111@lid' }));
    await manager.execute(del('d-old', deriveMessageId(SID, 's-ancient')));
    expect(socket.deletes).toEqual([]);
    expect(events.messages('message_delete_failed').map((e) => [e.requestId, e.code, e.reason])).toEqual([
      ['d-in', 'NOT_DELETABLE', expect.stringMatching(/received, not sent by this session/)],
      ['d-mine', 'NOT_DELETABLE', expect.stringMatching(/sent by this session: revoke it with "fromMe": true/)],
      ['d-old', 'NOT_DELETABLE', expect.stringMatching(/more than 60 hours ago/)],
    ]);
  });

  it('answered message_delete_failed: unknown session, WhatsApp refusing', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute({ ...del('d-unknown', '3EB0AA'), numberId: 99, sessionId: undefined });
    socket.failNextDelete = new Error('not an admin');
    await manager.execute(del('d-wa', '3EB0AA'));
    expect(events.messages('message_delete_failed').map((e) => [e.requestId, e.code])).toEqual([
      ['d-unknown', 'UNKNOWN_SESSION'],
      ['d-wa', 'WHATSAPP_ERROR'],
    ]);
  });
});

describe('incoming reactions, edits and revokes', () => {
  const who = { chat: '111@lid', isGroup: false, from: { lid: '111@lid', pn: CONTACT }, at: 1_733_396_400_000 };
  const reaction = (id: string, emoji = '👍'): IncomingUpdateContent => ({ ...who, id, kind: 'reaction', target: { id: 'OURS1', fromMe: true }, emoji });

  it('each becomes its event (stable eventId per chat and id), in order; none is a message_received; history records them', async () => {
    const { socket, events, history } = await connected();
    socket.receiveUpdates([
      reaction('RE1'),
      { ...who, id: 'ED1', kind: 'edit', target: { id: 'THEIRS1', fromMe: true }, newText: 'see you at 6' },
      { ...who, id: 'RV1', kind: 'revoke', target: { id: 'THEIRS1', fromMe: true } },
    ]);
    await events.until(() => events.messages('message_revoked').length === 1);
    expect(events.messages('message_reaction')).toEqual([
      expect.objectContaining({ messageId: 'RE1', reactedTo: 'OURS1', reactedToFromMe: true, chat: '111@lid', emoji: '👍', sentAt: who.at, offline: false }),
    ]);
    expect(events.messages('message_reaction')[0]!.eventId).toBe(stableEventId(`message_reaction\0${SID}\u0000111@lid\0RE1`));
    expect(events.messages('message_edited')).toEqual([
      expect.objectContaining({ messageId: 'THEIRS1', editId: 'ED1', newText: 'see you at 6', editedAt: who.at }),
    ]);
    expect(events.messages('message_revoked')).toEqual([expect.objectContaining({ messageId: 'THEIRS1', revokeId: 'RV1', revokedAt: who.at })]);
    expect(events.messages('message_revoked')[0]).not.toHaveProperty('author');
    expect(events.messages('message_received')).toEqual([]);
    await waitFor(() => socket.acknowledged.length === 3, '3 receipts');
    expect(socket.acknowledged).toEqual(['RE1', 'ED1', 'RV1']);
    expect(history.records.map((r) => [r.direction, r.type, r.messageId, r.replyTo])).toEqual([
      ['in', 'reaction', 'RE1', 'OURS1'],
      ['in', 'edit', 'ED1', 'THEIRS1'],
      ['in', 'revoke', 'RV1', 'THEIRS1'],
    ]);
  });

  it("an admin revoking a member's message in a group names the author", async () => {
    const { socket, events } = await connected();
    socket.receiveUpdates([
      {
        id: 'RV2',
        chat: GROUP,
        isGroup: true,
        participant: '222@lid',
        from: { lid: '222@lid' },
        at: 1,
        kind: 'revoke',
        target: { id: 'M1', fromMe: false, participant: '333@lid' },
      },
    ]);
    await events.until(() => events.messages('message_revoked').length === 1);
    expect(events.messages('message_revoked')[0]).toMatchObject({ chat: GROUP, isGroup: true, participant: '222@lid', author: '333@lid', messageId: 'M1' });
  });

  it('receipted only once the event is confirmed: an unpublished update is not receipted (WhatsApp redelivers it), the redelivery carries the same eventId; a duplicate is receipted at once', async () => {
    const { socket, events } = await connected();
    let open!: () => void;
    events.messageGate = new Promise<void>((resolve) => (open = resolve));
    socket.receiveUpdates([reaction('RE2')]);
    await events.until(() => events.heldAtGate === 1);
    expect(socket.acknowledged).toEqual([]);
    events.messageGate = undefined;
    open();
    await waitFor(() => socket.acknowledged.length === 1, '1 receipt');

    events.failNextMessage = new WorkerError('UNPUBLISHABLE', 'refused');
    socket.receiveUpdates([reaction('RE3', '❤️')]);
    socket.receiveUpdates([reaction('RE2')], true);
    await waitFor(() => socket.acknowledged.length === 2, '2 receipts');
    expect(socket.acknowledged).toEqual(['RE2', 'RE2']);
    socket.receiveUpdates([reaction('RE3', '❤️')], true);
    await waitFor(() => socket.acknowledged.length === 3, '3 receipts');
    expect(socket.acknowledged).toEqual(['RE2', 'RE2', 'RE3']);
    const published = events.messages('message_reaction');
    expect(published.map((e) => [e.messageId, e.offline])).toEqual([
      ['RE2', false],
      ['RE3', true],
    ]);
    expect(published[1]!.eventId).toBe(stableEventId(`message_reaction\0${SID}\u0000111@lid\0RE3`));
  });
});

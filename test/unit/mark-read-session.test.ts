import type { MarkReadCommand, SessionCommand } from '../../src/commands/command.js';
import type { MessagingDeps } from '../../src/messaging/session-messaging.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import type { SessionSettingsPatch } from '../../src/util/session-settings.js';
import type { IncomingMessage } from '../../src/whatsapp/types.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { waitFor } from '../helpers/wait.js';
import { testSessionDeps } from '../fakes/session-deps.js';

/**
 * `mark_read` on a session (the fake WhatsApp): `upTo` against the ledger of unread messages,
 * groups (the sender each receipt names), autoRead keeping the ledger true.
 */
const SID = 'session_6_+221771234567';
const base = { numberId: 6, phoneNumber: '+221771234567', sessionId: SID, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
const LID = '111111111111111@lid';
const PN = '221770000001@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const [MEMBER_X, MEMBER_Y] = ['222222222222222@lid', '333333333333333@lid'];

const create = (settings?: SessionSettingsPatch): SessionCommand => ({ ...base, action: 'create', requestId: 'req-create', ...(settings ? { settings } : {}) });
const read = (requestId: string, chatJid: string, what: { messageIds?: string[]; upTo?: string; participant?: string }, chat = chatJid): MarkReadCommand => ({
  ...base,
  action: 'mark_read',
  requestId,
  chat,
  chatJid,
  ...what,
});
const fromContact = (id: string, sentAt = 1_733_396_400_000): Omit<IncomingMessage, 'acknowledge'> => ({
  id,
  chat: LID,
  isGroup: false,
  from: { lid: LID, pn: PN },
  sentAt,
  type: 'text',
  text: `text of ${id}`,
});
const inGroup = (id: string, participant: string): Omit<IncomingMessage, 'acknowledge'> => ({
  id,
  chat: GROUP,
  isGroup: true,
  from: { lid: participant },
  participant,
  sentAt: 1_733_396_400_000,
  type: 'text',
  text: `text of ${id}`,
});

async function connected(opts: { settings?: SessionSettingsPatch; messaging?: Partial<MessagingDeps> } = {}) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const deps = testSessionDeps({ connector, events, messaging: { sendWaitForOpenMs: 300, mediaMaxBytes: 1024, ...opts.messaging } });
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  await manager.execute(create(opts.settings));
  const socket = connector.latest(SID)!;
  socket.open('221771234567');
  await events.until(() => events.actions().includes('connected'));
  /** Messages arrive; resolves once each is safe (its event confirmed, its delivery receipt sent): from then on it is unread. */
  const receive = async (messages: Array<Omit<IncomingMessage, 'acknowledge'>>) => {
    const before = socket.acknowledged.length;
    socket.receive(messages);
    await waitFor(() => socket.acknowledged.length === before + messages.length, 'the messages received');
  };
  return { manager, socket, events, receive };
}

describe('mark_read upTo: every unread message of the chat up to one', () => {
  it('marks those received up to and including the id, then forgets them; an id no longer remembered is marked alone, and said so', async () => {
    const { manager, socket, events, receive } = await connected();
    await receive([fromContact('3EB0A1'), fromContact('3EB0A2'), fromContact('3EB0A3')]);

    await manager.execute(read('r-1', PN, { upTo: '3EB0A2' }, '+221770000001'));
    expect(socket.reads).toEqual([{ jid: PN, messageIds: ['3EB0A1', '3EB0A2'] }]);
    expect(events.messages('messages_read')).toEqual([
      expect.objectContaining({ requestId: 'r-1', chat: '+221770000001', messageIds: ['3EB0A1', '3EB0A2'], upTo: '3EB0A2', upToRemembered: true }),
    ]);

    await manager.execute(read('r-2', PN, { upTo: '3EB0A3' }, '+221770000001'));
    expect(socket.reads[1]).toEqual({ jid: PN, messageIds: ['3EB0A3'] });

    // Already read (or lost with a restart): the receipt for that one id again, and the answer says it was not remembered.
    await manager.execute(read('r-3', PN, { upTo: '3EB0A2' }, '+221770000001'));
    expect(socket.reads[2]).toEqual({ jid: PN, messageIds: ['3EB0A2'] });
    expect(events.messages('messages_read')[2]).toMatchObject({ requestId: 'r-3', messageIds: ['3EB0A2'], upTo: '3EB0A2', upToRemembered: false });
    expect(events.messages('messages_read').map((e) => e.skipped)).toEqual([undefined, undefined, undefined]);
    expect(events.messages('mark_read_failed')).toEqual([]);
  });

  it('the chat named by the LID the contact writes from finds the same unread messages; the receipt goes to that JID', async () => {
    const { manager, socket, events, receive } = await connected();
    await receive([fromContact('3EB0B1'), fromContact('3EB0B2')]);
    await manager.execute(read('r-lid', LID, { upTo: '3EB0B2' }));
    expect(socket.reads).toEqual([{ jid: LID, messageIds: ['3EB0B1', '3EB0B2'] }]);
    expect(events.messages('messages_read')[0]).toMatchObject({ chat: LID, upToRemembered: true });
  });

  it('messageIds also forget what they marked: a later upTo does not mark them again', async () => {
    const { manager, socket, receive } = await connected();
    await receive([fromContact('3EB0C1'), fromContact('3EB0C2'), fromContact('3EB0C3')]);
    await manager.execute(read('r-ids', PN, { messageIds: ['3EB0C1'] }));
    await manager.execute(read('r-up', PN, { upTo: '3EB0C3' }));
    expect(socket.reads).toEqual([
      { jid: PN, messageIds: ['3EB0C1'] },
      { jid: PN, messageIds: ['3EB0C2', '3EB0C3'] },
    ]);
  });

  it('WhatsApp failing: mark_read_failed echoing upTo, and the messages stay unread for the next try', async () => {
    const { manager, socket, events, receive } = await connected();
    await receive([fromContact('3EB0D1'), fromContact('3EB0D2')]);
    socket.failNextRead = new Error('socket write failed');
    await manager.execute(read('r-fail', PN, { upTo: '3EB0D2' }, '+221770000001'));
    expect(events.messages('mark_read_failed')).toEqual([
      expect.objectContaining({ requestId: 'r-fail', chat: '+221770000001', upTo: '3EB0D2', code: 'WHATSAPP_ERROR' }),
    ]);
    expect(events.messages('mark_read_failed')[0]!.messageIds).toBeUndefined();
    await manager.execute(read('r-again', PN, { upTo: '3EB0D2' }, '+221770000001'));
    expect(socket.reads).toEqual([{ jid: PN, messageIds: ['3EB0D1', '3EB0D2'] }]);
  });

  it('an unknown session: mark_read_failed UNKNOWN_SESSION with upTo, not messageIds', async () => {
    const { manager, events } = await connected();
    await manager.execute({ ...read('r-none', PN, { upTo: '3EB0E1' }, '+221770000001'), numberId: 99, sessionId: undefined });
    const [failed] = events.messages('mark_read_failed');
    expect(failed).toMatchObject({ requestId: 'r-none', code: 'UNKNOWN_SESSION', chat: '+221770000001', upTo: '3EB0E1' });
    expect(failed!.messageIds).toBeUndefined();
  });

  it('the ledger is bounded per chat and in total (the oldest go): upTo then marks only what is still remembered', async () => {
    const { manager, socket, receive } = await connected({ messaging: { unreadLimits: { perChat: 2, total: 3 } } });
    await receive([fromContact('3EB0F1'), fromContact('3EB0F2'), fromContact('3EB0F3')]);
    await receive([inGroup('3EB0F4', MEMBER_X), inGroup('3EB0F5', MEMBER_X)]);
    // Per chat: F1 went when F3 came; in total: F2 went when F5 came (the contact's chat was the least recently written).
    await manager.execute(read('r-contact', PN, { upTo: '3EB0F3' }));
    await manager.execute(read('r-group', GROUP, { upTo: '3EB0F5' }));
    expect(socket.reads).toEqual([
      { jid: PN, messageIds: ['3EB0F3'] },
      { jid: GROUP, messageIds: ['3EB0F4', '3EB0F5'], participants: { '3EB0F4': MEMBER_X, '3EB0F5': MEMBER_X } },
    ]);
  });
});

describe('mark_read in a group: each receipt names the sender', () => {
  it('ids whose sender the session remembers are marked with it; the others are skipped and listed', async () => {
    const { manager, socket, events, receive } = await connected();
    await receive([inGroup('3EB0G1', MEMBER_X), inGroup('3EB0G2', MEMBER_Y)]);
    await manager.execute(read('r-g', GROUP, { messageIds: ['3EB0G2', '3EB0ZZ', '3EB0G1'] }));
    expect(socket.reads).toEqual([{ jid: GROUP, messageIds: ['3EB0G2', '3EB0G1'], participants: { '3EB0G2': MEMBER_Y, '3EB0G1': MEMBER_X } }]);
    expect(events.messages('messages_read')).toEqual([
      expect.objectContaining({ requestId: 'r-g', chat: GROUP, messageIds: ['3EB0G2', '3EB0G1'], skipped: ['3EB0ZZ'] }),
    ]);
    // Read already (gone from the ledger), the sender is still remembered.
    await manager.execute(read('r-g2', GROUP, { messageIds: ['3EB0G1'] }));
    expect(socket.reads[1]).toEqual({ jid: GROUP, messageIds: ['3EB0G1'], participants: { '3EB0G1': MEMBER_X } });
  });

  it('participant names the sender of the ids the session does not know; those it knows keep their own', async () => {
    const { manager, socket, events, receive } = await connected();
    await receive([inGroup('3EB0H1', MEMBER_X)]);
    await manager.execute(read('r-p', GROUP, { messageIds: ['3EB0H1', '3EB0H2'], participant: MEMBER_Y }));
    expect(socket.reads).toEqual([{ jid: GROUP, messageIds: ['3EB0H1', '3EB0H2'], participants: { '3EB0H1': MEMBER_X, '3EB0H2': MEMBER_Y } }]);
    expect(events.messages('messages_read')[0]!.skipped).toBeUndefined();
    // upTo unknown to the session, with participant: that one id, marked with it.
    await manager.execute(read('r-p2', GROUP, { upTo: '3EB0H9', participant: MEMBER_Y }));
    expect(socket.reads[1]).toEqual({ jid: GROUP, messageIds: ['3EB0H9'], participants: { '3EB0H9': MEMBER_Y } });
    expect(events.messages('messages_read')[1]).toMatchObject({ upTo: '3EB0H9', upToRemembered: false, messageIds: ['3EB0H9'] });
  });

  it('no id with a known sender: mark_read_failed UNKNOWN_MESSAGE listing them, nothing sent', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(read('r-u', GROUP, { messageIds: ['3EB0K1', '3EB0K2'] }));
    await manager.execute(read('r-u2', GROUP, { upTo: '3EB0K3' }));
    expect(socket.reads).toEqual([]);
    expect(events.messages('mark_read_failed')).toEqual([
      expect.objectContaining({
        requestId: 'r-u',
        chat: GROUP,
        messageIds: ['3EB0K1', '3EB0K2'],
        unknownIds: ['3EB0K1', '3EB0K2'],
        code: 'UNKNOWN_MESSAGE',
        reason: expect.stringMatching(/give "participant"/),
      }),
      expect.objectContaining({ requestId: 'r-u2', upTo: '3EB0K3', unknownIds: ['3EB0K3'], code: 'UNKNOWN_MESSAGE' }),
    ]);
    expect(events.messages('messages_read')).toEqual([]);
  });

  it('the group sender of one chat does not name the sender of the same id in another group', async () => {
    const { manager, socket, events, receive } = await connected();
    await receive([inGroup('3EB0L1', MEMBER_X)]);
    await manager.execute(read('r-other', '120363000000000002@g.us', { messageIds: ['3EB0L1'] }));
    expect(socket.reads).toEqual([]);
    expect(events.messages('mark_read_failed')[0]).toMatchObject({ code: 'UNKNOWN_MESSAGE' });
  });
});

describe('autoRead keeps the ledger true', () => {
  it('a message autoRead marked is no longer unread: upTo marks only that id again and says it was not remembered', async () => {
    const { manager, socket, events, receive } = await connected({ settings: { autoRead: true } });
    await receive([fromContact('3EB0M1'), fromContact('3EB0M2')]);
    await waitFor(() => socket.autoReads.length === 2, 'the automatic read receipts');
    await manager.execute(read('r-auto', PN, { upTo: '3EB0M2' }));
    expect(socket.reads).toEqual([{ jid: PN, messageIds: ['3EB0M2'] }]);
    expect(events.messages('messages_read')[0]).toMatchObject({ upTo: '3EB0M2', upToRemembered: false });
  });
});

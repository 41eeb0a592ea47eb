import { proto, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys';
import { HistoryReceipts, processedHistoryNotification, toHistoryChunk } from '../../src/whatsapp/baileys-history.js';
import { ConfirmWindow, publishHistoryChunk, type HistoryPublishContext } from '../../src/messaging/history-sync.js';
import type { HistoryChat, HistoryChunk, HistoryContact, HistoryMessage } from '../../src/whatsapp/types.js';
import { Lru } from '../../src/messaging/lru.js';
import { SessionMessaging } from '../../src/messaging/session-messaging.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';

type HistorySet = BaileysEventMap['messaging-history.set'];

const ME = { pn: '221771230000@s.whatsapp.net', lid: '100000000000001@lid' };
const ANN = '15550000401@s.whatsapp.net';

const wa = (id: string, text: string, key: Partial<WAMessage['key']> = {}, extra: Partial<WAMessage> = {}): WAMessage => ({
  key: { remoteJid: ANN, id, fromMe: false, ...key },
  message: { conversation: text },
  messageTimestamp: 1_733_396_400,
  ...extra,
});

const set = (over: Partial<HistorySet> = {}): HistorySet => ({
  chats: [],
  contacts: [],
  messages: [],
  syncType: proto.HistorySync.HistorySyncType.RECENT,
  progress: 40,
  chunkOrder: 2,
  isLatest: false,
  ...over,
});

describe('messaging-history.set → HistoryChunk (the Baileys adapter)', () => {
  it('messages from the contact and our own (fromMe, from = the account); status, protocol and broadcast messages left out', () => {
    const chunk = toHistoryChunk(
      set({
        messages: [
          wa('H1', 'hi', {}, { pushName: 'Ann' }),
          wa('H2', 'hello Ann', { fromMe: true }),
          wa('H3', 'story', { remoteJid: 'status@broadcast', participant: ANN }),
          wa('H4', '', {}, { message: { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE } } }),
          wa('H5', 'news', { remoteJid: '1203@newsletter' }),
          wa('H6', '', {}, { message: { imageMessage: { caption: 'look', mimetype: 'image/jpeg', fileLength: 1234 } } }),
        ],
      }),
      ME,
      () => undefined,
    );
    expect(chunk).toMatchObject({ syncType: 'recent', progress: 40, chunkOrder: 2, isLatest: false, messageCount: 6 });
    const messages = [...chunk.messages()];
    expect(messages).toEqual([
      { id: 'H1', chat: ANN, isGroup: false, from: { pn: ANN }, pushName: 'Ann', sentAt: 1_733_396_400_000, type: 'text', text: 'hi', fromMe: false },
      { id: 'H2', chat: ANN, isGroup: false, from: ME, sentAt: 1_733_396_400_000, type: 'text', text: 'hello Ann', fromMe: true },
      {
        id: 'H6',
        chat: ANN,
        isGroup: false,
        from: { pn: ANN },
        sentAt: 1_733_396_400_000,
        type: 'image',
        text: 'look',
        caption: 'look',
        fromMe: false,
        media: { kind: 'image', mimeType: 'image/jpeg', size: 1234, fileName: undefined, ptt: false },
      },
    ]);
    // no download function travels with a history message
    expect(messages[2]!.media).not.toHaveProperty('open');
  });

  it('messages are translated as they are iterated, not before', () => {
    let reads = 0;
    const counted = (id: string): WAMessage => {
      const m = wa(id, 'x');
      return {
        ...m,
        get message() {
          reads += 1;
          return m.message;
        },
      };
    };
    const chunk = toHistoryChunk(set({ messages: [counted('A'), counted('B'), counted('C')] }), ME, () => undefined);
    expect(reads).toBe(0);
    const it = chunk.messages()[Symbol.iterator]();
    it.next();
    expect(reads).toBeGreaterThan(0);
    const afterOne = reads;
    it.next();
    expect(reads).toBeGreaterThan(afterOne);
  });

  it('chats and contacts: names bounded, timestamps in ms, flags; a JID that is not a person or group is dropped', () => {
    const chunk = toHistoryChunk(
      set({
        syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        chats: [
          { id: ANN, name: 'A'.repeat(1000), unreadCount: 3, conversationTimestamp: 1_733_396_400, archived: true, pinned: 1_733_000_000 },
          { id: '1203@g.us', displayName: 'Team' },
          { id: 'status@broadcast' },
          { id: '<script>@s.whatsapp.net' },
        ],
        contacts: [
          { id: ANN, name: 'Ann', lid: '111@lid', phoneNumber: ANN },
          { id: '222@lid', notify: 'Bo', phoneNumber: 'not a jid' },
          { id: '1203@newsletter', name: 'News' },
        ],
      }),
      ME,
      () => undefined,
    );
    expect(chunk.syncType).toBe('initial_bootstrap');
    expect(chunk.chats).toEqual<HistoryChat[]>([
      { jid: ANN, name: 'A'.repeat(256), unreadCount: 3, lastMessageAt: 1_733_396_400_000, archived: true, pinned: true },
      { jid: '1203@g.us', name: 'Team' },
    ]);
    expect(chunk.contacts).toEqual<HistoryContact[]>([
      { jid: ANN, lid: '111@lid', phoneJid: ANN, name: 'Ann' },
      { jid: '222@lid', notify: 'Bo' },
    ]);
  });

  it('an unknown sync type is "unknown"; a merged set without progress has none', () => {
    const chunk = toHistoryChunk(set({ syncType: 42 as proto.HistorySync.HistorySyncType, progress: null, chunkOrder: null }), ME, () => undefined);
    expect(chunk.syncType).toBe('unknown');
    expect(chunk).not.toHaveProperty('progress');
    expect(chunk).not.toHaveProperty('chunkOrder');
  });

  it('which notifications Baileys processes: from our own phone, of a processable type the config accepts', () => {
    const note = (syncType: proto.Message.HistorySyncType, fromMe = true): WAMessage =>
      wa('N1', '', { fromMe }, { message: { protocolMessage: { type: 5, historySyncNotification: { syncType } } } });
    const notFull = (n: proto.Message.IHistorySyncNotification) => n.syncType !== proto.Message.HistorySyncType.FULL;
    expect(processedHistoryNotification(note(proto.Message.HistorySyncType.RECENT), notFull)).toBeDefined();
    expect(processedHistoryNotification(note(proto.Message.HistorySyncType.FULL), notFull)).toBeUndefined();
    expect(processedHistoryNotification(note(proto.Message.HistorySyncType.RECENT, false), notFull)).toBeUndefined();
    expect(processedHistoryNotification(wa('M1', 'just text', { fromMe: true }), notFull)).toBeUndefined();
  });
});

describe('HistoryReceipts: a notification receipt waits for its chunk', () => {
  const gate = () => {
    const held = new Map<string, () => void>();
    const sent: string[] = [];
    return {
      sent,
      hold: (id: string) => held.set(id, () => sent.push(id)),
      take: (id: string) => {
        const release = held.get(id);
        held.delete(id);
        return release;
      },
    };
  };

  it('message first (parked), then the set: sent only when the chunk is acknowledged', () => {
    const g = gate();
    const receipts = new HistoryReceipts(g);
    g.hold('N1');
    receipts.park('N1');
    expect(receipts.size).toBe(1);
    const ack = receipts.claim(['N1']);
    expect(g.sent).toEqual([]);
    ack();
    ack();
    expect(g.sent).toEqual(['N1']);
    expect(receipts.size).toBe(0);
  });

  it('set first (the event buffer emits it before the message): taken from the gate; the later message finds nothing', () => {
    const g = gate();
    const receipts = new HistoryReceipts(g);
    g.hold('N1');
    g.hold('N2');
    const ack = receipts.claim(['N1', 'N2', 'unknown']);
    receipts.park('N1');
    expect(receipts.size).toBe(0);
    ack();
    expect(g.sent).toEqual(['N1', 'N2']);
  });

  it('a chunk never claimed (its download failed) is never receipted; clear() forgets it (the phone sends it again)', () => {
    const g = gate();
    const receipts = new HistoryReceipts(g);
    g.hold('N1');
    receipts.park('N1');
    receipts.clear();
    receipts.claim(['N1'])();
    expect(g.sent).toEqual([]);
  });
});

describe('publishing a history chunk', () => {
  const message = (i: number, over: Partial<HistoryMessage> = {}): HistoryMessage => ({
    id: `M${i}`,
    chat: ANN,
    isGroup: false,
    from: { pn: ANN },
    sentAt: 1_733_396_400_000 + i,
    type: 'text',
    text: `m${i}`,
    fromMe: false,
    ...over,
  });
  const chunk = (over: Partial<HistoryChunk> & { list?: HistoryMessage[] } = {}): HistoryChunk & { acks: number } => {
    const list = over.list ?? [];
    const c = {
      syncType: 'recent' as const,
      progress: 50,
      chunkOrder: 1,
      isLatest: false,
      chats: [],
      contacts: [],
      messageCount: list.length,
      messages: () => list,
      acks: 0,
      acknowledge: () => {
        c.acks += 1;
      },
      ...over,
    };
    return c;
  };
  const context = (events: RecordingEvents, batch = 3, seen = new Lru<string, true>(100)): HistoryPublishContext => ({
    numberId: 7,
    sessionId: 'session_7_+221771230000',
    events,
    batch,
    seen,
    log: silentLogger,
  });

  it('chats and contacts in events of at most `batch`, then each message, then the progress; acknowledged after', async () => {
    const events = new RecordingEvents();
    const chats = Array.from({ length: 7 }, (_, i) => ({ jid: `1555000${i}@s.whatsapp.net` }));
    const contacts = Array.from({ length: 4 }, (_, i) => ({ jid: `1555000${i}@s.whatsapp.net`, notify: `c${i}` }));
    const c = chunk({ chats, contacts, list: [message(1), message(2, { fromMe: true, from: ME })] });
    const result = await publishHistoryChunk(c, context(events));
    expect(result).toEqual({ messages: 2, chats: 7, contacts: 4 });
    expect(events.messageEvents.map((e) => e.action)).toEqual([
      'history_chats',
      'history_chats',
      'history_chats',
      'history_contacts',
      'history_contacts',
      'message_received',
      'message_received',
      'history_sync_progress',
    ]);
    expect(events.messages('history_chats').map((e) => e.chats.length)).toEqual([3, 3, 1]);
    expect(events.messages('history_chats')[0]).toMatchObject({ syncType: 'recent', chunkOrder: 1, sessionId: 'session_7_+221771230000' });
    expect(events.messages('history_contacts').map((e) => e.contacts.length)).toEqual([3, 1]);
    const [first, own] = events.messages('message_received');
    expect(first).toMatchObject({ messageId: 'M1', source: 'history', offline: false, text: 'm1' });
    expect(first).not.toHaveProperty('fromMe');
    expect(own).toMatchObject({ messageId: 'M2', source: 'history', fromMe: true, from: ME });
    expect(events.messages('history_sync_progress')).toEqual([
      expect.objectContaining({ syncType: 'recent', chunkOrder: 1, progress: 50, isLatest: false, messages: 2, chats: 7, contacts: 4 }),
    ]);
    expect(c.acks).toBe(1);
  });

  it('messages already published (live or an earlier chunk) and repeats inside the chunk are published once', async () => {
    const events = new RecordingEvents();
    const seen = new Lru<string, true>(100);
    seen.set(`${ANN}\0M1`, true);
    const result = await publishHistoryChunk(
      chunk({ list: [message(1), message(2), message(2), message(3, { chat: '1203@g.us', isGroup: true })] }),
      context(events, 3, seen),
    );
    expect(events.messages('message_received').map((e) => e.messageId)).toEqual(['M2', 'M3']);
    expect(result.messages).toBe(2);
    expect(seen.has(`${ANN}\0M2`)).toBe(true);
    // the same id in another chat is another message
    const again = new RecordingEvents();
    await publishHistoryChunk(chunk({ list: [message(2, { chat: '1203@g.us', isGroup: true })] }), context(again, 3, seen));
    expect(again.messages('message_received')).toHaveLength(1);
  });

  it('a chunk sent again (after a crash) re-publishes the same eventIds', async () => {
    const make = () => chunk({ chats: [{ jid: ANN, name: 'Ann' }], contacts: [{ jid: ANN, name: 'Ann' }], list: [message(1), message(2)] });
    const a = new RecordingEvents();
    const b = new RecordingEvents();
    await publishHistoryChunk(make(), context(a));
    await publishHistoryChunk(make(), context(b));
    expect(b.messageEvents.map((e) => e.eventId)).toEqual(a.messageEvents.map((e) => e.eventId));
    expect(new Set(a.messageEvents.map((e) => e.eventId)).size).toBe(a.messageEvents.length);
    // another chunk listing the same chats is another event
    const other = new RecordingEvents();
    await publishHistoryChunk(chunk({ chunkOrder: 2, chats: [{ jid: ANN, name: 'Ann' }] }), context(other));
    expect(other.messages('history_chats')[0]!.eventId).not.toBe(a.messages('history_chats')[0]!.eventId);
  });

  it('never more than `batch` message events wait for their confirm: a slow broker holds the chunk back, the outbox does not fill', async () => {
    const events = new RecordingEvents();
    let open!: () => void;
    events.messageGate = new Promise<void>((resolve) => (open = resolve));
    const list = Array.from({ length: 50 }, (_, i) => message(i));
    let iterated = 0;
    const c = chunk({
      list,
      messages: function* () {
        for (const m of list) {
          iterated += 1;
          yield m;
        }
      },
    });
    const done = publishHistoryChunk(c, context(events, 4));
    await events.until(() => events.heldAtGate === 4);
    // give the loop every chance to run ahead
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.heldAtGate).toBe(4);
    expect(iterated).toBe(4);
    expect(c.acks).toBe(0);
    events.messageGate = undefined;
    open();
    await done;
    expect(events.messages('message_received')).toHaveLength(50);
    expect(c.acks).toBe(1);
  });

  it('a broker failure rejects and leaves the chunk unacknowledged (the phone sends it again)', async () => {
    const events = new RecordingEvents();
    const c = chunk({ list: [message(1), message(2), message(3)] });
    events.failNextMessage = new Error('publisher is closed');
    await expect(publishHistoryChunk(c, context(events))).rejects.toThrow('publisher is closed');
    expect(c.acks).toBe(0);
    expect(events.messages('history_sync_progress')).toEqual([]);
  });
});

describe('history on a session (SessionMessaging)', () => {
  it('a message received live is not published again by the history; history waits behind live messages on one chain', async () => {
    const events = new RecordingEvents();
    const host = { id: 'session_7_+221771230000', numberId: 7, connectionForSend: () => Promise.reject(new Error('not used')) };
    const messaging = new SessionMessaging(host, events, { sendWaitForOpenMs: 0, mediaMaxBytes: 1024, historyEventBatch: 2 }, silentLogger);
    let acked = 0;
    const live = { id: 'L1', chat: ANN, isGroup: false, from: { pn: ANN }, sentAt: 1, type: 'text' as const, text: 'live', acknowledge: () => (acked += 1) };
    messaging.onMessages([live], false);
    let chunkAcks = 0;
    const history = (id: string): HistoryMessage => ({ id, chat: ANN, isGroup: false, from: { pn: ANN }, sentAt: 1, type: 'text', text: id, fromMe: false });
    messaging.onHistory({
      syncType: 'initial_bootstrap',
      isLatest: true,
      chats: [{ jid: ANN }],
      contacts: [],
      messageCount: 2,
      messages: () => [history('L1'), history('H1')],
      acknowledge: () => (chunkAcks += 1),
    });
    await messaging.idle();
    const received = events.messages('message_received');
    expect(received.map((e) => [e.messageId, e.source])).toEqual([
      ['L1', 'live'],
      ['H1', 'history'],
    ]);
    expect(acked).toBe(1);
    expect(chunkAcks).toBe(1);
    // the eventId of a message is the same whichever way it came (derived from session, chat and id)
    const again = new RecordingEvents();
    await publishHistoryChunk(
      { syncType: 'recent', isLatest: false, chats: [], contacts: [], messageCount: 1, messages: () => [history('L1')], acknowledge: () => undefined },
      { numberId: 7, sessionId: host.id, events: again, batch: 2, seen: new Lru(10), log: silentLogger },
    );
    expect(again.messages('message_received')[0]!.eventId).toBe(received[0]!.eventId);
  });
});

describe('ConfirmWindow', () => {
  it('waits for the oldest once full, and throws the first failure in order', async () => {
    const w = new ConfirmWindow(2);
    let resolveFirst!: () => void;
    const first = new Promise<void>((resolve) => (resolveFirst = resolve));
    await w.add(first);
    let added = false;
    const adding = w.add(Promise.reject(new Error('nack'))).then(() => (added = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(added).toBe(false);
    resolveFirst();
    await adding;
    expect(w.inFlight).toBe(1);
    await expect(w.drain()).rejects.toThrow('nack');
  });
});

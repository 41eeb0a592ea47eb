import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { SendMessageCommand, SessionCommand } from '../../src/commands/command.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { WorkerError } from '../../src/util/errors.js';
import type { HistoryRecord, MessageHistory } from '../../src/messaging/message-history.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import type { SessionDeps } from '../../src/sessions/session.js';
import type { IncomingMessage } from '../../src/whatsapp/types.js';
import { FakeConnector, type FakeSocket } from '../fakes/fake-whatsapp.js';
import { MemoryMediaStore } from '../fakes/memory-media-store.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';

const SID = 'session_6_+221771234567';
const base = { numberId: 6, phoneNumber: '+221771234567', sessionId: SID, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
const create: SessionCommand = { ...base, action: 'create', requestId: 'req-create' };
const sendText = (requestId: string, text = 'Hello', to = '221770000001'): SendMessageCommand => ({
  ...base,
  action: 'send_message',
  requestId,
  to: `+${to}`,
  toJid: `${to}@s.whatsapp.net`,
  message: { type: 'text', text },
  replyTo: undefined,
});

class MemoryHistory implements MessageHistory {
  readonly records: Array<[string, HistoryRecord]> = [];
  append(sessionId: string, record: HistoryRecord): void {
    this.records.push([sessionId, record]);
  }
  async flush(): Promise<void> {}
  async forget(sessionId: string): Promise<void> {
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i]![0] === sessionId) this.records.splice(i, 1);
  }
  async close(): Promise<void> {}
}

async function setup(opts: { waitMs?: number; maxMediaBytes?: number; fetchTimeoutMs?: number } = {}) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const media = new MemoryMediaStore();
  const history = new MemoryHistory();
  const stats = { sent: 0, received: 0 };
  const deps: SessionDeps = {
    workerId: 'w1',
    connector,
    store: new MemorySessionStore(),
    events,
    logger: silentLogger,
    renderQr: async (qr) => `data:image/png;base64,${Buffer.from(qr).toString('base64')}`,
    policy: { reconnectBaseDelayMs: 5, reconnectMaxDelayMs: 20, maxConflicts: 3, conflictWindowMs: 60_000, qrTimeoutMs: undefined, pairingReadyTimeoutMs: 1000 },
    messaging: { media, history, stats, sendWaitForOpenMs: opts.waitMs ?? 2000, mediaMaxBytes: opts.maxMediaBytes ?? 1024, mediaRetryBaseMs: 1, mediaFetchTimeoutMs: opts.fetchTimeoutMs ?? 5000 },
  };
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  return { connector, events, media, history, stats, manager };
}

async function connected(opts: Parameters<typeof setup>[0] = {}) {
  const s = await setup(opts);
  await s.manager.execute(create);
  const socket = s.connector.latest(SID)!;
  socket.open('221771234567');
  await s.events.until(() => s.events.actions().includes('connected'));
  return { ...s, socket };
}

const incoming = (id: string, extra: Partial<IncomingMessage> = {}): IncomingMessage => ({
  id,
  chat: '111111111111111@lid',
  isGroup: false,
  from: { lid: '111111111111111@lid', pn: '221770000001@s.whatsapp.net' },
  sentAt: 1_733_396_400_000,
  type: 'text',
  text: `text of ${id}`,
  ...extra,
});

describe('message ids', () => {
  it('are derived from (sessionId, requestId): stable, Baileys-shaped, distinct', () => {
    const id = deriveMessageId(SID, 'req-1');
    expect(id).toMatch(/^3EB0[0-9A-F]{18}$/);
    expect(deriveMessageId(SID, 'req-1')).toBe(id);
    expect(deriveMessageId(SID, 'req-2')).not.toBe(id);
    expect(deriveMessageId('session_7_+221771234567', 'req-1')).not.toBe(id);
  });
});

describe('sending', () => {
  it('sends text with the derived id and publishes message_sent (requestId, to, messageId)', async () => {
    const { manager, socket, events, history, stats } = await connected();
    await manager.execute(sendText('req-1'));
    expect(socket.sends).toEqual([{ jid: '221770000001@s.whatsapp.net', content: { type: 'text', text: 'Hello' }, opts: { messageId: deriveMessageId(SID, 'req-1') } }]);
    expect(events.messages('message_sent')).toEqual([
      expect.objectContaining({ messageId: deriveMessageId(SID, 'req-1'), requestId: 'req-1', to: '+221770000001', toJid: '221770000001@s.whatsapp.net', type: 'text', numberId: 6, sessionId: SID }),
    ]);
    expect(history.records).toEqual([[SID, expect.objectContaining({ direction: 'out', messageId: deriveMessageId(SID, 'req-1'), text: 'Hello', requestId: 'req-1' })]]);
    expect(stats.sent).toBe(1);
    expect(manager.messageCount).toBe(1);
  });

  it('a redelivered command (same requestId) is not sent again: message_sent is re-published', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(sendText('req-1'));
    await manager.execute(sendText('req-1'));
    expect(socket.sends).toHaveLength(1);
    const sent = events.messages('message_sent');
    expect(sent).toHaveLength(2);
    expect(sent[1]!.messageId).toBe(sent[0]!.messageId);
    expect(sent[1]!.eventId).not.toBe(sent[0]!.eventId);
  });

  it('waits for a reconnecting session to open, then sends', async () => {
    const { manager, socket, connector, events } = await connected();
    const next = connector.nextSocket();
    socket.close(428, 'dropped');
    const sending = manager.execute(sendText('req-2'));
    const again = await next;
    again.open('221771234567');
    await sending;
    expect(again.sends).toHaveLength(1);
    expect(events.messages('message_sent')).toHaveLength(1);
  });

  it('a session that does not open within SEND_WAIT_FOR_OPEN_MS → message_failed NOT_CONNECTED, with why', async () => {
    const { manager, socket, events } = await connected({ waitMs: 100 });
    socket.close(428, 'dropped');
    const started = Date.now();
    await manager.execute(sendText('req-3'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(events.messages('message_failed')).toEqual([expect.objectContaining({ requestId: 'req-3', code: 'NOT_CONNECTED', reason: expect.stringMatching(/did not open within 100 ms/), messageId: deriveMessageId(SID, 'req-3') })]);
  });

  it('a stopped session fails at once (waiting cannot help)', async () => {
    const { manager, events } = await connected({ waitMs: 10_000 });
    await manager.execute({ ...create, action: 'disconnect' });
    const started = Date.now();
    await manager.execute(sendText('req-4'));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(events.messages('message_failed')[0]).toMatchObject({ code: 'NOT_CONNECTED', reason: expect.stringMatching(/not connected \(stopped: disconnect requested\)/) });
  });

  it('unknown session, number not on WhatsApp, WhatsApp refusing: message_failed with a code', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute({ ...sendText('req-5'), numberId: 99, sessionId: undefined });
    socket.unregistered.add('221779999999@s.whatsapp.net');
    await manager.execute(sendText('req-6', 'x', '221779999999'));
    socket.failNextSend = new Error('socket closed');
    await manager.execute(sendText('req-7'));
    expect(events.messages('message_failed').map((e) => [e.requestId, e.code])).toEqual([
      ['req-5', 'UNKNOWN_SESSION'],
      ['req-6', 'NOT_ON_WHATSAPP'],
      ['req-7', 'SEND_FAILED'],
    ]);
    expect(events.messages('message_failed')[0]).toMatchObject({ numberId: 99, reason: expect.stringMatching(/no session for numberId 99/) });
    expect(socket.sends).toHaveLength(0);
  });

  it('media from the media store is streamed; a missing key is MEDIA_NOT_FOUND', async () => {
    const { manager, socket, media, events } = await connected();
    await media.putStream('media/s/images/a.jpg', Readable.from([Buffer.from('jpeg')]), { maxBytes: 100 });
    const image: SendMessageCommand = { ...sendText('req-8'), message: { type: 'image', media: { kind: 'mediaKey', key: 'media/s/images/a.jpg' }, mimeType: 'image/jpeg', caption: 'hi', fileName: undefined, ptt: false } };
    await manager.execute(image);
    const sent = socket.sends[0]!.content;
    expect(sent).toMatchObject({ type: 'image', caption: 'hi', mimeType: 'image/jpeg' });
    const chunks: Buffer[] = [];
    for await (const c of (sent as { media: { stream: Readable } }).media.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('jpeg');
    await manager.execute({ ...image, requestId: 'req-9', message: { ...image.message, media: { kind: 'mediaKey', key: 'media/s/images/none.jpg' } } as SendMessageCommand['message'] });
    expect(events.messages('message_failed')[0]).toMatchObject({ requestId: 'req-9', code: 'MEDIA_NOT_FOUND' });
  });

  it('media by url: fetched by the worker (any case of http), bounded; 404, oversize, a redirect to file: and silence fail with a reason', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/ok.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end('png-bytes');
      if (req.url === '/big') return void res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000));
      if (req.url === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      if (req.url === '/silent') return; // never answers
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { manager, socket, events } = await connected({ maxMediaBytes: 1000, fetchTimeoutMs: 300 });
      const image = (requestId: string, url: string): SendMessageCommand => ({ ...sendText(requestId), message: { type: 'image', media: { kind: 'url', url }, mimeType: undefined, caption: undefined, fileName: undefined, ptt: false } });
      await manager.execute(image('u-1', `HTTP://${base}/ok.png`));
      const sent = socket.sends[0]!.content as { mimeType: string; media: { stream: Readable } };
      expect(sent.mimeType).toBe('image/png');
      const chunks: Buffer[] = [];
      for await (const c of sent.media.stream) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('png-bytes');

      for (const [id, path] of [['u-2', '/missing'], ['u-3', '/big'], ['u-4', '/to-file'], ['u-5', '/silent']]) await manager.execute(image(id!, `http://${base}${path}`));
      const failed = Object.fromEntries(events.messages('message_failed').map((e) => [e.requestId, `${e.code}: ${e.reason}`]));
      expect(failed).toEqual({
        'u-2': expect.stringMatching(/^MEDIA_NOT_FOUND: .*answered 404/),
        'u-3': expect.stringMatching(/^MEDIA_TOO_LARGE: .*5000 bytes/),
        'u-4': expect.stringMatching(/^MEDIA_UNAVAILABLE: .*scheme file: refused/),
        'u-5': expect.stringMatching(/^MEDIA_UNAVAILABLE: .*no answer within 300 ms/),
      });
      expect(socket.sends).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a reply quotes what the session knows of the original', async () => {
    const { manager, socket, events } = await connected();
    socket.receive([incoming('IN-1')]);
    await events.until(() => events.messages('message_received').length === 1);
    await manager.execute({ ...sendText('req-10'), replyTo: 'IN-1' });
    expect(socket.sends[0]!.opts.quoted).toEqual({ id: 'IN-1', fromMe: false, text: 'text of IN-1' });
  });
});

describe('receipts', () => {
  it('become message_status (once per status), never ahead of their message_sent', async () => {
    const { manager, socket, events } = await connected();
    const id = deriveMessageId(SID, 'req-1');
    let open!: () => void;
    events.messageGate = new Promise<void>((resolve) => (open = resolve));
    const sending = manager.execute(sendText('req-1'));
    await new Promise((r) => setImmediate(r));
    socket.receipts([{ messageId: id, chat: '221770000001@s.whatsapp.net', status: 'delivered', at: 1000 }]);
    socket.receipts([{ messageId: id, chat: '221770000001@s.whatsapp.net', status: 'delivered', at: 1000 }]);
    socket.receipts([{ messageId: id, chat: '221770000001@s.whatsapp.net', status: 'read' }]);
    events.messageGate = undefined;
    open();
    await sending;
    await events.until(() => events.messages('message_status').length === 2);
    expect(events.messageEvents.map((e) => (e.action === 'message_status' ? e.status : e.action))).toEqual(['message_sent', 'delivered', 'read']);
    expect(events.messages('message_status')[0]).toMatchObject({ messageId: id, chat: '221770000001@s.whatsapp.net', statusAt: 1000 });
  });
});

describe('receiving', () => {
  it('notify and append (offline) become message_received; a duplicate id produces nothing', async () => {
    const { socket, events, history, stats } = await connected();
    socket.receive([incoming('A'), incoming('A')]);
    socket.receive([incoming('B', { sentAt: 1_733_300_000_000 })], true);
    socket.receive([incoming('A')], true);
    // A last message: once it is out, every duplicate before it has been handled (and dropped).
    socket.receive([incoming('C')]);
    await events.until(() => events.messages('message_received').some((e) => e.messageId === 'C'));
    const received = events.messages('message_received');
    expect(received.map((e) => [e.messageId, e.offline])).toEqual([
      ['A', false],
      ['B', true],
      ['C', false],
    ]);
    expect(received[0]).toMatchObject({ from: { lid: '111111111111111@lid', pn: '221770000001@s.whatsapp.net' }, chat: '111111111111111@lid', isGroup: false, type: 'text', text: 'text of A', sentAt: 1_733_396_400_000, sessionId: SID });
    expect(history.records.map(([, r]) => [r.direction, r.messageId])).toEqual([
      ['in', 'A'],
      ['in', 'B'],
      ['in', 'C'],
    ]);
    expect(stats.received).toBe(3);
  });

  it('streams media into the media store and references it; too large → no file, the reason instead', async () => {
    const { socket, events, media } = await connected({ maxMediaBytes: 10 });
    const file = (body: string, size?: number) => ({ kind: 'image' as const, mimeType: 'image/jpeg', size, fileName: undefined, ptt: false, open: async () => Readable.from([Buffer.from(body)]) });
    socket.receive([
      incoming('IMG-1', { type: 'image', text: 'cap', caption: 'cap', media: file('12345') }),
      incoming('IMG-2', { type: 'image', media: file('x'.repeat(50)) }),
      incoming('IMG-3', { type: 'image', media: file('x', 5000) }),
    ]);
    await events.until(() => events.messages('message_received').length === 3);
    const [a, b, c] = events.messages('message_received');
    expect(a!.media).toEqual({ key: 'media/session_6_~2B221771234567/images/IMG-1.jpg', mimeType: 'image/jpeg', size: 5 });
    expect(a).toMatchObject({ caption: 'cap', text: 'cap', type: 'image' });
    expect(media.files.get('media/session_6_~2B221771234567/images/IMG-1.jpg')!.body.toString()).toBe('12345');
    expect(b!.media).toMatchObject({ error: expect.stringMatching(/MEDIA_MAX_BYTES/) });
    expect(b!.media!.key).toBeUndefined();
    expect(c!.media).toMatchObject({ size: 5000, error: expect.stringMatching(/MEDIA_MAX_BYTES/) });
    expect(media.files.size).toBe(1);
  });

  it('a storage blip while storing received media: downloaded again and stored; a corrupt file is not retried', async () => {
    const { socket, events, media } = await connected({ maxMediaBytes: 100 });
    const realPut = media.putStream.bind(media);
    let failures = 1;
    media.putStream = async (key, body, opts) => {
      if (failures-- > 0) {
        body.destroy();
        throw new WorkerError('STORAGE_UNAVAILABLE', 'bucket unreachable');
      }
      return realPut(key, body, opts);
    };
    let opened = 0;
    const file = (open: () => Promise<Readable>) => ({ kind: 'image' as const, mimeType: 'image/jpeg', size: undefined, fileName: undefined, ptt: false, open: () => (opened++, open()) });
    socket.receive([incoming('IMG-R', { type: 'image', media: file(async () => Readable.from([Buffer.from('abc')])) })]);
    await events.until(() => events.messages('message_received').length === 1);
    expect(events.messages('message_received')[0]!.media).toMatchObject({ key: 'media/session_6_~2B221771234567/images/IMG-R.jpg', size: 3 });
    expect(opened).toBe(2);

    opened = 0;
    socket.receive([incoming('IMG-C', { type: 'image', media: file(async () => { throw new WorkerError('MEDIA_CORRUPT', 'received media rejected: MAC mismatch'); }) })]);
    await events.until(() => events.messages('message_received').length === 2);
    expect(events.messages('message_received')[1]!.media).toMatchObject({ error: 'received media rejected: MAC mismatch' });
    expect(opened).toBe(1);
  });

  it('delete removes the session\'s media files and its queued history, and nothing of another session', async () => {
    const { socket, events, media, history, manager } = await connected({ maxMediaBytes: 100 });
    const other = 'media/session_7_~2B221770000007/images/X.jpg';
    media.files.set(other, { body: Buffer.from('not mine'), contentType: 'image/jpeg' });
    history.append('session_7_+221770000007', { direction: 'in', messageId: 'X', at: 1, chat: 'c', type: 'text' });
    socket.receive([incoming('IMG-9', { type: 'image', media: { kind: 'image', mimeType: 'image/jpeg', size: 3, fileName: undefined, ptt: false, open: async () => Readable.from([Buffer.from('abc')]) } })]);
    await events.until(() => events.messages('message_received').length === 1);
    expect([...media.files.keys()].sort()).toEqual(['media/session_6_~2B221771234567/images/IMG-9.jpg', other]);
    expect(history.records.map(([sid]) => sid)).toContain(SID);

    await manager.execute({ ...create, action: 'delete', requestId: 'req-delete' });
    await events.until(() => events.actions().includes('session_deleted'));
    expect([...media.files.keys()]).toEqual([other]);
    expect(history.records.map(([sid]) => sid)).toEqual(['session_7_+221770000007']);
  });

  it('a message is only handled once its event is confirmed: they stay in order behind a slow broker', async () => {
    const { socket, events, stats } = await connected();
    let open!: () => void;
    events.messageGate = new Promise<void>((resolve) => (open = resolve));
    socket.receive([incoming('S-1'), incoming('S-2')]);
    // The first message's event is being published (held by the slow broker): nothing counts as handled yet.
    await events.until(() => events.heldAtGate === 1);
    expect(stats.received).toBe(0);
    events.messageGate = undefined;
    open();
    await events.until(() => events.messages('message_received').length === 2);
    expect(events.messages('message_received').map((e) => e.messageId)).toEqual(['S-1', 'S-2']);
  });
});

export type { FakeSocket };

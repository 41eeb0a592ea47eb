import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import pino from 'pino';
import type { CheckNumbersCommand, MarkReadCommand, SendMessageCommand, SendPresenceCommand, SessionCommand } from '../../src/commands/command.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { stableEventId } from '../../src/events/event-publisher.js';
import { mediaPrefix } from '../../src/storage/media-store.js';
import { MessageCounters } from '../../src/messaging/message-counters.js';
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
import { waitFor, within } from '../helpers/wait.js';

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

const checkNumbers = (requestId: string, phones: string[]): CheckNumbersCommand => ({ ...base, action: 'check_numbers', requestId, phones });
const markRead = (requestId: string, messageIds: string[], chat = '+221770000001'): MarkReadCommand => ({
  chatJid: `${chat.slice(1)}@s.whatsapp.net`,
  ...base,
  action: 'mark_read',
  requestId,
  chat,
  messageIds,
});
const presence = (requestId: string, state: SendPresenceCommand['state'], chat?: string): SendPresenceCommand => ({
  ...base,
  action: 'send_presence',
  requestId,
  state,
  chat,
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

/** A logger whose warnings a test can read (the detail the backend is not told goes there). */
function capturingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  return { logger, lines };
}

async function setup(
  opts: { waitMs?: number; maxMediaBytes?: number; fetchTimeoutMs?: number; fetchDeadlineMs?: number; allowedHosts?: string[]; logger?: pino.Logger } = {},
) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const media = new MemoryMediaStore();
  const history = new MemoryHistory();
  const stats = new MessageCounters();
  const store = new MemorySessionStore();
  const deps: SessionDeps = {
    workerId: 'w1',
    connector,
    store,
    events,
    logger: opts.logger ?? silentLogger,
    renderQr: async (qr) => `data:image/png;base64,${Buffer.from(qr).toString('base64')}`,
    policy: {
      reconnectBaseDelayMs: 5,
      reconnectMaxDelayMs: 20,
      maxConflicts: 3,
      conflictWindowMs: 60_000,
      qrTimeoutMs: undefined,
      pairingReadyTimeoutMs: 1000,
    },
    messaging: {
      media,
      history,
      counters: stats,
      sendWaitForOpenMs: opts.waitMs ?? 2000,
      mediaMaxBytes: opts.maxMediaBytes ?? 1024,
      mediaRetryBaseMs: 1,
      mediaFetchTimeoutMs: opts.fetchTimeoutMs ?? 5000,
      mediaFetchDeadlineMs: opts.fetchDeadlineMs ?? 10_000,
      mediaFetchAllowedHosts: opts.allowedHosts ?? [],
    },
  };
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  return { connector, events, media, history, stats, manager, store };
}

async function connected(opts: Parameters<typeof setup>[0] = {}) {
  const s = await setup(opts);
  await s.manager.execute(create);
  const socket = s.connector.latest(SID)!;
  socket.open('221771234567');
  await s.events.until(() => s.events.actions().includes('connected'));
  return { ...s, socket };
}

const incoming = (id: string, extra: Partial<IncomingMessage> = {}): Omit<IncomingMessage, 'acknowledge'> => ({
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
    expect(socket.sends).toEqual([
      { jid: '221770000001@s.whatsapp.net', content: { type: 'text', text: 'Hello' }, opts: { messageId: deriveMessageId(SID, 'req-1') } },
    ]);
    expect(events.messages('message_sent')).toEqual([
      expect.objectContaining({
        messageId: deriveMessageId(SID, 'req-1'),
        requestId: 'req-1',
        to: '+221770000001',
        toJid: '221770000001@s.whatsapp.net',
        type: 'text',
        numberId: 6,
        sessionId: SID,
      }),
    ]);
    expect(history.records).toEqual([
      [SID, expect.objectContaining({ direction: 'out', messageId: deriveMessageId(SID, 'req-1'), text: 'Hello', requestId: 'req-1' })],
    ]);
    expect(stats.sent).toBe(1);
    expect(stats.total).toBe(1);
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

  it('a send redelivered while the worker restores its sessions waits for the restore and is sent (not failed NOT_CONNECTED)', async () => {
    const first = await connected();
    await first.manager.shutdown();
    const fresh = await setup();
    Object.assign(fresh.store, { creds: first.store.creds, keys: first.store.keys, metas: first.store.metas });
    // Storage is slow to list the sessions to restore: the command gets in first.
    let list!: () => void;
    const listed = new Promise<void>((resolve) => (list = resolve));
    const listMeta = fresh.store.listMeta.bind(fresh.store);
    fresh.store.listMeta = async () => {
      await listed;
      return listMeta();
    };
    fresh.connector.onConnect = (s) => s.open();
    const restoring = fresh.manager.restore();
    const sending = fresh.manager.execute(sendText('during-restore'));
    list();
    await restoring;
    await sending;
    expect(fresh.events.messages('message_failed')).toEqual([]);
    expect(fresh.events.messages('message_sent').map((e) => e.requestId)).toEqual(['during-restore']);
    expect(fresh.connector.latest(SID)!.sends).toHaveLength(1);
  });

  it('a session that does not open within SEND_WAIT_FOR_OPEN_MS → message_failed NOT_CONNECTED, with why', async () => {
    const { manager, socket, events } = await connected({ waitMs: 100 });
    socket.close(428, 'dropped');
    const started = Date.now();
    await manager.execute(sendText('req-3'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(events.messages('message_failed')).toEqual([
      expect.objectContaining({
        requestId: 'req-3',
        code: 'NOT_CONNECTED',
        reason: expect.stringMatching(/did not open within 100 ms/),
        messageId: deriveMessageId(SID, 'req-3'),
      }),
    ]);
  });

  it('a stopped session fails at once (waiting cannot help)', async () => {
    // An hour's SEND_WAIT_FOR_OPEN_MS: a send that waited at all would not end within the bound below.
    const { manager, events } = await connected({ waitMs: 3_600_000 });
    await manager.execute({ ...create, action: 'disconnect' });
    await within(manager.execute(sendText('req-4')), 10_000, 'the send to a stopped session to fail without waiting for it to open');
    expect(events.messages('message_failed')[0]).toMatchObject({
      code: 'NOT_CONNECTED',
      reason: expect.stringMatching(/not connected \(stopped: disconnect requested\)/),
    });
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
    const own = `${mediaPrefix(SID)}images/a.jpg`;
    await media.putStream(own, Readable.from([Buffer.from('jpeg')]), { maxBytes: 100 });
    const image: SendMessageCommand = {
      ...sendText('req-8'),
      message: { type: 'image', media: { kind: 'mediaKey', key: own }, mimeType: 'image/jpeg', caption: 'hi', fileName: undefined, ptt: false },
    };
    await manager.execute(image);
    const sent = socket.sends[0]!.content;
    expect(sent).toMatchObject({ type: 'image', caption: 'hi', mimeType: 'image/jpeg' });
    const chunks: Buffer[] = [];
    for await (const c of (sent as { media: { stream: Readable } }).media.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('jpeg');
    await manager.execute({
      ...image,
      requestId: 'req-9',
      message: { ...image.message, media: { kind: 'mediaKey', key: `${mediaPrefix(SID)}images/none.jpg` } } as SendMessageCommand['message'],
    });
    expect(events.messages('message_failed')[0]).toMatchObject({ requestId: 'req-9', code: 'MEDIA_NOT_FOUND' });
  });

  it("a mediaKey of another session is refused (INVALID_MEDIA), though the file exists: one number cannot send another's files", async () => {
    const { manager, socket, media, events } = await connected();
    const others = [
      `${mediaPrefix('session_7_+221770000007')}images/theirs.jpg`,
      // a session id that merely starts like this one's
      `${mediaPrefix(`${SID}0`)}images/theirs.jpg`,
      'media/s/images/theirs.jpg',
    ];
    for (const key of others) await media.putStream(key, Readable.from([Buffer.from('not yours')]), { maxBytes: 100 });
    for (const [i, key] of others.entries()) {
      await manager.execute({
        ...sendText(`req-x${i}`),
        message: { type: 'image', media: { kind: 'mediaKey', key }, mimeType: 'image/jpeg', caption: undefined, fileName: undefined, ptt: false },
      });
    }
    expect(events.messages('message_failed').map((e) => [e.requestId, e.code, e.reason])).toEqual([
      ['req-x0', 'INVALID_MEDIA', 'mediaKey belongs to another session'],
      ['req-x1', 'INVALID_MEDIA', 'mediaKey belongs to another session'],
      ['req-x2', 'INVALID_MEDIA', 'mediaKey belongs to another session'],
    ]);
    expect(socket.sends).toHaveLength(0);
  });

  /** Local servers for `url` sends, closed after each test. */
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  async function serve(handler: RequestListener, host = '127.0.0.1') {
    const server = createServer(handler);
    const local = {
      connections: 0,
      base: '',
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
    server.on('connection', () => local.connections++);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    local.base = `${host}:${(server.address() as AddressInfo).port}`;
    servers.push(local);
    return local;
  }
  const image = (requestId: string, url: string): SendMessageCommand => ({
    ...sendText(requestId),
    message: { type: 'image', media: { kind: 'url', url }, mimeType: undefined, caption: undefined, fileName: undefined, ptt: false },
  });
  /** Reads the media stream the way Baileys does while it uploads: a failing stream fails the send. */
  const consumeLikeBaileys = (socket: FakeSocket) => {
    const send = socket.sendMessage.bind(socket);
    socket.sendMessage = async (jid, content, opts) => {
      if ('media' in content && 'stream' in content.media) for await (const chunk of content.media.stream) void chunk;
      return send(jid, content, opts);
    };
  };

  it('media by url (allowed host): fetched by the worker (any case of http), bounded; oversize, a redirect to file: and silence fail', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/ok.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end('png-bytes');
      if (req.url === '/big') return void res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000));
      if (req.url === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      if (req.url === '/silent') return; // never answers
      res.writeHead(404).end();
    });
    const { logger, lines } = capturingLogger();
    const { manager, socket, events } = await connected({ maxMediaBytes: 1000, fetchTimeoutMs: 300, allowedHosts: ['127.0.0.1/32'], logger });
    await manager.execute(image('u-1', `HTTP://${server.base}/ok.png`));
    const sent = socket.sends[0]!.content as { mimeType: string; media: { stream: Readable } };
    expect(sent.mimeType).toBe('image/png');
    const chunks: Buffer[] = [];
    for await (const c of sent.media.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('png-bytes');

    for (const [id, path] of [
      ['u-2', '/missing'],
      ['u-3', '/big'],
      ['u-4', '/to-file'],
      ['u-5', '/silent'],
    ])
      await manager.execute(image(id!, `http://${server.base}${path}`));
    const failed = Object.fromEntries(events.messages('message_failed').map((e) => [e.requestId, `${e.code}: ${e.reason}`]));
    expect(failed).toEqual({
      // a 404 says "the host answered": no more than any other failure
      'u-2': 'MEDIA_UNAVAILABLE: the media URL could not be fetched',
      'u-3': expect.stringMatching(/^MEDIA_TOO_LARGE: .*5000 bytes/),
      'u-4': 'MEDIA_UNAVAILABLE: the media URL could not be fetched',
      'u-5': 'MEDIA_UNAVAILABLE: the media URL could not be fetched',
    });
    expect(socket.sends).toHaveLength(1);
    // the detail is for the operator
    const log = lines.join('');
    expect(log).toMatch(/answered 404/);
    expect(log).toMatch(/scheme file: refused/);
    expect(log).toMatch(/no answer within 300 ms/);
  });

  it('private addresses are refused by default: the server sees no connection; the backend cannot tell a refusal, a closed port and a 403 apart', async () => {
    const server = await serve((req, res) => void res.writeHead(req.url === '/forbidden' ? 403 : 200).end('secret'));
    const closed = await serve(() => undefined);
    const closedPort = closed.base.split(':')[1];
    await closed.close();
    const port = server.base.split(':')[1];

    const { logger, lines } = capturingLogger();
    const refusing = await connected({ logger });
    for (const [id, url] of [
      ['p-1', `http://127.0.0.1:${port}/a.png`],
      ['p-2', `http://localhost:${port}/a.png`],
      ['p-3', `http://2130706433:${port}/a.png`],
      ['p-4', `http://0.0.0.0:${port}/a.png`],
      ['p-5', `http://[::ffff:127.0.0.1]:${port}/a.png`],
      ['p-6', `http://169.254.169.254/latest/meta-data/`],
    ]) {
      await refusing.manager.execute(image(id!, url!));
    }
    expect(server.connections).toBe(0);
    expect(refusing.socket.sends).toHaveLength(0);

    // Allowed: a closed port and a 403 now fail for what they are; the backend sees the same thing.
    const allowing = await connected({ allowedHosts: ['127.0.0.1/32'], logger });
    await allowing.manager.execute(image('q-1', `http://127.0.0.1:${closedPort}/a.png`));
    await allowing.manager.execute(image('q-2', `http://127.0.0.1:${port}/forbidden`));
    expect(server.connections).toBe(1);

    const outcomes = [...refusing.events.messages('message_failed'), ...allowing.events.messages('message_failed')].map((e) => [e.requestId, e.code, e.reason]);
    expect(outcomes).toEqual(
      ['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6', 'q-1', 'q-2'].map((id) => [id, 'MEDIA_UNAVAILABLE', 'the media URL could not be fetched']),
    );
    const log = lines.join('');
    expect(log).toMatch(/127\.0\.0\.1 is loopback/);
    expect(log).toMatch(/169\.254\.169\.254 is link-local/);
    expect(log).toMatch(/ECONNREFUSED/);
    expect(log).toMatch(/answered 403/);
  });

  it('a server dripping a byte every 200 ms fails at MEDIA_FETCH_DEADLINE_MS (the lane is not held), with the same one reason', async () => {
    const drips: NodeJS.Timeout[] = [];
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/ogg' });
      drips.push(setInterval(() => res.write('x'), 200));
    });
    try {
      const { logger, lines } = capturingLogger();
      const { manager, socket, events } = await connected({ fetchTimeoutMs: 1000, fetchDeadlineMs: 900, allowedHosts: ['127.0.0.1/32'], logger });
      consumeLikeBaileys(socket);
      const started = Date.now();
      await manager.execute(image('d-1', `http://${server.base}/slow.ogg`));
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(850);
      expect(elapsed).toBeLessThan(3000);
      expect(events.messages('message_failed')).toEqual([
        expect.objectContaining({ requestId: 'd-1', code: 'MEDIA_UNAVAILABLE', reason: 'the media URL could not be fetched' }),
      ]);
      expect(socket.sends).toHaveLength(0);
      expect(lines.join('')).toMatch(/not complete within 900 ms/);
    } finally {
      drips.forEach(clearInterval);
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

/** A received file's key: session, kind, 16 hex of the (chat, sender, id) hash, 8 random hex. */
const RECEIVED_KEY = (folder: string, ext: string) => new RegExp(`^media/session_6_~2B221771234567/${folder}/[0-9a-f]{16}-[0-9a-f]{8}\\.${ext}$`);

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
    expect(received[0]).toMatchObject({
      from: { lid: '111111111111111@lid', pn: '221770000001@s.whatsapp.net' },
      chat: '111111111111111@lid',
      isGroup: false,
      type: 'text',
      text: 'text of A',
      sentAt: 1_733_396_400_000,
      sessionId: SID,
    });
    expect(history.records.map(([, r]) => [r.direction, r.messageId])).toEqual([
      ['in', 'A'],
      ['in', 'B'],
      ['in', 'C'],
    ]);
    expect(stats.received).toBe(3);
  });

  it('streams media into the media store and references it; too large → no file, the reason instead', async () => {
    const { socket, events, media } = await connected({ maxMediaBytes: 10 });
    const file = (body: string, size?: number) => ({
      kind: 'image' as const,
      mimeType: 'image/jpeg',
      size,
      fileName: undefined,
      ptt: false,
      open: async () => Readable.from([Buffer.from(body)]),
    });
    socket.receive([
      incoming('IMG-1', { type: 'image', text: 'cap', caption: 'cap', media: file('12345') }),
      incoming('IMG-2', { type: 'image', media: file('x'.repeat(50)) }),
      incoming('IMG-3', { type: 'image', media: file('x', 5000) }),
    ]);
    await events.until(() => events.messages('message_received').length === 3);
    const [a, b, c] = events.messages('message_received');
    expect(a!.media).toEqual({ key: expect.stringMatching(RECEIVED_KEY('images', 'jpg')), mimeType: 'image/jpeg', size: 5 });
    expect(a).toMatchObject({ caption: 'cap', text: 'cap', type: 'image' });
    expect(media.files.get(a!.media!.key!)).toEqual({ body: Buffer.from('12345'), contentType: 'image/jpeg' });
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
    const file = (open: () => Promise<Readable>) => ({
      kind: 'image' as const,
      mimeType: 'image/jpeg',
      size: undefined,
      fileName: undefined,
      ptt: false,
      open: () => (opened++, open()),
    });
    socket.receive([incoming('IMG-R', { type: 'image', media: file(async () => Readable.from([Buffer.from('abc')])) })]);
    await events.until(() => events.messages('message_received').length === 1);
    expect(events.messages('message_received')[0]!.media).toMatchObject({ key: expect.stringMatching(RECEIVED_KEY('images', 'jpg')), size: 3 });
    expect(media.files.size).toBe(1);
    expect(opened).toBe(2);

    opened = 0;
    socket.receive([
      incoming('IMG-C', {
        type: 'image',
        media: file(async () => {
          throw new WorkerError('MEDIA_CORRUPT', 'received media rejected: MAC mismatch');
        }),
      }),
    ]);
    await events.until(() => events.messages('message_received').length === 2);
    expect(events.messages('message_received')[1]!.media).toMatchObject({ error: 'received media rejected: MAC mismatch' });
    expect(opened).toBe(1);
  });

  it('duplicates are judged by chat and id: the same sender-chosen id in another chat is another message', async () => {
    const { socket, events } = await connected();
    const group = { chat: '120363025246125486@g.us', isGroup: true, participant: '222222222222222@lid' };
    socket.receive([incoming('SAME'), incoming('SAME', group), incoming('SAME'), incoming('SAME', group), incoming('LAST')]);
    await events.until(() => events.messages('message_received').some((e) => e.messageId === 'LAST'));
    expect(events.messages('message_received').map((e) => [e.messageId, e.chat])).toEqual([
      ['SAME', '111111111111111@lid'],
      ['SAME', '120363025246125486@g.us'],
      ['LAST', '111111111111111@lid'],
    ]);
  });

  it('received files never overwrite one another: ids that sanitize alike, the same id in two chats', async () => {
    const { socket, events, media } = await connected({ maxMediaBytes: 100 });
    const file = (body: string) => ({
      kind: 'image' as const,
      mimeType: 'image/jpeg',
      size: undefined,
      fileName: undefined,
      ptt: false,
      open: async () => Readable.from([Buffer.from(body)]),
    });
    socket.receive([
      incoming('3EB0.AB', { type: 'image', media: file('first') }),
      incoming('3EB0_AB', { type: 'image', media: file('second') }),
      incoming('3EB0.AB', { type: 'image', chat: '120363025246125486@g.us', isGroup: true, participant: '222222222222222@lid', media: file('third') }),
    ]);
    await events.until(() => events.messages('message_received').length === 3);
    const keys = events.messages('message_received').map((e) => e.media!.key!);
    for (const key of keys) expect(key).toMatch(RECEIVED_KEY('images', 'jpg'));
    expect(new Set(keys).size).toBe(3);
    expect(keys.map((k) => media.files.get(k)!.body.toString())).toEqual(['first', 'second', 'third']);
    // the hash part names (chat, sender, id): the two 3EB0.AB of different chats differ there too
    const hashOf = (k: string) => k.split('/').pop()!.slice(0, 16);
    expect(new Set(keys.map(hashOf)).size).toBe(3);
  });

  it("the stored type and extension come from an allow-list, never from the sender's claim or file name; the event passes the claim on", async () => {
    const { socket, events, media } = await connected({ maxMediaBytes: 100 });
    const doc = (mimeType: string | undefined, fileName: string | undefined) => ({
      kind: 'document' as const,
      mimeType,
      size: undefined,
      fileName,
      ptt: false,
      open: async () => Readable.from([Buffer.from('<script>x</script>')]),
    });
    socket.receive([
      incoming('D-1', { type: 'document', media: doc('text/html', 'page.html') }),
      incoming('D-2', { type: 'document', media: doc('image/svg+xml', 'logo.svg') }),
      incoming('D-3', { type: 'document', media: doc(undefined, 'run.exe') }),
      incoming('D-4', { type: 'document', media: doc('Application/PDF; x=1', 'evil.html') }),
      incoming('D-5', { type: 'document', media: doc('constructor', 'c.js') }),
    ]);
    await events.until(() => events.messages('message_received').length === 5);
    const refs = events.messages('message_received').map((e) => e.media!);
    expect(refs.map((r) => [r.key!.split('.').pop(), media.files.get(r.key!)!.contentType])).toEqual([
      ['bin', 'application/octet-stream'],
      ['bin', 'application/octet-stream'],
      ['bin', 'application/octet-stream'],
      ['pdf', 'application/pdf'],
      ['bin', 'application/octet-stream'],
    ]);
    for (const r of refs) expect(r.key).toMatch(/^media\/session_6_~2B221771234567\/documents\/[0-9a-f]{16}-[0-9a-f]{8}\.(bin|pdf)$/);
    expect(refs[0]).toMatchObject({ mimeType: 'text/html', fileName: 'page.html' });
    expect(refs[3]).toMatchObject({ mimeType: 'Application/PDF; x=1', fileName: 'evil.html' });
  });

  it("delete removes the session's media files and its queued history, and nothing of another session", async () => {
    const { socket, events, media, history, manager } = await connected({ maxMediaBytes: 100 });
    const other = 'media/session_7_~2B221770000007/images/X.jpg';
    media.files.set(other, { body: Buffer.from('not mine'), contentType: 'image/jpeg' });
    history.append('session_7_+221770000007', { direction: 'in', messageId: 'X', at: 1, chat: 'c', type: 'text' });
    socket.receive([
      incoming('IMG-9', {
        type: 'image',
        media: { kind: 'image', mimeType: 'image/jpeg', size: 3, fileName: undefined, ptt: false, open: async () => Readable.from([Buffer.from('abc')]) },
      }),
    ]);
    await events.until(() => events.messages('message_received').length === 1);
    expect([...media.files.keys()].sort()).toEqual([expect.stringMatching(RECEIVED_KEY('images', 'jpg')), other]);
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

  it('WhatsApp gets the receipt of an incoming message only once its message_received is confirmed; a duplicate is receipted at once', async () => {
    const { socket, events } = await connected();
    let open!: () => void;
    events.messageGate = new Promise<void>((resolve) => (open = resolve));
    socket.receive([incoming('R-1')]);
    await events.until(() => events.heldAtGate === 1);
    expect(socket.acknowledged).toEqual([]);
    events.messageGate = undefined;
    open();
    await waitFor(() => socket.acknowledged.length === 1, '1 receipt(s) sent', { detail: () => socket.acknowledged.join() });
    expect(events.messages('message_received').map((e) => e.messageId)).toEqual(['R-1']);
    expect(socket.acknowledged).toEqual(['R-1']);
    socket.receive([incoming('R-1')], true);
    socket.receive([incoming('R-2')]);
    await events.until(() => events.messages('message_received').length === 2);
    await waitFor(() => socket.acknowledged.length === 3, '3 receipt(s) sent', { detail: () => socket.acknowledged.join() });
    expect(socket.acknowledged).toEqual(['R-1', 'R-1', 'R-2']);
  });

  it('a message whose event is not published is not receipted (WhatsApp keeps it); its redelivery is, with the eventId a re-publication would carry', async () => {
    const { socket, events } = await connected();
    events.failNextMessage = new WorkerError('UNPUBLISHABLE', 'refused');
    socket.receive([incoming('L-1')]);
    socket.receive([incoming('L-2')]);
    await waitFor(() => socket.acknowledged.length === 1, '1 receipt(s) sent', { detail: () => socket.acknowledged.join() });
    expect(socket.acknowledged).toEqual(['L-2']);
    socket.receive([incoming('L-1')], true);
    await waitFor(() => socket.acknowledged.length === 2, '2 receipt(s) sent', { detail: () => socket.acknowledged.join() });
    expect(socket.acknowledged).toEqual(['L-2', 'L-1']);
    const [l2, l1] = events.messages('message_received');
    expect(l1!.eventId).toBe(stableEventId(`message_received\0${SID}\0${l1!.chat}\0L-1`));
    expect(l2!.eventId).not.toBe(l1!.eventId);
  });
});

describe('checking numbers', () => {
  it('asks WhatsApp once for the whole batch and answers numbers_checked in the order asked, with the JID and the LID it told', async () => {
    const { manager, socket, events } = await connected();
    socket.unregistered.add('15559999999@s.whatsapp.net');
    socket.lids.set('221770000001@s.whatsapp.net', '987654321012345@lid');
    await manager.execute(checkNumbers('chk-1', ['+221770000001', '+15559999999', '+221770000002']));
    expect(socket.numberChecks).toEqual([['221770000001@s.whatsapp.net', '15559999999@s.whatsapp.net', '221770000002@s.whatsapp.net']]);
    expect(events.messages('numbers_checked')).toEqual([
      expect.objectContaining({
        action: 'numbers_checked',
        numberId: 6,
        sessionId: SID,
        requestId: 'chk-1',
        results: [
          { phone: '+221770000001', onWhatsApp: true, jid: '221770000001@s.whatsapp.net', lid: '987654321012345@lid' },
          { phone: '+15559999999', onWhatsApp: false },
          { phone: '+221770000002', onWhatsApp: true, jid: '221770000002@s.whatsapp.net' },
        ],
      }),
    ]);
    expect(events.messages('numbers_check_failed')).toEqual([]);
    expect(socket.sends).toEqual([]);
  });

  it('a redelivered command (same requestId) asks again and answers again', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(checkNumbers('chk-2', ['+221770000001']));
    socket.unregistered.add('221770000001@s.whatsapp.net');
    await manager.execute(checkNumbers('chk-2', ['+221770000001']));
    expect(socket.numberChecks).toHaveLength(2);
    const answers = events.messages('numbers_checked');
    expect(answers.map((e) => [e.requestId, e.results])).toEqual([
      ['chk-2', [{ phone: '+221770000001', onWhatsApp: true, jid: '221770000001@s.whatsapp.net' }]],
      ['chk-2', [{ phone: '+221770000001', onWhatsApp: false }]],
    ]);
    expect(answers[1]!.eventId).not.toBe(answers[0]!.eventId);
  });

  it('waits for a reconnecting session to open, then asks', async () => {
    const { manager, socket, connector, events } = await connected();
    const next = connector.nextSocket();
    socket.close(428, 'dropped');
    const checking = manager.execute(checkNumbers('chk-3', ['+221770000001']));
    const again = await next;
    again.open('221771234567');
    await checking;
    expect(again.numberChecks).toEqual([['221770000001@s.whatsapp.net']]);
    expect(events.messages('numbers_checked').map((e) => e.requestId)).toEqual(['chk-3']);
  });

  it('answered with numbers_check_failed, not retried: unknown session, not open within SEND_WAIT_FOR_OPEN_MS, stopped, WhatsApp failing', async () => {
    const { manager, socket, events } = await connected({ waitMs: 100 });
    await manager.execute({ ...checkNumbers('chk-4', ['+221770000001']), numberId: 99, sessionId: undefined });
    socket.failNextCheck = new Error('query timed out');
    await manager.execute(checkNumbers('chk-5', ['+221770000001', '+221770000002']));
    socket.close(428, 'dropped');
    const started = Date.now();
    await manager.execute(checkNumbers('chk-6', ['+221770000001']));
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    await manager.execute({ ...create, action: 'disconnect' });
    await manager.execute(checkNumbers('chk-7', ['+221770000001']));
    expect(events.messages('numbers_check_failed').map((e) => [e.requestId, e.code])).toEqual([
      ['chk-4', 'UNKNOWN_SESSION'],
      ['chk-5', 'WHATSAPP_ERROR'],
      ['chk-6', 'NOT_CONNECTED'],
      ['chk-7', 'NOT_CONNECTED'],
    ]);
    const [unknown, whatsapp, late, stopped] = events.messages('numbers_check_failed');
    expect(unknown).toMatchObject({ numberId: 99, phones: ['+221770000001'], reason: expect.stringMatching(/no session for numberId 99/) });
    expect(whatsapp).toMatchObject({ sessionId: SID, phones: ['+221770000001', '+221770000002'], reason: expect.stringMatching(/query timed out/) });
    expect(late).toMatchObject({ reason: expect.stringMatching(/did not open within 100 ms/) });
    expect(stopped).toMatchObject({ reason: expect.stringMatching(/not connected \(stopped: disconnect requested\)/) });
    expect(events.messages('numbers_checked')).toEqual([]);
  });

  it('an answer the broker does not confirm fails the command (retried), and the retry answers', async () => {
    const { manager, socket, events } = await connected();
    events.failNextMessage = new WorkerError('BROKER_UNAVAILABLE', 'broker down');
    await expect(manager.execute(checkNumbers('chk-8', ['+221770000001']))).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    await manager.execute(checkNumbers('chk-8', ['+221770000001']));
    expect(socket.numberChecks).toHaveLength(2);
    expect(events.messages('numbers_checked').map((e) => e.requestId)).toEqual(['chk-8']);
  });

  it('a number found on WhatsApp is not asked again by a send to it', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(checkNumbers('chk-9', ['+221770000001']));
    // Were it asked again, the send would fail NOT_ON_WHATSAPP.
    socket.unregistered.add('221770000001@s.whatsapp.net');
    await manager.execute(sendText('send-after-check'));
    expect(events.messages('message_sent').map((e) => e.requestId)).toEqual(['send-after-check']);
  });
});

describe('marking read and sending presence', () => {
  it('mark_read sends the read receipts for the chat (one call, the ids in order) and answers messages_read', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(markRead('read-1', ['3EB0AA', '3EB0BB']));
    expect(socket.reads).toEqual([{ jid: '221770000001@s.whatsapp.net', messageIds: ['3EB0AA', '3EB0BB'] }]);
    expect(events.messages('messages_read')).toEqual([
      expect.objectContaining({
        action: 'messages_read',
        numberId: 6,
        sessionId: SID,
        requestId: 'read-1',
        chat: '+221770000001',
        messageIds: ['3EB0AA', '3EB0BB'],
      }),
    ]);
    expect(events.messages('mark_read_failed')).toEqual([]);
  });

  it('send_presence: a chat state goes to the contact, the account presence to nobody; each answered presence_sent', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(presence('p-1', 'composing', '+221770000001'));
    await manager.execute(presence('p-2', 'available'));
    expect(socket.presences).toEqual([{ state: 'composing', jid: '221770000001@s.whatsapp.net' }, { state: 'available' }]);
    const sent = events.messages('presence_sent');
    expect(sent.map((e) => [e.requestId, e.state, e.chat])).toEqual([
      ['p-1', 'composing', '+221770000001'],
      ['p-2', 'available', undefined],
    ]);
    expect(sent[1]).not.toHaveProperty('chat');
  });

  it('waits for a reconnecting session to open, then marks read', async () => {
    const { manager, socket, connector, events } = await connected();
    const next = connector.nextSocket();
    socket.close(428, 'dropped');
    const reading = manager.execute(markRead('read-2', ['3EB0CC']));
    const again = await next;
    again.open('221771234567');
    await reading;
    expect(again.reads).toEqual([{ jid: '221770000001@s.whatsapp.net', messageIds: ['3EB0CC'] }]);
    expect(events.messages('messages_read').map((e) => e.requestId)).toEqual(['read-2']);
  });

  it('answered with mark_read_failed / presence_failed, not retried: unknown session, WhatsApp failing, not open in time, stopped', async () => {
    const { manager, socket, events } = await connected({ waitMs: 100 });
    await manager.execute({ ...markRead('r-unknown', ['3EB0AA']), numberId: 99, sessionId: undefined });
    await manager.execute({ ...presence('p-unknown', 'paused', '+221770000001'), numberId: 99, sessionId: undefined });
    socket.failNextRead = new Error('socket write failed');
    await manager.execute(markRead('r-wa', ['3EB0AA']));
    socket.failNextPresence = new Error('no push name');
    await manager.execute(presence('p-wa', 'available'));
    socket.close(428, 'dropped');
    await manager.execute(markRead('r-late', ['3EB0AA']));
    await manager.execute({ ...create, action: 'disconnect' });
    await manager.execute(presence('p-stopped', 'composing', '+221770000001'));
    expect(events.messages('mark_read_failed').map((e) => [e.requestId, e.code, e.chat, e.messageIds])).toEqual([
      ['r-unknown', 'UNKNOWN_SESSION', '+221770000001', ['3EB0AA']],
      ['r-wa', 'WHATSAPP_ERROR', '+221770000001', ['3EB0AA']],
      ['r-late', 'NOT_CONNECTED', '+221770000001', ['3EB0AA']],
    ]);
    expect(events.messages('presence_failed').map((e) => [e.requestId, e.code, e.state, e.chat])).toEqual([
      ['p-unknown', 'UNKNOWN_SESSION', 'paused', '+221770000001'],
      ['p-wa', 'WHATSAPP_ERROR', 'available', undefined],
      ['p-stopped', 'NOT_CONNECTED', 'composing', '+221770000001'],
    ]);
    const [, wa] = events.messages('mark_read_failed');
    expect(wa).toMatchObject({ sessionId: SID, reason: expect.stringMatching(/socket write failed/) });
    expect(events.messages('presence_failed')[1]).toMatchObject({ reason: expect.stringMatching(/no push name/) });
    expect(events.messages('messages_read')).toEqual([]);
    expect(events.messages('presence_sent')).toEqual([]);
  });

  it('an answer the broker does not confirm fails the command (retried), and the retry answers', async () => {
    const { manager, socket, events } = await connected();
    events.failNextMessage = new WorkerError('BROKER_UNAVAILABLE', 'broker down');
    await expect(manager.execute(markRead('read-3', ['3EB0AA']))).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    await manager.execute(markRead('read-3', ['3EB0AA']));
    expect(socket.reads).toHaveLength(2);
    expect(events.messages('messages_read').map((e) => e.requestId)).toEqual(['read-3']);
    events.failNextMessage = new WorkerError('BROKER_UNAVAILABLE', 'broker down');
    await expect(manager.execute(presence('p-3', 'unavailable'))).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE' });
  });
});

export type { FakeSocket };

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalMediaStore } from '../../src/storage/local-media-store.js';
import { mediaPrefix, type MediaStore } from '../../src/storage/media-store.js';
import { S3MediaStore } from '../../src/storage/s3-media-store.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { startS3rver, type RunningS3 } from '../helpers/s3-servers.js';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import type { Emulator } from '../emulator/index.js';

/**
 * Media end to end, on both media store drivers: the real worker (real broker, real Baileys)
 * uploads what it sends to the emulator's HTTPS media host (found through media_conn), where the
 * emulated contact fetches and decrypts it; what a contact sends is downloaded, verified and
 * streamed into the media store, and message_received points at it.
 */
const ACCOUNT = '+221771230031';
const ALICE = '15550000131';
const SID = `session_31_${ACCOUNT}`;

async function readAll(stream: Readable | undefined): Promise<Buffer | undefined> {
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Driver {
  name: string;
  make(): Promise<{ store: MediaStore; cleanup(): Promise<void> }>;
}

let s3: RunningS3 | undefined;
const drivers: Driver[] = [
  {
    name: 'local disk',
    make: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wa-media-'));
      return { store: new LocalMediaStore(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3 (s3rver)',
    make: async () => {
      s3 ??= await startS3rver();
      const o = s3.options();
      const store = new S3MediaStore({
        endPoint: o.endPoint,
        port: o.port,
        useSSL: false,
        accessKey: o.accessKey,
        secretKey: o.secretKey,
        region: o.region ?? 'us-east-1',
        bucket: o.bucket,
      });
      await store.ensureBucket();
      return { store, cleanup: async () => undefined };
    },
  },
];

afterAll(async () => {
  await s3?.close();
});

describe.each(drivers)('media over the queues, media store on $name', (driver) => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let media: Awaited<ReturnType<Driver['make']>>;
  let worker: TestWorker<WhatsAppConnector>;
  let source: Server;
  let sourceUrl = '';
  let decoy: Server;
  let decoyHits = 0;
  const voiceNote = randomBytes(20_000);

  const send = (requestId: string, data: Record<string, unknown>) =>
    scenario.probe.publish(worker.config.queues.commands, {
      action: 'send_message',
      numberId: 31,
      workerId: 'md1',
      requestId,
      data: { to: `+${ALICE}`, ...data },
    });

  beforeAll(async () => {
    emulator = await trustedEmulator();
    emulator.addContact(ALICE);
    scenario = await brokerScenario('media');
    media = await driver.make();
    scenario.workerQueue('md1');
    // The file server below is on loopback: private addresses must be allowed explicitly.
    worker = await startTestWorker({
      env: { ...scenario.env, MEDIA_MAX_BYTES: String(1024 * 1024), MEDIA_FETCH_ALLOWED_HOSTS: '127.0.0.1/32' },
      workerId: 'md1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
      messaging: { media: media.store },
    });
    // a file server the backend could point `url` at
    source = createServer((req, res) => {
      if (req.url !== '/voice.ogg') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'audio/ogg' }).end(voiceNote);
    });
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    // the same files on another loopback address, not allowed: only the policy keeps a fetch from reaching it
    decoy = createServer((_req, res) => void res.end());
    decoy.on('connection', () => decoyHits++);
    await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.2', resolve));
    sourceUrl = `http://127.0.0.1:${(source.address() as { port: number }).port}/voice.ogg`;

    await scenario.probe.publish(worker.config.queues.commands, { action: 'create', numberId: 31, workerId: 'md1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
  }, 60_000);

  afterAll(async () => {
    await worker?.worker.stop(5000);
    await new Promise((resolve) => source?.close(resolve));
    await new Promise((resolve) => decoy?.close(resolve));
    await scenario?.probe.close();
    await emulator?.close();
    await media?.cleanup();
  });

  it('an image sent as base64 reaches the contact as exactly those bytes, with its caption; message_sent, then delivered', async () => {
    const bytes = randomBytes(40_000);
    const received = emulator.waitForMessage(ALICE, { timeoutMs: 20_000 });
    await send('img-1', { type: 'image', base64: bytes.toString('base64'), mimeType: 'image/jpeg', caption: 'look' });
    const got = await received;
    expect(got.id).toBe(deriveMessageId(SID, 'img-1'));
    expect(got.message.imageMessage).toMatchObject({ caption: 'look', mimetype: 'image/jpeg' });
    expect((await emulator.mediaOf(got.message)).equals(bytes)).toBe(true);
    const sent = await scenario.messages.untilAction('message_sent', (e) => e.requestId === 'img-1', 20_000);
    expect(sent).toMatchObject({ type: 'image', messageId: got.id });
    await scenario.messages.untilAction('message_status', (e) => e.messageId === got.id && e.status === 'delivered', 20_000);
  });

  it('a document from the media store (mediaKey) and a voice note from a URL arrive intact', async () => {
    const doc = randomBytes(25_000);
    const key = `${mediaPrefix(SID)}documents/contract.pdf`;
    await media.store.putStream(key, Readable.from([doc]), { contentType: 'application/pdf', maxBytes: 1024 * 1024 });

    const first = emulator.waitForMessage(ALICE, { timeoutMs: 20_000 });
    await send('doc-1', { type: 'document', mediaKey: key, mimeType: 'application/pdf', fileName: 'contract.pdf', caption: 'to sign' });
    const gotDoc = await first;
    const docMessage = gotDoc.message.documentMessage ?? gotDoc.message.documentWithCaptionMessage?.message?.documentMessage;
    expect(docMessage).toMatchObject({ fileName: 'contract.pdf', mimetype: 'application/pdf' });
    expect((await emulator.mediaOf(gotDoc.message)).equals(doc)).toBe(true);

    const second = emulator.waitForMessage(ALICE, { timeoutMs: 20_000 });
    await send('ptt-1', { type: 'audio', url: sourceUrl, ptt: true });
    const gotPtt = await second;
    expect(gotPtt.message.audioMessage).toMatchObject({ ptt: true });
    expect((await emulator.mediaOf(gotPtt.message)).equals(voiceNote)).toBe(true);
    await scenario.messages.untilAction('message_sent', (e) => e.requestId === 'ptt-1', 20_000);
  });

  it('a url outside MEDIA_FETCH_ALLOWED_HOSTS (another loopback address, the metadata address) is not fetched: message_failed, one reason', async () => {
    const before = emulator.receivedBy(ALICE).length;
    await send('ssrf-1', { type: 'audio', url: `http://127.0.0.2:${(decoy.address() as { port: number }).port}/voice.ogg`, ptt: true });
    await send('ssrf-2', { type: 'image', url: 'http://169.254.169.254/latest/meta-data/' });
    for (const id of ['ssrf-1', 'ssrf-2']) {
      const failed = await scenario.messages.untilAction('message_failed', (e) => e.requestId === id, 20_000);
      expect(failed).toMatchObject({ code: 'MEDIA_UNAVAILABLE', reason: 'the media URL could not be fetched' });
    }
    expect(decoyHits).toBe(0);
    expect(emulator.receivedBy(ALICE)).toHaveLength(before);
  });

  it('an image a contact sends is verified, stored by session and type, and message_received points at it', async () => {
    const bytes = randomBytes(60_000);
    const downloadsBefore = emulator.mediaStats.downloads;
    const sent = await emulator.sendMedia(ALICE, ACCOUNT.slice(1), { kind: 'image', bytes, mimeType: 'image/jpeg', caption: 'from alice' });
    const event = await scenario.messages.untilAction('message_received', (e) => e.messageId === sent.id, 20_000);
    expect(event).toMatchObject({
      type: 'image',
      caption: 'from alice',
      sessionId: SID,
      media: { key: expect.stringMatching(/^[^/]+\/[^/]+\/images\/[0-9a-f]{16}-[0-9a-f]{8}\.jpg$/), mimeType: 'image/jpeg', size: bytes.length },
    });
    expect(event.media.key.startsWith(`${mediaPrefix(SID)}images/`)).toBe(true);
    expect(event.media.error).toBeUndefined();
    expect(emulator.mediaStats.downloads).toBe(downloadsBefore + 1);
    expect((await readAll(await media.store.getStream(event.media.key)))?.equals(bytes)).toBe(true);
  });

  it('a file that fails its MAC is not stored: message_received says why', async () => {
    const sent = await emulator.sendMedia(ALICE, ACCOUNT.slice(1), {
      kind: 'document',
      bytes: randomBytes(5000),
      mimeType: 'application/pdf',
      fileName: 'tampered.pdf',
      corrupt: true,
    });
    const event = await scenario.messages.untilAction('message_received', (e) => e.messageId === sent.id, 20_000);
    expect(event).toMatchObject({ type: 'document', media: { fileName: 'tampered.pdf', error: expect.stringMatching(/MAC mismatch/) } });
    expect(event.media.key).toBeUndefined();
  });

  // Last, since it deletes the session; it stores the files it checks itself (runs alone with -t too).
  it("delete removes the session's media files", async () => {
    const received = await emulator.sendMedia(ALICE, ACCOUNT.slice(1), { kind: 'image', bytes: randomBytes(10_000), mimeType: 'image/jpeg' });
    const stored = await scenario.messages.untilAction('message_received', (e) => e.messageId === received.id, 20_000);
    const sentKey = `${mediaPrefix(SID)}documents/to-delete.pdf`;
    await media.store.putStream(sentKey, Readable.from([randomBytes(1000)]), { contentType: 'application/pdf', maxBytes: 1024 * 1024 });
    const keys = [stored.media.key as string, sentKey];
    for (const key of keys) expect(await readAll(await media.store.getStream(key))).toBeDefined();

    await scenario.probe.publish(worker.config.queues.commands, { action: 'delete', numberId: 31, workerId: 'md1', data: { phoneNumber: ACCOUNT } });
    await scenario.events.untilAction('session_deleted', undefined, 20_000);
    for (const key of keys) expect(await media.store.getStream(key)).toBeUndefined();
  });
});

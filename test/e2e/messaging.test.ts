import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { MemoryMediaStore } from '../fakes/memory-media-store.js';
import { FailingBlobStore } from '../fakes/blob-stores.js';
import { BlobMessageHistory, dayOf } from '../../src/messaging/message-history.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { silentLogger } from '../helpers/silent-logger.js';
import type { Emulator, EmulatorServer } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * Messaging end to end: the real worker (real broker, real Baileys) against the emulator, whose
 * contacts decrypt what the worker sends and send encrypted messages back, online or queued
 * for offline delivery.
 */
const ACCOUNT = '+221771230001';
const ALICE = '15550000101';
const SID = `session_21_${ACCOUNT}`;
const plain = { encode: (b: Buffer) => b, decode: (b: Buffer) => ({ data: b }) };

describe('messaging over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let blobs: FailingBlobStore;
  let history: BlobMessageHistory;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const start = async (env: Record<string, string> = {}) => {
    scenario.workerQueue('m1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '1500', ...env },
      workerId: 'm1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
      messaging: { media: new MemoryMediaStore(), history },
    });
    workers.push(w);
    return w;
  };

  const command = (action: string, data: Record<string, unknown> = {}) => ({
    action,
    numberId: 21,
    workerId: 'm1',
    ...data,
    data: { phoneNumber: ACCOUNT, ...((data.data as object) ?? {}) },
  });
  const send = (w: TestWorker<WhatsAppConnector>, requestId: string, text: string) =>
    scenario.probe.publish(w.config.queues.commands, {
      action: 'send_message',
      numberId: 21,
      workerId: 'm1',
      requestId,
      data: { to: `+${ALICE}`, type: 'text', text },
    });

  const link = async (w: TestWorker<WhatsAppConnector>) => {
    await scenario.probe.publish(w.config.queues.commands, command('create'));
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
  };

  beforeEach(async () => {
    emulator = await trustedEmulator();
    emulator.addContact(ALICE);
    scenario = await brokerScenario('msg');
    blobs = new FailingBlobStore();
    history = new BlobMessageHistory(blobs, plain, { flushIntervalMs: 50, logger: silentLogger });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await history.close();
    await scenario.probe.close();
    await emulator.close();
  });

  it('send_message → the contact decrypts exactly the text; message_sent, then message_status delivered; a redelivery sends nothing', async () => {
    const w = await start();
    await link(w);
    const received = emulator.waitForMessage(ALICE, { timeoutMs: 20_000 });
    await send(w, 'req-hello', 'Hello from the backend');
    const got = await received;
    expect(got.message.conversation ?? got.message.extendedTextMessage?.text).toBe('Hello from the backend');
    const messageId = deriveMessageId(SID, 'req-hello');
    expect(got.id).toBe(messageId);

    const sent = await scenario.messages.untilAction('message_sent', undefined, 20_000);
    expect(sent).toMatchObject({
      numberId: 21,
      sessionId: SID,
      workerId: 'm1',
      requestId: 'req-hello',
      messageId,
      to: `+${ALICE}`,
      toJid: `${ALICE}@s.whatsapp.net`,
      type: 'text',
    });
    const delivered = await scenario.messages.untilAction('message_status', (e) => e.status === 'delivered', 20_000);
    expect(delivered).toMatchObject({ messageId, sessionId: SID });
    const mine = scenario.messages
      .bodies()
      .filter((b) => b.messageId === messageId)
      .map((b) => b.action);
    expect(mine.indexOf('message_sent')).toBeLessThan(mine.indexOf('message_status'));

    // The backend redelivers the same command (e.g. it never saw the ack): nothing is sent twice.
    await send(w, 'req-hello', 'Hello from the backend');
    await scenario.messages.until((bs) => bs.filter((b) => b.action === 'message_sent').length === 2, 20_000, 'a second message_sent');
    const sentTwice = scenario.messages.bodies().filter((b) => b.action === 'message_sent');
    expect(sentTwice[1].messageId).toBe(messageId);
    // A later, different message arrives after the redelivery was handled: still only two in all.
    const next = emulator.waitForMessage(ALICE, { timeoutMs: 20_000 });
    await send(w, 'req-second', 'second');
    const second = await next;
    expect(second.message.conversation ?? second.message.extendedTextMessage?.text).toBe('second');
    expect(emulator.receivedBy(ALICE).map((m) => m.id)).toEqual([messageId, deriveMessageId(SID, 'req-second')]);

    await history.flush();
    const day = await history.readDay(SID, dayOf(sent.sentAt));
    expect(day.filter((r) => r.direction === 'out').map((r) => r.text)).toEqual(['Hello from the backend', 'second']);
  });

  it('incoming online (notify) and queued while offline (append after reconnecting) → message_received, once each', async () => {
    const w = await start();
    await link(w);
    const online = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'hi worker');
    expect(online.delivery).toBe('online');
    const first = await scenario.messages.untilAction('message_received', (e) => e.text === 'hi worker', 20_000);
    expect(first).toMatchObject({
      messageId: online.id,
      sessionId: SID,
      offline: false,
      isGroup: false,
      type: 'text',
      from: { pn: `${ALICE}@s.whatsapp.net` },
    });
    expect(first.from.lid).toMatch(/@lid$/);
    expect(first.chat).toBe(first.from.lid);

    await scenario.probe.publish(w.config.queues.commands, command('disconnect'));
    await scenario.events.untilAction('disconnected');
    await (emulator as EmulatorServer).waitForConnectionCount(0);
    const queued = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'while you were away');
    expect(queued.delivery).toBe('queued');

    await scenario.probe.publish(w.config.queues.commands, command('create'));
    const replayed = await scenario.messages.untilAction('message_received', (e) => e.text === 'while you were away', 30_000);
    expect(replayed).toMatchObject({ messageId: queued.id, offline: true, from: { pn: `${ALICE}@s.whatsapp.net` } });
    const after = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'after');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === after.id, 20_000);
    expect(
      scenario.messages
        .bodies()
        .filter((b) => b.action === 'message_received')
        .map((b) => b.text),
    ).toEqual(['hi worker', 'while you were away', 'after']);
  });

  it('a group message → message_received with the group as chat and the member who wrote it (LID and PN)', async () => {
    const w = await start();
    await link(w);
    const group = emulator.createGroup('Customers', [ACCOUNT, ALICE]);
    const sent = await emulator.sendGroupMessage(ALICE, group.jid, 'hello group');
    const got = await scenario.messages.untilAction('message_received', (e) => e.messageId === sent.id, 20_000);
    const alice = emulator.addContact(ALICE);
    expect(got).toMatchObject({
      sessionId: SID,
      isGroup: true,
      chat: group.jid,
      participant: alice.lid,
      from: { lid: alice.lid, pn: `${ALICE}@s.whatsapp.net` },
      type: 'text',
      text: 'hello group',
      offline: false,
    });
  });

  it('a send to a session that stays closed fails after SEND_WAIT_FOR_OPEN_MS with the reason', async () => {
    // Reconnects are far away: after the drop the session stays "reconnecting" for the test.
    const w = await start({ WA_RECONNECT_BASE_DELAY_MS: '60000', WA_RECONNECT_MAX_DELAY_MS: '60000' });
    await link(w);
    await emulator.fault('drop', ACCOUNT.slice(1));
    await scenario.health.until((bs) => bs.find((b) => b.status === 'RECONNECTING'));
    const started = Date.now();
    await send(w, 'req-closed', 'nobody hears this');
    const failed = await scenario.messages.untilAction('message_failed', undefined, 20_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(failed).toMatchObject({ requestId: 'req-closed', code: 'NOT_CONNECTED', sessionId: SID, messageId: deriveMessageId(SID, 'req-closed') });
    expect(failed.reason).toMatch(/did not open within 1500 ms .*reconnecting/);
    expect(emulator.receivedBy(ALICE)).toHaveLength(0);
  });

  it('bad send_message payloads go to the DLQ with a code and reason (and command_rejected)', async () => {
    const w = await start();
    const dlq = await scenario.probe.collect(w.config.queues.deadLetter, { declare: false });
    await scenario.probe.publish(w.config.queues.commands, {
      action: 'send_message',
      numberId: 21,
      workerId: 'm1',
      requestId: 'bad-1',
      data: { to: 'not a number', type: 'text', text: 'x' },
    });
    await scenario.probe.publish(w.config.queues.commands, {
      action: 'send_message',
      numberId: 21,
      workerId: 'm1',
      requestId: 'bad-2',
      data: { to: `+${ALICE}`, type: 'image' },
    });
    // credentials in a media url would become Basic auth for whatever host it names
    await scenario.probe.publish(w.config.queues.commands, {
      action: 'send_message',
      numberId: 21,
      workerId: 'm1',
      requestId: 'bad-3',
      data: { to: `+${ALICE}`, type: 'image', url: 'http://admin:hunter2@10.0.0.1/a.jpg' },
    });
    await dlq.until((bs) => bs.length === 3, 20_000, 'three dead letters');
    const headers = dlq.messages.map((m) => m.raw.properties.headers as Record<string, string>);
    expect(headers.map((h) => h['x-error-code']).sort()).toEqual(['INVALID_MEDIA', 'INVALID_MEDIA', 'INVALID_RECIPIENT']);
    expect(
      headers
        .filter((h) => h['x-error-code'] === 'INVALID_MEDIA')
        .map((h) => h['x-error-reason'])
        .sort(),
    ).toEqual([expect.stringMatching(/^"url" must not carry credentials/), expect.stringMatching(/needs one of "url", "base64" or "mediaKey"/)]);
    expect(headers.map((h) => h['x-error-reason']).join(' ')).not.toMatch(/hunter2/);
    const rejected = await scenario.events.until((bs) => {
      const r = bs.filter((b) => b.action === 'command_rejected');
      return r.length === 3 && r;
    });
    expect(rejected.map((r: { requestId: string; command: string }) => [r.requestId, r.command]).sort()).toEqual([
      ['bad-1', 'send_message'],
      ['bad-2', 'send_message'],
      ['bad-3', 'send_message'],
    ]);
  });
});

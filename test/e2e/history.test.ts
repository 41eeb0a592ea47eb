import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import type { Emulator, PhoneHistory } from '../emulator/index.js';
import { startEmulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import { WorkerProcess } from '../helpers/worker-process.js';
import { RABBITMQ_URL } from '../helpers/broker-probe.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The history the phone sends after linking, end to end: the emulator's phone sends it as real
 * history-sync notifications (inline chunks, redelivered until receipted), the real worker (real
 * Baileys, real broker) publishes it as message_received `source: "history"`, history_chats,
 * history_contacts and history_sync_progress, and receipts each chunk only once its events are
 * confirmed, so a worker killed in the middle publishes all of it after a restart.
 */
const ANN = '15550000401';
const BOB = '15550000402';

/** Two chats: `perChat[i]` messages each, every third one from the account. */
function history(perChat: [number, number], messagesPerChunk: number): { history: PhoneHistory; ids: string[]; fromMe: Set<string> } {
  const ids: string[] = [];
  const fromMe = new Set<string>();
  const conversation = (phone: string, name: string, count: number, tag: string) => ({
    with: phone,
    name,
    unreadCount: 2,
    messages: Array.from({ length: count }, (_, i) => {
      const id = `3EB0H${tag}${String(i).padStart(5, '0')}`;
      ids.push(id);
      if (i % 3 === 2) fromMe.add(id);
      return { id, fromMe: i % 3 === 2, text: `${name} history ${i}` };
    }),
  });
  return {
    history: {
      conversations: [conversation(ANN, 'Ann', perChat[0], 'A'), conversation(BOB, 'Bob', perChat[1], 'B')],
      pushnames: [
        { phone: ANN, name: 'Ann (push)' },
        { phone: BOB, name: 'Bob (push)' },
        { phone: '15550000403', name: 'Cleo' },
      ],
      messagesPerChunk,
    },
    ids,
    fromMe,
  };
}

describe('history after linking, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];
  const ACCOUNT = '+221771230011';

  beforeEach(async () => {
    emulator = await trustedEmulator();
    scenario = await brokerScenario('hist');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('2 chats, 250 messages, contacts: each message once as message_received (history, ours fromMe), the chats, the contacts, the progress; every chunk receipted', async () => {
    const { history: h, ids, fromMe } = history([150, 100], 100);
    emulator.setPhoneHistory(ACCOUNT, h);
    scenario.workerQueue('h1');
    const w = await startTestWorker({
      env: { ...scenario.env, HISTORY_EVENT_BATCH: '2' },
      workerId: 'h1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 31, workerId: 'h1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);

    const received = () => scenario.messages.bodies().filter((b) => b.action === 'message_received');
    await scenario.messages.until((bs) => bs.filter((b) => b.action === 'message_received').length >= ids.length, 60_000, `${ids.length} history messages`);
    // the last chunk (RECENT, progress 100) and the push names each end with their progress event
    await scenario.messages.until(
      (bs) =>
        bs.some((b) => b.action === 'history_sync_progress' && b.syncType === 'push_name') &&
        bs.some((b) => b.action === 'history_sync_progress' && b.progress === 100 && b.syncType === 'recent'),
      30_000,
      'the progress of the last chunks',
    );
    const account = () => emulator.state().accounts.find((a) => a.phone === ACCOUNT.slice(1));
    await waitFor(() => account()?.unacked === 0, 'every history chunk receipted', { timeoutMs: 30_000, detail: () => JSON.stringify(account()) });

    const messages = received();
    expect(messages.map((m) => m.messageId).sort()).toEqual([...ids].sort());
    for (const m of messages) {
      expect(m).toMatchObject({ numberId: 31, source: 'history', offline: false, type: 'text', isGroup: false });
      expect(m.fromMe === true).toBe(fromMe.has(m.messageId));
    }
    const annOwn = messages.find((m) => m.messageId === '3EB0HA00002');
    expect(annOwn).toMatchObject({ chat: `${ANN}@s.whatsapp.net`, fromMe: true, text: 'Ann history 2', from: { pn: `${ACCOUNT.slice(1)}@s.whatsapp.net` } });
    const annsFirst = messages.find((m) => m.messageId === '3EB0HA00000');
    expect(annsFirst).toMatchObject({ chat: `${ANN}@s.whatsapp.net`, text: 'Ann history 0', from: { pn: `${ANN}@s.whatsapp.net` } });
    expect(annsFirst.fromMe).toBeUndefined();

    const chats = scenario.messages.bodies().filter((b) => b.action === 'history_chats');
    expect(chats.every((c) => c.chats.length <= 2)).toBe(true);
    expect(new Set(chats.flatMap((c) => c.chats.map((x: { jid: string }) => x.jid)))).toEqual(new Set([`${ANN}@s.whatsapp.net`, `${BOB}@s.whatsapp.net`]));
    expect(chats.flatMap((c) => c.chats).find((x: { jid: string }) => x.jid === `${BOB}@s.whatsapp.net`)).toMatchObject({ name: 'Bob', unreadCount: 2 });

    const contacts = scenario.messages.bodies().filter((b) => b.action === 'history_contacts');
    expect(contacts.every((c) => c.contacts.length <= 2)).toBe(true);
    const named = contacts.flatMap((c) => c.contacts);
    expect(named).toEqual(expect.arrayContaining([expect.objectContaining({ jid: `${ANN}@s.whatsapp.net`, name: 'Ann' })]));
    expect(named).toEqual(expect.arrayContaining([expect.objectContaining({ jid: '15550000403@s.whatsapp.net', notify: 'Cleo' })]));

    const progress = scenario.messages.bodies().filter((b) => b.action === 'history_sync_progress');
    // every message counted once over the chunks (Baileys may merge chunks it buffered together)
    expect(progress.reduce((n, p) => n + p.messages, 0)).toBe(ids.length);
    expect(progress.find((p) => p.syncType === 'push_name')).toMatchObject({ messages: 0, chats: 0, contacts: 3 });
    // each chunk's events come before its progress event, on the same queue
    const bodies = scenario.messages.bodies();
    const lastMessage = bodies.map((b) => b.action).lastIndexOf('message_received');
    expect(lastMessage).toBeLessThan(bodies.findIndex((b) => b.action === 'history_sync_progress' && b.progress === 100 && b.syncType === 'recent'));
  }, 90_000);
});

describe('history after linking survives SIGKILL', () => {
  let emulator: Emulator;
  let dir: string;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const processes: WorkerProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ skipPrekeyUpload: true });
    dir = mkdtempSync(join(tmpdir(), 'history-kill-'));
    scenario = await brokerScenario('hist-kill');
    scenario.workerQueue('hk1');
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await scenario.probe.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a worker killed in the middle of the history publishes all of it after a restart, same eventIds', async () => {
    const ACCOUNT = '+221771230012';
    const { history: h, ids } = history([1500, 1500], 500);
    emulator.setPhoneHistory(ACCOUNT, h);
    const env = {
      ...scenario.env,
      RABBITMQ_URL,
      WORKER_ID: 'hk1',
      WA_WEBSOCKET_URL: emulator.url,
      WA_TRUST_ROOT_PUBLIC_KEY: emulator.rootPublicKeyHex,
      SESSION_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      STORAGE_DIR: dir,
      HEALTH_FILE: join(dir, 'health.json'),
      // few events awaiting their confirm at once: the history takes long enough to be killed in
      HISTORY_EVENT_BATCH: '2',
    };
    const start = async () => {
      const worker = new WorkerProcess(env);
      processes.push(worker);
      await worker.waitForLog(/"msg":"consuming".*exclusive":true|"exclusive":true.*"msg":"consuming"/);
      return worker;
    };
    const worker = await start();
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}`, {
      sessionId: 7,
      action: 'create',
      data: { numberId: 7, phoneNumber: ACCOUNT, workerId: 'hk1' },
    });
    const qr = await scenario.events.untilAction('qr_generated', undefined, 30_000);
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);

    const published = () => scenario.messages.bodies().filter((b) => b.action === 'message_received');
    await scenario.messages.until((bs) => bs.filter((b) => b.action === 'message_received').length >= 200, 60_000, '200 history messages');
    expect(published().length).toBeLessThan(ids.length); // killed in the middle
    await worker.stop('SIGKILL');
    await start();

    const missing = () => {
      const seen = new Set(published().map((b) => b.messageId));
      return ids.filter((id) => !seen.has(id));
    };
    await waitFor(() => missing().length === 0, `all ${ids.length} history messages published`, {
      timeoutMs: 120_000,
      detail: () => `${missing().length} missing`,
    });
    const account = () => emulator.state().accounts.find((a) => a.phone === ACCOUNT.slice(1));
    await waitFor(() => account()?.unacked === 0, 'every history chunk receipted', { timeoutMs: 30_000, detail: () => JSON.stringify(account()) });
    // the chunks not receipted before the kill were sent again
    expect(account()!.redelivered).toBeGreaterThan(0);
    const eventIds = new Map<string, Set<string>>();
    for (const b of published()) eventIds.set(b.messageId, (eventIds.get(b.messageId) ?? new Set()).add(b.eventId));
    expect([...eventIds.values()].filter((set) => set.size > 1)).toEqual([]);
    expect(eventIds.size).toBe(ids.length);
  }, 180_000);
});

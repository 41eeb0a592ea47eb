import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { brokerScenario } from '../helpers/worker-harness.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { WorkerProcess } from '../helpers/worker-process.js';
import { RABBITMQ_URL } from '../helpers/broker-probe.js';
import { waitFor } from '../helpers/wait.js';

/**
 * At least once from WhatsApp to the backend, measured as a backend meets it: a contact sends a
 * burst of messages as fast as it can while the real daemon is SIGKILLed three times and started
 * again on the same storage. WhatsApp (the emulator) keeps what a device has not receipted and
 * delivers it again after a reconnect; the worker receipts a message only once its
 * message_received is confirmed, so every message id reaches the backend.
 */
const MESSAGES = 600;
const KILL_AFTER = [100, 250, 400]; // message_received seen by the backend

describe('incoming messages survive SIGKILL', () => {
  let emulator: Emulator;
  let dir: string;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const processes: WorkerProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ skipPrekeyUpload: true });
    dir = mkdtempSync(join(tmpdir(), 'incoming-kill-'));
    scenario = await brokerScenario('incoming-kill');
    scenario.workerQueue('k1');
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await scenario.probe.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${MESSAGES} messages, 3 kills mid-burst: every id becomes message_received; a re-publication carries the same eventId`, async () => {
    const env = {
      ...scenario.env,
      RABBITMQ_URL,
      WORKER_ID: 'k1',
      WA_WEBSOCKET_URL: emulator.url,
      WA_TRUST_ROOT_PUBLIC_KEY: emulator.rootPublicKeyHex,
      SESSION_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      STORAGE_DIR: dir,
      HEALTH_FILE: join(dir, 'health.json'),
    };
    const start = async () => {
      const worker = new WorkerProcess(env);
      processes.push(worker);
      await worker.waitForLog(/"msg":"consuming".*exclusive":true|"exclusive":true.*"msg":"consuming"/);
      return worker;
    };
    let worker = await start();
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}`, {
      sessionId: 6,
      action: 'create',
      data: { numberId: 6, phoneNumber: '+221771234567', workerId: 'k1' },
    });
    const qr = await scenario.events.untilAction('qr_generated', undefined, 30_000);
    await emulator.scanQr(qr.qrString, { phoneNumber: '+221771234567' });
    await scenario.events.untilAction('connected', undefined, 30_000);

    const contact = '+221770000077';
    emulator.addContact(contact);
    const sent: string[] = [];
    const sending = (async () => {
      for (let i = 0; i < MESSAGES; i++) sent.push((await emulator.sendMessage(contact, '221771234567', `burst ${i}`)).id);
    })();
    const published = () => scenario.messages.bodies().filter((b) => b.action === 'message_received');
    const account = () => emulator.state().accounts.find((a) => a.phone === '221771234567');
    for (const threshold of KILL_AFTER) {
      await scenario.messages.until((bs) => bs.filter((b) => b.action === 'message_received').length >= threshold, 60_000, `${threshold} message_received`);
      // Killed while WhatsApp holds messages it delivered and the worker has not receipted yet: the
      // ones the restart must get again. (On a fast machine a kill at a mere count can fall between
      // two messages, with nothing in flight, and then proves nothing.)
      await waitFor(() => (account()?.unacked ?? 0) > 0, 'a delivered message not yet receipted', { timeoutMs: 30_000, intervalMs: 5 });
      await worker.stop('SIGKILL');
      worker = await start();
    }
    await sending;

    const missing = () => {
      const seen = new Set(published().map((b) => b.messageId));
      return sent.filter((id) => !seen.has(id));
    };
    await waitFor(() => missing().length === 0, `all ${MESSAGES} ids published`, { timeoutMs: 120_000, detail: () => `${missing().length} missing` });
    // Everything published was receipted: WhatsApp keeps nothing back.
    await waitFor(() => account()?.unacked === 0, 'no unacknowledged message left', { timeoutMs: 30_000, detail: () => JSON.stringify(account()) });
    expect(account()!.redelivered).toBeGreaterThan(0);

    const eventIds = new Map<string, Set<string>>();
    for (const b of published()) eventIds.set(b.messageId, (eventIds.get(b.messageId) ?? new Set()).add(b.eventId));
    expect([...eventIds.values()].filter((ids) => ids.size > 1)).toEqual([]);
    expect(eventIds.size).toBe(MESSAGES);
    expect(new Set(published().map((b) => b.text)).size).toBe(MESSAGES);
    // Four process starts and 600 Signal-encrypted messages on a 2-core machine that runs other suites beside it.
  }, 180_000);
});

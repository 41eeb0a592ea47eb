import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import type { SessionStore } from '../../src/storage/types.js';
import { createStorageFromConfig, type Storage } from '../../src/storage/index.js';

/**
 * Calls and per-number settings end to end: the real worker (real broker, real Baileys) on the
 * emulator, whose contacts call the account and observe rejects, messages and read receipts.
 */
const ACCOUNT = '+221771230007';
const ALICE = '15550000701';
const SESSION = `session_27_${ACCOUNT}`;

describe('calls and settings over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const start = async (store: SessionStore = new MemorySessionStore()) => {
    scenario.workerQueue('c1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '1500' },
      workerId: 'c1',
      connector: baileysConnector(emulator),
      store,
    });
    workers.push(w);
    return w;
  };

  const command = (w: TestWorker<WhatsAppConnector>, action: string, requestId: string, data: Record<string, unknown>) =>
    scenario.probe.publish(w.config.queues.commands, { action, numberId: 27, workerId: 'c1', requestId, data });

  const link = async (w: TestWorker<WhatsAppConnector>, settings?: Record<string, unknown>, businessName?: string) => {
    await command(w, 'create', 'create-1', { phoneNumber: ACCOUNT, ...(settings ? { settings } : {}) });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT, ...(businessName ? { businessName } : {}) });
    await scenario.events.untilAction('connected', undefined, 30_000);
  };

  const ring = (video = false) => emulator.call(ALICE, ACCOUNT, { video });

  beforeEach(async () => {
    emulator = await trustedEmulator();
    emulator.addContact(ALICE);
    scenario = await brokerScenario('calls');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('a call rings: call_received (not rejected); reject_call: the contact observes the reject, call_rejected answers; its end: call_ended', async () => {
    const w = await start();
    await link(w);
    const { callId, rang } = ring(true);
    expect(rang).toBe(1);
    const received = await scenario.messages.untilAction('call_received', (e) => e.callId === callId, 20_000);
    expect(received).toMatchObject({ numberId: 27, sessionId: SESSION, callId, isVideo: true, isGroup: false, autoRejected: false, offline: false });
    expect(received.from.pn).toBe(`${ALICE}@s.whatsapp.net`);
    expect(received.from.lid).toMatch(/@lid$/);
    expect(emulator.callRejects(ALICE)).toEqual([]);

    await command(w, 'reject_call', 'reject-1', { callId, from: received.from.pn });
    const answer = await scenario.messages.untilAction('call_rejected', (e) => e.requestId === 'reject-1', 20_000);
    // Addressed as WhatsApp named the caller (its LID, the call's creator), although the backend gave the PN.
    expect(answer).toMatchObject({ numberId: 27, requestId: 'reject-1', callId, from: received.from.lid });
    const rejects = await emulator.until(() => (emulator.callRejects(ALICE).length ? emulator.callRejects(ALICE) : undefined), { what: 'the reject' });
    expect(rejects).toEqual([{ callId, by: ACCOUNT.slice(1), device: expect.any(Number) }]);

    emulator.endCall(ALICE, ACCOUNT, callId, 'timeout');
    const ended = await scenario.messages.untilAction('call_ended', (e) => e.callId === callId, 20_000);
    expect(ended).toMatchObject({ callId, reason: 'timeout', from: received.from });
    expect(scenario.messages.bodies().filter((b) => b.action === 'call_received')).toHaveLength(1);
    expect(scenario.messages.bodies().filter((b) => b.action === 'call_reject_failed')).toEqual([]);
  });

  it('create with settings {rejectCalls, rejectCallMessage}: a call is rejected at once, the caller gets the message, call_received says autoRejected', async () => {
    const w = await start();
    await link(w, { rejectCalls: true, rejectCallMessage: 'No calls here, please write.' });
    const { callId } = ring();
    const received = await scenario.messages.untilAction('call_received', (e) => e.callId === callId, 20_000);
    expect(received).toMatchObject({ callId, autoRejected: true, rejectMessageSent: true, isVideo: false });
    expect(emulator.callRejects(ALICE)).toEqual([{ callId, by: ACCOUNT.slice(1), device: expect.any(Number) }]);
    const message = await emulator.waitForMessage(ALICE);
    expect(message.message.conversation ?? message.message.extendedTextMessage?.text).toBe('No calls here, please write.');
  });

  it('update_settings {autoRead}: settings_updated, then a contact message is read once its message_received is out', async () => {
    const w = await start();
    await link(w);
    await command(w, 'update_settings', 'settings-1', { settings: { autoRead: true } });
    const updated = await scenario.messages.untilAction('settings_updated', (e) => e.requestId === 'settings-1', 20_000);
    expect(updated.settings).toEqual({ rejectCalls: false, autoRead: true, alwaysOnline: false, historySync: 'recent' });

    const { id } = await emulator.sendMessage(ALICE, ACCOUNT, 'read me, please');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);
    await emulator.until(() => (emulator.readBy(ALICE).includes(id) ? true : undefined), { what: 'the read receipt' });
    expect(emulator.readBy(ALICE)).toEqual([id]);
  });

  it('alwaysOnline: the account is announced available on connect (it has a name), unavailable once switched off', async () => {
    const w = await start();
    // A name: Baileys sends no available/unavailable without one.
    await link(w, { alwaysOnline: true }, 'Helpdesk');
    const account = () => emulator.state().accounts.find((a) => a.phone === ACCOUNT.slice(1));
    await emulator.until(() => (account()?.presence === 'available' ? true : undefined), { what: 'the account available' });
    await command(w, 'update_settings', 'settings-3', { settings: { alwaysOnline: false } });
    await scenario.messages.untilAction('settings_updated', (e) => e.requestId === 'settings-3', 20_000);
    await emulator.until(() => (account()?.presence === 'unavailable' ? true : undefined), { what: 'the account unavailable' });
  });

  describe('settings survive a restart', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'calls-settings-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('stored encrypted with the session: a new worker restores the session and rejects calls as the number asked', async () => {
      const encryptionKey = randomBytes(32).toString('hex');
      const open = (): Promise<Storage> => createStorageFromConfig({ dir, encryptionKey, flushIntervalMs: 50 });
      const first = await open();
      const w1 = await start(first.store);
      await link(w1, { rejectCalls: true, rejectCallMessage: 'Busy-7731' });
      await workers.splice(0)[0]!.worker.stop(5000);
      await first.close();
      // Encrypted at rest like the rest of the session: the message text is nowhere in clear.
      expect(filesUnder(dir).some((f) => readFileSync(f).includes('Busy-7731'))).toBe(false);

      const second = await open();
      try {
        const w2 = await start(second.store);
        await scenario.events.untilAction('connected', (e) => e.workerId === w2.config.workerId && e.requestId === undefined, 30_000);
        const { callId } = ring();
        const received = await scenario.messages.untilAction('call_received', (e) => e.callId === callId, 20_000);
        expect(received).toMatchObject({ callId, autoRejected: true, rejectMessageSent: true });
        await emulator.until(() => (emulator.callRejects(ALICE).some((r) => r.callId === callId) ? true : undefined), { what: 'the reject' });
        await command(w2, 'update_settings', 'settings-2', { settings: { rejectCalls: null, historySync: 'none' } });
        const updated = await scenario.messages.untilAction('settings_updated', (e) => e.requestId === 'settings-2', 20_000);
        expect(updated.settings).toEqual({ rejectCalls: false, rejectCallMessage: 'Busy-7731', autoRead: false, alwaysOnline: false, historySync: 'none' });
      } finally {
        await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
        await second.close();
      }
    });
  });

  it('bad payloads are dead-lettered with their code and answered with command_rejected', async () => {
    const w = await start();
    const dlq = await scenario.probe.collect(w.config.queues.deadLetter, { declare: false });
    await command(w, 'reject_call', 'bad-call', { callId: 'x y', from: `${ALICE}@s.whatsapp.net` });
    await command(w, 'reject_call', 'bad-from', { callId: 'ABC123', from: '120363000000000000@g.us' });
    await command(w, 'update_settings', 'bad-key', { settings: { rejectCalls: true, ringtone: 'loud' } });
    await dlq.until((bs) => bs.length === 3, 20_000, 'three dead letters');
    const rejected = await scenario.events.until((bs) => {
      const r = bs.filter((b) => b.action === 'command_rejected');
      return r.length === 3 && r;
    });
    expect(rejected.map((r: { requestId: string; command: string; code: string }) => [r.requestId, r.command, r.code]).sort()).toEqual([
      ['bad-call', 'reject_call', 'INVALID_COMMAND'],
      ['bad-from', 'reject_call', 'INVALID_RECIPIENT'],
      ['bad-key', 'update_settings', 'INVALID_COMMAND'],
    ]);
    expect(rejected.find((r: { requestId: string }) => r.requestId === 'bad-key').reason).toMatch(/ringtone/);
  });
});

function filesUnder(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

import { randomBytes } from 'node:crypto';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { decodeQrDataUrl } from '../helpers/qr-decode.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { trustNoiseRoot } from '../../src/whatsapp/trust.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

const backendCreate = (workerId: string, numberId: number, phone: string, action = 'create') => ({
  sessionId: numberId,
  action,
  data: { numberId, phoneNumber: phone, sessionId: `session_${numberId}_2533b0aa`, workerId },
  timestamp: Date.now(),
});

describe('the real daemon, real Baileys and the real broker against the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const start = async (workerId: string, env: Record<string, string> = {}, qrTimeoutMs?: number) => {
    scenario.workerQueue(workerId);
    const w = await startTestWorker({
      env: { ...scenario.env, ...env },
      workerId,
      connector: baileysConnector(emulator, qrTimeoutMs),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    return w;
  };

  const link = async (w: TestWorker<WhatsAppConnector>, numberId: number, phone: string) => {
    await scenario.probe.publish(w.config.queues.commands, backendCreate(w.config.workerId, numberId, phone));
    const qr = await scenario.events.untilAction('qr_generated', (e) => e.numberId === numberId);
    await emulator.scanQr(qr.qrString, { phoneNumber: phone });
    return scenario.events.untilAction('connected', (e) => e.numberId === numberId, 30_000);
  };

  beforeEach(async () => {
    emulator = await trustedEmulator({ qrRefs: 3 });
    scenario = await brokerScenario('e2e');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it("backend-shaped create → qr_generated (PNG decodes to the emulator's QR) → scan → connected + HEALTHY", async () => {
    const w = await start('1');
    await scenario.probe.publish(w.config.queues.commands, backendCreate('1', 6, '+221771234567'));
    const serverQr = await emulator.waitForQr({ timeoutMs: 20_000 });
    const qr = await scenario.events.untilAction('qr_generated');
    expect(qr).toMatchObject({ numberId: 6, sessionId: 'session_6_+221771234567', workerId: '1', attempt: 1 });
    const decoded = decodeQrDataUrl(qr.qrCode);
    expect(decoded).toBe(qr.qrString);
    expect(decoded!.startsWith(serverQr)).toBe(true);

    await emulator.scanQr(qr.qrString, { phoneNumber: '+221771234567' });
    const connected = await scenario.events.untilAction('connected', undefined, 30_000);
    expect(connected).toMatchObject({ numberId: 6, phoneNumber: '221771234567' });
    expect(connected.jid).toMatch(/^221771234567:\d+@s\.whatsapp\.net$/);
    await scenario.health.until((bs) => bs.find((b) => b.status === 'HEALTHY' && b.numberId === 6));
    expect(w.worker.sessions.get('session_6_+221771234567')!.status).toBe('connected');
  });

  it('refreshes QR codes, then publishes qr_expired when the refs run out', async () => {
    const w = await start('1', { WA_QR_TIMEOUT_MS: '1000' }, 1000);
    await scenario.probe.publish(w.config.queues.commands, backendCreate('1', 7, '+221770000007'));
    await scenario.events.untilAction('qr_expired', undefined, 20_000);
    const qrs = scenario.events.bodies().filter((b) => b.action === 'qr_generated');
    expect(qrs.map((q) => q.attempt)).toEqual([1, 2, 3]);
    expect(new Set(qrs.map((q) => q.qrString)).size).toBe(3);
    await scenario.health.until((bs) => bs.find((b) => b.status === 'DISCONNECTED' && b.reason === 'qr_expired'));
    expect(w.worker.sessions.get('session_7_+221770000007')!.status).toBe('stopped');
  });

  it('links by pairing code: pairing_code_generated → typed on the phone → connected', async () => {
    const w = await start('1');
    await scenario.probe.publish(w.config.queues.commands, backendCreate('1', 8, '+221770000008', 'request_pairing_code'));
    const { pairingCode } = await scenario.events.untilAction('pairing_code_generated', undefined, 20_000);
    expect(pairingCode).toMatch(/^[A-Z0-9]{8}$/);
    await emulator.confirmPairingCode('221770000008', pairingCode);
    await scenario.events.untilAction('connected', (e) => e.numberId === 8, 30_000);
    await scenario.health.until((bs) => bs.find((b) => b.status === 'HEALTHY'));
  });

  it('logout from the phone → logged_out + LOGGED_OUT, credentials gone', async () => {
    const w = await start('1');
    await link(w, 9, '+221770000009');
    await emulator.fault('logout401', '221770000009');
    await scenario.events.untilAction('logged_out');
    await scenario.health.until((bs) => bs.find((b) => b.status === 'LOGGED_OUT'));
    expect((w.store as MemorySessionStore).creds.has('session_9_+221770000009')).toBe(false);
  });

  it('a dropped socket → RECONNECTING → HEALTHY again', async () => {
    const w = await start('1');
    await link(w, 10, '+221770000010');
    await scenario.health.until((bs) => bs.find((b) => b.status === 'HEALTHY'));
    await emulator.fault('drop', '221770000010');
    await scenario.health.until((bs) => (bs.map((b) => b.status).join() === 'HEALTHY,RECONNECTING,HEALTHY' ? true : undefined), 30_000);
    expect(scenario.events.bodies().find((b) => b.action === 'disconnected')).toMatchObject({ willReconnect: true });
  });

  it('repeated 440 conflicts end in DISCONNECTED, not a reconnect storm', async () => {
    const w = await start('1', { WA_MAX_CONFLICTS: '2' });
    await link(w, 11, '+221770000011');
    await emulator.fault('conflict440', '221770000011');
    await scenario.health.until((bs) => bs.filter((b) => b.status === 'HEALTHY').length === 2, 30_000);
    await emulator.fault('conflict440', '221770000011');
    await scenario.health.until((bs) => bs.find((b) => b.status === 'DISCONNECTED'), 30_000);
    const disconnects = scenario.events.bodies().filter((b) => b.action === 'disconnected');
    expect(disconnects.map((d) => [d.statusCode, d.willReconnect])).toEqual([
      [440, true],
      [440, false],
    ]);
    expect(w.worker.sessions.get('session_11_+221770000011')!.status).toBe('stopped');
    expect(emulator.connectionCount).toBe(0);
  });

  it('two workers with different ids: each session opens on the worker the command names, never on both', async () => {
    const a = await start('A');
    const b = await start('B');
    await link(a, 12, '+221770000012');
    await link(b, 13, '+221770000013');
    expect(a.worker.sessions.list().map((s) => s.id)).toEqual(['session_12_+221770000012']);
    expect(b.worker.sessions.list().map((s) => s.id)).toEqual(['session_13_+221770000013']);
    const connected = scenario.events.bodies().filter((e) => e.action === 'connected');
    expect(connected.map((e) => [e.numberId, e.workerId])).toEqual([
      [12, 'A'],
      [13, 'B'],
    ]);
  });

  it("refuses an emulator whose root is not the trusted one (the strict verifier, not rc14's, is in force)", async () => {
    trustNoiseRoot(randomBytes(32));
    const w = await start('1');
    await scenario.probe.publish(w.config.queues.commands, backendCreate('1', 14, '+221770000014'));
    const disconnected = await scenario.events.untilAction('disconnected', undefined, 20_000);
    expect(disconnected.willReconnect).toBe(true);
    expect(scenario.events.bodies().some((b) => b.action === 'qr_generated')).toBe(false);
  });
});

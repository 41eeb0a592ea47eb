import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { brokerScenario } from '../helpers/worker-harness.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { WorkerProcess } from '../helpers/worker-process.js';
import { RABBITMQ_URL } from '../helpers/broker-probe.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Exactly once to the contact, in the one window where a crash makes the worker send twice:
 * WhatsApp has taken the message, but neither `message_sent` nor the command's ack reached the
 * broker (the path to it is held) when the worker is SIGKILLed. The broker redelivers the
 * command to the restarted worker, which waits for the number's restore and sends again with
 * the same derived message id: WhatsApp (the emulator) takes it as the same message, so the
 * contact has it once, and the backend gets its answer.
 */
describe('send_message across a SIGKILL after WhatsApp took it', () => {
  let emulator: Emulator;
  let dir: string;
  let proxy: TcpProxy;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const processes: WorkerProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ skipPrekeyUpload: true });
    dir = mkdtempSync(join(tmpdir(), 'send-kill-'));
    scenario = await brokerScenario('send-kill');
    scenario.workerQueue('s1');
    proxy = new TcpProxy();
    await proxy.start();
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await proxy.close();
    await scenario.probe.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the redelivered command is sent again with the same id; the contact has the message once; message_sent is published', async () => {
    const env = {
      ...scenario.env,
      WORKER_ID: 's1',
      WA_WEBSOCKET_URL: emulator.url,
      WA_TRUST_ROOT_PUBLIC_KEY: emulator.rootPublicKeyHex,
      SESSION_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      STORAGE_DIR: dir,
      HEALTH_FILE: join(dir, 'health.json'),
    };
    const consuming = /"msg":"consuming".*exclusive":true|"exclusive":true.*"msg":"consuming"/;
    const first = new WorkerProcess({ ...env, RABBITMQ_URL: proxy.url() });
    processes.push(first);
    await first.waitForLog(consuming);
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}`, {
      sessionId: 6,
      action: 'create',
      data: { numberId: 6, phoneNumber: '+221771234567', workerId: 's1' },
    });
    const qr = await scenario.events.untilAction('qr_generated', undefined, 30_000);
    await emulator.scanQr(qr.qrString, { phoneNumber: '+221771234567' });
    await scenario.events.untilAction('connected', undefined, 30_000);

    const contact = '221770000066';
    emulator.addContact(`+${contact}`);
    // From now on the command still reaches the worker, but nothing it sends reaches the broker.
    // (Straight to its own queue, as the backend's router would: forwarding is a publish too.)
    proxy.hold('to-broker');
    const delivered = emulator.waitForMessage(contact, { timeoutMs: 30_000 });
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}.s1`, {
      action: 'send_message',
      numberId: 6,
      workerId: 's1',
      requestId: 'once-only',
      data: { to: `+${contact}`, type: 'text', text: 'exactly once, please' },
    });
    const got = await delivered;
    await first.stop('SIGKILL');
    expect(scenario.messages.bodies().filter((b) => b.action === 'message_sent')).toEqual([]);

    const second = new WorkerProcess({ ...env, RABBITMQ_URL });
    processes.push(second);
    const sent = await scenario.messages.untilAction('message_sent', (b) => b.requestId === 'once-only', 60_000);
    expect(sent.messageId).toBe(got.id);
    const account = () => emulator.state().accounts.find((a) => a.phone === '221771234567')!;
    // The second process did send it again (the crash window was hit), and WhatsApp kept one.
    await waitFor(() => account().duplicateSends === 1, 'the resend to reach WhatsApp', { detail: () => JSON.stringify(account()) });
    expect(emulator.receivedBy(contact).filter((m) => m.id === got.id)).toHaveLength(1);
    expect(scenario.messages.bodies().filter((b) => b.action === 'message_failed')).toEqual([]);
  }, 120_000);
});

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerScenario } from '../helpers/worker-harness.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { WorkerProcess } from '../helpers/worker-process.js';
import { RABBITMQ_URL } from '../helpers/broker-probe.js';

/**
 * A poll's votes can come days later: the real daemon sends a poll, is killed, and the process
 * that replaces it (same WORKER_ID, same encrypted storage) still reads the contact's vote, with
 * the secret it archived beside the session (messaging/poll-archive.ts).
 */
const ACCOUNT = '+221771230042';
const ALICE = '15550000143';

describe('poll votes after a restart of the daemon', () => {
  let emulator: Emulator;
  let dir: string;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const processes: WorkerProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ skipPrekeyUpload: true });
    emulator.addContact(ALICE);
    dir = mkdtempSync(join(tmpdir(), 'poll-restart-'));
    scenario = await brokerScenario('pollrestart');
    scenario.workerQueue('pv1');
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await scenario.probe.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a vote on a poll sent before a SIGKILL is published as poll_vote by the next process', async () => {
    const caFile = join(dir, 'media-ca.pem');
    writeFileSync(caFile, emulator.mediaCa);
    const env = {
      NODE_EXTRA_CA_CERTS: caFile,
      ...scenario.env,
      RABBITMQ_URL,
      WORKER_ID: 'pv1',
      WA_WEBSOCKET_URL: emulator.url,
      WA_TRUST_ROOT_PUBLIC_KEY: emulator.rootPublicKeyHex,
      SESSION_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      STORAGE_DIR: dir,
      HEALTH_FILE: join(dir, 'health.json'),
    };
    const commands = `${scenario.env.QUEUE_SESSION_COMMANDS}`;
    const first = new WorkerProcess(env);
    processes.push(first);
    await first.waitForLog(/"msg":"consuming".*exclusive":true|"exclusive":true.*"msg":"consuming"/);
    await scenario.probe.publish(commands, { action: 'create', numberId: 42, workerId: 'pv1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated', undefined, 30_000);
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);

    const poll = emulator.waitForMessage(ALICE, { timeoutMs: 30_000 });
    await scenario.probe.publish(commands, {
      action: 'send_message',
      numberId: 42,
      workerId: 'pv1',
      requestId: 'poll-before-restart',
      data: { to: `+${ALICE}`, type: 'poll', name: 'Which slot?', options: ['9:00', '11:00', '15:00'], selectableCount: 1 },
    });
    const got = await poll;
    await scenario.messages.untilAction('message_sent', (e) => e.requestId === 'poll-before-restart', 30_000);
    await first.stop('SIGKILL');

    const second = new WorkerProcess(env);
    processes.push(second);
    await scenario.events.until((bs) => bs.filter((b) => b.action === 'connected').length === 2, 45_000, 'a second connected');
    const vote = await emulator.sendPollVote(ALICE, got, ['11:00']);
    const event = await scenario.messages.untilAction('poll_vote', (e) => e.messageId === vote.id, 30_000);
    expect(event).toMatchObject({ sessionId: `session_42_${ACCOUNT}`, workerId: 'pv1', pollMessageId: got.id, selectedOptions: ['11:00'] });
  }, 120_000);
});

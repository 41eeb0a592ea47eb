import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { brokerScenario } from '../helpers/worker-harness.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { startS3rver, type RunningS3 } from '../helpers/s3-servers.js';
import { WorkerProcess } from '../helpers/worker-process.js';
import { RABBITMQ_URL } from '../helpers/broker-probe.js';
import { S3MediaStore } from '../../src/storage/s3-media-store.js';

/**
 * Sessions survive restarts without a new scan: the real daemon process links a number, is
 * stopped (gracefully, or killed), and a new process with the same WORKER_ID reconnects it
 * from storage (local disk or S3), encrypted at rest.
 */
describe.each([
  ['local disk', 'SIGTERM'],
  ['local disk', 'SIGKILL'],
  ['S3 (s3rver)', 'SIGKILL'],
] as const)('restore after a restart: %s, %s', (driver, signal) => {
  let emulator: Emulator;
  let s3: RunningS3 | undefined;
  let dir: string;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const processes: WorkerProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ skipPrekeyUpload: true });
    if (driver !== 'local disk') s3 = await startS3rver();
    dir = mkdtempSync(join(tmpdir(), 'restore-'));
    scenario = await brokerScenario('restore');
    scenario.workerQueue('r1');
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await scenario.probe.close();
    await emulator.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('comes back connected with no QR, and sends and receives through its restored Signal sessions', async () => {
    const s3Options = s3?.options();
    // The emulator's media host has a self-signed certificate: the daemon trusts it as ops would
    // trust a private CA, with NODE_EXTRA_CA_CERTS.
    const caFile = join(dir, 'media-ca.pem');
    writeFileSync(caFile, emulator.mediaCa);
    const env = {
      NODE_EXTRA_CA_CERTS: caFile,
      ...scenario.env,
      RABBITMQ_URL,
      WORKER_ID: 'r1',
      WA_WEBSOCKET_URL: emulator.url,
      WA_TRUST_ROOT_PUBLIC_KEY: emulator.rootPublicKeyHex,
      SESSION_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      STORAGE_DIR: dir,
      HEALTH_FILE: join(dir, 'health.json'),
      ...(s3Options
        ? {
            MINIO_ENDPOINT: `127.0.0.1:${s3Options.port}`,
            MINIO_ACCESS_KEY: s3Options.accessKey,
            MINIO_SECRET_KEY: s3Options.secretKey,
            MINIO_BUCKET_NAME: s3Options.bucket,
          }
        : {}),
    };
    const first = new WorkerProcess(env);
    processes.push(first);
    await first.waitForLog(/"msg":"consuming".*exclusive":true|"exclusive":true.*"msg":"consuming"/);
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}`, {
      sessionId: 6,
      action: 'create',
      data: { numberId: 6, phoneNumber: '+221771234567', workerId: 'r1' },
    });
    const qr = await scenario.events.untilAction('qr_generated', undefined, 30_000);
    await emulator.scanQr(qr.qrString, { phoneNumber: '+221771234567' });
    await scenario.events.untilAction('connected', undefined, 30_000);
    const exit = await first.stop(signal);
    if (signal === 'SIGTERM') expect(exit).toBe(0);

    const qrBefore = scenario.events.bodies().filter((b) => b.action === 'qr_generated').length;
    // A kill can take events still in the first process's outbox with it (the HEALTHY that follows
    // `connected`, say); what matters is what the restarted process publishes.
    const restartedAt = Date.now();
    const second = new WorkerProcess(env);
    processes.push(second);
    const connected = await scenario.events.until(
      (bs) => bs.filter((b) => b.action === 'connected').length === 2 && bs.filter((b) => b.action === 'connected')[1],
      45_000,
      'a second connected',
    );
    expect(connected).toMatchObject({ numberId: 6, sessionId: 'session_6_+221771234567', workerId: 'r1', phoneNumber: '221771234567' });
    expect(connected.requestId).toBeUndefined();
    expect(scenario.events.bodies().filter((b) => b.action === 'qr_generated').length).toBe(qrBefore);
    await scenario.health.until((bs) => bs.find((b) => b.status === 'HEALTHY' && b.timestamp >= restartedAt), 30_000);

    // The Signal sessions survived too: send and receive through the restored session.
    emulator.addContact('+221770000099');
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}`, {
      action: 'send_message',
      numberId: 6,
      workerId: 'r1',
      requestId: `after-restore-${signal}`,
      data: { to: '+221770000099', type: 'text', text: 'still here after the restart' },
    });
    const received = await emulator.waitForMessage('221770000099', { timeoutMs: 30_000 });
    expect(received.message.conversation ?? received.message.extendedTextMessage?.text).toBe('still here after the restart');
    await scenario.messages.untilAction('message_sent', (e) => e.requestId === `after-restore-${signal}`);
    await emulator.sendMessage('221770000099', '221771234567', 'and the contact answers');
    const incoming = await scenario.messages.untilAction('message_received', undefined, 30_000);
    expect(incoming).toMatchObject({ text: 'and the contact answers', sessionId: 'session_6_+221771234567' });

    // Media both ways through the real daemon: upload to the media host, download into the media store.
    const photo = randomBytes(30_000);
    const gotPhoto = emulator.waitForMessage('221770000099', { timeoutMs: 30_000 });
    await scenario.probe.publish(`${scenario.env.QUEUE_SESSION_COMMANDS}`, {
      action: 'send_message',
      numberId: 6,
      workerId: 'r1',
      requestId: `photo-${signal}`,
      data: { to: '+221770000099', type: 'image', base64: photo.toString('base64'), mimeType: 'image/jpeg' },
    });
    expect((await emulator.mediaOf((await gotPhoto).message)).equals(photo)).toBe(true);
    const scan = randomBytes(20_000);
    const sentScan = await emulator.sendMedia('221770000099', '221771234567', {
      kind: 'document',
      bytes: scan,
      mimeType: 'application/pdf',
      fileName: 'scan.pdf',
    });
    const withMedia = await scenario.messages.untilAction('message_received', (e) => e.messageId === sentScan.id, 30_000);
    expect(withMedia.media).toMatchObject({
      key: expect.stringMatching(/^media\/session_6_~2B221771234567\/documents\/[0-9a-f]{16}-[0-9a-f]{8}\.pdf$/),
      size: scan.length,
    });
    const stored = s3Options
      ? await (async () => {
          const store = new S3MediaStore({
            endPoint: '127.0.0.1',
            port: s3Options.port,
            useSSL: false,
            accessKey: s3Options.accessKey,
            secretKey: s3Options.secretKey,
            region: 'us-east-1',
            bucket: 'whatsapp-media',
          });
          const chunks: Buffer[] = [];
          for await (const c of (await store.getStream(withMedia.media.key))!) chunks.push(c as Buffer);
          return Buffer.concat(chunks);
        })()
      : readFileSync(join(dir, ...withMedia.media.key.split('/')));
    expect(stored.equals(scan)).toBe(true);
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});

/**
 * `npm run demo`: the whole flow in seconds, with no phone.
 *  1. starts the offline WhatsApp Web emulator,
 *  2. starts the real worker (src/main.ts) as its own process, trusting the emulator,
 *  3. publishes a `create` to whatsapp.session.update exactly as the backend does,
 *  4. the worker prints the QR in the terminal and publishes qr_generated,
 *  5. the emulated phone scans it, and connected / HEALTHY arrive on the queues.
 * Needs RabbitMQ on RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { startEmulator } from '../test/emulator/index.js';

const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const WORKER_ID = process.env.WORKER_ID ?? 'demo-1';
const PHONE = '+221771234567';
const started = Date.now();
const say = (text: string) => console.log(`\x1b[36m[demo +${String(Date.now() - started).padStart(5)} ms]\x1b[0m ${text}`);

async function main(): Promise<void> {
  let connection;
  try {
    connection = await amqp.connect(RABBITMQ_URL);
  } catch (err) {
    console.error(`Cannot reach RabbitMQ at ${RABBITMQ_URL} (${(err as Error).message}).\nStart it with: rabbitmq-server -detached`);
    process.exit(1);
  }
  const channel = await connection.createChannel();

  const emulator = await startEmulator({ skipPrekeyUpload: true });
  say(`emulator listening on ${emulator.url} (root key ${emulator.rootPublicKeyHex.slice(0, 16)}…)`);

  // A private queue bound to the events exchange: the demo watches without taking events away
  // from whatsapp.session.events / whatsapp.number.health (see them in the management UI).
  await channel.assertExchange('whatsapp.events', 'topic', { durable: true });
  const { queue: watch } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(watch, 'whatsapp.events', '#');

  const storageDir = mkdtempSync(join(tmpdir(), 'wa-worker-demo-'));
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      WORKER_ID,
      RABBITMQ_URL,
      WA_WEBSOCKET_URL: emulator.url,
      WA_TRUST_ROOT_PUBLIC_KEY: emulator.rootPublicKeyHex,
      QR_TERMINAL: 'true',
      STORAGE_DIR: storageDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  say(`worker "${WORKER_ID}" starting (pid ${worker.pid})`);

  const finished = new Promise<void>((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error('the flow did not complete within 60 s')), 60_000);
    // A worker that dies (a bad setting, a crash) fails the demo at once, not after the timeout.
    worker.once('exit', (code, signal) => {
      clearTimeout(timeout);
      reject(new Error(`the worker exited (${signal ?? `code ${code}`}) before the number was linked: see its output above`));
    });
    let connected = false;
    let healthy = false;
    void channel.consume(
      watch,
      (msg) => {
        if (!msg) return;
        const event = JSON.parse(msg.content.toString());
        const key = msg.fields.routingKey;
        const where = key.startsWith('health.')
          ? 'whatsapp.number.health   '
          : key.startsWith('worker.')
            ? 'whatsapp.worker.heartbeat'
            : 'whatsapp.session.events  ';
        if (event.action === 'qr_generated') {
          say(`${where}  qr_generated  attempt ${event.attempt}, qrCode ${event.qrCode.slice(0, 32)}… (${event.qrCode.length} chars)`);
          say('the emulated phone scans the QR…');
          void emulator.scanQr(event.qrString, { phoneNumber: PHONE }).catch((err) => reject(err));
        } else if (event.action) {
          const { numberId, sessionId, phoneNumber, jid, sessionCount, maxSessions } = event;
          say(`${where}  ${event.action}  ${JSON.stringify({ numberId, sessionId, phoneNumber, jid, sessionCount, maxSessions })}`);
          if (event.action === 'connected') connected = true;
        } else {
          say(`${where}  ${event.status}  ${JSON.stringify({ numberId: event.numberId, sessionId: event.sessionId })}`);
          if (event.status === 'HEALTHY') healthy = true;
        }
        if (connected && healthy) {
          clearTimeout(timeout);
          resolve();
        }
      },
      { noAck: true },
    );
  });

  finished.catch(() => undefined); // awaited below; a worker that dies early must not be an unhandled rejection meanwhile

  // Wait until the worker has declared its queues, then publish as the backend does.
  for (let i = 0; i < 200 && worker.exitCode === null && worker.signalCode === null; i++) {
    const ok = await connection
      .createChannel()
      .then(async (ch) => {
        ch.on('error', () => undefined);
        await ch.checkQueue(`whatsapp.session.update.${WORKER_ID}`);
        await ch.close();
        return true;
      })
      .catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const command = {
    sessionId: 6,
    action: 'create',
    data: { numberId: 6, phoneNumber: PHONE, sessionId: 'session_6_2533b0aa', workerId: WORKER_ID },
    timestamp: Date.now(),
  };
  // (Not to a worker that is gone: the command would wait in its queue for the next demo.)
  if (worker.exitCode === null && worker.signalCode === null) {
    channel.sendToQueue('whatsapp.session.update', Buffer.from(JSON.stringify(command)), { persistent: true, contentType: 'application/json' });
    say(`published to whatsapp.session.update: ${JSON.stringify(command)}`);
  }

  let failed = false;
  try {
    await finished;
    say('\x1b[32mthe number is linked: connected + HEALTHY\x1b[0m. Stopping the worker gracefully (SIGTERM)…');
  } catch (err) {
    failed = true;
    console.error(`demo failed: ${(err as Error).message}`);
  }
  if (worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await connection.close();
  await emulator.close();
  rmSync(storageDir, { recursive: true, force: true });
  say('done.');
  process.exit(failed ? 1 : 0);
}

void main();

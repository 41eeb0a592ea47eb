/**
 * Where the worker's first-QR time goes: `node --import tsx scripts/bench/profile-qr.ts [rounds] [n]`
 * (n creates published at once per round, default 1; add --cpu-prof for a CPU profile). Splits
 * publish → event, per session, into: publish → connector.connect() (broker routing, command
 * handling, storage), connect → Baileys 'qr' (the same work as bare Baileys), and qr → event
 * consumed (PNG rendering, publish with confirm, delivery). The emulator runs in its own process,
 * as in `npm run bench`.
 */
import { performance } from 'node:perf_hooks';
import { qrToPngDataUrl } from '../../src/sessions/qr-image.js';
import { BenchBroker } from './broker.js';
import { median } from './stats.js';
import { nextNumber } from './seed.js';
import { newTmpRoot, removeDir } from './context.js';
import { RemoteEmulator } from './emulator-remote.js';
import { buildWorker, trustFromHex, workerEnv } from './worker-side.js';
import { installSharedAsyncLocalStorage } from '../../src/whatsapp/shared-async-local-storage.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

const rounds = Number(process.argv[2] ?? 10);
const n = Number(process.argv[3] ?? 1);
installSharedAsyncLocalStorage();
const emulator = await RemoteEmulator.start({ skipPrekeyUpload: true });
trustFromHex(emulator.rootPublicKeyHex);
const broker = await BenchBroker.open(`bench.profile.${process.pid}`);
const tmp = newTmpRoot();
const parts = {
  toConnect: [] as number[],
  connectToQr: [] as number[],
  qrToEvent: [] as number[],
  total: [] as number[],
  render: [] as number[],
  scanToOpen: [] as number[],
  openToEvent: [] as number[],
  link: [] as number[],
};
try {
  broker.trackWorker('bench-profile');
  const built = await buildWorker({
    ...workerEnv({ workerId: 'bench-profile', emulatorUrl: emulator.url, rootPublicKeyHex: emulator.rootPublicKeyHex, storageDir: tmp }),
    ...broker.env,
  });
  // Wrap the connector the sessions use, to time connect() and the first 'qr' it reports.
  const deps = (built.worker.sessions as unknown as { deps: { connector: WhatsAppConnector } }).deps;
  const inner = deps.connector;
  // per session id: when connect() was called, when Baileys gave its first QR, when it opened
  const connectAt = new Map<string, number>();
  const qrAt = new Map<string, number>();
  const openAt = new Map<string, number>();
  deps.connector = {
    connect: (params) => {
      const key = params.sessionId;
      connectAt.set(key, performance.now());
      return inner.connect({
        ...params,
        onEvent: (e) => {
          if (e.type === 'qr' && !qrAt.has(key)) qrAt.set(key, performance.now());
          if (e.type === 'open' && !openAt.has(key)) openAt.set(key, performance.now());
          params.onEvent(e);
        },
      });
    },
  };
  await built.worker.start();
  await built.worker.waitUntilActive();
  for (let r = 0; r < rounds + 1; r++) {
    connectAt.clear();
    qrAt.clear();
    openAt.clear();
    const numbers = Array.from({ length: r === 0 ? 1 : n }, () => nextNumber());
    const ids = new Set(numbers.map((x) => x.numberId));
    const got = broker.events.collect((b) => b?.action === 'qr_generated' && ids.has(b.numberId) && b.attempt === 1, ids.size, 60_000 + n * 1000, 'qr');
    const sentAt = new Map<number, number>();
    for (const { numberId, phone } of numbers)
      sentAt.set(numberId, broker.publishCommand({ sessionId: numberId, action: 'create', data: { numberId, phoneNumber: phone, workerId: 'bench-profile' } }));
    const messages = await got;
    const s = performance.now();
    await qrToPngDataUrl(messages[0]!.body.qrString);
    const render = performance.now() - s;
    if (r > 0) {
      for (const m of messages) {
        const sessionId = m.body.sessionId as string;
        const t0 = sentAt.get(m.body.numberId)!;
        parts.toConnect.push(connectAt.get(sessionId)! - t0);
        parts.connectToQr.push(qrAt.get(sessionId)! - connectAt.get(sessionId)!);
        parts.qrToEvent.push(m.at - qrAt.get(sessionId)!);
        parts.total.push(m.at - t0);
      }
      parts.render.push(render);
      // then the phone scans every QR at once: scan → Baileys 'open' (pairing, 515, login) → `connected` consumed
      const connected = broker.events.collect((b) => b?.action === 'connected' && ids.has(b.numberId), ids.size, 60_000 + n * 1000, 'connected');
      const scanAt = new Map<string, number>();
      for (const m of messages) {
        const phone = numbers.find((x) => x.numberId === m.body.numberId)!.phone;
        scanAt.set(m.body.sessionId as string, performance.now());
        void emulator.scanQr(m.body.qrString, { phoneNumber: phone });
      }
      for (const m of await connected) {
        const sessionId = m.body.sessionId as string;
        parts.scanToOpen.push(openAt.get(sessionId)! - scanAt.get(sessionId)!);
        parts.openToEvent.push(m.at - openAt.get(sessionId)!);
        parts.link.push(m.at - scanAt.get(sessionId)!);
      }
    }
    for (const { numberId, phone } of numbers)
      broker.publishCommand({ sessionId: numberId, action: 'delete', data: { numberId, phoneNumber: phone, workerId: 'bench-profile' } });
  }
  await built.worker.stop();
  console.log(`worker first QR, N=${n} at once, ${rounds} rounds (medians over every session, ms):`);
  console.log(
    `  publish → connector.connect():   ${median(parts.toConnect).toFixed(1)}  (routing via the shared queue, command parsing, session claim, storage reads/writes)`,
  );
  console.log(`  connect() → Baileys 'qr':        ${median(parts.connectToQr).toFixed(1)}  (what bare Baileys does)`);
  console.log(`  Baileys 'qr' → event consumed:   ${median(parts.qrToEvent).toFixed(1)}  (PNG data URL rendering, publish with confirm, delivery)`);
  console.log(`    of which qrToPngDataUrl alone: ${median(parts.render).toFixed(1)}`);
  console.log(`  total publish → qr_generated:    ${median(parts.total).toFixed(1)}`);
  console.log(`worker link (scan → connected), same sessions:`);
  console.log(`  scan → Baileys 'open':           ${median(parts.scanToOpen).toFixed(1)}  (pairing, 515 restart, login: what bare Baileys does)`);
  console.log(
    `  Baileys 'open' → connected:      ${median(parts.openToEvent).toFixed(1)}  (credentials flushed, metadata saved, publish with confirm, delivery)`,
  );
  console.log(`  total scan → connected:          ${median(parts.link).toFixed(1)}`);
} finally {
  await broker.close();
  await emulator.close();
  removeDir(tmp);
}
process.exit(0);

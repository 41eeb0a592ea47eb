/**
 * Where the worker's first-QR time goes (N=1): `node --import tsx scripts/bench/profile-qr.ts [rounds]`
 * (add --cpu-prof for a CPU profile). Splits publish → event into: publish → connector.connect()
 * (broker routing, command handling, storage), connect → Baileys 'qr' (the same work as bare
 * Baileys), and qr → event consumed (PNG rendering, publish with confirm, delivery).
 */
import { performance } from 'node:perf_hooks';
import { trustedEmulator } from '../../test/helpers/e2e.js';
import { qrToPngDataUrl } from '../../src/sessions/qr-image.js';
import { BenchBroker } from './broker.js';
import { median } from './stats.js';
import { nextNumber } from './seed.js';
import { newTmpRoot, removeDir } from './context.js';
import { buildWorker, workerEnv } from './worker-side.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

const rounds = Number(process.argv[2] ?? 10);
const emulator = await trustedEmulator({ skipPrekeyUpload: true });
const broker = await BenchBroker.open(`bench.profile.${process.pid}`);
const tmp = newTmpRoot();
const parts = { toConnect: [] as number[], connectToQr: [] as number[], qrToEvent: [] as number[], total: [] as number[], render: [] as number[] };
try {
  broker.trackWorker('bench-profile');
  const built = await buildWorker({
    ...workerEnv({ workerId: 'bench-profile', emulatorUrl: emulator.url, rootPublicKeyHex: emulator.rootPublicKeyHex, storageDir: tmp }),
    ...broker.env,
  });
  // Wrap the connector the sessions use, to time connect() and the first 'qr' it reports.
  const deps = (built.worker.sessions as unknown as { deps: { connector: WhatsAppConnector } }).deps;
  const inner = deps.connector;
  let connectAt = 0;
  let qrAt = 0;
  deps.connector = {
    connect: (params) => {
      connectAt = performance.now();
      return inner.connect({
        ...params,
        onEvent: (e) => {
          if (e.type === 'qr' && !qrAt) qrAt = performance.now();
          params.onEvent(e);
        },
      });
    },
  };
  await built.worker.start();
  await built.worker.waitUntilActive();
  for (let r = 0; r < rounds + 1; r++) {
    connectAt = 0;
    qrAt = 0;
    const { numberId, phone } = nextNumber();
    const got = broker.events.collect((b) => b?.action === 'qr_generated' && b.numberId === numberId, 1, 30_000, 'qr');
    const t0 = broker.publishCommand({ sessionId: numberId, action: 'create', data: { numberId, phoneNumber: phone, workerId: 'bench-profile' } });
    const [m] = await got;
    const s = performance.now();
    await qrToPngDataUrl(m!.body.qrString);
    const render = performance.now() - s;
    if (r === 0) continue; // warm-up
    parts.toConnect.push(connectAt - t0);
    parts.connectToQr.push(qrAt - connectAt);
    parts.qrToEvent.push(m!.at - qrAt);
    parts.total.push(m!.at - t0);
    parts.render.push(render);
    broker.publishCommand({ sessionId: numberId, action: 'delete', data: { numberId, phoneNumber: phone, workerId: 'bench-profile' } });
  }
  await built.worker.stop();
  console.log(`worker first QR, N=1, ${rounds} rounds (medians, ms):`);
  console.log(
    `  publish → connector.connect():   ${median(parts.toConnect).toFixed(1)}  (routing via the shared queue, command parsing, session claim, storage reads/writes)`,
  );
  console.log(`  connect() → Baileys 'qr':        ${median(parts.connectToQr).toFixed(1)}  (what bare Baileys does)`);
  console.log(`  Baileys 'qr' → event consumed:   ${median(parts.qrToEvent).toFixed(1)}  (PNG data URL rendering, publish with confirm, delivery)`);
  console.log(`    of which qrToPngDataUrl alone: ${median(parts.render).toFixed(1)}`);
  console.log(`  total publish → qr_generated:    ${median(parts.total).toFixed(1)}`);
} finally {
  await broker.close();
  await emulator.close();
  removeDir(tmp);
}
process.exit(0);

/**
 * `npm run bench` — wa-worker against bare Baileys. `--quick` (CI size, ~1–2 min) or `--full`
 * (default). `--only=qr-latency,restore` runs a subset (development). Writes
 * docs/bench/results[-quick].json, one SVG per scenario and docs/bench/README.md.
 * Exit code: 0 when every scenario ran (targets missed or not), 1 when something could not run.
 *
 * Development knobs (environment; with --only, nothing is written): BENCH_RESTORE_NS=100,500,
 * BENCH_RESTORE_DRIVERS=local,s3, BENCH_RESTORE_CONCURRENCY=n, BENCH_MEMORY_NS=500,
 * BENCH_MEMORY_WHATIF=1 (adds a bare-Baileys-with-the-shared-AsyncLocalStorage child, as a note),
 * BENCH_THROUGHPUT_OWN_QUEUE=1 (send-throughput: the worker's commands on its own queue, no forward hop),
 * BENCH_MEMORY_WINDOW_MS=30000 (idle and load windows of the scale figures, at the largest N),
 * BENCH_FULL_SEEDS=1000 (accounts made with a real first login; the rest in bulk, seed.ts),
 * BENCH_WORKER_LOG_LEVEL=warn with BENCH_CHILD_LOG=/tmp/file (the memory child worker's log and any
 * other output, e.g. --trace-gc), BENCH_MEMORY_SIDES=worker (one side only), BENCH_CHILD_NODE_ARGS="--trace-gc"
 * (node flags of the memory child), BENCH_CHILD_PROFILE_DIR=/tmp/dir (CPU profiles of the idle and load
 * windows; read them with scripts/bench/cpuprofile-summary.ts), BENCH_SOURCE_MAPS=1 (the memory child
 * keeps tsx's source maps on; off by default, as `node dist/main.js` runs).
 * Full mode goes to 5,000 open sessions (memory) and restores (local disk; 1,000 on S3): issue 15.
 * The emulator runs in its own process (emulator-child.ts); so does s3rver and, in the memory
 * scenario, each side.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { newTmpRoot, removeDir, type BenchContext } from './context.js';
import { machineInfo } from './machine.js';
import { RemoteEmulator } from './emulator-remote.js';
import { trustFromHex } from './worker-side.js';
import { installSharedAsyncLocalStorage } from '../../src/whatsapp/shared-async-local-storage.js';
import { installFastSignatures } from '../../src/whatsapp/curve-sign.js';
import { machineLine, tableLines, writeOutputs } from './report.js';
import { qrLinkScenarios } from './scenarios/qr-link.js';
import { memoryScenario } from './scenarios/memory.js';
import { restoreScenario } from './scenarios/restore.js';
import { sendScenario } from './scenarios/send.js';
import { sendLatencyScenario } from './scenarios/send-latency.js';
import { sendThroughputScenario } from './scenarios/send-throughput.js';
import { groupSendScenario } from './scenarios/group-send.js';
import { storageWritesScenario } from './scenarios/storage-writes.js';
import { telemetryScenario } from './scenarios/telemetry.js';
import type { BenchResults, ScenarioResult } from './types.js';
import { silenceLibraryConsole } from '../library-console.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Entry {
  ids: string[];
  run: (ctx: BenchContext) => Promise<ScenarioResult[]>;
  title: string;
}

const SCENARIOS: Entry[] = [
  { ids: ['qr-latency', 'link-latency'], title: 'QR and link latency', run: qrLinkScenarios },
  { ids: ['memory'], title: 'Memory per open session', run: async (ctx) => [await memoryScenario(ctx)] },
  { ids: ['restore'], title: 'Restore', run: async (ctx) => [await restoreScenario(ctx)] },
  { ids: ['send'], title: 'Send throughput', run: async (ctx) => [await sendScenario(ctx)] },
  { ids: ['send-latency'], title: 'Send latency, one message at a time', run: async (ctx) => [await sendLatencyScenario(ctx)] },
  { ids: ['send-throughput'], title: 'Send throughput vs an amqplib loop', run: async (ctx) => [await sendThroughputScenario(ctx)] },
  { ids: ['storage-writes'], title: 'Storage writes', run: async (ctx) => [await storageWritesScenario(ctx)] },
  { ids: ['group-send'], title: 'Group sends with and without the metadata cache', run: async (ctx) => [await groupSendScenario(ctx)] },
  { ids: ['telemetry'], title: 'Telemetry on vs off', run: async (ctx) => [await telemetryScenario(ctx)] },
];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !['--quick', '--full'].includes(a) && !a.startsWith('--only='));
  if (unknown.length) {
    process.stderr.write(
      `unknown argument(s): ${unknown.join(' ')}\nusage: npm run bench [-- --quick | --full] [--only=qr-latency,link-latency,memory,restore,send,send-latency,send-throughput,storage-writes,group-send,telemetry]\n`,
    );
    return 2;
  }
  silenceLibraryConsole();
  const quick = args.includes('--quick');
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const mode = quick ? 'quick' : 'full';
  const started = Date.now();
  const machine = machineInfo();
  console.log(
    `wa-worker benchmarks (${mode}) on ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; load ${machine.loadAverage1m}`,
  );
  if (machine.loadAverage1m > machine.cores * 0.75)
    console.log(`note: the machine is busy (load ${machine.loadAverage1m} on ${machine.cores} cores): figures will be noisy`);

  const tmpRoot = newTmpRoot();
  const runId = randomUUID().slice(0, 8);
  // The emulator runs in its own process, so it never competes with the harness, the worker and the
  // bare clients for this event loop; this process trusts its Noise root as main.ts does.
  const emulator = await RemoteEmulator.start({ skipPrekeyUpload: true });
  trustFromHex(emulator.rootPublicKeyHex);
  // Worker and baseline share this process in most scenarios: it gets the worker's process-wide
  // fixes (main.ts installs them) from the start, so both sides always run with the same ones.
  installSharedAsyncLocalStorage();
  installFastSignatures();
  const ctx: BenchContext = { quick, runId, emulator, tmpRoot, log: (m) => console.log(m) };
  const scenarios: ScenarioResult[] = [];
  let failed = 0;
  try {
    for (const entry of SCENARIOS) {
      if (only && !entry.ids.some((id) => only.includes(id))) continue;
      console.log(`\n▶ ${entry.title}`);
      const t0 = Date.now();
      try {
        scenarios.push(...(await entry.run(ctx)));
      } catch (err) {
        failed++;
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(`✖ ${entry.title} could not run: ${message}\n`);
        for (const id of entry.ids)
          scenarios.push({
            id,
            title: entry.title,
            measures: '',
            status: 'error',
            settings: {},
            figures: [],
            notes: [],
            error: message,
            durationMs: Date.now() - t0,
          });
      }
    }
  } finally {
    await emulator.close().catch(() => undefined);
    removeDir(tmpRoot);
  }

  const results: BenchResults = {
    mode,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    machine,
    command: `npm run bench${quick ? ' -- --quick' : ''}`,
    scenarios,
  };
  const written = only ? undefined : writeOutputs(ROOT, results);
  console.log(`\nMachine: ${machineLine(results)}\n`);
  for (const line of tableLines(scenarios)) console.log(line);
  for (const s of scenarios) for (const n of s.notes) console.log(`  [${s.id}] ${n}`);
  if (written) console.log(`\nwrote ${written.json}, ${written.charts.length} chart(s) and docs/bench/README.md`);
  else console.log('\n(--only: nothing written)');
  console.log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench could not run: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

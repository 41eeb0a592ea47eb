import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startEmulator } from '../../test/emulator/index.js';
import { loadConfig } from '../../src/config/config.js';
import { commandQueueArguments } from '../../src/broker/topology.js';
import { Backend } from './backend.js';
import { startCluster } from './rabbit-cluster.js';
import { FaultInjector } from './faults.js';
import { checkInvariants, type Verdict } from './invariants.js';
import { linkNumber } from './linking.js';
import { chaosNumber, contactPhone, Load } from './load.js';
import { judgeMemory } from './memory.js';
import { EmulatorLog } from './emulator-log.js';
import { restartCheck, quiesce, restore } from './endgame.js';
import { runFacts } from './report.js';
import { writeEvidence } from './evidence.js';
import { SocketMonitor } from './monitor.js';
import { Prng } from './prng.js';
import { RestartableS3 } from './s3.js';
import type { Teardown } from './teardown.js';
import { ChaosWorker } from './worker.js';

export interface RunOptions {
  index: number;
  seed: number;
  durationS: number;
  numbers: number;
  contacts: number;
  quick: boolean;
  keep: boolean;
  basePort: number;
  /** True once Ctrl-C started the teardown: from then on nothing may be started again. */
  interrupted: () => boolean;
}

export interface RunResult {
  pass: boolean;
  verdicts: Verdict[];
  facts: Array<[string, string]>;
  durationMs: number;
  runDir: string;
}

const WORKER_ID = 'chaos-w1';

/**
 * One run, from nothing to nothing: a fresh cluster, S3 directory and bucket, storage and
 * emulator; the worker linked to N numbers; load and faults for the duration; then everything
 * restored, a bounded wait for quiescence, the graceful-restart check, and the invariants.
 */
export async function runOnce(opts: RunOptions, teardown: Teardown): Promise<RunResult> {
  const started = Date.now();
  const say = (text: string) => console.log(`[run ${opts.index} +${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${text}`);
  const rng = new Prng(opts.seed);
  const runDir = mkdtempSync(join(tmpdir(), `wa-chaos-${opts.seed}-`));
  say(`seed ${opts.seed}, ${opts.numbers} numbers, ${opts.durationS} s of faults; files in ${runDir}`);
  for (const d of ['rabbit', 's3', 'storage']) mkdirSync(join(runDir, d));
  // The RabbitMQ nodes run as the `rabbitmq` user (rabbit-cluster.ts): they must reach rabbit/ inside.
  chmodSync(runDir, 0o755);

  const cluster = await startCluster({ size: 3, basePort: opts.basePort, baseDir: join(runDir, 'rabbit'), log: (line) => say(`[rabbit] ${line}`) });
  // A failed run keeps the nodes' logs (and data) for the post-mortem.
  let keepClusterFiles = true;
  teardown.add('the RabbitMQ cluster', () => cluster.stop({ keepDir: keepClusterFiles }));
  say(`RabbitMQ cluster up: ${cluster.nodes.map((n) => `${n.name}:${n.port}`).join(', ')}`);

  const s3 = new RestartableS3(join(runDir, 's3'));
  await s3.start();
  teardown.add('s3rver', () => s3.stop());

  const emuLog = new EmulatorLog(join(runDir, 'emulator.log'));
  teardown.add('the emulator log', () => emuLog.close());
  const emu = await startEmulator({ skipPrekeyUpload: true, log: emuLog.log });
  teardown.add('the emulator', () => emu.close());
  const caFile = join(runDir, 'media-ca.pem');
  writeFileSync(caFile, emu.mediaCa);

  const env: Record<string, string> = {
    WORKER_ID,
    RABBITMQ_URL: cluster.url,
    RABBITMQ_QUEUE_TYPE: 'quorum',
    STORAGE_DIR: join(runDir, 'storage'),
    HEALTH_FILE: join(runDir, 'health.json'),
    ...s3.env(`chaos-${randomBytes(4).toString('hex')}`),
    SESSION_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    WA_WEBSOCKET_URL: emu.url,
    WA_TRUST_ROOT_PUBLIC_KEY: emu.rootPublicKeyHex,
    NODE_EXTRA_CA_CERTS: caFile,
    // rssBytes in every heartbeat, and a live heartbeat to see the worker by
    HEARTBEAT_INTERVAL_MS: '1000',
    // a number dropped many times would otherwise wait up to a minute between attempts at the end
    WA_RECONNECT_MAX_DELAY_MS: '10000',
  };
  const config = loadConfig(env);
  const backend = new Backend({
    urls: config.rabbitmq.urls,
    commandQueue: config.queues.commands,
    commandQueueArguments: commandQueueArguments(config),
    deadLetterQueue: config.queues.deadLetter,
    eventsExchange: config.queues.eventsExchange,
    observerQueue: 'chaos.observer',
    // Away from the worker, which starts on the first node (where the first broker faults strike).
    firstNode: config.rabbitmq.urls.length - 1,
  });
  await backend.start();
  teardown.add('the backend connection', () => backend.close());

  const worker = new ChaosWorker(env, join(runDir, 'worker.log'));
  teardown.add('the worker', () => worker.close());
  // A worker that dies on its own is a finding; it is restarted, as a supervisor would, so the run goes on.
  const crashes: string[] = [];
  worker.on('exit', ({ generation, code, expected }: { generation: number; code: number | null; expected: boolean }) => {
    if (expected) return;
    crashes.push(`process ${generation} exited with ${code} at +${((Date.now() - started) / 1000).toFixed(1)} s`);
    say(`the worker exited on its own (code ${code}); restarting it`);
    if (!worker.running) worker.start();
  });
  const workerStart = Date.now();
  worker.start();
  await backend.waitForEvent((e) => e.kind === 'worker_online' && e.timestamp >= workerStart, 90_000, 'worker_online');
  const { address } = await worker.connectedSince(workerStart, 10_000);
  say(`worker ${WORKER_ID} online (pid ${worker.pid}) on ${address}`);

  const numbers = Array.from({ length: opts.numbers }, (_, i) => chaosNumber(i));
  const contacts = Array.from({ length: opts.contacts }, (_, i) => contactPhone(i));
  for (const c of contacts) emu.addContact(c);
  const load = new Load(emu, backend, numbers, contacts, rng.fork('load'), { workerId: WORKER_ID, runLabel: String(opts.seed), meanGapMs: 300 });
  await Promise.all(numbers.map((n) => linkNumber(n, { backend, emu, load, workerId: WORKER_ID }, 60_000)));
  say(`${numbers.length} numbers linked`);

  const monitor = new SocketMonitor(emu, numbers);
  monitor.start();
  teardown.add('the socket monitor', () => monitor.stop());
  const faults = new FaultInjector(
    {
      cluster,
      worker,
      s3,
      emu,
      backend,
      numbers,
      rng: rng.fork('faults'),
      connectionName: `wa-worker ${WORKER_ID}`,
      maxConflicts: config.whatsapp.maxConflicts,
      recoveryTimeoutMs: 90_000,
      say,
    },
    { windowMs: opts.durationS * 1000, gapMs: opts.quick ? [1000, 4000] : [3000, 12_000] },
  );
  // Torn down first: a recovery in flight must not start a node, S3 or the worker again behind the teardown.
  teardown.add('the fault injector', () => faults.stop());
  const faultsStarted = Date.now();
  load.start();
  await faults.run();
  const proceed = () => {
    if (opts.interrupted()) throw new Error('interrupted');
  };
  proceed();
  await load.stop();
  proceed();
  const faultPhaseMs = Date.now() - faultsStarted;
  say(`faults over after ${(faultPhaseMs / 1000).toFixed(0)} s (${faults.records.length} injected); restoring everything`);

  await restore({ cluster, s3, worker, emu, numbers, say, proceed });
  const quiet = await quiesce(load, backend, emu, opts.quick ? 90_000 : 150_000);
  say(quiet ? 'quiescent: every message published, every command answered' : 'no quiescence within the bound: judging what there is');
  proceed();
  const memory = judgeMemory(worker.rss, worker.generation);
  const restart = await restartCheck(worker, backend, numbers);
  monitor.stop();

  const verdicts = checkInvariants({
    incoming: load.incoming,
    commands: load.commands,
    backend,
    emu,
    monitor,
    numbers,
    restart,
    memory,
    undecryptable: emuLog.undecryptable,
    crashes,
  });
  const facts = runFacts({ started, faultPhaseMs, seed: opts.seed, cluster, numbers, load, faults, worker, backend, emu, emuLog, runDir });
  writeEvidence(join(runDir, 'evidence.json'), { load, backend, faults, emuLog, emu, started });
  const pass = verdicts.every((v) => v.pass !== false);
  keepClusterFiles = !pass || opts.keep;
  await teardown.run();
  if (pass && !opts.keep) rmSync(runDir, { recursive: true, force: true });
  return { pass, verdicts, facts, durationMs: Date.now() - started, runDir };
}

import type { EmulatorServer } from '../../test/emulator/index.js';
import type { Backend } from './backend.js';
import type { RabbitCluster } from './rabbit-cluster.js';
import { waitAllLinked } from './faults.js';
import { accountsOf, type RestartCheck } from './invariants.js';
import type { ChaosNumber, Load } from './load.js';
import type { RestartableS3 } from './s3.js';
import { waitFor } from '../../test/helpers/wait.js';
import type { ChaosWorker } from './worker.js';

/** The end of a run: everything back up, a bounded wait for quiescence, the graceful-restart experiment. */

export async function restore(deps: {
  cluster: RabbitCluster;
  s3: RestartableS3;
  worker: ChaosWorker;
  emu: EmulatorServer;
  numbers: ChaosNumber[];
  say: (t: string) => void;
  proceed: () => void;
}): Promise<void> {
  const { cluster, s3, worker, proceed } = deps;
  for (let i = 1; i <= cluster.nodes.length; i++) {
    proceed();
    if (!(await cluster.isRunning(i))) await cluster.startNode(i);
  }
  proceed();
  await s3.start();
  if (!worker.running) worker.start();
  await waitAllLinked(deps, 120_000).catch((err: Error) => deps.say(`after restoring: ${err.message}`));
}

/** Until every incoming message is published and every accepted command answered (and the emulator holds nothing unacked), bounded. */
export async function quiesce(load: Load, backend: Backend, emu: EmulatorServer, timeoutMs: number): Promise<boolean> {
  const done = () => {
    const published = new Set(backend.events.filter((e) => e.kind === 'message_received').map((e) => e.messageId));
    const answered = new Set(backend.events.map((e) => e.requestId));
    const dead = new Set(backend.deadLetters.map((d) => d.requestId));
    return (
      load.incoming.every((i) => published.has(i.id)) &&
      load.commands.every((c) => !c.accepted || c.action === 'create' || answered.has(c.requestId) || dead.has(c.requestId)) &&
      accountsOf(emu).every((a) => (a.unacked ?? 0) === 0)
    );
  };
  return waitFor(done, 'quiescence', { timeoutMs, intervalMs: 500 }).then(
    () => true,
    () => false,
  );
}

/** Invariant 5's experiment: SIGTERM, start again on the same storage, every session connected with no QR. */
export async function restartCheck(worker: ChaosWorker, backend: Backend, numbers: ChaosNumber[]): Promise<RestartCheck> {
  const t = Date.now();
  const exitCode = await worker.stop();
  const restartedAt = Date.now();
  worker.start();
  const missing: string[] = [];
  await Promise.all(
    numbers.map((n) =>
      backend
        .waitForEvent((e) => e.kind === 'connected' && e.sessionId === n.sessionId && e.timestamp >= restartedAt, 90_000, `${n.phone} connected`)
        .catch(() => missing.push(n.phone)),
    ),
  );
  const qrAfterRestart = backend.events.filter((e) => e.kind === 'qr_generated' && e.timestamp >= t).length;
  return { exitCode, missing, qrAfterRestart, ms: Date.now() - restartedAt };
}

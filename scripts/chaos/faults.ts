import type { EmulatorServer } from '../../test/emulator/index.js';
import type { Backend } from './backend.js';
import type { RabbitCluster } from './rabbit-cluster.js';
import type { ChaosNumber } from './load.js';
import type { Prng } from './prng.js';
import type { RestartableS3 } from './s3.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../test/helpers/wait.js';
import type { ChaosWorker } from './worker.js';

export const FAULT_KINDS = ['worker-kill', 'broker-cut', 'node-stop', 's3-stop', 'wa-drop', 'wa-restart515', 'wa-conflict440'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How often each kind comes up once every kind has had its turn: a SIGKILL tests the most (outbox journal, receipts, restore). */
const WEIGHTS: Record<FaultKind, number> = {
  'worker-kill': 2,
  'broker-cut': 1.5,
  'node-stop': 1,
  's3-stop': 1,
  'wa-drop': 1,
  'wa-restart515': 1,
  'wa-conflict440': 1,
};

export interface FaultRecord {
  kind: FaultKind;
  /** when it struck, epoch ms */
  at: number;
  target: string;
  /** how long until the system was back (worker on the broker, every number linked) */
  recoveredMs?: number;
  error?: string;
}

export interface FaultContext {
  cluster: RabbitCluster;
  worker: ChaosWorker;
  s3: RestartableS3;
  emu: EmulatorServer;
  backend: Backend;
  numbers: ChaosNumber[];
  rng: Prng;
  /** the worker's AMQP connection name (src/worker.ts: `wa-worker <WORKER_ID>`) */
  connectionName: string;
  /** WA_MAX_CONFLICTS of the worker: that many 440s on one number stop its session (by design) */
  maxConflicts: number;
  recoveryTimeoutMs: number;
  say: (text: string) => void;
}

/** Every number has a logged-in socket on the emulator. */
export function allLinked(emu: EmulatorServer, numbers: ChaosNumber[]): boolean {
  return numbers.every((n) => emu.connectionsOf(n.digits).some((c) => c.device !== undefined));
}

export const waitAllLinked = (ctx: Pick<FaultContext, 'emu' | 'numbers'>, timeoutMs: number): Promise<void> =>
  waitFor(() => allLinked(ctx.emu, ctx.numbers), 'every number linked again on the emulator', { timeoutMs, intervalMs: 100 });

/**
 * Injects faults one after another for `windowMs`, at random gaps (seeded), each followed by a
 * bounded wait for recovery (so two faults never stack into an outage nothing could survive,
 * e.g. two of three nodes down). Every kind happens at least once: the window is stretched
 * until the last missing kind has run. The worker is SIGKILLed only in the first 60 % of the
 * window, so its final process runs long enough to judge its memory.
 */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private readonly conflicts = new Map<string, number>();
  private stopped = false;
  private started = 0;

  constructor(
    private readonly ctx: FaultContext,
    private readonly opts: { windowMs: number; gapMs: [number, number] },
  ) {}

  count(kind: FaultKind | 'wa'): number {
    return this.records.filter((r) => (kind === 'wa' ? r.kind.startsWith('wa-') : r.kind === kind)).length;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Before undoing a fault: nothing is started again once the run is being torn down. */
  private checkRunning(): void {
    if (this.stopped) throw new Error('the run is being torn down');
  }

  async run(): Promise<void> {
    const { rng } = this.ctx;
    this.started = Date.now();
    const missing = new Set<FaultKind>(rng.shuffle(FAULT_KINDS));
    const killBefore = this.started + this.opts.windowMs * 0.6;
    while (!this.stopped) {
      const now = Date.now();
      const late = now >= this.started + this.opts.windowMs;
      if (late && missing.size === 0) break;
      let kind: FaultKind;
      if (missing.has('worker-kill') && now >= this.started + this.opts.windowMs * 0.4) kind = 'worker-kill';
      else if (missing.size > 0 && (late || rng.next() < 0.6)) kind = [...missing][0]!;
      else kind = rng.weighted(FAULT_KINDS.filter((k) => k !== 'worker-kill' || now < killBefore).map((k) => [k, WEIGHTS[k]] as const));
      missing.delete(kind);
      await sleep(rng.between(...this.opts.gapMs));
      if (this.stopped) break;
      await this.inject(kind);
    }
  }

  private async inject(kind: FaultKind): Promise<void> {
    const record: FaultRecord = { kind, at: Date.now(), target: '' };
    this.records.push(record);
    const t0 = Date.now();
    try {
      record.target = await this.apply(kind);
      this.ctx.say(`fault ${kind} (${record.target})…`);
      await this.recover(kind, t0, record);
      record.recoveredMs = Date.now() - t0;
      this.ctx.say(`  recovered from ${kind} in ${(record.recoveredMs / 1000).toFixed(1)} s`);
    } catch (err) {
      record.error = (err as Error).message;
      this.ctx.say(`  ${kind}: ${record.error}`);
    }
  }

  /** Does the damage; returns what was hit. */
  private async apply(kind: FaultKind): Promise<string> {
    const { cluster, worker, s3, emu, rng } = this.ctx;
    switch (kind) {
      case 'worker-kill': {
        const pid = worker.pid;
        await worker.kill();
        return `pid ${pid}`;
      }
      case 'broker-cut': {
        const node = await this.workerNode();
        await cluster.closeConnections(node, 'chaos: connection cut');
        return `node ${node}`;
      }
      case 'node-stop': {
        const node = await this.workerNode();
        await this.ctx.backend.moveOff(node, this.ctx.recoveryTimeoutMs);
        await cluster.stopNode(node, 'kill');
        return `node ${node}`;
      }
      case 's3-stop':
        await s3.stop();
        return `port ${s3.port}`;
      case 'wa-drop':
      case 'wa-restart515':
      case 'wa-conflict440': {
        // A number that took WA_MAX_CONFLICTS - 1 conflicts already is spared another: the worker
        // would stop it on purpose (a replaced session must not fight back forever).
        const eligible = this.ctx.numbers.filter((n) => kind !== 'wa-conflict440' || (this.conflicts.get(n.digits) ?? 0) < this.ctx.maxConflicts - 1);
        const target = rng.pick(eligible.length > 0 ? eligible : this.ctx.numbers);
        if (kind === 'wa-conflict440') this.conflicts.set(target.digits, (this.conflicts.get(target.digits) ?? 0) + 1);
        await emu.fault(kind === 'wa-drop' ? 'drop' : kind === 'wa-restart515' ? 'restart515' : 'conflict440', target.digits);
        return target.phone;
      }
    }
  }

  /** Undoes what needs undoing and waits (bounded) until the worker is back on its feet. */
  private async recover(kind: FaultKind, t0: number, record: FaultRecord): Promise<void> {
    const { cluster, worker, s3, rng, recoveryTimeoutMs } = this.ctx;
    switch (kind) {
      case 'worker-kill':
        worker.start();
        await worker.connectedSince(t0, recoveryTimeoutMs);
        break;
      case 'broker-cut':
        record.target += ` → ${(await worker.connectedSince(t0, recoveryTimeoutMs)).address}`;
        break;
      case 'node-stop': {
        const node = Number(record.target.split(' ')[1]);
        // the node stays down a few seconds; the worker must find another one meanwhile
        const down = sleep(rng.between(3000, 7000));
        const moved = worker.connectedSince(t0, recoveryTimeoutMs).then(
          (c) => void (record.target += ` → ${c.address}`),
          (err: Error) => err,
        );
        await down;
        this.checkRunning();
        await cluster.startNode(node);
        const failed = await moved;
        if (failed) throw failed;
        break;
      }
      case 's3-stop':
        await sleep(rng.between(2000, 8000));
        this.checkRunning();
        await s3.start();
        break;
      case 'wa-drop':
      case 'wa-restart515':
      case 'wa-conflict440':
        break;
    }
    await waitAllLinked(this.ctx, recoveryTimeoutMs);
  }

  /** The node holding the worker's connection (after waiting for one, if it is reconnecting). */
  private async workerNode(): Promise<number> {
    let node: number | undefined;
    // the broker's connection list announces nothing: asked again until it names one
    await waitFor(
      async () => (node = await this.ctx.cluster.nodeOfConnection(this.ctx.connectionName)) !== undefined,
      `a broker connection named "${this.ctx.connectionName}"`,
      { timeoutMs: this.ctx.recoveryTimeoutMs, intervalMs: 500 },
    );
    return node!;
  }
}

import { EventEmitter } from 'node:events';
import { appendFileSync, readFileSync } from 'node:fs';
import { WorkerProcess } from '../../test/helpers/worker-process.js';

/** A line of the worker's pino log, parsed. */
export interface LogLine {
  msg?: string;
  level?: number;
  address?: string;
  [key: string]: unknown;
}

export interface RssSample {
  generation: number;
  /** ms since this process started */
  age: number;
  rssBytes: number;
}

/**
 * The real worker (`src/main.ts`) through its successive processes: one storage, one WORKER_ID,
 * restarted after every kill. Its log goes to a file (and is parsed as it comes: which broker node
 * it connects to), its RSS is read from /proc every second.
 */
export class ChaosWorker extends EventEmitter {
  private proc: WorkerProcess | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private rssTimer: NodeJS.Timeout | undefined;
  private partial = '';
  private startedAt = 0;
  generation = 0;
  kills = 0;
  /** Every broker connection the worker reported, in order: the node address and when. */
  readonly connections: Array<{ at: number; address: string; generation: number }> = [];
  readonly rss: RssSample[] = [];
  readonly exits: Array<{ generation: number; code: number | null; expected: boolean }> = [];
  private expectingExit = false;

  constructor(
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {
    super();
    this.setMaxListeners(0);
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** After close(), nothing starts a worker again (a fault's recovery racing the teardown). */
  private closed = false;

  start(): void {
    if (this.closed) return;
    if (this.proc) throw new Error('the worker is already running');
    const generation = ++this.generation;
    appendFileSync(this.logFile, `\n===== worker process ${generation} started ${new Date().toISOString()} =====\n`);
    const proc = new WorkerProcess(this.env);
    this.proc = proc;
    this.startedAt = Date.now();
    this.partial = '';
    this.expectingExit = false;
    // WorkerProcess collects output in an array; it is moved to the file as it comes (a long run
    // would otherwise keep every line in memory).
    this.drainTimer = setInterval(() => this.drain(proc), 100);
    this.rssTimer = setInterval(() => this.sampleRss(generation), 1000);
    void proc.exited.then((code) => {
      this.drain(proc);
      this.stopTimers();
      this.exits.push({ generation, code, expected: this.expectingExit });
      if (this.proc === proc) this.proc = undefined;
      this.emit('exit', { generation, code, expected: this.expectingExit });
    });
  }

  /** SIGKILL: no shutdown of any kind. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.expectingExit = true;
    this.kills++;
    await proc.stop('SIGKILL');
  }

  /** For the teardown: SIGKILL, and no more starts. */
  async close(): Promise<void> {
    this.closed = true;
    await this.kill();
  }

  /** SIGTERM, the graceful shutdown; its exit code. */
  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (!proc) return null;
    this.expectingExit = true;
    return proc.stop('SIGTERM');
  }

  /** The next `broker connected` line logged after `since` (the worker holds a broker connection again). */
  connectedSince(since: number, timeoutMs: number): Promise<{ address: string }> {
    const found = this.connections.find((c) => c.at >= since);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onConnected = (c: { address: string }) => {
        clearTimeout(timer);
        resolve(c);
      };
      const timer = setTimeout(() => {
        this.off('broker-connected', onConnected);
        reject(new Error(`the worker did not reconnect to the broker within ${timeoutMs} ms`));
      }, timeoutMs);
      this.once('broker-connected', onConnected);
    });
  }

  /** Times a worker process reconnected to another node than the one it had lost (a restart is not a failover). */
  get failovers(): number {
    let n = 0;
    for (let i = 1; i < this.connections.length; i++) {
      const [before, now] = [this.connections[i - 1]!, this.connections[i]!];
      if (now.generation === before.generation && now.address !== before.address) n++;
    }
    return n;
  }

  /** The last lines of the log file (for a failure report). */
  tail(lines = 40): string {
    return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  }

  private drain(proc: WorkerProcess): void {
    const chunks = proc.output.splice(0);
    if (chunks.length === 0) return;
    const text = chunks.join('');
    appendFileSync(this.logFile, text);
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.parse(line);
  }

  private parse(line: string): void {
    if (!line.startsWith('{')) return;
    let entry: LogLine;
    try {
      entry = JSON.parse(line) as LogLine;
    } catch {
      return;
    }
    if (entry.msg === 'broker connected' && typeof entry.address === 'string') {
      const c = { at: Date.now(), address: entry.address, generation: this.generation };
      this.connections.push(c);
      this.emit('broker-connected', c);
    }
    if ((entry.level ?? 0) >= 50) this.emit('error-line', entry);
  }

  private sampleRss(generation: number): void {
    const pid = this.proc?.pid;
    if (pid === undefined) return;
    try {
      const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb) this.rss.push({ generation, age: Date.now() - this.startedAt, rssBytes: Number(kb) * 1024 });
    } catch {
      // the process is exiting: no sample
    }
  }

  private stopTimers(): void {
    clearInterval(this.drainTimer);
    clearInterval(this.rssTimer);
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The real daemon (`src/main.ts`) as its own process, as ops run it. */
export class WorkerProcess {
  private readonly child: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(env: Record<string, string | undefined>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** The process id (undefined if the spawn failed). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves when a log line matches (e.g. the worker holds its queue). */
  async waitForLog(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output.join(''))) {
      if (Date.now() > deadline) throw new Error(`worker never logged ${pattern}; output:\n${this.output.join('').slice(-3000)}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          this.child.stdout!.off('data', done);
          resolve();
        }, 200);
        this.child.stdout!.once('data', done);
      });
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

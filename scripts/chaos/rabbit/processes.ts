/** Child commands with timeouts, TCP port checks, pids and process groups. */
import { execFile, type ExecFileException } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RabbitClusterError } from './errors.js';
import type { Identity } from './identity.js';
import { tail } from './output.js';

export { setTimeout as sleep } from 'node:timers/promises';

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  identity: Identity;
  timeoutMs: number;
  /** The node the command concerns, for the error message. */
  node: string;
}

export function runCommand(file: string, args: string[], o: RunOptions): Promise<{ stdout: string; stderr: string }> {
  const label = `${path.basename(file)} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env: o.env,
        cwd: o.cwd,
        uid: o.identity.uid,
        gid: o.identity.gid,
        timeout: o.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err: ExecFileException | null, stdout: string, stderr: string) => {
        if (!err) return resolve({ stdout, stderr });
        const detail =
          err.killed || err.signal === 'SIGKILL'
            ? `timed out after ${o.timeoutMs} ms`
            : typeof err.code === 'number'
              ? `exited with code ${err.code}`
              : `could not run: ${err.message}`;
        reject(new RabbitClusterError(o.node, label, detail, tail(`${stderr}\n${stdout}`)));
      },
    );
  });
}

/** Resolves true when something accepts TCP on 127.0.0.1:port within timeoutMs. */
export function tcpOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Resolves true when nothing listens on 127.0.0.1:port (we could bind it ourselves). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs a process group (our rabbitmq-server scripts run detached: each leads its own). */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone already
  }
}

export function readPidSync(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

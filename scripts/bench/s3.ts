import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface S3Child {
  options(bucket: string): { endPoint: string; port: number; accessKey: string; secretKey: string; bucket: string };
  /** CPU seconds the s3rver process has used so far (Linux /proc; 0 elsewhere). */
  cpuSeconds(): number;
  /** Requests served so far, by kind ('GET object', 'GET list', 'PUT object', …). */
  requests(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export function processCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** Starts scripts/bench/s3rver-child.ts and waits for its port. */
export function startS3rverChild(): Promise<S3Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/s3rver-child.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`s3rver child exited ${code}: ${err.slice(-800)}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      const { port } = JSON.parse(line) as { port: number };
      resolve({
        cpuSeconds: () => processCpuSeconds(child.pid),
        requests: () =>
          new Promise((res) => {
            child.once('message', (m) => res(m as Record<string, number>));
            child.send('requests');
          }),
        options: (bucket) => ({ endPoint: '127.0.0.1', port, accessKey: 'S3RVER', secretKey: 'S3RVER', bucket }),
        close: async () => {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}

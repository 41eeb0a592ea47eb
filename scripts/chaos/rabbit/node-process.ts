/** One node's OS processes: spawning its rabbitmq-server, waiting for it to boot, finding its VM's pid. */
import { spawn } from 'node:child_process';
import { closeSync, fchownSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import amqp from 'amqplib';
import { RabbitClusterError } from './errors.js';
import { rabbitBin, type Identity } from './identity.js';
import type { NodeState } from './node-state.js';
import { fileTail } from './output.js';
import { alive, sleep, tcpOpen } from './processes.js';

/** Spawns `rabbitmq-server` in the foreground (not -detached), so a node that dies while booting is seen at once, not at the boot timeout. */
export function launchNode(n: NodeState, identity: Identity): void {
  const out = openSync(path.join(n.logDir, 'startup.log'), 'a');
  try {
    if (identity.uid !== undefined) fchownSync(out, identity.uid, identity.gid ?? identity.uid);
    const child = spawn(rabbitBin('rabbitmq-server'), [], {
      cwd: n.dir,
      env: n.env,
      uid: identity.uid,
      gid: identity.gid,
      // Own session: a Ctrl-C meant for the runner does not reach the nodes; stop() does.
      detached: true,
      stdio: ['ignore', out, out],
    });
    n.child = child;
    n.exited = undefined;
    n.pid = undefined;
    child.once('exit', (code, signal) => {
      if (n.child === child) n.exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    });
    child.once('error', (err) => {
      if (n.child === child) n.exited = `could not be started: ${err.message}`;
    });
    child.unref();
  } finally {
    closeSync(out);
  }
}

async function bootFailure(n: NodeState, detail: string): Promise<RabbitClusterError> {
  const tails = [await fileTail(path.join(n.logDir, 'startup.log'), 15), await fileTail(path.join(n.logDir, `${n.name}.log`), 25)].filter(Boolean);
  return new RabbitClusterError(n.name, `${rabbitBin('rabbitmq-server')} (RABBITMQ_NODENAME=${n.name})`, detail, tails.join('\n'));
}

/** Until the node's AMQP port takes a real AMQP connection (the port opens a moment before the login works). */
export async function waitNodeUp(n: NodeState, bootTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + bootTimeoutMs;
  let lastError = '';
  for (;;) {
    if (n.exited !== undefined) throw await bootFailure(n, `${n.exited} before its AMQP port ${n.port} answered`);
    if (Date.now() > deadline)
      throw await bootFailure(n, `did not answer on AMQP port ${n.port} within ${bootTimeoutMs} ms${lastError ? ` (last: ${lastError})` : ''}`);
    if (await tcpOpen(n.port, 500)) {
      try {
        const conn = await amqp.connect(n.url, { timeout: 5000 });
        await conn.close();
        break;
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    await sleep(100);
  }
  n.pid = await readPid(n);
}

async function readPid(n: NodeState): Promise<number | undefined> {
  const text = await readFile(n.pidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The node's VM pid if that process is alive and (where /proc says so) really is this node, not a reused pid. */
export async function livePid(n: NodeState): Promise<number | undefined> {
  const pid = n.pid ?? (await readPid(n));
  if (pid === undefined || !alive(pid)) return undefined;
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => undefined);
  if (environ !== undefined && !environ.split('\0').includes(`RABBITMQ_NODENAME=${n.name}`)) return undefined;
  return pid;
}

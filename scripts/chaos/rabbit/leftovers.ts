/**
 * Finding the nodes on this machine (beam.smp processes in /proc, names registered with epmd) and
 * stopping what an aborted earlier run of rabbit-cluster.ts left behind.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BASE_DIR_VAR, DEFAULT_BASE_PORT, DEFAULT_PREFIX, HOST, MARKER, MAX_SIZE, PREFIX_VAR, shortNames } from './constants.js';
import { rabbitBin, resolveIdentity, toolEnv } from './identity.js';
import { isOurDir } from './node-files.js';
import { alive, runCommand, sleep } from './processes.js';

export interface BeamProcess {
  pid: number;
  nodename: string | undefined;
  /** The namePrefix of the cluster it belongs to, when rabbit-cluster.ts started it. */
  prefix: string | undefined;
  baseDir: string | undefined;
}

/** Every beam.smp process on the machine with the node name from its environment (Linux /proc; [] elsewhere). */
export async function listBeamProcesses(): Promise<BeamProcess[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const found: BeamProcess[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'beam.smp') continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    const vars = new Map(environ.split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
    found.push({ pid: Number(entry), nodename: vars.get('RABBITMQ_NODENAME'), prefix: vars.get(PREFIX_VAR), baseDir: vars.get(BASE_DIR_VAR) });
  }
  return found;
}

/**
 * The names registered with the local epmd (the Erlang port mapper every node on the machine
 * registers with), asked over its TCP protocol: NAMES_REQ is the single byte 110.
 */
export function epmdNames(): Promise<string[]> {
  const port = Number(process.env.ERL_EPMD_PORT ?? 4369);
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const finish = (): void => {
      socket.destroy();
      const text = Buffer.concat(chunks).subarray(4).toString('utf8');
      resolve([...text.matchAll(/^name (\S+) at port \d+$/gm)].map((m) => m[1]!));
    };
    socket.setTimeout(3000, finish);
    socket.once('connect', () => socket.write(Buffer.from([0, 1, 110])));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', finish);
    socket.once('error', () => resolve([]));
  });
}

export interface LeftoverReport {
  /** Node names stopped. */
  stopped: string[];
  /** Base directories of earlier runs removed. */
  removedDirs: string[];
}

/**
 * Stops what an aborted earlier run left: every node this module started with this namePrefix
 * (found by the tag in its environment, Linux /proc), and whatever node holds one of `names`
 * (short names about to be used; a node name can only be registered once). By SIGKILL: their
 * data is thrown away anyway. A node still registered with epmd under one of those names after
 * that (its environment unreadable: another user's, or no /proc) is asked to `rabbitmqctl
 * shutdown`. Then removes the base directories of earlier runs with this prefix (only
 * directories carrying this module's marker). The machine's other nodes are never touched.
 */
export async function stopLeftovers(
  namePrefix = DEFAULT_PREFIX,
  opts: { names?: string[]; basePort?: number; timeoutMs?: number } = {},
): Promise<LeftoverReport> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const names = new Set(opts.names ?? shortNames(namePrefix, MAX_SIZE));
  const short = (nodename: string | undefined): string | undefined => nodename?.split('@')[0];
  const stopped = new Set<string>();
  const dirs = new Set<string>();
  const beams = await listBeamProcesses();
  const victims = beams.filter((b) => b.prefix === namePrefix || (opts.names !== undefined && names.has(short(b.nodename) ?? '')));
  for (const v of victims) {
    try {
      process.kill(v.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    stopped.add(v.nodename ?? `pid ${v.pid}`);
    if (v.baseDir) dirs.add(v.baseDir);
  }
  const deadline = Date.now() + timeoutMs;
  while (victims.some((v) => alive(v.pid))) {
    if (Date.now() > deadline) throw new Error(`rabbit-cluster: leftover nodes did not die after SIGKILL: pids ${victims.map((v) => v.pid).join(', ')}`);
    await sleep(50);
  }
  // Registered names whose process we could not see; one we saw with another cluster's tag is not ours to stop.
  const seen = new Set(beams.filter((b) => !victims.includes(b)).map((b) => short(b.nodename)));
  const unseen = (await epmdNames()).filter((n) => names.has(n) && !seen.has(n));
  if (unseen.length) {
    const identity = await resolveIdentity();
    const env = toolEnv(identity, opts.basePort ?? DEFAULT_BASE_PORT, '/dev/null');
    await Promise.all(
      unseen.map(async (n) => {
        const name = `${n}@${HOST}`;
        await runCommand(rabbitBin('rabbitmqctl'), ['-n', name, 'shutdown'], { env, cwd: os.tmpdir(), identity, timeoutMs, node: name }).catch(() => undefined);
        stopped.add(name);
      }),
    );
  }
  // epmd drops a name when the node's connection to it closes: a moment after the process died.
  const gone = [...stopped].map((n) => short(n)!);
  for (;;) {
    const still = (await epmdNames()).filter((n) => gone.includes(n));
    if (still.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(
        `rabbit-cluster: leftover nodes still registered with epmd: ${still.join(', ')} (stop them by hand: rabbitmqctl -n <name>@${HOST} shutdown)`,
      );
    }
    await sleep(100);
  }
  // Earlier runs' directories: those the killed nodes named, and marked ones of this prefix in tmpdir.
  const tmp = os.tmpdir();
  for (const entry of await readdir(tmp).catch(() => [] as string[])) {
    if (entry.startsWith(`rabbit-cluster-${namePrefix}-`)) dirs.add(path.join(tmp, entry));
  }
  const live = new Set((await listBeamProcesses()).map((b) => b.baseDir).filter((d): d is string => d !== undefined));
  const removedDirs: string[] = [];
  for (const dir of dirs) {
    if (live.has(dir) || !(await isOurDir(dir))) continue;
    const marker = JSON.parse(await readFile(path.join(dir, MARKER), 'utf8').catch(() => '{}')) as { namePrefix?: string };
    if (marker.namePrefix !== namePrefix) continue;
    await rm(dir, { recursive: true, force: true });
    removedDirs.push(dir);
  }
  return { stopped: [...stopped].sort(), removedDirs };
}

/**
 * A real RabbitMQ cluster of `size` nodes on this one machine, for the chaos suite (it kills the
 * node a worker is connected to mid-traffic). Library: `startCluster()`. CLI:
 *
 *   node --import tsx scripts/chaos/rabbit-cluster.ts start [--size 3] [--base-port 5701] [--prefix chaos] [--base-dir DIR] [--keep-dir] [--formation join|discovery]
 *   node --import tsx scripts/chaos/rabbit-cluster.ts stop  [--prefix chaos]
 *   node --import tsx scripts/chaos/rabbit-cluster.ts status [--prefix chaos]
 *
 * `start` prints one JSON line ({urls, url, nodes, baseDir, timings}) and stays in the foreground
 * until SIGINT/SIGTERM, then stops the cluster. `stop` kills what an aborted run left (nodes of
 * that prefix, their directories). `status` prints `rabbitmqctl cluster_status` of the first node
 * of that prefix that answers.
 *
 * Node i (numbered from 1, as in every method here):
 *   name          `${namePrefix}${i}@localhost`
 *   AMQP          127.0.0.1:(basePort + i - 1)                 5701, 5702, 5703 by default
 *   Erlang dist   127.0.0.1:(basePort + 20000 + i - 1)         RabbitMQ's own default offset: 25701…
 *   CLI dist      basePort + 20050 … basePort + 20069          the port range of our rabbitmqctl's own Erlang node
 *   files         <baseDir>/<prefix><i>/{rabbitmq.conf, conf.d/, mnesia/, log/, plugins-expand/, node.pid}
 *
 * Never touches the machine's default node (rabbit@localhost on 5672, other suites use it): the
 * nodes read none of /etc/rabbitmq (its rabbitmq.conf binds 5672, its rabbitmq-env.conf names
 * the node rabbit@localhost), and leftovers are found by exact node-name pattern only. They share
 * the machine's epmd (port 4369) and the Erlang cookie of the user they run as: run as root, the
 * nodes and every rabbitmqctl run as the `rabbitmq` user with HOME=/var/lib/rabbitmq, exactly
 * like the default node, so a plain `rabbitmqctl -n chaos1@localhost …` from a shell works too.
 *
 * On this 2-CPU machine one node boots in ~4 s; three in parallel in ~10–13 s (CPU-bound), and
 * a formed cluster takes ~13–22 s with 'join', ~13–15 s with 'discovery' (see StartClusterOptions.formation).
 * A process that exits without stop() still kills its nodes (an 'exit' hook); one killed by a
 * signal it does not handle leaves them to the next startCluster/`stop` of the same prefix.
 */
import { execFile, spawn, type ChildProcess, type ExecFileException } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fchownSync, openSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';

export interface StartClusterOptions {
  /** Number of nodes (1–20); default 3. */
  size?: number;
  /** AMQP port of node 1; node i listens on basePort + i - 1. Default 5701. */
  basePort?: number;
  /** Where the nodes' data and logs go; default a fresh directory under os.tmpdir(). Wiped first if it is ours from an earlier run. */
  baseDir?: string;
  /** Node i is `${namePrefix}${i}@localhost`. Default 'chaos'. */
  namePrefix?: string;
  /** Keep baseDir (logs, data) when the cluster stops; default false. */
  keepDir?: boolean;
  /** Upper bound for one node to boot (process start until AMQP answers); default 120 s. */
  bootTimeoutMs?: number;
  /** Upper bound for one rabbitmqctl call; default 60 s. */
  ctlTimeoutMs?: number;
  /**
   * How nodes 2..n become members. 'join' (default): each boots standalone, then `rabbitmqctl
   * stop_app`, `join_cluster <node 1>`, `start_app`. 'discovery': their config lists node 1 as
   * peer (classic_config), so each joins during its first boot, retrying until node 1 answers;
   * no second start of the rabbit application.
   */
  formation?: 'join' | 'discovery';
  /** Progress lines (with timings); default: to stderr. `false` silences them. */
  log?: ((line: string) => void) | false;
}

export interface ClusterTimings {
  /** Finding and stopping leftovers of an earlier run. */
  leftoversMs: number;
  /** All nodes booted (in parallel) until each one's AMQP port answered. */
  bootMs: number;
  /** stop_app / join_cluster / start_app of nodes 2..n, overlapping with the boot where possible. */
  joinMs: number;
  /** From the joins until cluster_status lists every node running and every AMQP port takes a connection. */
  formedMs: number;
  /** The whole of startCluster. */
  totalMs: number;
}

export interface ClusterConnection {
  /** Node (1-based) the client is connected to. */
  node: number;
  /** The client's `connection_name` client property, when it set one. */
  connectionName: string | undefined;
  /** The broker's name for it: "127.0.0.1:50210 -> 127.0.0.1:5701". */
  name: string;
  user: string;
  /** ms since the epoch */
  connectedAt: number;
}

export interface RabbitCluster {
  /** amqp://guest:guest@127.0.0.1:<port>, node 1 first. */
  urls: string[];
  /** The comma-separated list the worker's RABBITMQ_URL accepts. */
  url: string;
  nodes: Array<{ name: string; port: number }>;
  /** Nodes are numbered from 1. 'kill' SIGKILLs the node's beam.smp (found from its pid file); 'graceful' is `rabbitmqctl stop`. A node already down is left alone. */
  stopNode(i: number, how?: 'graceful' | 'kill'): Promise<void>;
  /** Starts a stopped node again (it rejoins the cluster by itself); resolves once it runs, takes AMQP connections and is back in cluster_status. */
  startNode(i: number): Promise<void>;
  /** The node's OS process is alive and its AMQP port accepts TCP (cheap: no rabbitmqctl). */
  isRunning(i: number): Promise<boolean>;
  /** Which node holds the client connection whose `connection_name` client property is `connectionName` (the newest, if several). */
  nodeOfConnection(connectionName: string): Promise<number | undefined>;
  /** Closes every client connection on that node (all vhosts), with `reason` as the close text, without stopping the node. */
  closeConnections(nodeIndex: number, reason: string): Promise<void>;
  /** Stops every node and deletes baseDir unless keepDir. */
  stop(opts?: { keepDir?: boolean; how?: 'graceful' | 'kill' }): Promise<void>;

  // Additions to the API the chaos runner asked for.
  readonly baseDir: string;
  readonly timings: ClusterTimings;
  /** `rabbitmqctl cluster_status --formatter json`, asked of the first running node (or of node `via`). */
  clusterStatus(via?: number): Promise<ClusterStatus>;
  /** Every client connection in the cluster, with the node it is on. */
  listConnections(): Promise<ClusterConnection[]>;
  /** The node (1-based) the quorum queue's leader is on, as the cluster's metadata says; undefined when unknown or not a quorum queue. */
  queueLeader(queue: string, vhost?: string): Promise<number | undefined>;
  /** Runs `rabbitmqctl -n <node i> -q <args…>` with this cluster's environment and the command timeout; stdout. */
  rabbitmqctl(i: number, args: string[], timeoutMs?: number): Promise<string>;
  /** The node's main log file. */
  logFile(i: number): string;
}

export interface ClusterStatus {
  running_nodes: string[];
  disk_nodes: string[];
  partitions: Record<string, unknown>;
  alarms: unknown[];
  [key: string]: unknown;
}

/** A failed step, naming the node and the command, with the tail of what it printed. */
export class RabbitClusterError extends Error {
  constructor(
    readonly node: string,
    readonly command: string,
    detail: string,
    readonly outputTail = '',
  ) {
    super(`rabbit-cluster: ${node}: \`${command}\` ${detail}${outputTail ? `\n----- output tail -----\n${outputTail}` : ''}`);
    this.name = 'RabbitClusterError';
  }
}

const HOST = 'localhost';
const DIST_PORT_OFFSET = 20000;
/** rabbitmqctl starts an Erlang node of its own that listens on a port of this range; its default range (35672–35682) is shared with every other rabbitmqctl on the machine. */
const CLI_DIST_PORT_OFFSET = 20050;
const CLI_DIST_PORT_COUNT = 20;
const MAX_SIZE = 20;
const MARKER = '.rabbit-cluster.json';
/** The nodes' environment names their base dir, so a leftover found by `stop` can have its directory removed too. */
const BASE_DIR_VAR = 'CHAOS_RABBIT_BASE_DIR';
/**
 * ...and their namePrefix: names alone are ambiguous (prefix 'chaos' node 11 and prefix 'chaos1'
 * node 1 are both chaos11), so leftovers are matched by this tag, not by a name pattern.
 */
const PREFIX_VAR = 'CHAOS_RABBIT_PREFIX';
const DEFAULT_BASE_PORT = 5701;
const DEFAULT_PREFIX = 'chaos';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Who the nodes run as, and where the RabbitMQ scripts are

interface Identity {
  uid?: number;
  gid?: number;
  home: string;
  user: string;
}

/**
 * As root: the `rabbitmq` user when it exists (Debian's package), so the nodes share the cookie in
 * /var/lib/rabbitmq with the default node and with Debian's /usr/sbin/rabbitmqctl wrapper (which
 * su's to rabbitmq). Otherwise the current user and its own ~/.erlang.cookie.
 */
async function resolveIdentity(): Promise<Identity> {
  const self: Identity = { home: process.env.HOME ?? os.homedir(), user: os.userInfo().username };
  if (process.getuid?.() !== 0) return self;
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const fields = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((f) => f[0] === 'rabbitmq');
  if (!fields || fields[2] === undefined || fields[3] === undefined) return self;
  return { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] || '/var/lib/rabbitmq', user: 'rabbitmq' };
}

/**
 * The real scripts, not Debian's /usr/sbin wrappers: those su to rabbitmq through a re-quoted
 * command line and refuse any user but root and rabbitmq. CHAOS_RABBITMQ_BIN_DIR overrides; else
 * PATH (a generic-unix or Homebrew install has the real scripts there).
 */
function rabbitBin(name: 'rabbitmq-server' | 'rabbitmqctl'): string {
  const dir = process.env.CHAOS_RABBITMQ_BIN_DIR ?? (existsSync('/usr/lib/rabbitmq/bin/rabbitmqctl') ? '/usr/lib/rabbitmq/bin' : undefined);
  return dir ? path.join(dir, name) : name;
}

/**
 * Erlang creates a missing cookie on first use, with a random value; three nodes booting at once
 * could each write a different one and never talk to each other. So one is made up front.
 */
async function ensureCookie(identity: Identity): Promise<void> {
  const file = path.join(identity.home, '.erlang.cookie');
  if (existsSync(file)) return;
  const cookie = Array.from(randomBytes(20), (b) => String.fromCharCode(65 + (b % 26))).join('');
  await writeFile(file, cookie, { mode: 0o400, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  if (identity.uid !== undefined) await chown(file, identity.uid, identity.gid ?? identity.uid);
}

/** The process environment minus anything that would steer RabbitMQ or Erlang elsewhere. */
function cleanEnv(identity: Identity): NodeJS.ProcessEnv {
  const steering =
    /^(RABBITMQ_|ERL_)|^(NODENAME|NODE_IP_ADDRESS|NODE_PORT|DIST_PORT|CONFIG_FILE|CONF_ENV_FILE|MNESIA_BASE|MNESIA_DIR|LOG_BASE|PID_FILE|USE_LONGNAME)$/;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!steering.test(k)) env[k] = v;
  env.HOME = identity.home;
  env.USER = env.LOGNAME = identity.user;
  // The Elixir CLI warns about (and may mangle) non-UTF-8 output under a latin1 locale.
  if (!/utf-?8/i.test(env.LC_ALL ?? env.LANG ?? '')) env.LC_ALL = 'C.UTF-8';
  return env;
}

function toolEnv(identity: Identity, basePort: number, confEnvFile: string): NodeJS.ProcessEnv {
  return {
    ...cleanEnv(identity),
    // An empty file: /etc/rabbitmq/rabbitmq-env.conf would otherwise set NODENAME=rabbit@localhost.
    RABBITMQ_CONF_ENV_FILE: confEnvFile,
    RABBITMQ_CTL_DIST_PORT_MIN: String(basePort + CLI_DIST_PORT_OFFSET),
    RABBITMQ_CTL_DIST_PORT_MAX: String(basePort + CLI_DIST_PORT_OFFSET + CLI_DIST_PORT_COUNT - 1),
    RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}

// ---------------------------------------------------------------------------------------------
// Small process, port and file helpers

function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function fileTail(file: string, lines = 25): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text ? `[${file}]\n${tail(text, lines)}` : '';
}

interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  identity: Identity;
  timeoutMs: number;
  /** The node the command concerns, for the error message. */
  node: string;
}

function runCommand(file: string, args: string[], o: RunOptions): Promise<{ stdout: string; stderr: string }> {
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
function tcpOpen(port: number, timeoutMs = 1000): Promise<boolean> {
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
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface BeamProcess {
  pid: number;
  nodename: string | undefined;
  /** The namePrefix of the cluster it belongs to, when rabbit-cluster.ts started it. */
  prefix: string | undefined;
  baseDir: string | undefined;
}

/** SIGKILLs a process group (our rabbitmq-server scripts run detached: each leads its own). */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function readPidSync(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
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

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}

async function isOurDir(dir: string): Promise<boolean> {
  return existsSync(path.join(dir, MARKER));
}

function parseJsonOutput<T>(stdout: string, what: string): T {
  const start = stdout.search(/[[{]/);
  if (start < 0) throw new Error(`rabbit-cluster: ${what}: no JSON in output: ${tail(stdout, 5)}`);
  return JSON.parse(stdout.slice(start)) as T;
}

// ---------------------------------------------------------------------------------------------
// Leftovers

export interface LeftoverReport {
  /** Node names stopped. */
  stopped: string[];
  /** Base directories of earlier runs removed. */
  removedDirs: string[];
}

/** `${prefix}1` … `${prefix}${size}`: node names without the host part. */
function shortNames(prefix: string, size: number): string[] {
  return Array.from({ length: size }, (_, k) => `${prefix}${k + 1}`);
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

// ---------------------------------------------------------------------------------------------
// The cluster

interface NodeState {
  index: number;
  name: string;
  short: string;
  port: number;
  distPort: number;
  dir: string;
  logDir: string;
  pidFile: string;
  env: NodeJS.ProcessEnv;
  url: string;
  /** The rabbitmq-server script we spawned (it runs the VM as its child). */
  child: ChildProcess | undefined;
  /** Set when that script exited: the VM is gone (or never came up). */
  exited: string | undefined;
  /** The VM's OS pid, from the pid file, once booted. */
  pid: number | undefined;
}

class Cluster implements RabbitCluster {
  readonly urls: string[];
  readonly url: string;
  readonly nodes: Array<{ name: string; port: number }>;
  readonly timings: ClusterTimings = { leftoversMs: 0, bootMs: 0, joinMs: 0, formedMs: 0, totalMs: 0 };
  private stopped = false;
  private readonly exitHook = (): void => this.killAllSync();

  constructor(
    readonly baseDir: string,
    private readonly state: NodeState[],
    private readonly identity: Identity,
    private readonly keepDir: boolean,
    private readonly bootTimeoutMs: number,
    private readonly ctlTimeoutMs: number,
    private readonly say: (line: string) => void,
  ) {
    this.urls = state.map((n) => n.url);
    this.url = this.urls.join(',');
    this.nodes = state.map((n) => ({ name: n.name, port: n.port }));
    // A runner that exits (or crashes) without stop() would leave three VMs behind.
    process.on('exit', this.exitHook);
  }

  private node(i: number): NodeState {
    const n = Number.isInteger(i) ? this.state[i - 1] : undefined;
    if (!n) throw new Error(`rabbit-cluster: no node ${i} (nodes are numbered 1..${this.state.length})`);
    return n;
  }

  logFile(i: number): string {
    const n = this.node(i);
    return path.join(n.logDir, `${n.name}.log`);
  }

  async rabbitmqctl(i: number, args: string[], timeoutMs = this.ctlTimeoutMs): Promise<string> {
    const n = this.node(i);
    const { stdout } = await runCommand(rabbitBin('rabbitmqctl'), ['-n', n.name, '-q', ...args], {
      env: n.env,
      cwd: this.baseDir,
      identity: this.identity,
      timeoutMs,
      node: n.name,
    });
    return stdout;
  }

  // --- starting ---------------------------------------------------------------------------

  /** Spawns `rabbitmq-server` in the foreground (not -detached), so a node that dies while booting is seen at once, not at the boot timeout. */
  launch(n: NodeState): void {
    const out = openSync(path.join(n.logDir, 'startup.log'), 'a');
    try {
      if (this.identity.uid !== undefined) fchownSync(out, this.identity.uid, this.identity.gid ?? this.identity.uid);
      const child = spawn(rabbitBin('rabbitmq-server'), [], {
        cwd: n.dir,
        env: n.env,
        uid: this.identity.uid,
        gid: this.identity.gid,
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

  private async bootFailure(n: NodeState, detail: string): Promise<RabbitClusterError> {
    const tails = [await fileTail(path.join(n.logDir, 'startup.log'), 15), await fileTail(path.join(n.logDir, `${n.name}.log`), 25)].filter(Boolean);
    return new RabbitClusterError(n.name, `${rabbitBin('rabbitmq-server')} (RABBITMQ_NODENAME=${n.name})`, detail, tails.join('\n'));
  }

  /** Until the node's AMQP port takes a real AMQP connection (the port opens a moment before the login works). */
  async waitUp(n: NodeState): Promise<void> {
    const deadline = Date.now() + this.bootTimeoutMs;
    let lastError = '';
    for (;;) {
      if (n.exited !== undefined) throw await this.bootFailure(n, `${n.exited} before its AMQP port ${n.port} answered`);
      if (Date.now() > deadline)
        throw await this.bootFailure(n, `did not answer on AMQP port ${n.port} within ${this.bootTimeoutMs} ms${lastError ? ` (last: ${lastError})` : ''}`);
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
    n.pid = await this.readPid(n);
  }

  private async readPid(n: NodeState): Promise<number | undefined> {
    const text = await readFile(n.pidFile, 'utf8').catch(() => '');
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** The node's VM pid if that process is alive and (where /proc says so) really is this node, not a reused pid. */
  private async livePid(n: NodeState): Promise<number | undefined> {
    const pid = n.pid ?? (await this.readPid(n));
    if (pid === undefined || !alive(pid)) return undefined;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => undefined);
    if (environ !== undefined && !environ.split('\0').includes(`RABBITMQ_NODENAME=${n.name}`)) return undefined;
    return pid;
  }

  private joinLock: Promise<void> = Promise.resolve();

  /**
   * Joins node n (2..size) to node 1 once both have booted: `stop_app`, `join_cluster`,
   * `start_app`. join_cluster changes the Mnesia schema of the whole cluster, so joins take turns;
   * stop_app and start_app (a boot of the rabbit application, the slow part) run side by side.
   */
  async join(n: NodeState, first: NodeState): Promise<{ started: number }> {
    const started = Date.now();
    await this.rabbitmqctl(n.index, ['stop_app']);
    const turn = this.joinLock.then(() => this.rabbitmqctl(n.index, ['join_cluster', first.name]));
    this.joinLock = turn.then(
      () => undefined,
      () => undefined,
    );
    await turn;
    await this.rabbitmqctl(n.index, ['start_app'], this.bootTimeoutMs);
    return { started };
  }

  async clusterStatus(via?: number): Promise<ClusterStatus> {
    const candidates = via !== undefined ? [this.node(via)] : this.state;
    let lastError: unknown;
    for (const n of candidates) {
      if (via === undefined && !(await this.isRunning(n.index))) continue;
      try {
        return parseJsonOutput<ClusterStatus>(await this.rabbitmqctl(n.index, ['cluster_status', '--formatter', 'json']), `${n.name} cluster_status`);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError ?? new Error('rabbit-cluster: no node is running');
  }

  /** Until cluster_status, asked of node `via`, lists every node in `expected` as running. */
  async waitRunningNodes(via: number, expected: string[]): Promise<void> {
    const deadline = Date.now() + this.bootTimeoutMs;
    let running: string[] = [];
    for (;;) {
      try {
        running = (await this.clusterStatus(via)).running_nodes ?? [];
        if (expected.every((name) => running.includes(name))) return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) {
        const n = this.node(via);
        throw new RabbitClusterError(
          n.name,
          'rabbitmqctl cluster_status',
          `still lists running nodes [${running.join(', ')}] after ${this.bootTimeoutMs} ms; expected [${expected.join(', ')}]`,
        );
      }
      await sleep(250);
    }
  }

  async startNode(i: number): Promise<void> {
    const n = this.node(i);
    if (await this.isRunning(i)) return;
    const started = Date.now();
    if ((await this.livePid(n)) !== undefined) {
      // The VM is up but the rabbit application is not (stop_app, or still booting): start_app is idempotent.
      await this.rabbitmqctl(i, ['start_app'], this.bootTimeoutMs);
    } else {
      this.launch(n);
    }
    await this.waitUp(n);
    // Back in the cluster: its own view lists every node that is running now, itself included.
    const running: string[] = [];
    for (const m of this.state) if (await this.isRunning(m.index)) running.push(m.name);
    await this.waitRunningNodes(i, running);
    this.say(`${n.name} started in ${Date.now() - started} ms`);
  }

  // --- stopping ---------------------------------------------------------------------------

  async stopNode(i: number, how: 'graceful' | 'kill' = 'graceful'): Promise<void> {
    const n = this.node(i);
    const pid = await this.livePid(n);
    // Still booting: no pid file yet, but our rabbitmq-server script runs, in a process group of its own.
    const group = pid === undefined && n.exited === undefined ? n.child?.pid : undefined;
    if (pid === undefined && group === undefined) return;
    if (pid !== undefined && how === 'graceful') {
      // With the pid file, stop waits until the OS process is gone, not just the application.
      await this.rabbitmqctl(i, ['stop', n.pidFile]);
    } else if (pid !== undefined) {
      process.kill(pid, 'SIGKILL');
    } else if (group !== undefined) {
      killGroup(group);
    }
    const deadline = Date.now() + 30_000;
    while ((pid !== undefined && alive(pid)) || (group !== undefined && n.exited === undefined) || (await tcpOpen(n.port, 200))) {
      if (Date.now() > deadline) {
        throw new RabbitClusterError(n.name, how === 'kill' ? `kill -9 ${pid ?? `-${group}`}` : 'rabbitmqctl stop', 'left the node running after 30 s');
      }
      await sleep(25);
    }
    n.pid = undefined;
  }

  async isRunning(i: number): Promise<boolean> {
    const n = this.node(i);
    return (await this.livePid(n)) !== undefined && (await tcpOpen(n.port, 1000));
  }

  /** The 'exit' hook: synchronous, so only kill(2) and rmSync. */
  private killAllSync(): void {
    for (const n of this.state) {
      const pid = n.pid ?? readPidSync(n.pidFile);
      if (pid !== undefined && alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      // A node still booting (no pid file yet) goes with its script's process group.
      if (n.exited === undefined && n.child?.pid !== undefined) killGroup(n.child.pid);
    }
    if (!this.keepDir) {
      try {
        // A dying VM may still create a file or two: retried; what is left, the next run's leftover sweep takes.
        rmSync(this.baseDir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // best effort
      }
    }
  }

  async stop(opts: { keepDir?: boolean; how?: 'graceful' | 'kill' } = {}): Promise<void> {
    if (this.stopped) return;
    const keep = opts.keepDir ?? this.keepDir;
    // Data that is about to be deleted needs no clean shutdown; kept data gets one.
    const how = opts.how ?? (keep ? 'graceful' : 'kill');
    const started = Date.now();
    const failures: unknown[] = [];
    await Promise.all(
      this.state.map(async (n) => {
        try {
          await this.stopNode(n.index, how);
        } catch (err) {
          failures.push(err);
          const pid = await this.livePid(n);
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        }
      }),
    );
    // Whatever the outcome above, no VM of ours outlives stop().
    const deadline = Date.now() + 15_000;
    for (const n of this.state) {
      while ((await this.livePid(n)) !== undefined) {
        if (Date.now() > deadline) throw new RabbitClusterError(n.name, 'kill -9', 'the VM survived SIGKILL for 15 s');
        await sleep(50);
      }
    }
    this.stopped = true;
    process.off('exit', this.exitHook);
    if (!keep) await rm(this.baseDir, { recursive: true, force: true });
    this.say(`cluster stopped (${how}) in ${Date.now() - started} ms${keep ? `; files kept in ${this.baseDir}` : ''}`);
    if (failures.length && how === 'graceful') this.say(`graceful stop failed, node killed instead: ${(failures[0] as Error).message}`);
  }

  // --- connections and queues -------------------------------------------------------------

  async listConnections(): Promise<ClusterConnection[]> {
    // list_connections gathers from every running node of the cluster; ask the first that runs.
    for (const n of this.state) {
      if (!(await this.isRunning(n.index))) continue;
      let stdout: string;
      try {
        stdout = await this.rabbitmqctl(n.index, ['list_connections', 'port', 'name', 'user', 'connected_at', 'client_properties', '--formatter', 'json']);
      } catch {
        continue; // it went down meanwhile: the next one
      }
      const rows = parseJsonOutput<
        Array<{ port: number; name: string; user: string; connected_at: number; client_properties: Array<[string, string, unknown]> | Record<string, unknown> }>
      >(stdout, `${n.name} list_connections`);
      return rows.flatMap((r) => {
        // The server port the client connected to is a node's AMQP port: that is the node.
        const node = this.state.find((m) => m.port === r.port);
        if (!node) return [];
        const props = Array.isArray(r.client_properties) ? Object.fromEntries(r.client_properties.map(([k, , v]) => [k, v])) : r.client_properties;
        const cn = props.connection_name;
        return [{ node: node.index, connectionName: typeof cn === 'string' ? cn : undefined, name: r.name, user: r.user, connectedAt: r.connected_at }];
      });
    }
    return [];
  }

  async nodeOfConnection(connectionName: string): Promise<number | undefined> {
    const matches = (await this.listConnections()).filter((c) => c.connectionName === connectionName);
    matches.sort((a, b) => b.connectedAt - a.connectedAt);
    return matches[0]?.node;
  }

  async closeConnections(nodeIndex: number, reason: string): Promise<void> {
    const n = this.node(nodeIndex);
    // --global: every vhost, but only the connections of the node asked (-n); without it, one vhost.
    await this.rabbitmqctl(nodeIndex, ['close_all_connections', '--global', reason]);
    this.say(`closed all connections on ${n.name}: ${reason}`);
  }

  async queueLeader(queue: string, vhost = '/'): Promise<number | undefined> {
    for (const n of this.state) {
      if (!(await this.isRunning(n.index))) continue;
      let stdout: string;
      try {
        stdout = await this.rabbitmqctl(n.index, ['list_queues', '-p', vhost, 'name', 'type', 'leader', '--formatter', 'json']);
      } catch {
        continue;
      }
      const row = parseJsonOutput<Array<{ name: string; type: string; leader?: string }>>(stdout, `${n.name} list_queues`).find((q) => q.name === queue);
      if (!row?.leader) return undefined;
      return this.state.find((m) => m.name === row.leader)?.index;
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// startCluster

async function prepareBaseDir(requested: string | undefined, prefix: string): Promise<string> {
  if (requested === undefined) return mkdtemp(path.join(os.tmpdir(), `rabbit-cluster-${prefix}-`));
  const dir = path.resolve(requested);
  const info = await lstat(dir).catch(() => undefined);
  if (info) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !(await isOurDir(dir))) {
      throw new Error(`rabbit-cluster: baseDir ${dir} is not empty and was not made by rabbit-cluster.ts (no ${MARKER}); refusing to wipe it`);
    }
    // An earlier run's: a cluster always starts from blank nodes.
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<RabbitCluster> {
  const t0 = Date.now();
  const size = opts.size ?? 3;
  const basePort = opts.basePort ?? DEFAULT_BASE_PORT;
  const prefix = opts.namePrefix ?? DEFAULT_PREFIX;
  const bootTimeoutMs = opts.bootTimeoutMs ?? 120_000;
  const ctlTimeoutMs = opts.ctlTimeoutMs ?? 60_000;
  const formation = opts.formation ?? 'join';
  const say = opts.log === false ? () => undefined : (opts.log ?? ((line: string) => process.stderr.write(`[rabbit-cluster] ${line}\n`)));
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) throw new Error(`rabbit-cluster: size must be 1..${MAX_SIZE}, not ${size}`);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + CLI_DIST_PORT_OFFSET + CLI_DIST_PORT_COUNT > 65535) {
    throw new Error(
      `rabbit-cluster: basePort ${basePort} leaves no room for the dist ports (basePort + ${CLI_DIST_PORT_OFFSET + CLI_DIST_PORT_COUNT} must be ≤ 65535)`,
    );
  }
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(prefix))
    throw new Error(`rabbit-cluster: namePrefix must be letters, digits, _ or -, starting with a letter: ${prefix}`);

  const names = shortNames(prefix, size);
  const leftovers = await stopLeftovers(prefix, { names, basePort, timeoutMs: ctlTimeoutMs });
  if (leftovers.stopped.length) say(`stopped leftovers of an earlier run: ${leftovers.stopped.join(', ')}`);
  const tLeftovers = Date.now();

  const identity = await resolveIdentity();
  await ensureCookie(identity);

  const busy: string[] = [];
  for (const [k, short] of names.entries()) {
    for (const [port, what] of [
      [basePort + k, 'AMQP'],
      [basePort + DIST_PORT_OFFSET + k, 'Erlang distribution'],
    ] as const) {
      if (!(await portFree(port))) busy.push(`${port} (${what} port of ${short}@${HOST})`);
    }
  }
  if (busy.length) throw new Error(`rabbit-cluster: ports in use by something else: ${busy.join(', ')}; choose another basePort`);

  const baseDir = await prepareBaseDir(opts.baseDir, prefix);
  await writeFile(
    path.join(baseDir, MARKER),
    `${JSON.stringify({ namePrefix: prefix, size, basePort, createdBy: process.pid, createdAt: new Date().toISOString() })}\n`,
  );
  // '[].': no plugins (management alone adds seconds to every boot).
  await writeFile(path.join(baseDir, 'enabled_plugins'), '[].\n');
  const confEnvFile = path.join(baseDir, 'rabbitmq-env.conf');
  await writeFile(confEnvFile, '# Deliberately empty: keeps /etc/rabbitmq/rabbitmq-env.conf (NODENAME=rabbit@localhost) away from these nodes.\n');

  const state: NodeState[] = [];
  for (const [k, short] of names.entries()) {
    const name = `${short}@${HOST}`;
    const port = basePort + k;
    const distPort = basePort + DIST_PORT_OFFSET + k;
    const dir = path.join(baseDir, short);
    const logDir = path.join(dir, 'log');
    const mnesiaBase = path.join(dir, 'mnesia');
    for (const d of [dir, logDir, mnesiaBase, path.join(dir, 'conf.d'), path.join(dir, 'plugins-expand')]) await mkdir(d, { recursive: true });
    await writeFile(
      path.join(dir, 'rabbitmq.conf'),
      [
        `# ${name}, written by scripts/chaos/rabbit-cluster.ts. /etc/rabbitmq/rabbitmq.conf is not read: it binds 5672, the default node's port.`,
        `listeners.tcp.1 = 127.0.0.1:${port}`,
        // Else each node reports the name it booted with (chaos2@vm…) until told otherwise.
        `cluster_name = ${prefix}`,
        'log.console = false',
        'log.file.level = info',
        ...(formation === 'discovery' && k > 0
          ? [
              // Node 1 may still be booting when this one reaches its database step: retried for as long as a boot may take.
              'cluster_formation.peer_discovery_backend = classic_config',
              `cluster_formation.classic_config.nodes.1 = ${names[0]}@${HOST}`,
              `cluster_formation.discovery_retry_limit = ${Math.ceil(bootTimeoutMs / 500)}`,
              'cluster_formation.discovery_retry_interval = 500',
            ]
          : []),
        '',
      ].join('\n'),
    );
    const pidFile = path.join(dir, 'node.pid');
    const env: NodeJS.ProcessEnv = {
      ...toolEnv(identity, basePort, confEnvFile),
      RABBITMQ_NODENAME: name,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
      // An empty directory: instead of /etc/rabbitmq/conf.d/*.conf.
      RABBITMQ_CONFIG_FILES: path.join(dir, 'conf.d'),
      RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
      RABBITMQ_MNESIA_BASE: mnesiaBase,
      RABBITMQ_MNESIA_DIR: path.join(mnesiaBase, name),
      RABBITMQ_LOG_BASE: logDir,
      RABBITMQ_PID_FILE: pidFile,
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(baseDir, 'enabled_plugins'),
      RABBITMQ_PLUGINS_EXPAND_DIR: path.join(dir, 'plugins-expand'),
      // The dist port on loopback only, like the default node's.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      [BASE_DIR_VAR]: baseDir,
      [PREFIX_VAR]: prefix,
    };
    state.push({
      index: k + 1,
      name,
      short,
      port,
      distPort,
      dir,
      logDir,
      pidFile,
      env,
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      child: undefined,
      exited: undefined,
      pid: undefined,
    });
  }
  // The nodes run as `identity`; the tree must be theirs (mkdtemp makes it 0700, ours).
  if (identity.uid !== undefined) await chownTree(baseDir, identity.uid, identity.gid ?? identity.uid);

  const cluster = new Cluster(baseDir, state, identity, opts.keepDir ?? false, bootTimeoutMs, ctlTimeoutMs, say);
  say(`starting ${size} node(s) ${state.map((n) => `${n.name}:${n.port}`).join(', ')} as ${identity.user} in ${baseDir} (formation: ${formation})`);
  try {
    let tBooted = 0;
    let tJoin0 = Number.POSITIVE_INFINITY;
    const booted = state.map((n) => {
      cluster.launch(n);
      return cluster.waitUp(n).then(() => {
        tBooted = Math.max(tBooted, Date.now());
        say(`${n.name} booted after ${Date.now() - tLeftovers} ms`);
      });
    });
    const [first] = state;
    // Each of nodes 2..n joins as soon as it and node 1 are up, while the others may still boot.
    await Promise.all(
      state.map(async (n, k) => {
        await booted[k];
        if (!first || n === first || formation === 'discovery') return;
        await booted[0];
        const { started } = await cluster.join(n, first);
        tJoin0 = Math.min(tJoin0, started);
        say(`${n.name} joined ${first.name}`);
      }),
    );
    const tJoined = Date.now();
    if (first)
      await cluster.waitRunningNodes(
        first.index,
        state.map((n) => n.name),
      );
    for (const n of state) await cluster.waitUp(n);
    const tFormed = Date.now();
    Object.assign(cluster.timings, {
      leftoversMs: tLeftovers - t0,
      bootMs: tBooted - tLeftovers,
      joinMs: Number.isFinite(tJoin0) ? tJoined - tJoin0 : 0,
      formedMs: tFormed - tJoined,
      totalMs: tFormed - t0,
    } satisfies ClusterTimings);
    say(
      `cluster of ${size} formed in ${tFormed - t0} ms (boot ${cluster.timings.bootMs}, join ${cluster.timings.joinMs}, settle ${cluster.timings.formedMs}): ${cluster.url}`,
    );
    return cluster;
  } catch (err) {
    // No half-started cluster stays behind; its files do, for the post-mortem.
    await cluster.stop({ keepDir: true, how: 'kill' }).catch(() => undefined);
    if (err instanceof Error) err.message += `\n(node files kept in ${baseDir})`;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// CLI

async function cli(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      size: { type: 'string' },
      'base-port': { type: 'string' },
      prefix: { type: 'string' },
      'base-dir': { type: 'string' },
      'keep-dir': { type: 'boolean' },
      formation: { type: 'string' },
    },
  });
  const command = positionals[0];
  const prefix = values.prefix ?? DEFAULT_PREFIX;
  const basePort = values['base-port'] !== undefined ? Number(values['base-port']) : DEFAULT_BASE_PORT;
  switch (command) {
    case 'start': {
      const cluster = await startCluster({
        size: values.size !== undefined ? Number(values.size) : undefined,
        basePort,
        namePrefix: prefix,
        baseDir: values['base-dir'],
        keepDir: values['keep-dir'] ?? false,
        formation: values.formation === 'discovery' ? 'discovery' : 'join',
      });
      process.stdout.write(
        `${JSON.stringify({ urls: cluster.urls, url: cluster.url, nodes: cluster.nodes, baseDir: cluster.baseDir, timings: cluster.timings })}\n`,
      );
      // Signal listeners alone do not keep Node running: without the timer it would exit here.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(keepAlive);
      await cluster.stop();
      return 0;
    }
    case 'stop': {
      const report = await stopLeftovers(prefix, { basePort });
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    case 'status': {
      // The nodes tagged with this prefix; where /proc shows nothing, the registered names prefix1..size.
      const tagged = (await listBeamProcesses()).filter((b) => b.prefix === prefix && b.nodename !== undefined).map((b) => b.nodename!);
      const expected = new Set(shortNames(prefix, values.size !== undefined ? Number(values.size) : 3));
      const registered = tagged.length ? tagged.sort() : (await epmdNames()).filter((n) => expected.has(n)).map((n) => `${n}@${HOST}`);
      if (registered.length === 0) {
        process.stdout.write(`no node of a ${prefix} cluster is running\n`);
        return 1;
      }
      const identity = await resolveIdentity();
      const env = toolEnv(identity, basePort, '/dev/null');
      let lastError: unknown;
      for (const name of registered) {
        try {
          const { stdout } = await runCommand(rabbitBin('rabbitmqctl'), ['-n', name, 'cluster_status'], {
            env,
            cwd: os.tmpdir(),
            identity,
            timeoutMs: 60_000,
            node: name,
          });
          process.stdout.write(stdout);
          return 0;
        } catch (err) {
          lastError = err;
        }
      }
      throw lastError;
    }
    default:
      process.stderr.write(
        'usage: node --import tsx scripts/chaos/rabbit-cluster.ts start|stop|status [--size 3] [--base-port 5701] [--prefix chaos] [--base-dir DIR] [--keep-dir] [--formation join|discovery]\n',
      );
      return 2;
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

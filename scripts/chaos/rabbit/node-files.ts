/** The cluster's base directory and each node's directories, config files and environment. */
import { existsSync } from 'node:fs';
import { chown, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BASE_DIR_VAR, DIST_PORT_OFFSET, HOST, MARKER, PREFIX_VAR } from './constants.js';
import { toolEnv, type Identity } from './identity.js';
import type { NodeState } from './node-state.js';

export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}

export async function isOurDir(dir: string): Promise<boolean> {
  return existsSync(path.join(dir, MARKER));
}

export async function prepareBaseDir(requested: string | undefined, prefix: string): Promise<string> {
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

/** The files all nodes share: the marker, the plugin list and an empty rabbitmq-env.conf (whose path it returns). */
export async function writeSharedFiles(baseDir: string, prefix: string, size: number, basePort: number): Promise<string> {
  await writeFile(
    path.join(baseDir, MARKER),
    `${JSON.stringify({ namePrefix: prefix, size, basePort, createdBy: process.pid, createdAt: new Date().toISOString() })}\n`,
  );
  // '[].': no plugins (management alone adds seconds to every boot).
  await writeFile(path.join(baseDir, 'enabled_plugins'), '[].\n');
  const confEnvFile = path.join(baseDir, 'rabbitmq-env.conf');
  await writeFile(confEnvFile, '# Deliberately empty: keeps /etc/rabbitmq/rabbitmq-env.conf (NODENAME=rabbit@localhost) away from these nodes.\n');
  return confEnvFile;
}

export interface NodeSetup {
  baseDir: string;
  prefix: string;
  /** Short names of all nodes, node 1 first. */
  names: string[];
  basePort: number;
  formation: 'join' | 'discovery';
  bootTimeoutMs: number;
  identity: Identity;
  confEnvFile: string;
}

/** Node k + 1 (k counts from 0): its directories and rabbitmq.conf, and the environment it boots with. */
export async function prepareNode(s: NodeSetup, k: number): Promise<NodeState> {
  const { baseDir, prefix, names, basePort, formation, bootTimeoutMs, identity, confEnvFile } = s;
  const short = names[k]!;
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
  return {
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
  };
}

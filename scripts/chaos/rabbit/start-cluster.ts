/** startCluster: checks, leftovers of an earlier run, node files, then boot, join and wait until formed. */
import { CLI_DIST_PORT_COUNT, CLI_DIST_PORT_OFFSET, DEFAULT_BASE_PORT, DEFAULT_PREFIX, DIST_PORT_OFFSET, HOST, MAX_SIZE, shortNames } from './constants.js';
import { Cluster } from './cluster.js';
import { ensureCookie, resolveIdentity } from './identity.js';
import { stopLeftovers } from './leftovers.js';
import { chownTree, prepareBaseDir, prepareNode, writeSharedFiles, type NodeSetup } from './node-files.js';
import type { NodeState } from './node-state.js';
import { portFree } from './processes.js';
import type { ClusterTimings, RabbitCluster, StartClusterOptions } from './types.js';

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
  const confEnvFile = await writeSharedFiles(baseDir, prefix, size, basePort);

  const state: NodeState[] = [];
  const setup: NodeSetup = { baseDir, prefix, names, basePort, formation, bootTimeoutMs, identity, confEnvFile };
  for (const k of names.keys()) state.push(await prepareNode(setup, k));
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

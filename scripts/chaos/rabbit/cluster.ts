/** The running cluster: the handle startCluster returns (see RabbitCluster for what each method does). */
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { RabbitClusterError } from './errors.js';
import { rabbitBin, type Identity } from './identity.js';
import { launchNode, livePid, waitNodeUp } from './node-process.js';
import type { NodeState } from './node-state.js';
import { parseJsonOutput } from './output.js';
import { alive, killGroup, readPidSync, runCommand, sleep, tcpOpen } from './processes.js';
import type { ClusterConnection, ClusterStatus, ClusterTimings, RabbitCluster } from './types.js';

export class Cluster implements RabbitCluster {
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

  /** Spawns the node's `rabbitmq-server` (see launchNode). */
  launch(n: NodeState): void {
    launchNode(n, this.identity);
  }

  /** Until the node takes AMQP connections (see waitNodeUp). */
  async waitUp(n: NodeState): Promise<void> {
    await waitNodeUp(n, this.bootTimeoutMs);
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
    if ((await livePid(n)) !== undefined) {
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
    const pid = await livePid(n);
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
    return (await livePid(n)) !== undefined && (await tcpOpen(n.port, 1000));
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
          const pid = await livePid(n);
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        }
      }),
    );
    // Whatever the outcome above, no VM of ours outlives stop().
    const deadline = Date.now() + 15_000;
    for (const n of this.state) {
      while ((await livePid(n)) !== undefined) {
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

/** The public shapes of rabbit-cluster.ts: its options, the cluster handle and what its queries return. */

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

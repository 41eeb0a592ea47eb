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
 *
 * This file is the public entry point; the code lives in ./rabbit/: start-cluster.ts (startCluster),
 * cluster.ts (the handle), node-files.ts and node-process.ts (one node's files and processes),
 * leftovers.ts (finding and stopping an aborted run's nodes), identity.ts (OS user, cookie,
 * environment), processes.ts (commands, ports, pids), cli.ts (the command line).
 */
import { isMain, runCli } from './rabbit/cli.js';

export { RabbitClusterError } from './rabbit/errors.js';
export { epmdNames, listBeamProcesses, stopLeftovers, type BeamProcess, type LeftoverReport } from './rabbit/leftovers.js';
export { startCluster } from './rabbit/start-cluster.js';
export type { ClusterConnection, ClusterStatus, ClusterTimings, RabbitCluster, StartClusterOptions } from './rabbit/types.js';

if (isMain(import.meta.url)) runCli(process.argv.slice(2));

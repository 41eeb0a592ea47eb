/**
 * Proves rabbit-cluster.ts against a real 3-node cluster: a durable quorum queue declared through
 * node 1, 1,000 persistent messages published with confirms through node 2, node 1 SIGKILLed,
 * all 1,000 consumed through node 3 (none lost), node 1 restarted and back in cluster_status,
 * then everything stopped: no VM of ours left, the machine's default node on 5672 still answers.
 * Also checks nodeOfConnection and closeConnections on the way. Prints timings; exits non-zero
 * on any failure.
 *
 *   node --import tsx scripts/chaos/cluster-selftest.ts [--prefix selftest] [--base-port 5801] [--formation join|discovery]
 *
 * Its own node names and ports by default (selftest1..3@localhost, 5801–5803, dist 25801–25803,
 * CLI 25851–25870), so it neither meets nor kills (as a leftover) a chaos run's chaos1..3 on 5701….
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import amqp, { type ChannelModel } from 'amqplib';
import { epmdNames, listBeamProcesses, startCluster, type RabbitCluster } from './rabbit-cluster.js';
import { setTimeout as sleep } from 'node:timers/promises';

const MESSAGES = 1000;
const DEFAULT_BROKER = 'amqp://guest:guest@127.0.0.1:5672';

const say = (line: string): void => void process.stdout.write(`[selftest] ${line}\n`);

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`selftest: ${what}`);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`selftest: timed out (${timeoutMs} ms) waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function connect(url: string, connectionName: string): Promise<ChannelModel> {
  return amqp.connect(url, { clientProperties: { connection_name: connectionName }, timeout: 10_000 });
}

/** Resolves with the close error's message when the connection closes. */
function closed(conn: ChannelModel): Promise<string> {
  return new Promise((resolve) => {
    conn.on('error', () => undefined);
    conn.once('close', (err?: Error) => resolve(err?.message ?? 'closed without error'));
  });
}

async function run(cluster: RabbitCluster, timings: Record<string, number>): Promise<void> {
  const [url1, url2, url3] = cluster.urls;
  check(url1 && url2 && url3, `expected 3 urls, got ${cluster.urls.length}`);
  const queue = `selftest-qq-${randomUUID().slice(0, 8)}`;
  const tag = randomUUID().slice(0, 8);

  // 1. A durable quorum queue, declared through node 1: its leader starts there (client-local placement).
  const declarer = await connect(url1, `selftest-declare-${tag}`);
  const declarerClosed = closed(declarer);
  const dch = await declarer.createChannel();
  await dch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const leaderBefore = await until('the queue leader to be known', 30_000, () => cluster.queueLeader(queue), 250);
  say(`quorum queue ${queue} declared through node 1; leader on node ${leaderBefore}`);

  // 2. 1,000 persistent messages with publisher confirms, through node 2.
  const publisher = await connect(url2, `selftest-publish-${tag}`);
  const pch = await publisher.createConfirmChannel();
  const tPub = Date.now();
  for (let i = 0; i < MESSAGES; i++) {
    pch.sendToQueue(queue, Buffer.from(JSON.stringify({ i })), { persistent: true, messageId: String(i) });
  }
  await pch.waitForConfirms();
  timings.publish1000Ms = Date.now() - tPub;
  say(`${MESSAGES} messages confirmed through node 2 in ${timings.publish1000Ms} ms`);

  // 3. nodeOfConnection: each named connection found on the node it connected to.
  const tNoc = Date.now();
  check((await cluster.nodeOfConnection(`selftest-declare-${tag}`)) === 1, 'nodeOfConnection: the declaring connection is on node 1');
  check((await cluster.nodeOfConnection(`selftest-publish-${tag}`)) === 2, 'nodeOfConnection: the publishing connection is on node 2');
  check((await cluster.nodeOfConnection(`no-such-connection-${tag}`)) === undefined, 'nodeOfConnection: an unknown name gives undefined');
  timings.nodeOfConnectionMs = Math.round((Date.now() - tNoc) / 3);
  say(`nodeOfConnection found node 1 and node 2 (${timings.nodeOfConnectionMs} ms per call)`);

  // 4. closeConnections cuts the clients of one node only, and the node keeps running.
  const victim = await connect(url3, `selftest-cut-${tag}`);
  const victimClosed = closed(victim);
  const tCut = Date.now();
  await cluster.closeConnections(3, 'selftest: cut');
  const why = await Promise.race([victimClosed, sleep(10_000).then(() => 'still open after 10 s')]);
  check(/CONNECTION_FORCED - selftest: cut/.test(why), `closeConnections: node 3's client closed with the reason, got: ${why}`);
  timings.closeConnectionsMs = Date.now() - tCut;
  check((await cluster.nodeOfConnection(`selftest-publish-${tag}`)) === 2, "closeConnections(3) left node 2's connection alone");
  check(await cluster.isRunning(3), 'node 3 still runs after closeConnections');
  await publisher.close();
  say(`closeConnections(3) cut node 3's client in ${timings.closeConnectionsMs} ms; node 2's survived`);

  // 5. SIGKILL node 1 (the queue leader's node); its client sees the connection drop.
  const tKill = Date.now();
  await cluster.stopNode(1, 'kill');
  timings.killMs = Date.now() - tKill;
  check(!(await cluster.isRunning(1)), 'node 1 is down after the kill');
  const dropped = await Promise.race([declarerClosed, sleep(10_000).then(() => undefined)]);
  check(dropped !== undefined, "node 1's client connection did not notice the kill within 10 s");
  say(`node 1 SIGKILLed in ${timings.killMs} ms; its client saw: ${dropped}`);

  // 6. Failover: a new leader among nodes 2 and 3, and every message consumed through node 3.
  const leaderPoll = until(
    'a new queue leader',
    60_000,
    async () => {
      const leader = await cluster.queueLeader(queue);
      return leader !== undefined && leader !== 1 ? leader : undefined;
    },
    200,
  ).then((leader) => {
    timings.leaderFailoverMs = Date.now() - tKill;
    return leader;
  });
  const consumer = await connect(url3, `selftest-consume-${tag}`);
  const seen = new Map<number, number>();
  let firstDelivery = 0;
  let lastDelivery = 0;
  let allIn!: () => void;
  const allReceived = new Promise<void>((resolve) => (allIn = resolve));
  // The consume can be refused while no leader is elected yet: retried on a fresh channel.
  await until(
    'a consumer on node 3',
    60_000,
    async () => {
      const ch = await consumer.createChannel();
      ch.on('error', () => undefined);
      await ch.prefetch(200);
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        const { i } = JSON.parse(msg.content.toString()) as { i: number };
        if (firstDelivery === 0) firstDelivery = Date.now();
        seen.set(i, (seen.get(i) ?? 0) + 1);
        ch.ack(msg);
        if (seen.size === MESSAGES && lastDelivery === 0) {
          lastDelivery = Date.now();
          allIn();
        }
      });
      return true;
    },
    250,
  );
  const newLeader = await leaderPoll;
  await Promise.race([allReceived, sleep(60_000)]);
  const missing = Array.from({ length: MESSAGES }, (_, i) => i).filter((i) => !seen.has(i));
  const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  check(missing.length === 0, `${missing.length} message(s) lost, e.g. ${missing.slice(0, 10).join(', ')}`);
  timings.firstDeliveryAfterKillMs = firstDelivery - tKill;
  timings.allConsumedAfterKillMs = lastDelivery - tKill;
  say(
    `new leader on node ${newLeader} (${timings.leaderFailoverMs} ms after the kill, as cluster metadata shows it); ` +
      `first delivery through node 3 after ${timings.firstDeliveryAfterKillMs} ms; all ${MESSAGES} consumed after ${timings.allConsumedAfterKillMs} ms, ` +
      `none lost, ${duplicates} redelivered`,
  );
  await consumer.close();

  // 7. Restart node 1: it rejoins by itself.
  const tRestart = Date.now();
  await cluster.startNode(1);
  timings.restartMs = Date.now() - tRestart;
  const names = cluster.nodes.map((n) => n.name);
  for (const via of [1, 2]) {
    const status = await cluster.clusterStatus(via);
    check(
      names.every((n) => status.running_nodes.includes(n)),
      `cluster_status via node ${via} lists ${status.running_nodes.join(', ')}, not all of ${names.join(', ')}`,
    );
  }
  check((await cluster.queueLeader(queue)) !== undefined, 'the queue still has a leader');
  say(`node 1 restarted and back in cluster_status in ${timings.restartMs} ms`);

  const cleanup = await connect(url1, `selftest-cleanup-${tag}`);
  const cch = await cleanup.createChannel();
  const { messageCount } = await cch.checkQueue(queue);
  check(messageCount === 0, `queue should be empty, has ${messageCount}`);
  await cch.deleteQueue(queue);
  await cleanup.close();
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { prefix: { type: 'string' }, 'base-port': { type: 'string' }, formation: { type: 'string' } } });
  const formation = values.formation ?? 'join';
  if (formation !== 'join' && formation !== 'discovery') throw new Error(`--formation join|discovery, not ${formation}`);
  const prefix = values.prefix ?? 'selftest';
  const timings: Record<string, number> = {};
  let cluster: RabbitCluster | undefined;
  let failure: unknown;
  const t0 = Date.now();
  try {
    cluster = await startCluster({ namePrefix: prefix, basePort: Number(values['base-port'] ?? 5801), formation });
    timings.clusterStartMs = Date.now() - t0;
    say(`cluster up in ${timings.clusterStartMs} ms: ${cluster.url}`);
    await run(cluster, timings);
  } catch (err) {
    failure = err;
  } finally {
    if (cluster) {
      const tStop = Date.now();
      try {
        await cluster.stop();
        timings.stopMs = Date.now() - tStop;
      } catch (err) {
        failure ??= err;
      }
    }
  }

  // Nothing of ours left, the machine's default node untouched.
  try {
    const pattern = new RegExp(`^${prefix}\\d+@`);
    const beams = await listBeamProcesses();
    const ours = beams.filter((b) => b.nodename !== undefined && pattern.test(b.nodename));
    check(ours.length === 0, `VMs left running: ${ours.map((b) => `${b.nodename} (pid ${b.pid})`).join(', ')}`);
    const registered = (await epmdNames()).filter((n) => new RegExp(`^${prefix}\\d+$`).test(n));
    check(registered.length === 0, `names still registered with epmd: ${registered.join(', ')}`);
    const conn = await amqp.connect(DEFAULT_BROKER, { timeout: 5000 });
    await conn.close();
    say(`after stop: ${beams.length} beam.smp process(es) on the machine, none of ours; the default node on 5672 answers`);
  } catch (err) {
    failure ??= err;
  }

  timings.totalMs = Date.now() - t0;
  process.stdout.write(`${JSON.stringify({ ok: failure === undefined, formation, timings })}\n`);
  if (failure !== undefined) {
    process.stderr.write(`SELFTEST FAILED: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}\n`);
    return 1;
  }
  say('OK');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);

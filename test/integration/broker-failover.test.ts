import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { recordingLogger, type RecordingLog } from '../helpers/recording-logger.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { nextEvent, waitFor, within } from '../helpers/wait.js';
import { redactBrokerUrl } from '../../src/broker/amqp-connection.js';

/**
 * A cluster as the worker sees it: two "nodes" (proxies A and B in front of the one local
 * broker) in RABBITMQ_URL. The worker connects to the first that answers; when it loses A, and A
 * keeps refusing, it reconnects through B (trying B first, not the node it just lost),
 * re-declares its topology and serves commands again.
 */
describe('broker failover across a list of addresses', () => {
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let a: TcpProxy;
  let b: TcpProxy;
  let w: TestWorker | undefined;
  let log: RecordingLog;

  beforeEach(async () => {
    scenario = await brokerScenario('failover');
    scenario.workerQueue('f1');
    a = new TcpProxy();
    b = new TcpProxy();
    await a.start();
    await b.start();
    log = recordingLogger('info');
  });

  afterEach(async () => {
    await w?.worker.stop(5000);
    w = undefined;
    await a.close();
    await b.close();
    await scenario.probe.close();
  });

  const start = () => startTestWorker({ env: { ...scenario.env, RABBITMQ_URL: `${a.url()},${b.url()}` }, workerId: 'f1', logger: log.logger });
  const refusals = (from = 0) => log.lines.slice(from).filter((l) => l.msg === 'broker address did not answer');

  /** A create for the worker is answered: the session connects and reports HEALTHY. */
  async function serves(numberId: number): Promise<void> {
    await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'create', numberId, phoneNumber: `+22177000000${numberId}`, workerId: 'f1' });
    const socket = await within(w!.connector.socket(numberId), 15_000, `the socket of number ${numberId}`);
    socket.open();
    await scenario.events.untilAction('connected', (e) => e.numberId === numberId, 15_000);
    await scenario.health.until((hs) => hs.find((h) => h.numberId === numberId && h.status === 'HEALTHY'), 15_000, `HEALTHY for number ${numberId}`);
  }

  it('connects through the first address and, when that node is lost, fails over to the next one and resumes', async () => {
    w = await start();
    expect(w.worker.connection.address).toBe(redactBrokerUrl(a.url()));
    expect([a.connectionsAccepted, b.connectionsAccepted]).toEqual([1, 0]);
    const first = await log.until((l) => l.msg === 'broker connected', 'the first connection to be logged');
    expect(first.address).toBe(`amqp://guest@127.0.0.1:${a.port}`);
    await serves(1);

    const from = log.lines.length;
    const disconnected = nextEvent(w.worker.connection, 'disconnected', 10_000, 'the worker to notice that node A is gone');
    const reconnected = nextEvent(w.worker.connection, 'connected', 20_000, 'the worker to reconnect');
    a.cut(); // and A keeps refusing new connections
    await disconnected;
    await reconnected;

    expect(w.worker.connection.address).toBe(redactBrokerUrl(b.url()));
    expect(b.connectionsAccepted).toBe(1);
    expect(a.connectionsAccepted).toBe(1);
    // B was tried first: the node just lost was never retried on the way.
    expect(refusals(from)).toEqual([]);
    const again = await log.until((l) => l.msg === 'broker connected', 'the reconnection to be logged', { from });
    expect(again.address).toBe(`amqp://guest@127.0.0.1:${b.port}`);
    await waitFor(() => w!.worker.getState().kind === 'active', 'the worker to be active again');

    // Topology re-declared and consumers back: a new command is served through B.
    await serves(2);
    expect(w.worker.connection.disconnects).toBe(1);
    expect(b.connectionsAccepted).toBe(1);
    // The password never reaches the logs.
    expect(JSON.stringify(log.lines)).not.toMatch(/guest:guest/);
  });

  it('starts on the next address when the first does not answer', async () => {
    a.cut();
    w = await start();
    expect(w.worker.connection.address).toBe(redactBrokerUrl(b.url()));
    expect([a.connectionsAccepted, b.connectionsAccepted]).toEqual([0, 1]);
    expect(refusals().map((l) => l.address)).toEqual([`amqp://guest@127.0.0.1:${a.port}`]);
    await serves(1);
  });
});

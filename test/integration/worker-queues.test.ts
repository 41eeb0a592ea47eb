import { AmqpConnection } from '../../src/broker/amqp-connection.js';
import { ConfirmedPublisher } from '../../src/broker/confirmed-publisher.js';
import type { Delivery } from '../../src/broker/types.js';
import { WorkerQueues } from '../../src/broker/worker-queues.js';
import { BrokerProbe, RABBITMQ_URL, uniqueQueueEnv } from '../helpers/broker-probe.js';
import { silentLogger } from '../helpers/silent-logger.js';
import { testConfig } from '../helpers/worker-harness.js';

/** Other workers' queues as one worker sees them: who runs, and moving commands onto their queues. */
describe('WorkerQueues against the real broker', () => {
  let probe: BrokerProbe;
  let connection: AmqpConnection;
  let publisher: ConfirmedPublisher;
  let queues: WorkerQueues;
  let commands: string;

  beforeEach(async () => {
    probe = await BrokerProbe.connect();
    const config = testConfig({ ...uniqueQueueEnv('wq'), WORKER_ID: 'me' });
    commands = config.queues.commands;
    connection = new AmqpConnection({ url: RABBITMQ_URL, connectionName: 'worker-queues test', logger: silentLogger, reconnectMaxDelayMs: 500 });
    publisher = new ConfirmedPublisher(connection, silentLogger);
    queues = new WorkerQueues(connection, publisher, config, { self: 'me', brokerUser: config.rabbitmq.user });
  });

  afterEach(async () => {
    publisher.close();
    await connection.close();
    await probe.close();
  });

  const queueOf = (workerId: string) => {
    const q = `${commands}.${workerId}`;
    probe.track(q);
    return q;
  };

  it('a worker runs when its queue has a consumer; a queue nobody consumes, or none at all, means it does not', async () => {
    await expect(queues.isWorkerRunning('w2')).rejects.toMatchObject({ name: 'WorkerError', code: 'BROKER_UNAVAILABLE' }); // not connected yet
    await connection.start();
    expect(await queues.isWorkerRunning('w2')).toBe(false); // no queue (404)
    const received = await probe.collect(queueOf('w2')); // declared and consumed
    expect(await queues.isWorkerRunning('w2')).toBe(true);
    await queues.sendCommand('w3', { action: 'status' }, undefined); // declares w3's queue, nobody consumes it
    queueOf('w3');
    expect(await queues.isWorkerRunning('w3')).toBe(false);
    expect(received.messages).toHaveLength(0);
  });

  it('a command of its own carries the broker user as user_id (checked by RabbitMQ), the addressee and the correlation id', async () => {
    await connection.start();
    const received = await probe.collect(queueOf('w2'));
    await queues.sendCommand('w2', { action: 'release', numberId: 5, handoverTo: 'me' }, 'corr-1');
    const [m] = await received.until((ms) => (ms.length === 1 ? received.messages : undefined));
    expect(m!.body).toEqual({ action: 'release', numberId: 5, handoverTo: 'me', workerId: 'w2' });
    expect(m!.raw.properties).toMatchObject({ userId: 'guest', correlationId: 'corr-1', type: 'release', contentType: 'application/json' });
    expect(typeof m!.raw.properties.messageId).toBe('string');
  });

  it('forwards a delivery with its body unchanged and only allow-listed properties; to the owner it says so', async () => {
    await connection.start();
    const received = await probe.collect(queueOf('owner'));
    const delivery: Delivery = {
      queue: commands,
      body: Buffer.from('{"action":"logout","numberId":5}'),
      contentType: 'application/json',
      correlationId: 'corr-2',
      messageId: 'm-1',
      type: 'logout',
      headers: { 'x-sender-secret': 'no', 'x-death': [] },
      userId: undefined,
      redelivered: false,
      deliveryCount: undefined,
    };
    await queues.forward('owner', delivery, 'logout');
    await queues.forward('owner', delivery, 'logout', { toOwner: true });
    const [plain, toOwner] = await received.until((ms) => (ms.length === 2 ? received.messages : undefined));
    for (const m of [plain!, toOwner!]) {
      expect(m.raw.content.toString()).toBe('{"action":"logout","numberId":5}');
      expect(m.raw.properties).toMatchObject({ messageId: 'm-1', correlationId: 'corr-2', type: 'logout' });
      expect(m.raw.properties.headers).toMatchObject({ 'x-forwarded-by': 'me' });
      expect(m.raw.properties.headers).not.toHaveProperty('x-sender-secret');
      expect(m.raw.properties.userId).toBeUndefined();
    }
    expect(plain!.raw.properties.headers).not.toHaveProperty('x-forwarded-to-owner');
    expect(toOwner!.raw.properties.headers).toMatchObject({ 'x-forwarded-to-owner': 'owner' });
  });
});

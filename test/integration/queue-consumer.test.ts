import { AmqpConnection } from '../../src/broker/amqp-connection.js';
import { ConfirmedPublisher } from '../../src/broker/confirmed-publisher.js';
import { QueueConsumer, type QueueConsumerOptions } from '../../src/broker/queue-consumer.js';
import type { Delivery, Outcome } from '../../src/broker/types.js';
import { createCommandHandler } from '../../src/commands/command-handler.js';
import type { Command } from '../../src/commands/command.js';
import { WorkerError } from '../../src/util/errors.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { BrokerProbe, RABBITMQ_URL, uniqueQueueEnv, type Collector } from '../helpers/broker-probe.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { nextEvent, waitFor, within } from '../helpers/wait.js';

/**
 * QueueConsumer on its own, against the real broker: the only place that acks, requeues or
 * dead-letters, and the exclusive lock that makes one process in the fleet drive a WORKER_ID.
 * Each consumer gets a connection of its own, as two worker processes would.
 */
describe('QueueConsumer against the real broker', () => {
  let probe: BrokerProbe;
  let queue: string;
  let deadLetterQueue: string;
  let dlq: Collector;
  const log = recordingLogger('info');
  const opened: Array<{ connection: AmqpConnection; publisher: ConfirmedPublisher; consumer: QueueConsumer }> = [];

  beforeEach(async () => {
    probe = await BrokerProbe.connect();
    const names = uniqueQueueEnv('consumer');
    queue = names.QUEUE_SESSION_COMMANDS!;
    deadLetterQueue = names.QUEUE_DEAD_LETTER!;
    probe.track(queue);
    await probe.channel.assertQueue(queue, { durable: true });
    dlq = await probe.collect(deadLetterQueue);
  });

  afterEach(async () => {
    for (const { connection, publisher, consumer } of opened.splice(0)) {
      await consumer.close();
      publisher.close();
      await connection.close();
    }
    await probe.close();
  });

  /** A consumer on a connection of its own, not started yet (`connection.start()` attaches it). */
  const consumer = (opts: Partial<QueueConsumerOptions> & Pick<QueueConsumerOptions, 'handler'>) => {
    const connection = new AmqpConnection({ url: RABBITMQ_URL, connectionName: 'queue-consumer test', logger: log.logger, reconnectMaxDelayMs: 500 });
    const publisher = new ConfirmedPublisher(connection, log.logger);
    const c = new QueueConsumer(connection, publisher, log.logger, { queue, prefetch: 10, deadLetterQueue, ...opts });
    opened.push({ connection, publisher, consumer: c });
    return { connection, consumer: c };
  };

  const ackAll = async (): Promise<Outcome> => ({ kind: 'ack' });

  describe('exclusive: one holder in the whole broker', () => {
    it('an exclusive attempt on a queue another consumer holds emits "refused" and is not active', async () => {
      const holder = consumer({ handler: ackAll, exclusive: true });
      const holding = nextEvent(holder.consumer, 'active', 10_000, 'the holder to hold the queue');
      await holder.connection.start();
      await holding;

      const standby = consumer({ handler: ackAll, exclusive: true, exclusiveRetryMs: 200 });
      let becameActive = false;
      standby.consumer.on('active', () => (becameActive = true));
      const refused = nextEvent(standby.consumer, 'refused', 10_000, 'the broker to refuse the second exclusive consumer');
      await standby.connection.start();
      await refused;
      // Asked after the broker answered: the standby does not hold the queue, the holder does.
      expect(standby.consumer.isActive).toBe(false);
      expect(becameActive).toBe(false);
      expect(holder.consumer.isActive).toBe(true);
      expect(await probe.consumerCount(queue)).toBe(1);
      // It keeps trying, and keeps being refused while the holder is there.
      await nextEvent(standby.consumer, 'refused', 5000, 'a second refusal (the standby retries)');
      expect(standby.consumer.isActive).toBe(false);
    });

    it('the standby takes the queue over when the holder goes, and then gets the messages', async () => {
      const holderSaw: string[] = [];
      const holder = consumer({ exclusive: true, handler: async (d) => (holderSaw.push(d.body.toString()), { kind: 'ack' }) });
      const holding = nextEvent(holder.consumer, 'active', 10_000, 'the holder to hold the queue');
      await holder.connection.start();
      await holding;
      const standbySaw: string[] = [];
      const standby = consumer({ exclusive: true, exclusiveRetryMs: 200, handler: async (d) => (standbySaw.push(d.body.toString()), { kind: 'ack' }) });
      const refused = nextEvent(standby.consumer, 'refused', 10_000, 'the broker to refuse the standby');
      await standby.connection.start();
      await refused;

      await probe.publish(queue, 'while-held');
      await waitFor(() => holderSaw.length === 1, 'the holder to get the first message');

      const takenOver = nextEvent(standby.consumer, 'active', 10_000, 'the standby to take the queue over');
      await holder.connection.close(); // the holder's process goes away
      await takenOver;
      expect(standby.consumer.isActive).toBe(true);
      await probe.publish(queue, 'after-takeover');
      await waitFor(() => standbySaw.includes('after-takeover'), 'the standby to get the next message');
      // The holder's ack may not have reached the broker before its connection went (a loaded
      // machine): then 'while-held' is redelivered to the standby first. At least once, in order.
      expect(standbySaw.filter((m) => m !== 'while-held')).toEqual(['after-takeover']);
      expect(standbySaw.at(-1)).toBe('after-takeover');
      expect(holderSaw).toEqual(['while-held']);
      expect(await probe.consumerCount(queue)).toBe(1);
    });
  });

  describe("outcomes, with the worker's command handler", () => {
    const MAX_ATTEMPTS = 3;
    const handler = (execute: (command: Command) => Promise<void>) =>
      createCommandHandler({
        self: 'w1',
        source: 'own',
        maxBytes: 64 * 1024,
        maxAttempts: MAX_ATTEMPTS,
        execute,
        forward: async () => {
          throw new Error('nothing is forwarded in these tests');
        },
        events: new RecordingEvents('w1'),
        logger: log.logger,
      });

    it(`attempts on a classic queue (no delivery count from the broker) grow, and the command is dead-lettered after ${MAX_ATTEMPTS} (COMMAND_MAX_ATTEMPTS)`, async () => {
      const attempts: Array<{ at: number; redelivered: boolean }> = [];
      const deliveries: Delivery[] = [];
      const execute = async () => {
        attempts.push({ at: Date.now(), redelivered: deliveries.at(-1)!.redelivered });
        throw new WorkerError('STORAGE_UNAVAILABLE', 'injected outage');
      };
      const inner = handler(execute);
      const { connection } = consumer({
        handler: async (d) => {
          deliveries.push(d);
          return inner(d);
        },
      });
      await connection.start();
      await probe.publish(queue, { action: 'status', numberId: 1, workerId: 'w1', requestId: 'r-1' }, { messageId: 'cmd-1' });

      // Retried with backoff (about 0.25-0.5 s, then 0.5-1 s), then given up: bounded well below
      // the test timeout, so a count that never grows (retried for ever) fails here, by name.
      const dead = await dlq.until((bs) => bs.find((b) => b.requestId === 'r-1'), 15_000, 'the command in the DLQ');
      expect(dead).toEqual({ action: 'status', numberId: 1, workerId: 'w1', requestId: 'r-1' });
      expect(attempts).toHaveLength(MAX_ATTEMPTS);
      expect(deliveries.map((d) => d.deliveryCount)).toEqual([undefined, undefined, undefined]);
      expect(attempts.map((a) => a.redelivered)).toEqual([false, true, true]);
      const headers = dlq.messages[0]!.raw.properties.headers!;
      expect(headers['x-error-code']).toBe('STORAGE_UNAVAILABLE');
      expect(String(headers['x-error-reason'])).toMatch(new RegExp(`gave up after ${MAX_ATTEMPTS} attempts`));
      expect(headers['x-original-queue']).toBe(queue);
      // Nothing is left behind, and no further attempt follows.
      await waitFor(async () => (await probe.messageCount(queue)) === 0, 'the queue to be empty');
      await new Promise((r) => setTimeout(r, 300));
      expect(attempts).toHaveLength(MAX_ATTEMPTS);
    });

    it('a command that cannot be parsed goes to the DLQ, body unchanged, with x-error-code; the next one is applied', async () => {
      const applied: string[] = [];
      const { connection } = consumer({ handler: handler(async (c) => void applied.push(c.requestId ?? '?')) });
      await connection.start();
      await probe.publish(queue, '{not json');
      await probe.publish(queue, { action: 'status', numberId: 1, workerId: 'w1', requestId: 'good' });
      await dlq.until((bs) => bs.length >= 1, 10_000, 'the bad command in the DLQ');
      expect(dlq.messages[0]!.raw.content.toString()).toBe('{not json');
      expect(dlq.messages[0]!.raw.properties.headers!['x-error-code']).toBe('INVALID_JSON');
      await waitFor(() => applied.length === 1, 'the good command to be applied');
      expect(applied).toEqual(['good']);
      await waitFor(async () => (await probe.messageCount(queue)) === 0, 'the queue to be empty');
    });

    it("no message is handled before 'active' was announced, though the broker delivers a backlog right with consume-ok", async () => {
      for (let i = 0; i < 20; i++) await probe.publish(queue, { n: i });
      let announced = false;
      const handledBeforeActive: number[] = [];
      let handled = 0;
      const { connection, consumer: c } = consumer({
        handler: async () => {
          if (!announced) handledBeforeActive.push(handled);
          handled++;
          return { kind: 'ack' };
        },
      });
      // The worker starts restoring its sessions on this (synchronous) signal.
      c.on('active', () => (announced = true));
      await connection.start();
      await waitFor(() => handled === 20, 'the backlog to be handled');
      expect(handledBeforeActive).toEqual([]);
    });

    it('a handler that throws has its message put back and handled again, never lost', async () => {
      let calls = 0;
      const { connection, consumer: c } = consumer({
        handler: async () => {
          if (++calls === 1) throw new Error('a bug in a handler');
          return { kind: 'ack' };
        },
      });
      await connection.start();
      await probe.publish(queue, 'x');
      await waitFor(() => calls === 2, 'the message to be handled again', { timeoutMs: 10_000 });
      await within(c.drain(), 5000, 'the consumer to settle');
      expect(dlq.messages).toHaveLength(0);
      await waitFor(async () => (await probe.messageCount(queue)) === 0, 'the queue to be empty');
    });
  });
});

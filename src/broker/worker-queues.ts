import { randomUUID } from 'node:crypto';
import { WorkerError } from '../util/errors.js';
import type { AmqpConnection } from './amqp-connection.js';
import { commandProperties, forwardProperties } from './outgoing-properties.js';
import { QueueDeclarer } from './queue-declarer.js';
import { workerQueueName, type QueueConfig } from './topology.js';
import type { Delivery, Publisher } from './types.js';

export interface WorkerQueuesOptions {
  /** This worker: stamped on what it forwards and sends (`x-forwarded-by`). */
  self: string;
  /**
   * The broker user this worker connects as. RabbitMQ checks a message's `user_id` against the
   * publishing connection's user, so a command stamped with it provably comes from a worker.
   */
  brokerUser: string;
}

/**
 * Other workers' own command queues, as seen from this one: whether a worker is running (its
 * queue has a consumer), and putting a command on its queue, confirmed (declared first, so a
 * command for a worker that has not started yet waits for it instead of vanishing).
 */
export class WorkerQueues {
  private readonly declarer: QueueDeclarer;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly publisher: Publisher,
    private readonly config: QueueConfig,
    private readonly opts: WorkerQueuesOptions,
  ) {
    this.declarer = new QueueDeclarer(connection, config);
  }

  /** A worker is running when its command queue has a consumer (only the active process holds one). */
  async isWorkerRunning(workerId: string): Promise<boolean> {
    const conn = this.connection.current();
    if (!conn) throw new WorkerError('BROKER_UNAVAILABLE', 'cannot tell whether worker ' + workerId + ' is running');
    const channel = await conn.createChannel();
    channel.on('error', () => undefined);
    try {
      return (await channel.checkQueue(workerQueueName(this.config, workerId))).consumerCount > 0;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return false; // its queue does not even exist
      throw new WorkerError('BROKER_UNAVAILABLE', `cannot tell whether worker ${workerId} is running`, { cause: err });
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /**
   * Moves a delivery, body unchanged, onto `workerId`'s queue. `toOwner`: `workerId` drives the
   * session (the command carries `x-forwarded-to-owner`).
   */
  async forward(workerId: string, delivery: Delivery, action: string, opts: { toOwner?: boolean } = {}): Promise<void> {
    const queue = workerQueueName(this.config, workerId);
    await this.declarer.ensureCommandQueue(queue);
    // Allow-listed, bounded properties only: a sender's header we cannot re-encode must not stop publishing.
    const properties = forwardProperties(delivery, { forwardedBy: this.opts.self, action, toOwner: opts.toOwner ? workerId : undefined });
    await this.publisher.publish('', queue, delivery.body, properties);
  }

  /** Publishes a command of this worker's own (e.g. `release`) onto `workerId`'s queue. */
  async sendCommand(workerId: string, command: Record<string, unknown>, correlationId: string | undefined): Promise<void> {
    const queue = workerQueueName(this.config, workerId);
    await this.declarer.ensureCommandQueue(queue);
    // Stamped with our broker user (RabbitMQ checks it): the receiver can tell a worker sent it.
    const properties = commandProperties({
      messageId: randomUUID(),
      action: String(command.action),
      correlationId,
      sentBy: this.opts.self,
      userId: this.opts.brokerUser,
    });
    await this.publisher.publish('', queue, Buffer.from(JSON.stringify({ ...command, workerId })), properties);
  }
}

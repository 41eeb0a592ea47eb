import type { Channel, ChannelModel } from 'amqplib';
import { WorkerError } from '../util/errors.js';
import type { AmqpConnection } from './amqp-connection.js';
import { assertCommandQueue, type QueueConfig } from './topology.js';

/**
 * Declares other workers' command queues on demand (a command for a worker that never started
 * must wait in its queue, not vanish). Remembers what it declared on the current connection.
 */
export class QueueDeclarer {
  private channel: Channel | undefined;
  private declared = new Set<string>();

  constructor(
    connection: AmqpConnection,
    private readonly config: QueueConfig,
  ) {
    connection.onConnect((conn) => this.open(conn));
    connection.on('disconnected', () => {
      this.channel = undefined;
      this.declared = new Set();
    });
  }

  private async open(conn: ChannelModel): Promise<void> {
    const channel = await conn.createChannel();
    channel.on('error', () => undefined);
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    this.channel = channel;
  }

  async ensureCommandQueue(queue: string): Promise<void> {
    if (this.declared.has(queue)) return;
    const channel = this.channel;
    if (!channel) throw new WorkerError('BROKER_UNAVAILABLE', 'no broker connection to declare ' + queue);
    await assertCommandQueue(channel, this.config, queue);
    this.declared.add(queue);
  }
}

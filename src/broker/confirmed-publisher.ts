import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { describeError, WorkerError } from '../util/errors.js';
import type { AmqpConnection } from './amqp-connection.js';
import type { PublishOptions, Publisher } from './types.js';

interface Pending {
  exchange: string;
  routingKey: string;
  body: Buffer;
  options: PublishOptions;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Publishes with publisher confirms through an ordered outbox. Messages are sent in the order
 * they were published; when the channel or the connection goes away, every unconfirmed message
 * goes back to the head of the outbox, in order, and is sent again on reconnection (at least
 * once: consumers de-duplicate by message id, which is stable). Nothing is dropped while the
 * broker is down; the outbox size is reported so a long outage is visible.
 */
export class ConfirmedPublisher implements Publisher {
  private channel: ConfirmChannel | undefined;
  private readonly outbox: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  private draining = false;
  private closed = false;
  published = 0;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly logger: Logger,
    private readonly maxInFlight = 256,
  ) {
    connection.onConnect((conn) => this.open(conn));
    connection.on('disconnected', () => this.channelLost());
  }

  get outboxSize(): number {
    return this.outbox.length + this.inFlight.size;
  }

  publish(exchange: string, routingKey: string, body: Buffer, options: PublishOptions): Promise<void> {
    if (this.closed) return Promise.reject(new WorkerError('BROKER_UNAVAILABLE', 'publisher is closed'));
    return new Promise<void>((resolve, reject) => {
      this.outbox.push({ exchange, routingKey, body, options, resolve, reject });
      this.drain();
    });
  }

  private async open(conn: ChannelModel): Promise<void> {
    const channel = await conn.createConfirmChannel();
    channel.on('error', (err: Error) => this.logger.warn({ err: describeError(err) }, 'publish channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channelLost();
      // Only the channel died (the connection is up): open another one.
      setTimeout(() => {
        const current = this.connection.current();
        if (!this.closed && !this.channel && current === conn) void this.open(conn).catch((err) => this.connection.fail(err));
      }, 200);
    });
    this.channel = channel;
    this.drain();
  }

  private channelLost(): void {
    this.channel = undefined;
    // Unconfirmed messages go back first, in their original order.
    const unconfirmed = [...this.inFlight];
    this.inFlight.clear();
    this.outbox.unshift(...unconfirmed);
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.channel && this.outbox.length > 0 && this.inFlight.size < this.maxInFlight) {
        const channel = this.channel;
        const item = this.outbox.shift()!;
        this.inFlight.add(item);
        const { options } = item;
        try {
          channel.publish(
            item.exchange,
            item.routingKey,
            item.body,
            {
              persistent: true,
              messageId: options.messageId,
              type: options.type,
              contentType: options.contentType,
              contentEncoding: 'utf-8',
              correlationId: options.correlationId,
              headers: options.headers,
              ...(options.userId ? { userId: options.userId } : {}),
              timestamp: Math.floor((options.timestamp ?? Date.now()) / 1000),
            },
            (err) => this.confirmed(channel, item, err),
          );
        } catch (err) {
          // The channel is closing under us: the message stays queued for the next one.
          this.inFlight.delete(item);
          this.outbox.unshift(item);
          this.logger.debug({ err: describeError(err) }, 'publish failed; will retry on the next channel');
          break;
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private confirmed(channel: ConfirmChannel, item: Pending, err: unknown): void {
    if (!this.inFlight.has(item)) return; // already re-queued after a channel loss
    if (err) {
      // A nack, or a channel closing under us: the broker did not take it. Re-queueing here,
      // one callback at a time, would reverse the order of several such messages; instead the
      // channel is recycled, and `channelLost` puts every unconfirmed message back in order.
      if (this.channel === channel) {
        this.logger.warn({ messageId: item.options.messageId }, 'broker did not confirm a publish; recycling the channel');
        void channel.close().catch(() => undefined);
      }
      return;
    }
    this.inFlight.delete(item);
    this.published++;
    item.resolve();
    this.drain();
  }

  /** Waits (up to `timeoutMs`) for the outbox to empty; used by graceful shutdown. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.outboxSize > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.outboxSize === 0;
  }

  close(): void {
    this.closed = true;
    const left = [...this.inFlight, ...this.outbox];
    this.inFlight.clear();
    this.outbox.length = 0;
    for (const item of left) item.reject(new WorkerError('BROKER_UNAVAILABLE', 'publisher closed before the broker confirmed the message'));
  }
}

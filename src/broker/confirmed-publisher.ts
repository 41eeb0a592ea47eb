import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { describeError, WorkerError } from '../util/errors.js';
import type { AmqpConnection } from './amqp-connection.js';
import type { PublishOptions, Publisher } from './types.js';
import { safeId } from './outgoing-properties.js';

interface Pending {
  exchange: string;
  routingKey: string;
  body: Buffer;
  options: PublishOptions;
  resolve: () => void;
  reject: (err: Error) => void;
  /** When it was handed to `publish` (epoch ms): the outbox's age is its oldest entry's. */
  enqueuedAt: number;
  /** Times the broker closed the channel while this message was in flight. */
  refusals: number;
}

/** The broker closed the channel this many times with the message in flight: it is refusing it. */
export const MAX_REFUSALS = 3;

/**
 * Publishes with publisher confirms through an ordered outbox. Messages are sent in the order
 * they were published; when the channel or the connection goes away, every unconfirmed message
 * goes back to the head of the outbox, in order, and is sent again on reconnection (at least
 * once: consumers de-duplicate by message id, which is stable). Nothing is dropped while the
 * broker is down; the outbox size and age are reported so a long outage is visible.
 *
 * One message can never stop the others. One amqplib cannot encode (its `publish` throws, and
 * not because the channel is closing) is rejected at once with UNPUBLISHABLE and dropped; one
 * the broker refuses by closing the channel (a forged user_id, say) is rejected the same way
 * after MAX_REFUSALS channels died with it in flight. After such a channel loss the messages
 * that were in flight go out one at a time until confirmed, so a refusal is blamed on the
 * message that causes it and never on its neighbours.
 */
export class ConfirmedPublisher implements Publisher {
  private channel: ConfirmChannel | undefined;
  private readonly outbox: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  private draining = false;
  private closed = false;
  private rejected = 0;
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

  /** How long the oldest message waiting or in flight has been there (ms); 0 when there is none. */
  get outboxOldestAgeMs(): number {
    let oldest = this.outbox[0]?.enqueuedAt ?? Infinity;
    for (const item of this.inFlight) oldest = Math.min(oldest, item.enqueuedAt);
    return oldest === Infinity ? 0 : Math.max(0, Date.now() - oldest);
  }

  /** Messages rejected with UNPUBLISHABLE (unencodable, or refused by the broker every time). */
  get unpublishable(): number {
    return this.rejected;
  }

  publish(exchange: string, routingKey: string, body: Buffer, options: PublishOptions): Promise<void> {
    if (this.closed) return Promise.reject(new WorkerError('BROKER_UNAVAILABLE', 'publisher is closed'));
    return new Promise<void>((resolve, reject) => {
      this.outbox.push({ exchange, routingKey, body, options, resolve, reject, enqueuedAt: Date.now(), refusals: 0 });
      this.drain();
    });
  }

  private async open(conn: ChannelModel): Promise<void> {
    const channel = await conn.createConfirmChannel();
    // The broker closes a channel with an error (PRECONDITION_FAILED, NOT_FOUND, …) when it refuses
    // something sent on it; a connection loss closes it without one.
    let closedByBroker: Error | undefined;
    channel.on('error', (err: Error) => {
      closedByBroker = err;
      this.logger.warn({ err: err }, 'publish channel error');
    });
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channelLost(closedByBroker && this.connection.current() === conn ? closedByBroker : undefined);
      // Only the channel died (the connection is up): open another one.
      setTimeout(() => {
        const current = this.connection.current();
        if (!this.closed && !this.channel && current === conn) void this.open(conn).catch((err) => this.connection.fail(err));
      }, 200);
    });
    this.channel = channel;
    this.drain();
  }

  /** `refusal`: the broker closed the channel (the connection is up), blaming what was in flight. */
  private channelLost(refusal?: Error): void {
    this.channel = undefined;
    // Unconfirmed messages go back first, in their original order.
    const unconfirmed: Pending[] = [];
    for (const item of this.inFlight) {
      if (refusal && ++item.refusals >= MAX_REFUSALS) {
        this.reject(item, `the broker closed the channel ${item.refusals} times while this message was in flight (${describeError(refusal)})`);
      } else {
        unconfirmed.push(item);
      }
    }
    this.inFlight.clear();
    this.outbox.unshift(...unconfirmed);
  }

  private reject(item: Pending, why: string): void {
    this.rejected++;
    this.logger.error(
      { messageId: item.options.messageId, type: item.options.type, exchange: item.exchange, routingKey: item.routingKey, why },
      'message cannot be published; dropping it',
    );
    item.reject(new WorkerError('UNPUBLISHABLE', `message ${item.options.messageId} cannot be published: ${why}`));
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.channel && this.outbox.length > 0 && this.inFlight.size < this.maxInFlight) {
        const channel = this.channel;
        // A message that was in flight when the broker closed a channel goes out alone.
        if (this.outbox[0]!.refusals > 0 && this.inFlight.size > 0) break;
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
              // Ids are often echoed from a publisher: one that is no valid AMQP short string is dropped here, not fatal.
              correlationId: safeId(options.correlationId),
              headers: options.headers,
              ...(options.userId ? { userId: options.userId } : {}),
              timestamp: Math.floor((options.timestamp ?? Date.now()) / 1000),
            },
            (err) => this.confirmed(channel, item, err),
          );
        } catch (err) {
          this.inFlight.delete(item);
          if (isChannelClosing(err) || this.channel !== channel || !this.connection.isConnected) {
            // The channel is closing under us: the message stays queued for the next one.
            this.outbox.unshift(item);
            this.logger.debug({ err: err }, 'publish failed; will retry on the next channel');
            break;
          }
          // amqplib cannot encode it (a header too big, a number out of range): it never will.
          this.reject(item, describeError(err));
          continue;
        }
        // Until a suspect is confirmed, nothing else goes out with it.
        if (item.refusals > 0) break;
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

/** amqplib throws IllegalOperationError from `publish` on a channel or connection that is closing or closed. */
function isChannelClosing(err: unknown): boolean {
  return err instanceof Error && err.name === 'IllegalOperationError';
}

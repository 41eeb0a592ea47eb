import { EventEmitter } from 'node:events';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { describeError, isWorkerError } from '../util/errors.js';
import { SingleTimer } from '../util/backoff.js';
import type { AmqpConnection } from './amqp-connection.js';
import { bareDeadLetterProperties, deadLetterProperties } from './outgoing-properties.js';
import type { Delivery, DeliveryHandler, Outcome, Publisher } from './types.js';

export interface QueueConsumerOptions {
  queue: string;
  prefetch: number;
  handler: DeliveryHandler;
  /** Where dead-lettered messages go (default exchange, this routing key). */
  deadLetterQueue: string;
  /**
   * Exclusive consumer: the broker lets only one consumer hold the queue. A refused attempt
   * is retried every `exclusiveRetryMs` (hot standby) until the holder goes away.
   */
  exclusive?: boolean;
  exclusiveRetryMs?: number;
}

/**
 * Consumes one queue on its own channel and carries out every handler's outcome: the only
 * place in the worker that acks, requeues or dead-letters a message. Nothing is acked before
 * its outcome is settled, so a crash mid-command means redelivery, not loss.
 *
 * Events: 'active' when it holds the queue (for an exclusive consumer: the lock is ours),
 * 'inactive' when it lost it, 'refused' when an exclusive attempt found it held elsewhere.
 */
export class QueueConsumer extends EventEmitter {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly standbyTimer = new SingleTimer();
  private stopped = false;
  private dropped = 0;
  handled = 0;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
    private readonly opts: QueueConsumerOptions,
  ) {
    super();
    connection.onConnect((conn) => this.attach(conn));
    connection.on('disconnected', () => this.detached());
  }

  get isActive(): boolean {
    return this.consumerTag !== undefined;
  }

  /** Messages acked without a dead-letter copy because not even a bare copy could be published. */
  get deadLettersDropped(): number {
    return this.dropped;
  }

  private async attach(conn: ChannelModel): Promise<void> {
    if (this.stopped) return;
    if (this.opts.exclusive) {
      // Never fail the connection's setup for a lock held elsewhere: try in the background.
      void this.tryExclusive(conn);
      return;
    }
    await this.consumeOn(conn);
  }

  private async tryExclusive(conn: ChannelModel): Promise<void> {
    try {
      await this.consumeOn(conn);
    } catch (err) {
      if (this.stopped || this.connection.current() !== conn) return;
      this.logger.info({ queue: this.opts.queue, err }, 'queue held by another consumer; standing by');
      this.emit('refused');
      this.standbyTimer.schedule(this.opts.exclusiveRetryMs ?? 2000, () => {
        const current = this.connection.current();
        if (current) void this.tryExclusive(current);
      });
    }
  }

  private async consumeOn(conn: ChannelModel): Promise<void> {
    const channel = await conn.createChannel();
    let failure: Error | undefined;
    channel.on('error', (err: Error) => (failure = err));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.detached();
      // Only the channel died (the connection is up): consume again on a new one.
      setTimeout(() => {
        if (!this.stopped && !this.channel && this.connection.current() === conn) void this.attach(conn).catch((err) => this.connection.fail(err));
      }, 200);
    });
    // Deliveries can arrive in the same read as consume-ok, before `consume` resolves. None is
    // handled before 'active' was announced: the worker acts on that signal (it starts restoring
    // its sessions), and a command must find it done (a send waits for its session's restore).
    let announced!: () => void;
    const active = new Promise<void>((resolve) => (announced = resolve));
    try {
      await channel.prefetch(this.opts.prefetch);
      const { consumerTag } = await channel.consume(this.opts.queue, (msg) => this.onMessage(channel, msg, active), {
        exclusive: this.opts.exclusive ?? false,
      });
      this.channel = channel;
      this.consumerTag = consumerTag;
      this.logger.info({ queue: this.opts.queue, exclusive: !!this.opts.exclusive }, 'consuming');
      this.emit('active');
    } catch (err) {
      await channel.close().catch(() => undefined);
      throw failure ?? err;
    } finally {
      announced(); // on a failure too: what was delivered is handled (and its ack fails: redelivered)
    }
  }

  private detached(): void {
    const wasActive = this.consumerTag !== undefined;
    this.channel = undefined;
    this.consumerTag = undefined;
    if (wasActive) this.emit('inactive');
  }

  private onMessage(channel: Channel, msg: ConsumeMessage | null, active: Promise<void>): void {
    if (!msg) {
      // The broker cancelled us (queue deleted): treat as lost, the next connection retries.
      this.detached();
      return;
    }
    const task = active.then(() => this.process(channel, msg)).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async process(channel: Channel, msg: ConsumeMessage): Promise<void> {
    const delivery = toDelivery(this.opts.queue, msg);
    let outcome: Outcome;
    try {
      outcome = await this.opts.handler(delivery);
    } catch (err) {
      // Handlers decide outcomes; one that throws has a bug, and the message must not be lost.
      this.logger.error({ err, queue: this.opts.queue }, 'handler threw; requeueing');
      outcome = { kind: 'retry', reason: describeError(err), delayMs: 1000 };
    }
    await this.settle(channel, msg, delivery, outcome);
    this.handled++;
  }

  private async settle(channel: Channel, msg: ConsumeMessage, delivery: Delivery, outcome: Outcome): Promise<void> {
    // A message delivered on a channel that has since closed is redelivered by the broker
    // anyway; acking it on a dead channel would throw, so we just let it go.
    const onLiveChannel = (fn: () => void) => {
      if (this.channel !== channel) return;
      try {
        fn();
      } catch (err) {
        if (err instanceof Error && err.name === 'IllegalOperationError') {
          this.logger.debug({ err }, 'settling on a closing channel; the broker will redeliver');
        } else {
          this.logger.warn({ err, queue: this.opts.queue }, 'could not settle a message; the broker will redeliver it');
        }
      }
    };
    switch (outcome.kind) {
      case 'ack':
        onLiveChannel(() => channel.ack(msg));
        return;
      case 'retry':
        this.logger.warn({ queue: this.opts.queue, reason: outcome.reason, delayMs: outcome.delayMs }, 'command will be retried');
        await new Promise((r) => setTimeout(r, outcome.delayMs));
        onLiveChannel(() => channel.nack(msg, false, true));
        return;
      case 'dead-letter':
        await this.deadLetter(delivery, outcome, (settle) => onLiveChannel(() => (settle === 'ack' ? channel.ack(msg) : channel.nack(msg, false, true))));
        return;
    }
  }

  /**
   * Moves a message to the dead-letter queue with only allow-listed, bounded properties. If even
   * those cannot be published (UNPUBLISHABLE), a bare copy with nothing but our x-error-* headers;
   * if that fails too, the message is acked and counted: the consumer always moves on. Only a
   * broker that is unavailable puts it back.
   */
  private async deadLetter(delivery: Delivery, outcome: { code: string; reason: string }, settle: (how: 'ack' | 'requeue') => void): Promise<void> {
    const log = this.logger.child({ queue: this.opts.queue, code: outcome.code });
    const attempts = [
      () => deadLetterProperties(delivery, { code: outcome.code, reason: outcome.reason, originalQueue: this.opts.queue }),
      () => bareDeadLetterProperties(outcome),
    ];
    for (const [i, properties] of attempts.entries()) {
      try {
        await this.publisher.publish('', this.opts.deadLetterQueue, delivery.body, properties());
        log.warn({ reason: outcome.reason, bare: i > 0 }, 'message dead-lettered');
        settle('ack');
        return;
      } catch (err) {
        if (!isWorkerError(err, 'UNPUBLISHABLE')) {
          log.error({ err }, 'could not dead-letter; requeueing');
          settle('requeue');
          return;
        }
        log.warn({ err, bare: i > 0 }, 'dead-letter copy cannot be published');
      }
    }
    this.dropped++;
    log.error(
      { reason: outcome.reason, messageId: delivery.messageId?.slice(0, 200) },
      'message cannot be dead-lettered at all; acking it so the queue moves on (it is lost)',
    );
    settle('ack');
  }

  /** Stop taking messages (in-flight ones still finish and settle). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.standbyTimer.cancel();
    const channel = this.channel;
    const tag = this.consumerTag;
    if (channel && tag) await channel.cancel(tag).catch(() => undefined);
  }

  /** Resolves when every in-flight message has settled. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.stop();
    const channel = this.channel;
    this.detached();
    if (channel) await channel.close().catch(() => undefined);
  }
}

function toDelivery(queue: string, msg: ConsumeMessage): Delivery {
  const p = msg.properties;
  const headers = (p.headers ?? {}) as Record<string, unknown>;
  const count = headers['x-delivery-count'];
  return {
    queue,
    body: msg.content,
    contentType: p.contentType as string | undefined,
    correlationId: p.correlationId as string | undefined,
    messageId: p.messageId as string | undefined,
    type: p.type as string | undefined,
    headers,
    userId: typeof p.userId === 'string' ? p.userId : undefined,
    redelivered: msg.fields.redelivered,
    deliveryCount: typeof count === 'number' ? count : undefined,
  };
}

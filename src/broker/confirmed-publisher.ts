import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { describeError, WorkerError } from '../util/errors.js';
import type { AmqpConnection } from './amqp-connection.js';
import type { OutboxJournal } from './outbox-journal.js';
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
  /** Publish order, across restarts' replays too. */
  seq: number;
  /** Its id in the durable journal, once journaled. */
  journalId?: number | undefined;
}

export interface DurableOutboxOptions {
  journal: OutboxJournal;
  /** A message unconfirmed for longer than this is journaled (default 1000 ms); while the broker is down, at once. */
  journalAfterMs?: number;
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
 *
 * With a durable outbox (`OutboxJournal`), nothing waits in memory only for long: a message is
 * journaled on disk as soon as the broker is unreachable, or once it has waited unconfirmed for
 * `journalAfterMs`; on the happy path nothing is written. A confirmation (or an UNPUBLISHABLE
 * rejection) is recorded, and at start what a previous process journaled and never got confirmed
 * is published first, in order (duplicates are possible, losses are not).
 */
export class ConfirmedPublisher implements Publisher {
  private channel: ConfirmChannel | undefined;
  private readonly outbox: Pending[] = [];
  private readonly inFlight = new Set<Pending>();
  private draining = false;
  private closed = false;
  private rejected = 0;
  private nextSeq = 0;
  /** Every message with a seq up to this one is journaled (or was not journaled for good). */
  private journaledThrough = -1;
  private readonly journal: OutboxJournal | undefined;
  private readonly journalAfterMs: number;
  private readonly journalTimer: NodeJS.Timeout | undefined;
  published = 0;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly logger: Logger,
    private readonly maxInFlight = 256,
    durable?: DurableOutboxOptions,
  ) {
    this.journal = durable?.journal;
    this.journalAfterMs = durable?.journalAfterMs ?? 1000;
    if (this.journal) {
      // What a previous process journaled and never got confirmed goes out first, in order.
      for (const entry of this.journal.recovered) {
        const seq = this.nextSeq++;
        this.journaledThrough = seq;
        this.outbox.push({
          ...entry,
          resolve: () => undefined,
          reject: () => undefined,
          enqueuedAt: Date.now(),
          refusals: 0,
          seq,
          journalId: entry.id,
        });
      }
      this.journalTimer = setInterval(() => this.journalOld(), Math.max(20, Math.floor(this.journalAfterMs / 2)));
      this.journalTimer.unref();
    }
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

  /** Journaled messages not yet confirmed (they survive a crash), and the journal's bytes on disk. */
  get journalStats(): { journaled: number; bytes: number } {
    return { journaled: this.journal?.pending ?? 0, bytes: this.journal?.bytes ?? 0 };
  }

  /** Messages rejected with UNPUBLISHABLE (unencodable, or refused by the broker every time). */
  get unpublishable(): number {
    return this.rejected;
  }

  publish(exchange: string, routingKey: string, body: Buffer, options: PublishOptions): Promise<void> {
    if (this.closed) return Promise.reject(new WorkerError('BROKER_UNAVAILABLE', 'publisher is closed'));
    return new Promise<void>((resolve, reject) => {
      const item: Pending = { exchange, routingKey, body, options, resolve, reject, enqueuedAt: Date.now(), refusals: 0, seq: this.nextSeq++ };
      this.outbox.push(item);
      // The broker is unreachable: nothing waits in memory only.
      if (!this.channel) this.journalThrough(item.seq);
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
      this.logger.warn({ err }, 'publish channel error');
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
    this.journalThrough(this.nextSeq - 1);
  }

  /** Journals every message waiting longer than `journalAfterMs` (and, to keep the order, every older one). */
  private journalOld(): void {
    const cutoff = Date.now() - this.journalAfterMs;
    let through = -1;
    for (const item of this.inFlight) if (item.enqueuedAt <= cutoff) through = Math.max(through, item.seq);
    for (const item of this.outbox) if (item.enqueuedAt <= cutoff) through = Math.max(through, item.seq);
    this.journalThrough(through);
  }

  /** Journals, in publish order, every waiting message up to `seq` not journaled yet. */
  private journalThrough(seq: number): void {
    if (!this.journal || seq <= this.journaledThrough) return;
    const last = this.outbox.at(-1);
    let todo: Pending[];
    if (last && last.seq === seq && seq === this.journaledThrough + 1) {
      todo = [last]; // the common case while the broker is down: only the message just published
    } else {
      todo = [...this.inFlight, ...this.outbox].filter((i) => i.seq > this.journaledThrough && i.seq <= seq).sort((a, b) => a.seq - b.seq);
    }
    for (const item of todo) item.journalId = this.journal.append(item.exchange, item.routingKey, item.body, this.durableOptions(item));
    this.journaledThrough = seq;
  }

  /** What is journaled: the timestamp fixed, so a replay carries the original one. */
  private durableOptions(item: Pending): PublishOptions {
    return { ...item.options, timestamp: item.options.timestamp ?? item.enqueuedAt };
  }

  /** Done with a message (confirmed, or rejected for good): it is not replayed. */
  private settled(item: Pending): void {
    if (item.journalId !== undefined) this.journal?.confirm(item.journalId);
  }

  private reject(item: Pending, why: string): void {
    this.rejected++;
    this.settled(item);
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
              ...(options.expiration ? { expiration: options.expiration } : {}),
              timestamp: Math.floor((options.timestamp ?? Date.now()) / 1000),
            },
            (err) => this.confirmed(channel, item, err),
          );
        } catch (err) {
          this.inFlight.delete(item);
          if (isChannelClosing(err) || this.channel !== channel || !this.connection.isConnected) {
            // The channel is closing under us: the message stays queued for the next one.
            this.outbox.unshift(item);
            this.logger.debug({ err }, 'publish failed; will retry on the next channel');
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
    this.settled(item);
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

  /**
   * Stops publishing. With a durable outbox, what is still waiting is journaled and fsynced first,
   * and the next process publishes it.
   */
  close(): void {
    if (this.journalTimer) clearInterval(this.journalTimer);
    if (!this.closed) {
      this.journalThrough(this.nextSeq - 1);
      this.journal?.close();
    }
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

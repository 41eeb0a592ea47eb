import { performance } from 'node:perf_hooks';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { queueEnv, RABBITMQ_URL } from '../../test/helpers/broker-probe.js';

export { RABBITMQ_URL };

export interface TapMessage {
  body: any;
  /** performance.now() when the runner received it. */
  at: number;
}

/** Everything that arrives on one queue, with its arrival time, and listeners for the bench. */
export class Tap {
  readonly messages: TapMessage[] = [];
  private readonly listeners = new Set<(m: TapMessage) => void>();

  push(m: TapMessage): void {
    this.messages.push(m);
    for (const l of this.listeners) l(m);
  }

  on(fn: (m: TapMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves once `count` messages matching `match` arrived after the call, with them; rejects after `timeoutMs`. */
  collect(match: (body: any) => boolean, count: number, timeoutMs: number, what: string): Promise<TapMessage[]> {
    const got: TapMessage[] = [];
    return new Promise((resolve, reject) => {
      if (count === 0) return resolve(got);
      const off = this.on((m) => {
        if (!match(m.body)) return;
        got.push(m);
        if (got.length >= count) {
          clearTimeout(timer);
          off();
          resolve(got);
        }
      });
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${got.length}/${count}`));
      }, timeoutMs);
    });
  }
}

/**
 * The backend's side of the broker for one scenario: a private set of queue names (unique
 * prefix), the event queues tapped with arrival times, commands published with confirms, and
 * every queue and the exchange deleted by `close()`.
 */
export class BenchBroker {
  readonly events = new Tap();
  readonly messages = new Tap();
  private readonly queues = new Set<string>();

  private constructor(
    private readonly conn: ChannelModel,
    private readonly channel: ConfirmChannel,
    readonly env: Record<string, string>,
  ) {}

  static async open(prefix: string): Promise<BenchBroker> {
    const env = queueEnv(prefix);
    // TCP_NODELAY as the backend's client sets it (the RabbitMQ Java client does by default; amqplib does not).
    const conn = await amqp.connect(RABBITMQ_URL, { noDelay: true });
    const channel = await conn.createConfirmChannel();
    const broker = new BenchBroker(conn, channel, env);
    for (const q of Object.entries(env)) if (q[0].startsWith('QUEUE_')) broker.queues.add(q[1]);
    // Declared exactly as the worker declares them (classic, durable, no arguments), so the taps run before the first worker.
    await channel.assertExchange(env.EVENTS_EXCHANGE, 'topic', { durable: true });
    await broker.tap(env.QUEUE_SESSION_EVENTS, 'session.#', broker.events);
    await broker.tap(env.QUEUE_MESSAGE_EVENTS, 'message.#', broker.messages);
    return broker;
  }

  private async tap(queue: string, routing: string, tap: Tap): Promise<void> {
    await this.channel.assertQueue(queue, { durable: true });
    await this.channel.bindQueue(queue, this.env.EVENTS_EXCHANGE!, routing);
    await this.channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const at = performance.now();
        let body: unknown;
        try {
          body = JSON.parse(msg.content.toString('utf8'));
        } catch {
          body = msg.content.toString('utf8');
        }
        tap.push({ body, at });
      },
      { noAck: true },
    );
  }

  /** The worker's own command queue (declared by the worker), deleted at the end too. */
  trackWorker(workerId: string): void {
    this.queues.add(`${this.env.QUEUE_SESSION_COMMANDS}.${workerId}`);
  }

  /** Publishes a command to the shared command queue as the backend does; returns performance.now() just before. */
  publishCommand(body: unknown): number {
    return this.publishTo(this.env.QUEUE_SESSION_COMMANDS!, body);
  }

  /** Publishes a command straight to `queue` (a worker's own queue, a baseline's queue); returns performance.now() just before. */
  publishTo(queue: string, body: unknown): number {
    const t0 = performance.now();
    this.channel.publish('', queue, Buffer.from(JSON.stringify(body)), { persistent: true, contentType: 'application/json' });
    return t0;
  }

  /** Declares a queue of the scenario's own (a baseline's command queue), deleted by `close()`. */
  async declareQueue(queue: string, args: Record<string, unknown>): Promise<void> {
    this.queues.add(queue);
    await this.channel.assertQueue(queue, { durable: true, arguments: args });
  }

  async confirmed(): Promise<void> {
    await this.channel.waitForConfirms();
  }

  async close(): Promise<void> {
    let ch: Channel | undefined;
    try {
      ch = await this.conn.createChannel();
      ch.on('error', () => undefined);
      for (const q of this.queues) await ch.deleteQueue(q).catch(() => undefined);
      await ch.deleteExchange(this.env.EVENTS_EXCHANGE!).catch(() => undefined);
    } finally {
      await this.conn.close().catch(() => undefined);
    }
  }
}

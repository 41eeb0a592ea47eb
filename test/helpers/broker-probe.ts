import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';

export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Queue names unique to one test, so tests never see each other's messages. */
export function uniqueQueueEnv(label: string): Record<string, string> {
  return queueEnv(`t.${label}.${randomUUID().slice(0, 8)}`);
}

/** Every queue and exchange setting of the worker, named under one prefix. */
export function queueEnv(p: string) {
  return {
    QUEUE_SESSION_COMMANDS: `${p}.update`,
    QUEUE_SESSION_EVENTS: `${p}.events`,
    QUEUE_NUMBER_HEALTH: `${p}.health`,
    QUEUE_DEAD_LETTER: `${p}.update.dlq`,
    EVENTS_EXCHANGE: `${p}.x`,
    QUEUE_MESSAGE_EVENTS: `${p}.messages`,
    QUEUE_WORKER_HEARTBEAT: `${p}.heartbeat`,
  };
}

export interface Received {
  body: any;
  raw: ConsumeMessage;
}

/** Collects what arrives on a queue and lets a test await a condition on it. */
export class Collector {
  readonly messages: Received[] = [];
  private waiters: Array<() => void> = [];

  push(msg: ConsumeMessage): void {
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch {
      body = msg.content.toString('utf8');
    }
    this.messages.push({ body, raw: msg });
    for (const w of this.waiters.splice(0)) w();
  }

  bodies(): any[] {
    return this.messages.map((m) => m.body);
  }

  /**
   * The bodies as a de-duplicating consumer sees them: each `eventId` once, at its first arrival.
   * Delivery is at least once (a message whose confirm was lost with the connection is sent
   * again, with the same id), so this, not `bodies()`, is what ordering and counting assertions read.
   */
  distinct(): any[] {
    const seen = new Set<unknown>();
    return this.bodies().filter((b) => {
      const id = b?.eventId;
      if (id === undefined) return true;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  async until<T>(find: (bodies: any[]) => T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find(this.bodies());
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.bodies().map((b) => b?.action ?? b?.status ?? b))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async untilAction(action: string, predicate: (b: any) => boolean = () => true, timeoutMs?: number): Promise<any> {
    return this.until((bs) => bs.find((b) => b?.action === action && predicate(b)), timeoutMs, `"${action}"`);
  }
}

/** The backend's side of the broker, for tests: publish commands, read queues, clean up. */
export class BrokerProbe {
  private constructor(
    private readonly conn: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}
  private readonly queues = new Set<string>();
  private readonly exchanges = new Set<string>();

  static async connect(): Promise<BrokerProbe> {
    const conn = await amqp.connect(RABBITMQ_URL);
    const channel = await conn.createConfirmChannel();
    return new BrokerProbe(conn, channel);
  }

  track(...queues: string[]): void {
    for (const q of queues) this.queues.add(q);
  }

  trackExchange(name: string): void {
    this.exchanges.add(name);
  }

  async publish(queue: string, body: unknown, props: Options.Publish = {}): Promise<void> {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.publish('', queue, content, { persistent: true, ...props });
    await this.channel.waitForConfirms();
  }

  /** Consumes a queue into a Collector; `declare: false` for a queue the worker declares itself (with its own arguments). */
  async collect(queue: string, opts: { declare?: boolean; queueType?: 'classic' | 'quorum' } = {}): Promise<Collector> {
    this.track(queue);
    const c = new Collector();
    // Declared as the worker declares it: a queue of another type would make the worker's own declaration fail.
    const args = opts.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
    if (opts.declare !== false) await this.channel.assertQueue(queue, { durable: true, arguments: args });
    await this.channel.consume(queue, (msg) => msg && c.push(msg), { noAck: true });
    return c;
  }

  async messageCount(queue: string): Promise<number> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** How many consumers hold a queue (an exclusive queue: 1 at most, whoever asks). */
  async consumerCount(queue: string): Promise<number> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      return (await ch.checkQueue(queue)).consumerCount;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Takes one message off a queue (acked). */
  async get(queue: string): Promise<Received | undefined> {
    this.track(queue);
    const msg = await this.channel.get(queue, { noAck: true });
    if (!msg) return undefined;
    return { body: JSON.parse(msg.content.toString('utf8')), raw: msg as unknown as ConsumeMessage };
  }

  async close(): Promise<void> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    for (const q of this.queues) await ch.deleteQueue(q).catch(() => undefined);
    for (const x of this.exchanges) await ch.deleteExchange(x).catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }
}

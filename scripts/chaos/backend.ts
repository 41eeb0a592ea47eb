import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';

/** An event as the observer saw it (first arrival of its eventId). */
export interface Observed {
  kind: string;
  eventId: string | undefined;
  requestId: string | undefined;
  messageId: string | undefined;
  sessionId: string | undefined;
  timestamp: number;
  seenAt: number;
  body: any;
}

export interface DeadLetter {
  requestId: string | undefined;
  code: string | undefined;
  reason: string | undefined;
  body: string;
}

export interface BackendOptions {
  urls: string[];
  commandQueue: string;
  commandQueueArguments: Record<string, unknown>;
  deadLetterQueue: string;
  eventsExchange: string;
  /** A quorum queue of the suite's own bound to every event: it survives the loss of any one node. */
  observerQueue: string;
  /** The index in `urls` tried first (0-based). */
  firstNode?: number;
}

/**
 * The backend's side, on its own amqplib connection: publishes commands with publisher confirms
 * (again, after a reconnect, until the broker confirms them) and records every event and every
 * dead-letter. It reconnects by itself when the node it is on goes away, trying the next node
 * first, as a clustered client should; its queues are durable quorum queues, so nothing the worker
 * publishes while it reconnects is lost to the observation.
 */
export class Backend extends EventEmitter {
  readonly events: Observed[] = [];
  readonly byEventId = new Map<string, Observed>();
  /** The same eventId delivered again without the broker's redelivered flag (the worker published it twice), by kind. */
  readonly republished = new Map<string, number>();
  readonly deadLetters: DeadLetter[] = [];
  reconnects = 0;
  /** The longest a command waited for its publisher confirm (retries included): what a node loss costs a publisher. */
  slowestConfirmMs = 0;
  private conn: ChannelModel | undefined;
  private pub: ConfirmChannel | undefined;
  private nextUrl = 0;
  private node = -1;
  private closing = false;
  private retry: NodeJS.Timeout | undefined;
  private attempt = 0;

  constructor(private readonly opts: BackendOptions) {
    super();
    this.setMaxListeners(0);
    this.nextUrl = opts.firstNode ?? 0;
  }

  /** 1-based index of the node this connection is on (undefined while down). */
  get nodeIndex(): number | undefined {
    return this.conn ? this.node + 1 : undefined;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    void this.connect();
    await this.until(() => this.pub !== undefined, timeoutMs, 'the backend connection to the cluster');
  }

  private async connect(): Promise<void> {
    if (this.closing) return;
    const { urls } = this.opts;
    const index = this.nextUrl % urls.length;
    this.nextUrl = index + 1;
    let conn: ChannelModel | undefined;
    try {
      conn = await amqp.connect(`${urls[index]}?heartbeat=5`, { clientProperties: { connection_name: 'chaos-backend' }, timeout: 5000 });
      conn.on('error', () => undefined);
      conn.on('close', () => this.lost(conn!));
      const pub = await conn.createConfirmChannel();
      pub.on('error', () => undefined);
      // A channel closed by the broker alone (an error) would leave publishes waiting forever: the whole connection is recycled.
      pub.on('close', () => void (this.pub === pub && conn!.close().catch(() => undefined)));
      const sub = await conn.createChannel();
      sub.on('error', () => undefined);
      await this.declare(sub);
      await sub.prefetch(500);
      await sub.consume(this.opts.observerQueue, (m) => this.onEvent(sub, m));
      await sub.consume(this.opts.deadLetterQueue, (m) => this.onDeadLetter(sub, m));
      this.conn = conn;
      this.node = index;
      this.pub = pub;
      this.attempt = 0;
      this.emit('change');
    } catch {
      // a node that is down, or a queue whose leader is being elected: the next node, shortly
      await conn?.close().catch(() => undefined);
      this.schedule();
    }
  }

  private async declare(ch: Channel): Promise<void> {
    const quorum = { 'x-queue-type': 'quorum' };
    await ch.assertExchange(this.opts.eventsExchange, 'topic', { durable: true });
    await ch.assertQueue(this.opts.observerQueue, { durable: true, arguments: quorum });
    await ch.bindQueue(this.opts.observerQueue, this.opts.eventsExchange, '#');
    // Declared exactly as the worker declares them (same arguments), so either may come first.
    await ch.assertQueue(this.opts.deadLetterQueue, { durable: true, arguments: quorum });
    await ch.assertQueue(this.opts.commandQueue, { durable: true, arguments: this.opts.commandQueueArguments });
  }

  private lost(conn: ChannelModel): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.pub = undefined;
    this.reconnects++;
    this.schedule();
  }

  private schedule(): void {
    if (this.closing || this.retry) return;
    const delay = Math.min(2000, 100 * 2 ** this.attempt++);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, delay);
  }

  /**
   * Makes sure the backend is not on node `node` (1-based), which is about to be killed: the
   * observer should watch a fault, not suffer it. Its connection moves on to the next node.
   */
  async moveOff(node: number, timeoutMs: number): Promise<void> {
    if (this.nodeIndex !== node) return;
    await this.conn?.close().catch(() => undefined);
    await this.until(() => this.nodeIndex !== undefined && this.nodeIndex !== node, timeoutMs, `the backend off node ${node}`);
  }

  /**
   * Publishes a command to the shared command queue and resolves once the broker confirmed it,
   * publishing it again after a lost channel or a nack (same body: the worker applies it once).
   * A confirm may take long while a quorum queue elects a new leader: it is waited for, not
   * given up on, as long as the channel lives. Rejects when nothing was confirmed within `timeoutMs`.
   */
  async publishCommand(body: Record<string, unknown>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const content = Buffer.from(JSON.stringify(body));
    const messageId = randomUUID();
    const started = Date.now();
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`command ${String(body.requestId ?? body.action)} not confirmed within ${timeoutMs} ms`);
      await this.until(() => this.pub !== undefined, left, 'a backend channel to publish on');
      const pub = this.pub!;
      const outcome = await new Promise<'confirmed' | 'nacked' | 'lost' | 'timeout'>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), Math.max(1, deadline - Date.now()));
        try {
          pub.sendToQueue(this.opts.commandQueue, content, { persistent: true, contentType: 'application/json', messageId }, (err) => {
            clearTimeout(timer);
            resolve(!err ? 'confirmed' : /nack/i.test(String((err as Error).message)) ? 'nacked' : 'lost');
          });
        } catch {
          clearTimeout(timer);
          resolve('lost');
        }
      });
      if (outcome === 'confirmed') {
        this.slowestConfirmMs = Math.max(this.slowestConfirmMs, Date.now() - started);
        return;
      }
      if (outcome === 'timeout') continue;
      // lost with its channel: the connection is recycled, and the next channel takes it again
      if (outcome === 'lost' && this.pub === pub)
        await this.until(() => this.pub !== pub, Math.max(1, deadline - Date.now()), 'a new backend channel').catch(() => undefined);
      if (outcome === 'nacked') await new Promise((r) => setTimeout(r, 250));
    }
  }

  private onEvent(ch: Channel, msg: ConsumeMessage | null): void {
    if (!msg) return;
    let body: any;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch {
      body = { unparsable: msg.content.toString('utf8') };
    }
    const eventId = typeof body.eventId === 'string' ? body.eventId : undefined;
    const seen = eventId ? this.byEventId.get(eventId) : undefined;
    if (seen) {
      if (!msg.fields.redelivered) this.republished.set(seen.kind, (this.republished.get(seen.kind) ?? 0) + 1);
    } else {
      const event: Observed = {
        kind: body.action ?? (body.status ? `health.${body.status}` : msg.fields.routingKey),
        eventId,
        requestId: body.requestId,
        messageId: body.messageId,
        sessionId: body.sessionId,
        timestamp: body.timestamp ?? 0,
        seenAt: Date.now(),
        body,
      };
      this.events.push(event);
      if (eventId) this.byEventId.set(eventId, event);
      this.emit('event', event);
    }
    ch.ack(msg);
    this.emit('change');
  }

  private onDeadLetter(ch: Channel, msg: ConsumeMessage | null): void {
    if (!msg) return;
    const text = msg.content.toString('utf8');
    let requestId: string | undefined;
    try {
      const body = JSON.parse(text);
      requestId = body.requestId ?? body.data?.requestId;
    } catch {
      requestId = msg.properties.correlationId;
    }
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const code = headers['x-error-code'] ?? headers['x-first-death-reason'];
    this.deadLetters.push({
      requestId,
      code: code === undefined ? undefined : String(code),
      reason: headers['x-error-reason'] === undefined ? undefined : String(headers['x-error-reason']),
      body: text,
    });
    ch.ack(msg);
    this.emit('change');
  }

  /** Resolves when `cond` holds, re-checked on everything the backend sees; rejects after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.off('change', check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('change', check);
        reject(new Error(`timed out (${timeoutMs} ms) waiting for ${what}`));
      }, timeoutMs);
      this.on('change', check);
    });
  }

  /** The first event matching `find`, already seen or still to come, within `timeoutMs`. */
  waitForEvent(find: (e: Observed) => boolean, timeoutMs: number, what: string): Promise<Observed> {
    const seen = this.events.find(find);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const check = (e: Observed) => {
        if (!find(e)) return;
        clearTimeout(timer);
        this.off('event', check);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.off('event', check);
        reject(new Error(`timed out (${timeoutMs} ms) waiting for ${what}`));
      }, timeoutMs);
      this.on('event', check);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retry);
    const conn = this.conn;
    this.conn = undefined;
    this.pub = undefined;
    await conn?.close().catch(() => undefined);
  }
}

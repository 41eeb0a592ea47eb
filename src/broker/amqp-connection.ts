import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { backoffDelay, SingleTimer } from '../util/backoff.js';

/**
 * One AMQP connection that comes back by itself. Each time it (re)connects it runs the setup
 * steps registered with `onConnect` (declare topology, open channels, start consumers), in
 * registration order; a failing step drops the connection and the whole cycle is retried with
 * randomised exponential backoff, one timer at a time.
 *
 * Events: 'connected' (ChannelModel), 'disconnected' (reason).
 */
export interface AmqpConnectionOptions {
  url: string;
  connectionName: string;
  logger: Logger;
  reconnectBaseDelayMs?: number;
  reconnectMaxDelayMs?: number;
  heartbeatSeconds?: number;
}

type SetupStep = (connection: ChannelModel) => Promise<void>;

export class AmqpConnection extends EventEmitter {
  private connection: ChannelModel | undefined;
  private readonly steps: SetupStep[] = [];
  private readonly retry = new SingleTimer();
  private attempt = 0;
  private closing = false;
  private connecting: Promise<void> | undefined;
  private firstConnect: { resolve: () => void; promise: Promise<void> };
  /** Times the connection was lost after being up: a metric and a test hook. */
  disconnects = 0;

  constructor(private readonly opts: AmqpConnectionOptions) {
    super();
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstConnect = { resolve, promise };
  }

  onConnect(step: SetupStep): void {
    this.steps.push(step);
    // Already up: run it now too, so late registrations take effect.
    if (this.connection) void step(this.connection).catch((err) => this.fail(err));
  }

  get isConnected(): boolean {
    return this.connection !== undefined;
  }

  current(): ChannelModel | undefined {
    return this.connection;
  }

  /** Starts connecting; resolves at the first successful connection. */
  start(): Promise<void> {
    this.connectNow();
    return this.firstConnect.promise;
  }

  private connectNow(): void {
    if (this.closing || this.connecting || this.connection) return;
    this.connecting = this.tryConnect().finally(() => (this.connecting = undefined));
  }

  private async tryConnect(): Promise<void> {
    const log = this.opts.logger;
    let conn: ChannelModel | undefined;
    try {
      conn = await amqp.connect(withHeartbeat(this.opts.url, this.opts.heartbeatSeconds ?? 10), {
        clientProperties: { connection_name: this.opts.connectionName },
        timeout: 10_000,
        // amqplib turns Nagle's algorithm ON by default: a small frame (a publish, an ack) then
        // waits for the previous one's TCP ACK, which the peer may delay by up to 40 ms.
        noDelay: true,
      });
      conn.on('error', (err: Error) => log.warn({ err: err }, 'broker connection error'));
      conn.on('close', () => this.lost(conn!, 'connection closed'));
      conn.on('blocked', (reason: string) => log.warn({ reason }, 'broker blocked the connection (resource alarm)'));
      if (this.closing) {
        await conn.close().catch(() => undefined);
        return;
      }
      this.connection = conn;
      for (const step of this.steps) await step(conn);
      this.attempt = 0;
      log.info({ connection: this.opts.connectionName }, 'broker connected');
      this.emit('connected', conn);
      this.firstConnect.resolve();
    } catch (err) {
      log.warn({ err: err, attempt: this.attempt }, 'broker connection attempt failed');
      if (conn) {
        this.connection = undefined;
        await conn.close().catch(() => undefined);
      }
      this.scheduleReconnect();
    }
  }

  private lost(conn: ChannelModel, reason: string): void {
    if (this.connection !== conn) return;
    this.connection = undefined;
    this.disconnects++;
    this.emit('disconnected', reason);
    if (this.closing) return;
    this.opts.logger.warn({ reason }, 'broker connection lost; reconnecting');
    this.scheduleReconnect();
  }

  /** A setup step or a channel failed in a way that needs a fresh connection. */
  fail(err: unknown): void {
    this.opts.logger.warn({ err: err }, 'broker channel failure; recycling the connection');
    const conn = this.connection;
    if (conn) void conn.close().catch(() => undefined);
  }

  private scheduleReconnect(): void {
    if (this.closing) return;
    const delay = backoffDelay(this.attempt++, {
      baseMs: this.opts.reconnectBaseDelayMs ?? 200,
      maxMs: this.opts.reconnectMaxDelayMs ?? 15_000,
    });
    this.retry.schedule(delay, () => this.connectNow());
  }

  async close(): Promise<void> {
    this.closing = true;
    this.retry.cancel();
    await this.connecting?.catch(() => undefined);
    const conn = this.connection;
    this.connection = undefined;
    if (conn) await conn.close().catch(() => undefined);
  }
}

/** A dead broker is noticed within two heartbeats; a URL that sets its own heartbeat wins. */
function withHeartbeat(url: string, seconds: number): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}heartbeat=${seconds}`;
}

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
 * Given several addresses (a cluster's nodes), each cycle tries them in turn and keeps the first
 * that answers; the next cycle starts with the address after the one last connected to, so the
 * node just lost is tried last, not first.
 *
 * Events: 'connected' (ChannelModel), 'disconnected' (reason).
 */
export interface AmqpConnectionOptions {
  /** One address, or several (a cluster's nodes) tried in turn; all log in as the same user. */
  url: string | readonly string[];
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
  private readonly urls: readonly string[];
  /** The index of the address the next cycle tries first. */
  private nextAddress = 0;
  private connectedAddress: string | undefined;
  /** Times the connection was lost after being up: a metric and a test hook. */
  disconnects = 0;

  constructor(private readonly opts: AmqpConnectionOptions) {
    super();
    this.urls = typeof opts.url === 'string' ? [opts.url] : [...opts.url];
    if (this.urls.length === 0) throw new Error('AmqpConnection: no broker address');
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

  /** The address connected to, without its password (undefined while down). */
  get address(): string | undefined {
    return this.connectedAddress;
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
      let address = 0;
      [conn, address] = await this.connectToFirstAnswering();
      if (this.urls.length > 1) this.nextAddress = (address + 1) % this.urls.length;
      conn.on('error', (err: Error) => log.warn({ err }, 'broker connection error'));
      conn.on('close', () => this.lost(conn!, 'connection closed'));
      conn.on('blocked', (reason: string) => log.warn({ reason }, 'broker blocked the connection (resource alarm)'));
      if (this.closing) {
        await conn.close().catch(() => undefined);
        return;
      }
      this.connection = conn;
      this.connectedAddress = redactBrokerUrl(this.urls[address]!);
      for (const step of this.steps) await step(conn);
      this.attempt = 0;
      log.info({ connection: this.opts.connectionName, address: this.connectedAddress }, 'broker connected');
      this.emit('connected', conn);
      this.firstConnect.resolve();
    } catch (err) {
      log.warn({ err, attempt: this.attempt }, 'broker connection attempt failed');
      if (conn) {
        this.connection = undefined;
        this.connectedAddress = undefined;
        await conn.close().catch(() => undefined);
      }
      this.scheduleReconnect();
    }
  }

  /** Tries the addresses in turn from `nextAddress`; the first connection made and its address's index. */
  private async connectToFirstAnswering(): Promise<[ChannelModel, number]> {
    let lastError: unknown;
    for (const index of addressOrder(this.urls.length, this.nextAddress)) {
      if (this.closing) break;
      const url = this.urls[index]!;
      try {
        const conn = await amqp.connect(withHeartbeat(url, this.opts.heartbeatSeconds ?? 10), {
          clientProperties: { connection_name: this.opts.connectionName },
          timeout: 10_000,
          // amqplib turns Nagle's algorithm ON by default: a small frame (a publish, an ack) then
          // waits for the previous one's TCP ACK, which the peer may delay by up to 40 ms.
          noDelay: true,
        });
        return [conn, index];
      } catch (err) {
        lastError = err;
        if (this.urls.length > 1) this.opts.logger.warn({ err, address: redactBrokerUrl(url) }, 'broker address did not answer');
      }
    }
    throw lastError ?? new Error('closing');
  }

  private lost(conn: ChannelModel, reason: string): void {
    if (this.connection !== conn) return;
    this.connection = undefined;
    const address = this.connectedAddress;
    this.connectedAddress = undefined;
    this.disconnects++;
    this.emit('disconnected', reason);
    if (this.closing) return;
    this.opts.logger.warn({ reason, address }, 'broker connection lost; reconnecting');
    this.scheduleReconnect();
  }

  /** A setup step or a channel failed in a way that needs a fresh connection. */
  fail(err: unknown): void {
    this.opts.logger.warn({ err }, 'broker channel failure; recycling the connection');
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
    this.connectedAddress = undefined;
    if (conn) await conn.close().catch(() => undefined);
  }
}

/** A dead broker is noticed within two heartbeats; a URL that sets its own heartbeat wins. */
function withHeartbeat(url: string, seconds: number): string {
  if (/[?&]heartbeat=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}heartbeat=${seconds}`;
}

/**
 * The order a connection cycle tries `count` addresses in: from `start`, wrapping around.
 * `addressOrder(3, 1)` → [1, 2, 0].
 */
export function addressOrder(count: number, start: number): number[] {
  const first = ((start % count) + count) % count;
  return Array.from({ length: count }, (_, i) => (first + i) % count);
}

/** An address fit for logs: scheme, user, host, port and vhost; never the password or the query. */
export function redactBrokerUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${u.username}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return '(unparsable broker URL)';
  }
}

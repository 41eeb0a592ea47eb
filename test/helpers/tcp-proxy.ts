import net from 'node:net';
import { Transform } from 'node:stream';
import { RABBITMQ_URL } from './broker-probe.js';

/**
 * A loopback TCP proxy in front of the broker. `cut()` drops every connection and refuses new
 * ones (the broker is unreachable for whoever goes through the proxy, and only for them);
 * `restore()` lets connections through again. `hold()` keeps the connections open but lets no
 * byte through either way (a dead network path: what a client sends is lost, nothing answers),
 * so a test can have messages sent and certainly never confirmed before it cuts;
 * `hold('to-client')` lets the client's bytes reach the broker but none of the answers (the
 * broker takes a message, its confirm is lost).
 *
 * The broker it forwards to, and everything `url()` says besides host and port (user,
 * password, vhost, query), come from `brokerUrl` (default RABBITMQ_URL): the suite runs
 * unchanged on a private vhost or another port.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private down = false;
  private readonly holding = { 'to-broker': false, 'to-client': false };
  private readonly broker: URL;
  port = 0;
  connectionsAccepted = 0;

  constructor(brokerUrl: string = RABBITMQ_URL) {
    this.broker = new URL(brokerUrl);
  }

  /** Where the connections go: the broker URL's host and port. */
  get target(): { host: string; port: number } {
    const host = this.broker.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    const port = Number(this.broker.port || (this.broker.protocol === 'amqps:' ? 5671 : 5672));
    return { host, port };
  }

  async start(): Promise<void> {
    const { host, port } = this.target;
    this.server = net.createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      this.connectionsAccepted++;
      const upstream = net.connect(port, host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(this.gate('to-broker')).pipe(upstream);
      upstream.pipe(this.gate('to-client')).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }

  /** Passes bytes on, except while the proxy holds that direction (they are dropped). */
  private gate(direction: 'to-broker' | 'to-client'): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => done(null, this.holding[direction] ? undefined : chunk),
    });
  }

  /** The broker URL with its host and port replaced by the proxy's; user and password can be overridden. */
  url(user?: string, password?: string): string {
    const u = new URL(this.broker.href);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    if (user !== undefined) u.username = encodeURIComponent(user);
    if (password !== undefined) u.password = encodeURIComponent(password);
    return u.href;
  }

  /** Connections stay open, but from now on every byte either way (or only one way) is dropped. */
  hold(direction: 'both' | 'to-client' | 'to-broker' = 'both'): void {
    if (direction !== 'to-broker') this.holding['to-client'] = true;
    if (direction !== 'to-client') this.holding['to-broker'] = true;
  }

  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.down = false;
    this.holding['to-broker'] = false;
    this.holding['to-client'] = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

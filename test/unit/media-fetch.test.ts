import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressPolicy } from '../../src/util/address-policy.js';
import { httpGet, HttpGetError, type HttpGetOptions } from '../../src/util/http-get.js';

/**
 * The fetch behind a `send_message` media `url`, against real local servers: a server must see
 * no connection at all when the URL (or a redirect) leads somewhere private, and a slow server
 * must not hold a send beyond the deadline.
 */
interface Local {
  server: Server;
  port: number;
  connections: number;
  requests: Array<{ url: string | undefined; host: string | undefined; authorization: string | undefined }>;
  close(): Promise<void>;
}

async function listen(host: string, handler: RequestListener): Promise<Local> {
  const server = createServer(handler);
  const local: Local = {
    server,
    port: 0,
    connections: 0,
    requests: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  server.on('connection', () => local.connections++);
  server.on('request', (req: IncomingMessage) => local.requests.push({ url: req.url, host: req.headers.host, authorization: req.headers.authorization }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  local.port = (server.address() as AddressInfo).port;
  return local;
}

const ok: RequestListener = (_req, res) => void res.writeHead(200, { 'content-type': 'image/png' }).end('png-bytes');

async function body(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

const get = (url: string, allowed: string[] = [], extra: Partial<HttpGetOptions> = {}) =>
  httpGet(url, { timeoutMs: 5000, deadlineMs: 10_000, maxRedirects: 5, protocols: ['http:', 'https:'], addressPolicy: AddressPolicy.parse(allowed), ...extra });

const servers: Local[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function server(host: string, handler: RequestListener = ok): Promise<Local> {
  const s = await listen(host, handler);
  servers.push(s);
  return s;
}

async function ipv6Loopback(): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

describe('media url fetch: private addresses are never reached', () => {
  it('without the policy (received media from WhatsApp hosts use httpGet too) the local server is reached: the tests below can fail', async () => {
    const s = await server('127.0.0.1');
    expect(await body(await httpGet(`http://127.0.0.1:${s.port}/`, { timeoutMs: 5000, protocols: ['http:'] }))).toBe('png-bytes');
    expect(await body(await httpGet(`http://localhost:${s.port}/`, { timeoutMs: 5000, protocols: ['http:'] }))).toBe('png-bytes');
    expect(s.connections).toBe(2);
  });

  it.each([
    ['loopback', (p: number) => `http://127.0.0.1:${p}/x.png`, /127\.0\.0\.1 is loopback/],
    ['localhost', (p: number) => `http://localhost:${p}/x.png`, /is loopback/],
    ['LOCALHOST', (p: number) => `http://LOCALHOST:${p}/x.png`, /is loopback/],
    ['unspecified 0.0.0.0', (p: number) => `http://0.0.0.0:${p}/x.png`, /0\.0\.0\.0 is unspecified/],
    ['decimal 2130706433', (p: number) => `http://2130706433:${p}/x.png`, /127\.0\.0\.1 is loopback/],
    ['hex and short forms 0x7f.1', (p: number) => `http://0x7f.1:${p}/x.png`, /127\.0\.0\.1 is loopback/],
    ['IPv4-mapped IPv6', (p: number) => `http://[::ffff:127.0.0.1]:${p}/x.png`, /IPv4-mapped loopback/],
    ['credentials', (p: number) => `http://user:pass@127.0.0.1:${p}/x.png`, /credentials in the URL refused/],
  ])('%s: refused before any connection', async (_name, url, reason) => {
    const s = await server('127.0.0.1');
    const err = await get(url(s.port)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpGetError);
    expect(err).toMatchObject({ refused: true, message: expect.stringMatching(reason) });
    expect(s.connections).toBe(0);
  });

  it('IPv6 loopback [::1] and [::]: refused before any connection (a listener on ::1 when this machine has IPv6 loopback)', async () => {
    const s = (await ipv6Loopback()) ? await server('::1') : undefined;
    const port = s?.port ?? 9;
    await expect(get(`http://[::1]:${port}/x.png`)).rejects.toMatchObject({ refused: true, message: expect.stringMatching(/::1 is loopback/) });
    await expect(get(`http://[::]:${port}/x.png`)).rejects.toMatchObject({ refused: true, message: expect.stringMatching(/:: is unspecified/) });
    if (s) {
      expect(s.connections).toBe(0);
      // allowed: the same URL goes through, so the refusal above is the policy's doing
      expect(await body(await get(`http://[::1]:${s.port}/x.png`, ['::1/128']))).toBe('png-bytes');
      expect(s.connections).toBe(1);
    }
  });

  it('credentials are refused even for an allowed host; they would have become Basic auth', async () => {
    const s = await server('127.0.0.1');
    await expect(get(`http://user:pass@127.0.0.1:${s.port}/x.png`, ['127.0.0.1/32'])).rejects.toMatchObject({
      refused: true,
      message: 'credentials in the URL refused',
    });
    await expect(get(`http://:secret@127.0.0.1:${s.port}/x.png`, ['127.0.0.1/32'])).rejects.toMatchObject({ refused: true });
    expect(s.connections).toBe(0);
  });

  it('an allowed CIDR goes through; a redirect from it to a private address that is not allowed is refused, unvisited', async () => {
    const second = await server('127.0.0.2');
    const first = await server('127.0.0.1', (req, res) => {
      if (req.url === '/hop') return void res.writeHead(302, { location: `http://127.0.0.2:${second.port}/secret` }).end();
      ok(req, res);
    });
    expect(await body(await get(`http://127.0.0.1:${first.port}/x.png`, ['127.0.0.1/32']))).toBe('png-bytes');

    await expect(get(`http://127.0.0.1:${first.port}/hop`, ['127.0.0.1/32'])).rejects.toMatchObject({
      refused: true,
      message: expect.stringMatching(/127\.0\.0\.2 is loopback \(not in MEDIA_FETCH_ALLOWED_HOSTS\)/),
    });
    expect(first.requests.map((r) => r.url)).toEqual(['/x.png', '/hop']);
    expect(second.connections).toBe(0);

    // Both allowed: the redirect is followed, so the refusal above came from re-checking the hop.
    expect(await body(await get(`http://127.0.0.1:${first.port}/hop`, ['127.0.0.1/32', '127.0.0.2/32']))).toBe('png-bytes');
    expect(second.requests.map((r) => r.url)).toEqual(['/secret']);
  });

  it('a redirect carrying credentials is refused too', async () => {
    const second = await server('127.0.0.2');
    const first = await server('127.0.0.1', (_req, res) => void res.writeHead(302, { location: `http://u:p@127.0.0.2:${second.port}/` }).end());
    await expect(get(`http://127.0.0.1:${first.port}/`, ['127.0.0.0/8'])).rejects.toMatchObject({ refused: true, message: 'credentials in the URL refused' });
    expect(second.connections).toBe(0);
  });

  it('an allowed hostname is connected to at its checked address, with the hostname as Host header', async () => {
    const s = await server('127.0.0.1');
    // Each body is read: a response left unread keeps its deadline timer (and its socket) alive after the test.
    expect(await body(await get(`http://localhost:${s.port}/x.png`, ['127.0.0.1/32', '::1/128']))).toBe('png-bytes');
    expect(await body(await get(`http://localhost:${s.port}/x.png`, ['localhost']))).toBe('png-bytes');
    expect(s.requests.map((r) => r.host)).toEqual([`localhost:${s.port}`, `localhost:${s.port}`]);
  });

  it('a host that does not resolve fails without a connection', async () => {
    await expect(get('http://no-such-host.invalid/x.png')).rejects.toMatchObject({ message: expect.stringMatching(/cannot resolve no-such-host\.invalid/) });
  });
});

describe('media url fetch: time limits', () => {
  it('a server dripping a byte every 200 ms fails at the deadline, although it is never idle', async () => {
    const drips: NodeJS.Timeout[] = [];
    const s = await server('127.0.0.1', (_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/ogg' });
      drips.push(setInterval(() => res.write('x'), 200));
    });
    try {
      const started = Date.now();
      const res = await get(`http://127.0.0.1:${s.port}/slow.ogg`, ['127.0.0.1/32'], { timeoutMs: 1000, deadlineMs: 900 });
      await expect(body(res)).rejects.toMatchObject({ message: 'not complete within 900 ms (MEDIA_FETCH_DEADLINE_MS)' });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(850);
      expect(elapsed).toBeLessThan(3000);
    } finally {
      drips.forEach(clearInterval);
    }
  });

  it('the deadline covers the wait for an answer too', async () => {
    const s = await server('127.0.0.1', () => undefined); // never answers
    const started = Date.now();
    await expect(get(`http://127.0.0.1:${s.port}/`, ['127.0.0.1/32'], { timeoutMs: 5000, deadlineMs: 300 })).rejects.toMatchObject({
      message: expect.stringMatching(/not complete within 300 ms/),
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createProxy, type ProxyServer } from 'proxy';
import socks from 'simple-socks';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { brokerScenario, startTestWorker, testConfig, type TestWorker } from '../helpers/worker-harness.js';
import { proxyPolicyOf } from '../../src/config/config.js';
import type { Emulator } from '../emulator/index.js';

/**
 * A proxy per number, end to end: a real SOCKS5 server (simple-socks) and a real HTTP CONNECT
 * proxy (TooTallNate's `proxy`), both with credentials, in front of the emulator. Each proxy
 * connects out from its own loopback address (127.0.0.3 / 127.0.0.4), so the emulator can tell
 * who reached it: every WebSocket and media connection of a proxied number must come from its
 * proxy, none from the worker (127.0.0.1). A wrong password is reported as such and retried,
 * and the emulator sees no connection at all. The worker allows its proxies' loopback address
 * (PROXY_ALLOWED_HOSTS); one without it refuses them and never connects to them.
 */
const ALICE = '15550000141';
const SOCKS_ADDRESS = '127.0.0.3';
const HTTP_ADDRESS = '127.0.0.4';
const USER = 'wa-user';
const PASSWORD = 'pa:ss@w0rd';
const enc = encodeURIComponent;

interface Seen {
  /** Destinations the proxy opened, `host:port`. */
  targets: string[];
  /** Attempts it refused for their credentials. */
  refused: number;
  /** TCP connections it was offered. */
  connections: number;
}

/** Open sockets of the proxies, destroyed at the end (a tunnel stays open as long as its ends do). */
const sockets = new Set<Socket>();

async function listen(server: Server, seen: Seen): Promise<number> {
  server.on('connection', (socket: Socket) => {
    seen.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function startSocks(): Promise<{ server: Server; port: number; seen: Seen }> {
  const seen: Seen = { targets: [], refused: 0, connections: 0 };
  const server = socks.createServer({
    authenticate: (user, password, socket, callback) => {
      if (user === USER && password === PASSWORD) return callback();
      seen.refused++;
      // RFC 1929's two-byte refusal, written here: simple-socks' own answer to `callback(err)` echoes
      // the whole request (the password with it) and does not recognise an Error made in Jest's realm
      socket.end(Buffer.from([0x01, 0x01]));
    },
    connectionFilter: (destination, _origin, callback) => {
      seen.targets.push(`${destination.address}:${destination.port}`);
      callback();
    },
    connectionOptions: (_destination, _origin, defaults, callback) => callback(null, { ...defaults, localAddress: SOCKS_ADDRESS }),
  });
  return { server, port: await listen(server, seen), seen };
}

async function startHttpProxy(): Promise<{ server: ProxyServer; port: number; seen: Seen }> {
  const seen: Seen = { targets: [], refused: 0, connections: 0 };
  const server = createProxy(createHttpServer());
  server.localAddress = HTTP_ADDRESS;
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  server.authenticate = (req) => {
    const ok = req.headers['proxy-authorization'] === expected;
    if (ok) seen.targets.push(req.url ?? '');
    else seen.refused++;
    return ok;
  };
  return { server, port: await listen(server, seen), seen };
}

describe('a proxy per number (SOCKS5 and HTTP CONNECT in front of the emulator)', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let worker: TestWorker<WhatsAppConnector>;
  let socksProxy: Awaited<ReturnType<typeof startSocks>>;
  let httpProxy: Awaited<ReturnType<typeof startHttpProxy>>;
  let wsPort = '';
  let mediaPort = '';

  const command = (action: string, numberId: number, data: Record<string, unknown>, requestId?: string) =>
    scenario.probe.publish(worker.config.queues.commands, { action, numberId, workerId: 'px1', ...(requestId ? { requestId } : {}), data });
  const forSession = (sessionId: string) => (e: { sessionId?: string }) => e.sessionId === sessionId;

  beforeAll(async () => {
    emulator = await trustedEmulator();
    emulator.addContact(ALICE);
    wsPort = new URL(emulator.url).port;
    socksProxy = await startSocks();
    httpProxy = await startHttpProxy();
    scenario = await brokerScenario('proxy');
    scenario.workerQueue('px1');
    // the reconnect backoff a failing proxy goes through: short, so that several attempts are seen;
    // the proxies are on loopback, which a command's proxy may be at only when allowed
    const env = { ...scenario.env, WA_RECONNECT_BASE_DELAY_MS: '200', WA_RECONNECT_MAX_DELAY_MS: '1000', PROXY_ALLOWED_HOSTS: '127.0.0.0/8' };
    worker = await startTestWorker({
      env,
      workerId: 'px1',
      connector: baileysConnector(emulator, undefined, { proxyPolicy: proxyPolicyOf(testConfig(env)) }),
      store: new MemorySessionStore(),
    });
  }, 60_000);

  afterAll(async () => {
    await worker?.worker.stop(5000);
    await scenario?.probe.close();
    await emulator?.close();
    for (const socket of sockets) socket.destroy();
    for (const s of [socksProxy?.server, httpProxy?.server]) await new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)));
  }, 60_000);

  const links = [
    { name: 'SOCKS5', numberId: 41, account: '+221771230041', scheme: 'socks5', proxy: () => socksProxy, address: SOCKS_ADDRESS },
    { name: 'HTTP CONNECT', numberId: 42, account: '+221771230042', scheme: 'http', proxy: () => httpProxy, address: HTTP_ADDRESS },
  ];

  it.each(links)(
    'a number created with a $name proxy links and sends media, every connection through its proxy',
    async ({ numberId, account, scheme, proxy, address }) => {
      const sid = `session_${numberId}_${account}`;
      const { port, seen } = proxy();
      const wsBefore = emulator.clientAddresses.length;
      const mediaBefore = emulator.mediaClientAddresses.length;
      const proxyUrl = `${scheme}://${enc(USER)}:${enc(PASSWORD)}@127.0.0.1:${port}`;
      await command('create', numberId, { phoneNumber: account, settings: { proxy: proxyUrl } });
      const qr = await scenario.events.untilAction('qr_generated', forSession(sid), 30_000);
      await emulator.scanQr(qr.qrString, { phoneNumber: account });
      await scenario.events.untilAction('connected', forSession(sid), 30_000);

      const bytes = randomBytes(30_000);
      const received = emulator.waitForMessage(ALICE, { timeoutMs: 30_000 });
      await command('send_message', numberId, { to: `+${ALICE}`, type: 'image', base64: bytes.toString('base64'), mimeType: 'image/jpeg' }, `img-${numberId}`);
      const got = await received;
      expect(got.id).toBe(deriveMessageId(sid, `img-${numberId}`));
      expect((await emulator.mediaOf(got.message)).equals(bytes)).toBe(true);
      await scenario.messages.untilAction('message_sent', (e) => e.requestId === `img-${numberId}`, 20_000);

      // the QR socket, the socket after the 515 restart, and the upload: all from the proxy's address
      const ws = emulator.clientAddresses.slice(wsBefore);
      expect(ws.length).toBeGreaterThanOrEqual(2);
      expect(new Set(ws)).toEqual(new Set([address]));
      const media = emulator.mediaClientAddresses.slice(mediaBefore);
      expect(media.length).toBeGreaterThanOrEqual(1);
      expect(new Set(media)).toEqual(new Set([address]));
      mediaPort ||= new URL(got.message.imageMessage?.url ?? 'https://x').port;
      // and the proxy opened exactly these: the emulator's socket port and its media host
      expect(seen.targets.filter((t) => t.endsWith(`:${wsPort}`)).length).toBeGreaterThanOrEqual(ws.length);
      expect(seen.targets.some((t) => t.endsWith(`:${mediaPort}`))).toBe(true);
    },
    90_000,
  );

  it.each(links.map((l, i) => ({ ...l, numberId: 45 + i, account: `+22177123004${5 + i}` })))(
    'a wrong password for the $name proxy: disconnected with proxy_auth_failed, retried with backoff, never a direct connection',
    async ({ numberId, account, scheme, proxy }) => {
      const sid = `session_${numberId}_${account}`;
      const { port, seen } = proxy();
      const refusedBefore = seen.refused;
      const wsBefore = emulator.clientAddresses.length;
      await command('create', numberId, { phoneNumber: account, settings: { proxy: `${scheme}://${USER}:wrong@127.0.0.1:${port}` } });
      const first = await scenario.events.untilAction('disconnected', forSession(sid), 30_000);
      expect(first).toMatchObject({ proxyFailure: 'proxy_auth_failed', willReconnect: true });
      expect(first.reason).toMatch(/^proxy_auth_failed: /);
      expect(first.reason).toContain(`${scheme}://${USER}:***@127.0.0.1:${port}`);
      expect(JSON.stringify(first)).not.toContain('wrong');
      // retried: a second attempt fails the same way (the proxy refused it again)
      await scenario.events.until(
        (bs) => (bs.filter((b) => b?.action === 'disconnected' && b.sessionId === sid).length >= 2 ? true : undefined),
        30_000,
        'a second disconnected',
      );
      expect(seen.refused - refusedBefore).toBeGreaterThanOrEqual(2);
      // and no socket ever reached the emulator for it, through the proxy or around it
      expect(emulator.clientAddresses.slice(wsBefore)).toEqual([]);
      await command('delete', numberId, {});
      await scenario.events.untilAction('session_deleted', forSession(sid), 20_000);
    },
    90_000,
  );

  it('update_settings with a new proxy reconnects the running session through it; settings_updated shows no password', async () => {
    const sid = 'session_41_+221771230041';
    const wsBefore = emulator.clientAddresses.length;
    const proxyUrl = `http://${enc(USER)}:${enc(PASSWORD)}@127.0.0.1:${httpProxy.port}`;
    const connectedBefore = scenario.events.distinct().filter((e) => e?.action === 'connected' && e.sessionId === sid).length;
    await command('update_settings', 41, { settings: { proxy: proxyUrl } }, 'proxy-switch');
    const updated = await scenario.messages.untilAction('settings_updated', (e) => e.requestId === 'proxy-switch', 20_000);
    expect(updated.settings.proxy).toBe(`http://${USER}:***@127.0.0.1:${httpProxy.port}`);
    expect(JSON.stringify(updated)).not.toContain(enc(PASSWORD));
    await scenario.events.until(
      (bs) => (bs.filter((b) => b?.action === 'connected' && b.sessionId === sid).length > connectedBefore ? true : undefined),
      30_000,
      'connected again',
    );
    expect(emulator.clientAddresses.slice(wsBefore)).toEqual([HTTP_ADDRESS]);
  }, 60_000);

  it('without PROXY_ALLOWED_HOSTS: a proxy on loopback is refused (an address at once, a name as it resolves), never connected to', async () => {
    const strict = await brokerScenario('proxy-strict');
    strict.workerQueue('px2');
    const env = { ...strict.env, WA_RECONNECT_BASE_DELAY_MS: '200', WA_RECONNECT_MAX_DELAY_MS: '1000' };
    const other = await startTestWorker({ env, workerId: 'px2', connector: baileysConnector(emulator), store: new MemorySessionStore() });
    const send = (numberId: number, data: Record<string, unknown>, requestId: string) =>
      strict.probe.publish(other.config.queues.commands, { action: 'create', numberId, workerId: 'px2', requestId, data });
    try {
      const offered = () => socksProxy.seen.connections + httpProxy.seen.connections;
      const before = offered();
      const wsBefore = emulator.clientAddresses.length;
      // an IP literal: the command is rejected as it is parsed
      await send(
        48,
        { phoneNumber: '+221771230048', settings: { proxy: `http://${enc(USER)}:${enc(PASSWORD)}@127.0.0.1:${httpProxy.port}` } },
        'strict-literal',
      );
      const rejected = await strict.events.untilAction('command_rejected', (e) => e.requestId === 'strict-literal', 20_000);
      expect(rejected).toMatchObject({ code: 'INVALID_COMMAND', command: 'create' });
      expect(rejected.reason).toBe("settings.proxy: the proxy's address 127.0.0.1 is loopback (not in PROXY_ALLOWED_HOSTS)");
      // a name: resolved at connect, refused, reported as the session's proxy failure (the address untold)
      const sid = 'session_49_+221771230049';
      await send(
        49,
        { phoneNumber: '+221771230049', settings: { proxy: `socks5://${enc(USER)}:${enc(PASSWORD)}@localhost:${socksProxy.port}` } },
        'strict-name',
      );
      const refused = await strict.events.untilAction('disconnected', forSession(sid), 30_000);
      expect(refused).toMatchObject({ proxyFailure: 'proxy_not_allowed', willReconnect: true });
      expect(refused.reason).toBe(
        `proxy_not_allowed: socks5://${USER}:***@localhost:${socksProxy.port}: the proxy may not be used: localhost resolves to an address that is loopback (not in PROXY_ALLOWED_HOSTS)`,
      );
      await strict.probe.publish(other.config.queues.commands, { action: 'delete', numberId: 49, workerId: 'px2', data: {} });
      await strict.events.untilAction('session_deleted', forSession(sid), 20_000);
      // neither proxy was offered a connection, and nothing went around them
      expect(offered()).toBe(before);
      expect(emulator.clientAddresses.slice(wsBefore)).toEqual([]);
    } finally {
      await other.worker.stop(5000);
      await strict.probe.close();
    }
  }, 90_000);
});

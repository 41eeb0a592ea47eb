import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createProxy } from 'proxy';
import socks from 'simple-socks';
import { parseCommand, type ParseLimits } from '../../src/commands/parse-command.js';
import { AddressPolicy } from '../../src/util/address-policy.js';
import type { ProxyPolicy } from '../../src/util/proxy-url.js';
import { createProxyAgent, ProxyError, sessionAgents } from '../../src/whatsapp/proxy-agent.js';
import { proxyPolicyOf } from '../../src/config/config.js';
import { testConfig } from '../helpers/worker-harness.js';
import { getThrough } from '../helpers/get-through.js';

/**
 * A proxy named by a command may reach only public addresses, or what PROXY_ALLOWED_HOSTS
 * allows: an IP literal is refused as the command is parsed, a hostname at each connection
 * (resolved once, every address checked, the checked one connected to). PROXY_URL is trusted.
 */
const policy = (entries: string[] = [], trusted?: string): ProxyPolicy => ({ allowed: AddressPolicy.parse(entries, 'PROXY_ALLOWED_HOSTS'), trusted });

describe('a command naming a proxy at an IP address', () => {
  const parse = (action: 'create' | 'update_settings', proxy: string, proxyPolicy?: ProxyPolicy) => {
    const body = { action, numberId: 7, phoneNumber: '+221771230007', requestId: 'r-1', settings: { proxy } };
    const limits: ParseLimits = { maxBytes: 100_000, ...(proxyPolicy ? { proxyPolicy } : {}) };
    return parseCommand(Buffer.from(JSON.stringify(body)), {}, limits);
  };

  it.each([
    ['socks5://u:s3cret@10.0.0.5:1080', /10\.0\.0\.5 is private \(not in PROXY_ALLOWED_HOSTS\)/],
    ['http://u:s3cret@127.0.0.1:3128', /127\.0\.0\.1 is loopback/],
    ['http://u:s3cret@169.254.169.254:80', /169\.254\.169\.254 is link-local/],
    ['socks5h://u:s3cret@[::1]:1080', /::1 is loopback/],
    ['http://u:s3cret@[::ffff:192.168.1.1]:3128', /IPv4-mapped private/],
    ['https://u:s3cret@0.0.0.0:443', /unspecified/],
  ])('%s is refused (INVALID_COMMAND, the reason without credentials), on create and update_settings', (proxy, reason) => {
    for (const action of ['create', 'update_settings'] as const) {
      for (const given of [undefined, policy()]) {
        const parsed = parse(action, proxy, given);
        expect(parsed.ok).toBe(false);
        if (parsed.ok) continue;
        expect(parsed.code).toBe('INVALID_COMMAND');
        expect(parsed.reason).toMatch(/^settings\.proxy: the proxy's address /);
        expect(parsed.reason).toMatch(reason);
        expect(parsed.reason).not.toContain('s3cret');
        expect(parsed.hint).toMatchObject({ numberId: 7, action });
      }
    }
  });

  it('public addresses and hostnames pass (a hostname is checked when it is resolved)', () => {
    for (const proxy of ['socks5://u:p@8.8.8.8:1080', 'http://[2606:4700::1111]:3128', 'http://proxy.internal:3128']) {
      expect(parse('create', proxy).ok).toBe(true);
      expect(parse('update_settings', proxy).ok).toBe(true);
    }
  });

  it('PROXY_ALLOWED_HOSTS lets a CIDR or an address through; PROXY_URL itself is trusted; null still clears', () => {
    expect(parse('create', 'socks5://u:p@10.20.3.4:1080', policy(['10.20.0.0/16'])).ok).toBe(true);
    expect(parse('create', 'socks5://u:p@10.21.3.4:1080', policy(['10.20.0.0/16'])).ok).toBe(false);
    expect(parse('update_settings', 'http://[fd00::5]:3128', policy(['fd00::5'])).ok).toBe(true);
    // multicast is never a proxy, allowed or not
    expect(parse('create', 'http://224.0.0.1:3128', policy(['224.0.0.0/4'])).ok).toBe(false);
    // the operator's own proxy, named again by a command (normalised: the trailing slash)
    expect(parse('create', 'http://op:pw@10.9.9.9:3128/', policy([], 'http://op:pw@10.9.9.9:3128')).ok).toBe(true);
    expect(parse('create', 'http://other:pw@10.9.9.9:3128', policy([], 'http://op:pw@10.9.9.9:3128')).ok).toBe(false);
    const body = { action: 'update_settings', numberId: 7, requestId: 'r-2', settings: { proxy: null } };
    expect(parseCommand(Buffer.from(JSON.stringify(body)), {}, { maxBytes: 100_000 }).ok).toBe(true);
  });

  it('the worker takes the policy from PROXY_ALLOWED_HOSTS and PROXY_URL', () => {
    const built = proxyPolicyOf(testConfig({ PROXY_ALLOWED_HOSTS: 'proxy.internal, 10.20.0.0/16', PROXY_URL: 'http://u:p@10.0.0.1:3128' }));
    expect(built.trusted).toBe('http://u:p@10.0.0.1:3128');
    expect(built.allowed.refusal('proxy.internal', '10.1.1.1')).toBeUndefined();
    expect(built.allowed.refusal('x', '10.20.1.1')).toBeUndefined();
    expect(built.allowed.refusal('x', '10.30.1.1')).toMatch(/not in PROXY_ALLOWED_HOSTS/);
    expect(testConfig({}).proxyAllowedHosts).toEqual([]);
  });
});

/** Both kinds of proxy on 127.0.0.1, counting the connections they are offered. */
interface Counted {
  server: Server;
  port: number;
  connections: number;
}
const sockets = new Set<Socket>();
async function listen(server: Server): Promise<Counted> {
  const counted = { server, port: 0, connections: 0 };
  server.on('connection', (socket: Socket) => {
    counted.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  counted.port = (server.address() as AddressInfo).port;
  return counted;
}

describe('a proxy host resolved at connect time', () => {
  let http: Counted;
  let socksProxy: Counted;
  let target: Server;
  let targetPort = 0;
  const proxyOf = (scheme: string) => (scheme === 'http' ? http : socksProxy);

  beforeAll(async () => {
    http = await listen(createProxy(createHttpServer()) as Server);
    socksProxy = await listen(socks.createServer() as unknown as Server);
    target = createHttpServer((_req, res) => res.end('through'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const s of [http.server, socksProxy.server, target]) await new Promise((resolve) => s.close(resolve));
  });

  it.each(['http', 'socks5'])(
    '%s: a name resolving to a private address is refused before any connection (proxy_not_allowed, the address untold)',
    async (scheme) => {
      const proxy = proxyOf(scheme);
      const before = proxy.connections;
      const reported: string[] = [];
      const asked: string[] = [];
      const agent = createProxyAgent(`${scheme}://u:s3cret@proxy.example:${proxy.port}`, {
        addressPolicy: policy().allowed,
        // rebinding: one public address and one internal, every address is checked
        resolve: async (host) => (
          asked.push(host),
          [
            { address: '8.8.8.8', family: 4 },
            { address: '127.0.0.1', family: 4 },
          ]
        ),
        onFailure: (f) => reported.push(f.code),
      });
      const err = await getThrough(agent, targetPort);
      expect(err).toBeInstanceOf(ProxyError);
      const failure = (err as ProxyError).failure;
      expect(failure.code).toBe('proxy_not_allowed');
      expect(failure.detail).toBe(
        `${scheme}://u:***@proxy.example:${proxy.port}: the proxy may not be used: proxy.example resolves to an address that is loopback (not in PROXY_ALLOWED_HOSTS)`,
      );
      expect(failure.detail).not.toContain('127.0.0.1');
      expect(reported).toEqual(['proxy_not_allowed']);
      expect(asked).toEqual(['proxy.example']);
      expect(proxy.connections - before).toBe(0);
    },
  );

  it.each(['http', 'socks5'])('%s: an allowed name connects to the address that was checked (resolved once: the name exists nowhere else)', async (scheme) => {
    const proxy = proxyOf(scheme);
    const before = proxy.connections;
    let resolved = 0;
    for (const allowed of [['proxy.invalid'], ['127.0.0.0/8']]) {
      const agent = createProxyAgent(`${scheme}://proxy.invalid:${proxy.port}`, {
        addressPolicy: policy(allowed).allowed,
        resolve: async () => (resolved++, [{ address: '127.0.0.1', family: 4 }]),
      });
      expect(await getThrough(agent, targetPort)).toBe(200);
    }
    expect(resolved).toBe(2);
    expect(proxy.connections - before).toBe(2);
  });

  it("a session's agents: the operator's PROXY_URL goes anywhere, any other proxy (a command's, a stored one) is checked", async () => {
    const url = `http://127.0.0.1:${http.port}`;
    const before = http.connections;
    const trusted = sessionAgents(url, undefined, policy([], url));
    expect(await getThrough(trusted.socket!, targetPort)).toBe(200);
    expect(await getThrough(trusted.media!, targetPort)).toBe(200);
    expect(http.connections - before).toBe(2);

    for (const agents of [sessionAgents(url, undefined, policy([], 'http://10.0.0.1:3128')), sessionAgents(url, undefined)]) {
      const err = await getThrough(agents.socket!, targetPort);
      expect((err as ProxyError).failure.code).toBe('proxy_not_allowed');
      expect((err as ProxyError).failure.detail).toMatch(/127\.0\.0\.1 is loopback \(not in PROXY_ALLOWED_HOSTS\)$/);
      // the socket's failure is what its close event says
      expect(agents.closeEvent(500, 'x')).toMatchObject({ proxyFailure: { code: 'proxy_not_allowed' }, statusCode: undefined });
      expect(((await getThrough(agents.media!, targetPort)) as ProxyError).failure.code).toBe('proxy_not_allowed');
    }
    expect(http.connections - before).toBe(2);
  });
});

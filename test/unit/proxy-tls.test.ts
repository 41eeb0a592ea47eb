import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createProxy } from 'proxy';
import { generate } from 'selfsigned';
import { AddressPolicy } from '../../src/util/address-policy.js';
import { createProxyAgent, ProxyError } from '../../src/whatsapp/proxy-agent.js';
import { getThrough } from '../helpers/get-through.js';

/**
 * An `https://` proxy is HTTP CONNECT over TLS: the worker must verify the proxy's certificate
 * against the URL's host name, otherwise whoever sits between the worker and the proxy reads the
 * proxy's credentials (Proxy-Authorization) and every tunnel. The socket connects to the address
 * the policy checked (no second lookup), so the name could be lost on the way: these tests show
 * it is not — the name is what is verified, and what is sent as SNI.
 *
 * The certificate is self-signed, made here, for `proxy.test` and `localhost` only (no IP). The
 * test trusts it through createProxyAgent's `proxyCa` (no production setting: an operator trusts a
 * private CA with NODE_EXTRA_CA_CERTS, which Node's default store includes: the child-process tests).
 * `ca` is the destination's (TLS through the tunnel) and must never stand in for the proxy's.
 */

interface TlsProxy {
  port: number;
  /** TCP connections the proxy accepted */
  connections: number;
  /** SNI of every ClientHello the proxy read, in order (none without a name: an IP URL sends none) */
  servernames: string[];
  /** target of every CONNECT request the proxy read (after TLS) */
  connects: string[];
  ca: string;
  /** Resolves once every connection to the proxy has closed (all it was sent has been read). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh self-signed certificate (its own CA) for these subject alt names (type 2: DNS, 7: IP). */
function selfSigned(commonName: string, altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }>) {
  return generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames },
    ],
  });
}

/** The `proxy` package's CONNECT server behind a node:tls server with a fresh self-signed certificate. */
async function startTlsProxy(): Promise<TlsProxy> {
  const pems = await selfSigned('proxy.test', [
    { type: 2, value: 'proxy.test' },
    { type: 2, value: 'localhost' },
  ]);
  const servernames: string[] = [];
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  let whenIdle: Array<() => void> = [];
  const http = createProxy(createHttpServer());
  http.on('connect', (req: IncomingMessage) => connects.push(req.url ?? ''));
  const tls = createTlsServer(
    {
      key: pems.private,
      cert: pems.cert,
      // seen at the ClientHello: before the client can refuse the certificate
      SNICallback: (servername, done) => (servernames.push(servername), done(null, undefined)),
    },
    (socket: TLSSocket) => http.emit('connection', socket),
  );
  // a client that refuses the certificate aborts the handshake: not an error of the test's proxy
  tls.on('tlsClientError', () => undefined);
  const state = { connections: 0 };
  tls.on('connection', (socket: Socket) => {
    state.connections++;
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size > 0) return;
      for (const resolve of whenIdle) resolve();
      whenIdle = [];
    });
  });
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  return {
    port: (tls.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    servernames,
    connects,
    ca: pems.cert,
    idle: () => (sockets.size === 0 ? Promise.resolve() : new Promise((resolve) => whenIdle.push(resolve))),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => tls.close(resolve));
    },
  };
}

/** A command's proxy at a loopback name: allowed, resolved by the test to the proxy's address only. */
const loopbackAllowed = () => ({
  addressPolicy: AddressPolicy.parse(['127.0.0.0/8'], 'PROXY_ALLOWED_HOSTS'),
  resolve: async () => [{ address: '127.0.0.1', family: 4 }],
});

describe('TLS to an https:// proxy', () => {
  let proxy: TlsProxy;
  let target: Server;
  let targetPort = 0;
  /**
   * An HTTPS destination (a media host) whose certificate is its own CA. It names `localhost` too:
   * https-proxy-agent leaves `host` out of the tunnelled TLS, so for an IP destination (no SNI)
   * Node verifies the name `localhost` (media hosts are names: their own name is verified).
   */
  let secureTarget: HttpsServer;
  let secureTargetPort = 0;
  let secureTargetCa = '';

  beforeAll(async () => {
    proxy = await startTlsProxy();
    target = createHttpServer((_req, res) => res.end('through'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as AddressInfo).port;
    const pems = await selfSigned('media.test', [
      { type: 7, ip: '127.0.0.1' },
      { type: 2, value: 'localhost' },
    ]);
    secureTargetCa = pems.cert;
    secureTarget = createHttpsServer({ key: pems.private, cert: pems.cert }, (_req, res) => res.end('through'));
    await new Promise<void>((resolve) => secureTarget.listen(0, '127.0.0.1', resolve));
    secureTargetPort = (secureTarget.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => target.close(resolve));
    secureTarget.closeAllConnections();
    await new Promise((resolve) => secureTarget.close(resolve));
  });
  beforeEach(async () => {
    await proxy.idle();
    proxy.servernames.length = 0;
    proxy.connects.length = 0;
  });

  it("the URL's name in the certificate, its CA trusted: the CONNECT goes through (the operator's proxy, resolved by the system)", async () => {
    const agent = createProxyAgent(`https://u:s3cret@localhost:${proxy.port}`, { proxyCa: proxy.ca });
    expect(await getThrough(agent, targetPort)).toBe(200);
    expect(proxy.servernames).toEqual(['localhost']);
    expect(proxy.connects).toEqual([`127.0.0.1:${targetPort}`]);
  });

  it('a checked name: the socket goes to the checked address, the TLS server name (SNI) and the verified name stay the URL host', async () => {
    // `proxy.test` exists in no DNS: the only way to the proxy is the address the policy checked
    const agent = createProxyAgent(`https://u:s3cret@proxy.test:${proxy.port}`, { proxyCa: proxy.ca, ...loopbackAllowed() });
    expect(await getThrough(agent, targetPort)).toBe(200);
    expect(proxy.servernames).toEqual(['proxy.test']);
    expect(proxy.connects).toEqual([`127.0.0.1:${targetPort}`]);
  });

  it.each([
    [
      'an IP the certificate does not name',
      () => createProxyAgent(`https://u:s3cret@127.0.0.1:${proxy.port}`, { proxyCa: proxy.ca }),
      [],
      /IP: 127\.0\.0\.1 is not in the cert's list/,
    ],
    [
      'a name the policy maps to the proxy, not in the certificate',
      () => createProxyAgent(`https://u:s3cret@other.test:${proxy.port}`, { proxyCa: proxy.ca, ...loopbackAllowed() }),
      ['other.test'],
      /Host: other\.test\. is not in the cert's altnames/,
    ],
  ])('%s: refused by TLS (proxy_failed), no CONNECT reaches the proxy', async (_what, build, sni, why) => {
    const before = proxy.connections;
    const err = await getThrough(build(), targetPort);
    expect(err).toBeInstanceOf(ProxyError);
    const failure = (err as ProxyError).failure;
    expect(failure.code).toBe('proxy_failed');
    expect(failure.detail).toMatch(why);
    expect(failure.detail).not.toContain('s3cret');
    // the handshake reached the proxy (the address was right); once the proxy has read all it
    // was sent, no request was among it
    expect(proxy.connections - before).toBe(1);
    expect(proxy.servernames).toEqual(sni);
    await proxy.idle();
    expect(proxy.connects).toEqual([]);
  });

  it('a certificate of an untrusted CA: refused (proxy_failed), no CONNECT', async () => {
    const agent = createProxyAgent(`https://u:s3cret@proxy.test:${proxy.port}`, loopbackAllowed());
    const err = await getThrough(agent, targetPort);
    expect((err as ProxyError).failure.code).toBe('proxy_failed');
    expect((err as ProxyError).failure.detail).toMatch(/self[- ]signed certificate/);
    await proxy.idle();
    expect(proxy.connects).toEqual([]);
  });

  it('`ca` verifies the destination through the tunnel, `proxyCa` the proxy: neither stands in for the other', async () => {
    const both = createProxyAgent(`https://u:s3cret@localhost:${proxy.port}`, { proxyCa: proxy.ca, ca: secureTargetCa });
    expect(await getThrough(both, secureTargetPort, { secure: true })).toBe(200);
    // the proxy's CA does not reach the tunnelled TLS: the destination is refused, after the CONNECT
    const proxyOnly = createProxyAgent(`https://u:s3cret@localhost:${proxy.port}`, { proxyCa: proxy.ca });
    expect(String(await getThrough(proxyOnly, secureTargetPort, { secure: true }))).toMatch(/self[- ]signed certificate/);
    // the destination's CA does not verify the proxy: refused before any CONNECT
    const destinationOnly = createProxyAgent(`https://u:s3cret@localhost:${proxy.port}`, { ca: secureTargetCa });
    const err = await getThrough(destinationOnly, secureTargetPort, { secure: true });
    expect((err as ProxyError).failure.code).toBe('proxy_failed');
    await proxy.idle();
    expect(proxy.connects).toEqual([`127.0.0.1:${secureTargetPort}`, `127.0.0.1:${secureTargetPort}`]);
  });

  it("a media agent given the media host's CA still verifies the operator's proxy with Node's store (NODE_EXTRA_CA_CERTS)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxy-ca-'));
    try {
      const caFile = join(dir, 'ca.pem');
      await writeFile(caFile, proxy.ca);
      const status = await sessionGetInChild(`https://u:s3cret@localhost:${proxy.port}`, secureTargetPort, caFile, secureTargetCa);
      expect(status).toBe('200');
      expect(proxy.servernames).toEqual(['localhost']);
      await proxy.idle();
      expect(proxy.connects).toEqual([`127.0.0.1:${secureTargetPort}`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the operator trusts a private CA with NODE_EXTRA_CA_CERTS: a session's own agent (no `ca`) then verifies through it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxy-ca-'));
    try {
      const caFile = join(dir, 'ca.pem');
      await writeFile(caFile, proxy.ca);
      const ok = await sessionGetInChild(`https://u:s3cret@localhost:${proxy.port}`, targetPort, caFile);
      expect(ok).toBe('200');
      const untrusted = await sessionGetInChild(`https://u:s3cret@localhost:${proxy.port}`, targetPort, undefined);
      expect(untrusted).toMatch(/^proxy_failed: .*self[- ]signed certificate/);
      expect(proxy.servernames).toEqual(['localhost', 'localhost']);
      await proxy.idle();
      expect(proxy.connects).toEqual([`127.0.0.1:${targetPort}`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * In a child process (NODE_EXTRA_CA_CERTS is read once, at start): a GET through an agent
 * `sessionAgents` makes of the operator's PROXY_URL, as production builds it: the socket agent
 * (HTTP to the port), or with `mediaCa` the media agent given that CA (HTTPS to the port). Prints
 * the status or the proxy failure.
 */
function sessionGetInChild(proxyUrl: string, port: number, extraCaFile: string | undefined, mediaCa?: string): Promise<string> {
  const script = `
    import { request } from ${mediaCa ? "'node:https'" : "'node:http'"};
    import { sessionAgents } from './src/whatsapp/proxy-agent.ts';
    import { AddressPolicy } from './src/util/address-policy.ts';
    const url = ${JSON.stringify(proxyUrl)};
    const mediaCa = ${JSON.stringify(mediaCa ?? null)};
    const agents = sessionAgents(url, mediaCa ? { ca: mediaCa } : undefined, { allowed: AddressPolicy.parse([], 'PROXY_ALLOWED_HOSTS'), trusted: url });
    const agent = mediaCa ? agents.media : agents.socket;
    const req = request({ hostname: '127.0.0.1', port: ${port}, path: '/', agent }, (res) => { res.resume(); console.log(res.statusCode); });
    req.on('error', (err) => console.log(err.failure ? err.failure.code + ': ' + err.failure.detail : 'other: ' + err.message));
    req.end();`;
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
  delete env.NODE_EXTRA_CA_CERTS;
  if (extraCaFile) env.NODE_EXTRA_CA_CERTS = extraCaFile;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

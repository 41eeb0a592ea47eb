import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { createProxy } from 'proxy';
import { parseProxyUrl, redactProxyUrl, PROXY_URL_MAX } from '../../src/util/proxy-url.js';
import { effectiveSettings, shownSettings, storedSettings, DEFAULT_SESSION_SETTINGS } from '../../src/util/session-settings.js';
import { redactSecrets } from '../../src/util/redact.js';
import { classifyDisconnect } from '../../src/whatsapp/disconnect-reasons.js';
import { classifyConnectStatus, classifyProxyError, createProxyAgent, ProxyError } from '../../src/whatsapp/proxy-agent.js';
import { sessionSettingsSchema } from '../../src/commands/command-schema.js';
import { testConfig } from '../helpers/worker-harness.js';
import { getThrough } from '../helpers/get-through.js';

describe('proxy URLs', () => {
  it.each([
    ['socks5://127.0.0.1:1080', 'socks5://127.0.0.1:1080'],
    ['socks5h://user:p%40ss@proxy.internal:1080/', 'socks5h://user:p%40ss@proxy.internal:1080'],
    ['socks://10.0.0.5', 'socks://10.0.0.5'],
    ['http://u@[::1]:3128', 'http://u@[::1]:3128'],
    ['https://proxy.example.com', 'https://proxy.example.com'],
  ])('%s is accepted, normalised', (raw, url) => {
    expect(parseProxyUrl(raw)).toEqual({ ok: true, url });
  });

  it.each([
    ['ftp://proxy:21', /scheme ftp: refused/],
    ['socks4://proxy:1080', /scheme socks4: refused/],
    ['file:///etc/passwd', /scheme file: refused/],
    ['http://proxy:3128/path', /no path/],
    ['http://proxy:3128?x=1', /no path, query/],
    ['http://:secret@proxy:3128', /needs a user name/],
    ['http://pro xy:3128', /no spaces/],
    ['not a url', /no spaces|not a URL/],
    ['', /1 to/],
    [`http://${'a'.repeat(PROXY_URL_MAX)}.example`, /1 to/],
  ])('%s is refused', (raw, reason) => {
    const parsed = parseProxyUrl(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('is shown without its password, and never as it is in logs', () => {
    expect(redactProxyUrl('socks5://user:s3cret@10.0.0.5:1080')).toBe('socks5://user:***@10.0.0.5:1080');
    expect(redactProxyUrl('http://10.0.0.5:3128')).toBe('http://10.0.0.5:3128');
    expect(JSON.stringify(redactSecrets({ settings: { proxy: 'socks5://u:s3cret@h:1' } }))).not.toContain('s3cret');
    const shown = shownSettings(effectiveSettings({ ...DEFAULT_SESSION_SETTINGS, proxy: 'http://a:b@h:1' }, { proxy: 'socks5://u:s3cret@h:2' }));
    expect(shown.proxy).toBe('socks5://u:***@h:2');
  });

  it('commands, the environment and stored records are held to the same rules (the refusal never repeats the value)', () => {
    expect(sessionSettingsSchema.safeParse({ proxy: 'socks5://u:p@h:1' }).success).toBe(true);
    expect(sessionSettingsSchema.safeParse({ proxy: null }).success).toBe(true);
    const refused = sessionSettingsSchema.safeParse({ proxy: 'gopher://u:s3cret@h:1' });
    expect(refused.success).toBe(false);
    expect(JSON.stringify(refused.error?.issues)).not.toContain('s3cret');
    expect(storedSettings({ proxy: 'socks5://u:p@h:1' })).toEqual({ proxy: 'socks5://u:p@h:1' });
    expect(storedSettings({ proxy: 'javascript:alert(1)' })).toEqual({});
    expect(testConfig({ PROXY_URL: 'http://u:p@10.0.0.5:3128' }).sessionDefaults.proxy).toBe('http://u:p@10.0.0.5:3128');
    expect(testConfig({}).sessionDefaults.proxy).toBeUndefined();
    let message = '';
    try {
      testConfig({ PROXY_URL: 'smtp://u:s3cret@h:25' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/PROXY_URL/);
    expect(message).not.toContain('s3cret');
  });
});

describe('proxy failures', () => {
  const shown = 'socks5://u:***@h:1';
  it('are classified: credentials refused, unreachable, or the proxy would not connect', () => {
    expect(classifyProxyError(new Error('Socks5 Authentication failed'), shown).code).toBe('proxy_auth_failed');
    expect(classifyProxyError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), shown).code).toBe('proxy_unreachable');
    expect(classifyProxyError(new Error('connect ECONNREFUSED 127.0.0.1:1'), shown).code).toBe('proxy_unreachable');
    expect(classifyProxyError(new Error('Proxy connection timed out'), shown).code).toBe('proxy_unreachable');
    expect(classifyProxyError(new Error('Socks5 proxy rejected connection - HostUnreachable'), shown).code).toBe('proxy_failed');
    expect(classifyConnectStatus(407, shown).code).toBe('proxy_auth_failed');
    expect(classifyConnectStatus(502, shown)).toEqual({ code: 'proxy_failed', detail: `${shown}: the proxy did not open the connection (502)` });
    expect(classifyProxyError(new Error('bad http://x:pw@host'), shown).detail).not.toContain('pw');
  });

  it('are retried, whatever status Baileys made of them: never taken for a logout (500 on linked credentials)', () => {
    expect(classifyDisconnect(500, { linked: true, qrShown: false })).toEqual({ kind: 'logged_out' });
    expect(classifyDisconnect(500, { linked: true, qrShown: false, proxyFailure: true })).toEqual({ kind: 'retry' });
    expect(classifyDisconnect(408, { linked: false, qrShown: true, proxyFailure: true })).toEqual({ kind: 'retry' });
  });

  it('an unreachable proxy fails the request with a ProxyError and reports it; nothing is connected directly', async () => {
    // a port with nothing listening: the proxy cannot be reached
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    // the target, which must see nothing
    let direct = 0;
    const target = createHttpServer((_req, res) => res.end('direct'));
    target.on('connection', () => direct++);
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const reported: string[] = [];
    for (const scheme of ['socks5', 'http']) {
      const agent = createProxyAgent(`${scheme}://u:p@127.0.0.1:${deadPort}`, { onFailure: (f) => reported.push(f.code) });
      const err = await getThrough(agent, (target.address() as AddressInfo).port);
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).failure.code).toBe('proxy_unreachable');
    }
    expect(reported).toEqual(['proxy_unreachable', 'proxy_unreachable']);
    expect(direct).toBe(0);
    await new Promise((resolve) => target.close(resolve));
  });

  it('a CONNECT the proxy refuses (407) fails as proxy_auth_failed instead of reaching the client as the server answer', async () => {
    const proxy = createProxy(createHttpServer());
    proxy.authenticate = () => false;
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const agent = createProxyAgent(`http://u:wrong@127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    const err = await getThrough(agent, 9);
    expect((err as ProxyError).failure?.code).toBe('proxy_auth_failed');
    await new Promise((resolve) => (proxy as Server).close(resolve));
  });
});

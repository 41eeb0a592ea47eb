import { jest } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';

/**
 * DNS rebinding: the fetch must connect to the addresses it checked, not to whatever a second
 * resolution answers. Here the checked resolution (the `node:dns` the fetch imports) says
 * `rebind.test` is 127.0.0.1 (allowed); the system resolver Node's own connect would use knows no
 * such host. Only a connection pinned to the checked address can reach the server.
 */
const answers = new Map<string, LookupAddress[]>();
const realDns = await import('node:dns');
jest.unstable_mockModule('node:dns', () => ({
  ...realDns,
  lookup: (host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => {
    const found = answers.get(host);
    if (found) return cb(null, found);
    return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
  },
}));
const { httpGet } = await import('../../src/util/http-get.js');
const { AddressPolicy } = await import('../../src/util/address-policy.js');

let server: Server;
let port = 0;
const hosts: Array<string | undefined> = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    hosts.push(req.headers.host);
    res.end('pinned');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

it('connects to the checked address, keeping the hostname as Host header', async () => {
  answers.set('rebind.test', [{ address: '127.0.0.1', family: 4 }]);
  const res = await httpGet(`http://rebind.test:${port}/a`, { timeoutMs: 5000, protocols: ['http:'], addressPolicy: AddressPolicy.parse(['127.0.0.1/32']) });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe('pinned');
  expect(hosts).toEqual([`rebind.test:${port}`]);
});

it('a host with one refused address among public ones is refused as a whole', async () => {
  answers.set('mixed.test', [
    { address: '93.184.215.14', family: 4 },
    { address: '169.254.169.254', family: 4 },
  ]);
  await expect(httpGet('http://mixed.test/a', { timeoutMs: 5000, protocols: ['http:'], addressPolicy: AddressPolicy.parse([]) })).rejects.toMatchObject({
    refused: true,
    message: 'mixed.test: 169.254.169.254 is link-local (not in MEDIA_FETCH_ALLOWED_HOSTS)',
  });
});

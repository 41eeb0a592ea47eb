/**
 * Phase 1 faults: each one must surface as the expected DisconnectReason status
 * code in connection.update's lastDisconnect.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { linkViaQr, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { MemoryAuth } from './test-client.js';
import { TestClient } from './test-client.js';
import type { FaultKind } from './types.js';

const PHONE = '491700000101';

describe('emulator faults', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let auth: MemoryAuth;
  const clients: TestClient[] = [];
  const login = (a: MemoryAuth = auth): TestClient => {
    const c = new TestClient(emu.url, a);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
    const linked = await linkViaQr(emu, PHONE);
    auth = linked.auth;
    clients.push(linked.client);
    await linked.client.end();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await emu.close();
    untrust();
  });

  const cases: Array<[FaultKind, number]> = [
    ['drop', DisconnectReason.connectionClosed],
    ['restart515', DisconnectReason.restartRequired],
    ['conflict440', DisconnectReason.connectionReplaced],
    ['unavailable503', DisconnectReason.unavailableService],
  ];
  it.each(cases)('%s -> statusCode %d, and the account still logs in afterwards', async (kind, code) => {
    const c = login();
    await c.ready();
    await emu.fault(kind, PHONE);
    expect(await c.closed()).toBe(code);
    const again = login();
    await again.ready();
    await again.end();
  });

  it('a second login of the same device replaces the first with 440', async () => {
    const a = login();
    await a.ready();
    const b = login();
    await b.ready();
    expect(await a.closed()).toBe(DisconnectReason.connectionReplaced);
    await b.end();
  });

  it('forbidden403 bans the account until unban()', async () => {
    const c = login();
    await c.ready();
    await emu.fault('forbidden403', PHONE);
    expect(await c.closed()).toBe(DisconnectReason.forbidden);
    expect(await login().closed()).toBe(DisconnectReason.forbidden);
    emu.unban(PHONE);
    const ok = login();
    await ok.ready();
    await ok.end();
  });

  it('slow responses still reach open, just later', async () => {
    emu.setResponseDelay(150);
    try {
      const c = login();
      const t0 = Date.now();
      await c.opened(30_000);
      // handshake + success + count + passive + digest are each held back
      expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
      await c.end();
    } finally {
      emu.setResponseDelay(0);
    }
  });

  it('fault without a phone number hits every connection', async () => {
    const c = login();
    await c.ready();
    await emu.fault('restart515');
    expect(await c.closed()).toBe(DisconnectReason.restartRequired);
  });

  it('logout401 kills the creds: the next login gets 401', async () => {
    const c = login();
    await c.ready();
    await emu.fault('logout401', PHONE);
    expect(await c.closed()).toBe(DisconnectReason.loggedOut);
    expect(await login().closed()).toBe(DisconnectReason.loggedOut);
  });

  it('forgetAccounts drops connections and saved creds then get 401', async () => {
    const other = await linkViaQr(emu, '491700000102');
    clients.push(other.client);
    emu.forgetAccounts();
    expect(await other.client.closed()).toBe(DisconnectReason.connectionClosed);
    expect(await login(other.auth).closed()).toBe(DisconnectReason.loggedOut);
  });
});

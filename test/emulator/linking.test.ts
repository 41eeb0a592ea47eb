/**
 * Phase 1: QR registration, login to open, reconnect with saved creds, QR refs
 * running out, pairing-code linking, unknown IQs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { trustEmulator, linkViaQr } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import { memoryAuth, TestClient } from './test-client.js';

describe('emulator linking', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  const clients: TestClient[] = [];
  const track = (c: TestClient): TestClient => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    emu = await startEmulator({ skipPrekeyUpload: true });
    untrust = trustEmulator(emu);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await emu.close();
    untrust();
  });

  it('QR -> scan -> 515 -> login -> open, then a saved-creds login opens without a QR', async () => {
    const auth = memoryAuth();
    const reg = track(new TestClient(emu.url, auth));
    const prefix = await emu.waitForQr({ timeoutMs: 15_000 });
    const qr = await reg.qr(0);
    expect(qr.startsWith(prefix)).toBe(true);
    const linked = await emu.scanQr(qr, { phoneNumber: '+49 170 0000001' });
    expect(linked.jid).toBe('491700000001:1@s.whatsapp.net');
    expect(await reg.closed()).toBe(515);
    expect(auth.creds.me?.id).toBe(linked.jid);

    const started = Date.now();
    const first = track(new TestClient(emu.url, auth));
    await first.opened(20_000);
    // the history bootstrap lets the client finish its initial sync well under the 20 s buffer timeout
    await first.waitFor(() => (auth.creds.accountSyncCounter > 0 ? true : undefined), 15_000, 'initial app-state sync');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(auth.creds.me?.lid).toBe(linked.lid);
    await first.end();

    const second = track(new TestClient(emu.url, auth));
    const t0 = Date.now();
    await second.opened(10_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(second.updates.some((u) => u.qr)).toBe(false);
    await second.end();
  });

  it('closes with 408 when the QR refs run out (few refs + client qrTimeout)', async () => {
    const fast = await startEmulator({ qrRefs: 2 });
    const undo = trustEmulator(fast);
    try {
      const client = track(new TestClient(fast.url, memoryAuth(), { qrTimeout: 300 }));
      await client.qr(1);
      expect(await client.closed()).toBe(408);
      expect(client.updates.filter((u) => u.qr)).toHaveLength(2);
    } finally {
      undo();
      await fast.close();
    }
  });

  it('links with a pairing code', async () => {
    const auth = memoryAuth();
    const reg = track(new TestClient(emu.url, auth));
    await reg.qr(0); // the socket is registering once it shows a QR
    const code = await reg.sock.requestPairingCode('491700000002');
    const linked = await emu.confirmPairingCode('491700000002', code);
    expect(linked.jid).toBe('491700000002:1@s.whatsapp.net');
    expect(await reg.closed()).toBe(515);
    const client = track(new TestClient(emu.url, auth));
    await client.opened(20_000);
    expect(auth.creds.me?.id).toBe(linked.jid);
    await client.end();
  });

  it('rejects a wrong pairing code', async () => {
    const reg = track(new TestClient(emu.url, memoryAuth()));
    await reg.qr(0);
    const code = await reg.sock.requestPairingCode('491700000003');
    const wrong = code.startsWith('A') ? `B${code.slice(1)}` : `A${code.slice(1)}`;
    await expect(emu.confirmPairingCode('491700000003', wrong)).rejects.toThrow(/pairing code/);
    await reg.end();
  });

  it('answers unknown IQs with an empty result and counts them', async () => {
    const { client } = await linkViaQr(emu, '491700000004');
    track(client);
    const before = emu.unknownIqCount;
    const res = await client.sock.query({ tag: 'iq', attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'emu:unknown' } });
    expect(res.attrs.type).toBe('result');
    expect(emu.unknownIqCount).toBe(before + 1);
    await client.end();
  });
});

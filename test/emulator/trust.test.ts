/**
 * The emulator signs its Noise certificate chain with its own root. With a strict
 * verifier installed (rc14's Curve.verify accepts any signature), a client that
 * trusts that root connects and one that trusts another root is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as baileys from '@whiskeysockets/baileys';
import { Curve } from '@whiskeysockets/baileys';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import { installStrictCertVerification, strictVerify, trustRoot } from './strict-verify.js';
import { memoryAuth, TestClient } from './test-client.js';

describe('emulator trust', () => {
  let emu: EmulatorServer;
  let unstrict: () => void;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    emu = await startEmulator();
    unstrict = installStrictCertVerification(baileys);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await emu.close();
    unstrict();
  });

  it('the strict verifier really checks signatures (stock rc14 does not)', () => {
    const kp = Curve.generateKeyPair();
    const msg = Buffer.from('hello');
    const sig = Curve.sign(kp.private, msg);
    expect(strictVerify(kp.public, msg, sig)).toBe(true);
    expect(strictVerify(kp.public, Buffer.from('hellO'), sig)).toBe(false);
    expect(baileys.Curve.verify(kp.public, Buffer.from('hellO'), sig)).toBe(false);
  });

  it('connects when the emulator root is trusted', async () => {
    const untrust = trustRoot(baileys, emu.rootPublicKey);
    try {
      const c = new TestClient(emu.url, memoryAuth());
      clients.push(c);
      await c.qr(0); // a QR means the handshake (and the chain check) passed
      await c.end();
    } finally {
      untrust();
    }
  });

  it('refuses the handshake when a different root is trusted', async () => {
    const untrust = trustRoot(baileys, Curve.generateKeyPair().public);
    try {
      const c = new TestClient(emu.url, memoryAuth());
      clients.push(c);
      const code = await c.closed();
      expect(code).not.toBe(515);
      expect(c.updates.some((u) => u.qr)).toBe(false);
      const err = c.updates.find((u) => u.connection === 'close')?.lastDisconnect?.error;
      expect(String(err?.message)).toMatch(/noise intermediate certificate signature invalid/);
    } finally {
      untrust();
    }
  });
});

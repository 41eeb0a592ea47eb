import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Curve, initAuthCreds } from '@whiskeysockets/baileys';
import { installFastSignatures, signCurve25519 } from '../../src/whatsapp/curve-sign.js';
import { verifyXEdDSA } from '../../src/whatsapp/trust.js';

const require = createRequire(import.meta.url);
const libsignal = require('libsignal/src/curve.js') as {
  generateKeyPair(): { pubKey: Buffer; privKey: Buffer };
  calculateSignature(priv: Buffer, msg: Buffer): Buffer;
  verifySignature(pub: Buffer, msg: Buffer, sig: Buffer): boolean;
};

describe('Curve25519 signatures with precomputed base-point tables', () => {
  it("are libsignal's (curve25519-js) byte for byte: random keys, messages of 1 to 1,000 bytes, a signal public key", () => {
    for (let i = 0; i < 30; i++) {
      const { pubKey, privKey } = libsignal.generateKeyPair();
      const message = i % 3 === 0 ? libsignal.generateKeyPair().pubKey : randomBytes(1 + ((i * 37) % 1000));
      const ours = signCurve25519(privKey, message);
      expect(ours.toString('hex')).toBe(libsignal.calculateSignature(privKey, message).toString('hex'));
      expect(libsignal.verifySignature(pubKey, message, ours)).toBe(true);
    }
  });

  it('keys whose public point has either x parity, and unclamped raw bytes, give the same signature as libsignal', () => {
    const parities = new Set<number>();
    for (let i = 0; i < 24; i++) {
      const raw = randomBytes(32); // not clamped: both clamp the same way
      const message = randomBytes(64);
      const ours = signCurve25519(raw, message);
      parities.add(ours[63]! & 0x80);
      expect(ours.equals(libsignal.calculateSignature(raw, message))).toBe(true);
    }
    // the sign bit carried in the signature was exercised both ways
    expect([...parities].sort()).toEqual([0, 0x80]);
  });

  it("installed, Baileys' Curve.sign makes credentials whose signed pre-key verifies; it refuses what libsignal refuses", () => {
    installFastSignatures();
    const creds = initAuthCreds();
    const signedPreKeyPublic = Buffer.concat([Buffer.from([5]), creds.signedPreKey.keyPair.public]);
    expect(verifyXEdDSA(creds.signedIdentityKey.public, signedPreKeyPublic, creds.signedPreKey.signature)).toBe(true);
    expect(Curve.verify(creds.signedIdentityKey.public, signedPreKeyPublic, creds.signedPreKey.signature)).toBe(true);
    // same inputs, same output as the reference
    const { privKey } = libsignal.generateKeyPair();
    const message = randomBytes(100);
    expect(Buffer.from(Curve.sign(privKey, message)).equals(libsignal.calculateSignature(privKey, message))).toBe(true);
    expect(() => Curve.sign(Buffer.alloc(31), message)).toThrow(/private key length/);
    expect(() => Curve.sign(privKey, undefined as unknown as Uint8Array)).toThrow(/Invalid message/);
  });
});

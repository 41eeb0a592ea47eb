import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { Curve } from '@whiskeysockets/baileys';
import { installStrictSignatureVerification, montgomeryToEdwards, verifyXEdDSA } from '../../src/whatsapp/trust.js';

const require = createRequire(import.meta.url);
const libsignal = require('libsignal/src/curve.js') as {
  generateKeyPair(): { pubKey: Buffer; privKey: Buffer };
  calculateSignature(priv: Buffer, msg: Buffer): Buffer;
  verifySignature(pub: Buffer, msg: Buffer, sig: Buffer): boolean;
};

/** libsignal's pure-JS verifier, the reference (it returns false, or throws, for a bad signature). */
const reference = (pub: Buffer, msg: Buffer, sig: Buffer): boolean => {
  try {
    return libsignal.verifySignature(pub, msg, sig) === true;
  } catch {
    return false;
  }
};

describe('XEdDSA verification (native Ed25519 after the Montgomery → Edwards conversion)', () => {
  it('agrees with libsignal on valid signatures, tampered messages and tampered signatures', () => {
    for (let i = 0; i < 12; i++) {
      const { pubKey, privKey } = libsignal.generateKeyPair();
      const msg = randomBytes(1 + (i % 7) * 20);
      const sig = libsignal.calculateSignature(privKey, msg);
      const raw = pubKey.subarray(1);
      expect(verifyXEdDSA(pubKey, msg, sig)).toBe(true);
      expect(verifyXEdDSA(raw, msg, sig)).toBe(true);
      expect(reference(pubKey, msg, sig)).toBe(true);

      const otherMsg = Buffer.from(msg);
      otherMsg[i % otherMsg.length]! ^= 1 << (i % 8);
      expect(verifyXEdDSA(pubKey, otherMsg, sig)).toBe(reference(pubKey, otherMsg, sig));
      expect(verifyXEdDSA(pubKey, otherMsg, sig)).toBe(false);

      for (const at of [0, 31, 32, 62, 63]) {
        const badSig = Buffer.from(sig);
        badSig[at]! ^= 1 << (i % 8);
        expect(verifyXEdDSA(pubKey, msg, badSig)).toBe(false);
        expect(reference(pubKey, msg, badSig)).toBe(false);
      }
      const otherKey = libsignal.generateKeyPair().pubKey;
      expect(verifyXEdDSA(otherKey, msg, sig)).toBe(false);
    }
  });

  it('rejects malformed input instead of throwing', () => {
    const { pubKey, privKey } = libsignal.generateKeyPair();
    const msg = randomBytes(32);
    const sig = libsignal.calculateSignature(privKey, msg);
    expect(verifyXEdDSA(pubKey.subarray(0, 20), msg, sig)).toBe(false);
    expect(verifyXEdDSA(pubKey, msg, sig.subarray(0, 63))).toBe(false);
    expect(verifyXEdDSA(Buffer.alloc(32, 0xff), msg, sig)).toBe(false);
    expect(verifyXEdDSA(Buffer.alloc(32), msg, sig)).toBe(false);
  });

  it('converts the Curve25519 base point (u = 9) to the Ed25519 base point', () => {
    const u = Buffer.alloc(32);
    u[0] = 9;
    expect(montgomeryToEdwards(u).toString('hex')).toBe('5866666666666666666666666666666666666666666666666666666666666666');
  });

  it('is what Curve.verify does once installed (Baileys signatures verify, forgeries do not)', () => {
    installStrictSignatureVerification();
    const pair = Curve.generateKeyPair();
    const msg = randomBytes(64);
    const sig = Curve.sign(pair.private, msg);
    expect(Curve.verify(pair.public, msg, sig)).toBe(true);
    expect(Curve.verify(pair.public, randomBytes(64), sig)).toBe(false);
    expect(Curve.verify(Curve.generateKeyPair().public, msg, sig)).toBe(false);
  });
});

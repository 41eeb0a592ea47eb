/**
 * Test-only hardening of Baileys 7.0.0-rc14, whose `Curve.verify` returns true for
 * any well-formed 64-byte signature (it wraps libsignal's verifySignature, which
 * returns false rather than throwing, in a try/catch). The Noise handshake calls
 * `Curve.verify(...)` through the exported `Curve` object at call time
 * (Utils/noise-handler.js imports the same object from Utils/crypto.js), so
 * replacing the property on the object the process imported makes the
 * certificate-chain check (and the pairing signature checks) real.
 */
import * as curve from 'libsignal/src/curve.js';

interface BaileysCurveHolder {
  Curve: { verify: (pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean };
  WA_CERT_DETAILS?: { PUBLIC_KEY: Uint8Array };
}

/** XEdDSA verification that really checks the signature; keys may be 32 bytes or 0x05-prefixed 33 bytes. */
export function strictVerify(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = pubKey.length === 33 ? pubKey : Buffer.concat([Buffer.from([5]), pubKey]);
    return curve.verifySignature(key, message, signature) === true;
  } catch {
    return false;
  }
}

/**
 * Replaces `Curve.verify` on the given Baileys module namespace (`import * as baileys from
 * '@whiskeysockets/baileys'`) with a strict verifier. Returns a function restoring the original.
 * Apply it to the very copy of Baileys the code under test imports.
 */
export function installStrictCertVerification(baileys: BaileysCurveHolder): () => void {
  const original = baileys.Curve.verify;
  baileys.Curve.verify = strictVerify;
  return () => {
    baileys.Curve.verify = original;
  };
}

/** Trust an emulator's root (test-only equivalent of adding a CA); returns a restore function. */
export function trustRoot(baileys: Required<Pick<BaileysCurveHolder, 'WA_CERT_DETAILS'>>, rootPublicKey: Uint8Array): () => void {
  const original = baileys.WA_CERT_DETAILS.PUBLIC_KEY;
  baileys.WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootPublicKey);
  return () => {
    baileys.WA_CERT_DETAILS.PUBLIC_KEY = original;
  };
}

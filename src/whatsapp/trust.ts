import { Curve, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { createRequire } from 'node:module';

/**
 * Baileys rc14's `Curve.verify` wraps libsignal's `verifySignature`, which *returns* false on a
 * bad signature instead of throwing, inside a try/catch that only looks for throws: every
 * well-formed signature "verifies". So the Noise certificate chain and the pairing signatures
 * are not checked at all. We replace it with a verifier that honours the result. The handshake
 * calls `Curve.verify` through the exported object, so the replacement takes effect.
 */
const require = createRequire(import.meta.url);
const libsignalCurve = require('libsignal/src/curve.js') as {
  verifySignature(pubKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
};

const KEY_BUNDLE_TYPE = 5;

function signalPublicKey(pub: Uint8Array): Buffer {
  return pub.length === 33 ? Buffer.from(pub) : Buffer.concat([Buffer.from([KEY_BUNDLE_TYPE]), Buffer.from(pub)]);
}

let strictInstalled = false;

export function installStrictSignatureVerification(): void {
  if (strictInstalled) return;
  (Curve as { verify: (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => boolean }).verify = (pub, msg, sig) => {
    try {
      return libsignalCurve.verifySignature(signalPublicKey(pub), msg, sig) === true;
    } catch {
      return false;
    }
  };
  strictInstalled = true;
}

/**
 * Trust another Noise root (an emulator's), like adding a CA. `WA_CERT_DETAILS` is the very
 * object the handshake reads. Only `config.ts` decides whether this is allowed (never for
 * WhatsApp's own URL).
 */
export function trustNoiseRoot(publicKey: Uint8Array): void {
  if (publicKey.length !== 32) throw new Error('a Noise root public key is 32 bytes');
  (WA_CERT_DETAILS as { PUBLIC_KEY: Uint8Array }).PUBLIC_KEY = publicKey;
}

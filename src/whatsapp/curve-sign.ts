import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/abstract/utils';
import { ed25519 } from '@noble/curves/ed25519';
import { Curve } from '@whiskeysockets/baileys';
import { createHash } from 'node:crypto';

/**
 * Baileys signs with libsignal's `calculateSignature`, i.e. curve25519-js's `sign`: two Ed25519
 * base-point multiplications in TweetNaCl-style pure JS, ~9 ms of CPU on the event loop. Every new
 * number pays it at `create` (its signed pre-key, in `initAuthCreds`) and again at linking (the
 * device signature): 200 creates at once were 1.8 s of a core before the first socket opened.
 *
 * This is the same deterministic signature (curve25519-js without its optional random suffix,
 * byte for byte: the unit test compares them), computed with @noble/curves' precomputed base-point
 * tables (~0.3 ms):
 *   a = clamp(k); A = a·B (its x parity is kept aside); r = SHA-512(a ‖ M) mod L; R = r·B;
 *   h = SHA-512(R ‖ A ‖ M) mod L; S = (r + h·a) mod L; signature = R ‖ S with A's x parity in its last bit.
 */
const L = ed25519.CURVE.n;
const BASE = ed25519.ExtendedPoint.BASE;

const sha512 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** curve25519-js `sign(privateKey, message)` (no random suffix): the signature libsignal's calculateSignature returns. */
export function signCurve25519(privateKey: Uint8Array, message: Uint8Array): Buffer {
  if (privateKey.length !== 32) throw new Error(`Incorrect private key length: ${privateKey.length}`);
  const a = Uint8Array.from(privateKey);
  a[0]! &= 248;
  a[31]! &= 127;
  a[31]! |= 64;
  const scalar = bytesToNumberLE(a);
  // a·B = (a mod L)·B: B's order is L (the multiplier takes scalars below L only)
  const publicKey = BASE.multiply(scalar % L).toRawBytes();
  const r = bytesToNumberLE(sha512(a, message)) % L;
  const R = BASE.multiply(r).toRawBytes();
  const h = bytesToNumberLE(sha512(R, publicKey, message)) % L;
  const signature = Buffer.alloc(64);
  signature.set(R, 0);
  signature.set(numberToBytesLE((r + h * scalar) % L, 32), 32);
  signature[63]! |= publicKey[31]! & 0x80;
  return signature;
}

let installed = false;

/**
 * Process-wide, once: Baileys' `Curve.sign` (new credentials, the device signature at linking)
 * signs through `signCurve25519`. Its checks stay libsignal's; a key or message it would refuse
 * goes to the original, which throws as before. Sender-key signatures (group sends) call libsignal
 * directly and are not changed.
 */
export function installFastSignatures(): void {
  if (installed) return;
  installed = true;
  const original = Curve.sign;
  Curve.sign = (privateKey: Uint8Array, message: Uint8Array): Buffer => {
    if (!Buffer.isBuffer(privateKey) || privateKey.length !== 32 || !message) return Buffer.from(original(privateKey, message));
    try {
      return signCurve25519(privateKey, message);
    } catch {
      // a scalar the multiplier refuses (0 mod L: never seen, 2^-250 at most): the original handles it
      return Buffer.from(original(privateKey, message));
    }
  };
}

import { Curve, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { createPublicKey, verify as nativeVerify, type KeyObject } from 'node:crypto';

/**
 * Baileys rc14's `Curve.verify` wraps libsignal's `verifySignature`, which *returns* false on a
 * bad signature instead of throwing, inside a try/catch that only looks for throws: every
 * well-formed signature "verifies". So the Noise certificate chain and the pairing signatures
 * are not checked at all. We replace it with a verifier that honours the result. The handshake
 * calls `Curve.verify` through the exported object, so the replacement takes effect.
 *
 * The check is XEdDSA (what libsignal does, in pure JS with curve25519-js: ~10 ms of CPU per
 * signature, two per connection, on the event loop): the Curve25519 key u becomes the Ed25519
 * key y = (u − 1) / (u + 1) mod 2^255 − 19 with the sign bit taken from the signature, and the
 * signature is then a plain Ed25519 one, verified natively by node:crypto (OpenSSL, tens of µs).
 * Converted keys are cached (a handful of distinct keys: the Noise roots and intermediates).
 */
const KEY_BUNDLE_TYPE = 5;
const P = (1n << 255n) - 19n;
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % P;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

/** Edwards y (32 bytes, little-endian, sign bit clear) of a Curve25519 public key u. */
export function montgomeryToEdwards(u: Uint8Array): Buffer {
  let x = 0n;
  for (let i = 31; i >= 0; i--) x = (x << 8n) | BigInt(u[i]!);
  x &= (1n << 255n) - 1n;
  const y = (((x - 1n + P) % P) * modPow((x + 1n) % P, P - 2n)) % P;
  const out = Buffer.alloc(32);
  let t = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  return out;
}

const edwardsKeys = new Map<string, Buffer>();
const keyObjects = new Map<string, KeyObject | null>();

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= 256) map.delete(map.keys().next().value as string);
  map.set(key, value);
  return value;
}

/** XEdDSA verification (libsignal's `verifySignature` semantics, without its throws): true only for a valid signature. */
export function verifyXEdDSA(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const u = publicKey.length === 33 && publicKey[0] === KEY_BUNDLE_TYPE ? publicKey.subarray(1) : publicKey;
  if (u.length !== 32 || signature.length !== 64 || !message) return false;
  const uHex = Buffer.from(u).toString('hex');
  const y = edwardsKeys.get(uHex) ?? remember(edwardsKeys, uHex, montgomeryToEdwards(u));
  const edKey = Buffer.from(y);
  edKey[31]! |= signature[63]! & 0x80;
  const edHex = edKey.toString('hex');
  let key = keyObjects.get(edHex);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, edKey]), format: 'der', type: 'spki' });
    } catch {
      key = null; // not a point on the curve
    }
    remember(keyObjects, edHex, key);
  }
  if (!key) return false;
  const sig = Buffer.from(signature);
  sig[63]! &= 0x7f;
  try {
    return nativeVerify(null, message, key, sig);
  } catch {
    return false;
  }
}

let strictInstalled = false;

export function installStrictSignatureVerification(): void {
  if (strictInstalled) return;
  (Curve as { verify: (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => boolean }).verify = (pub, msg, sig) => verifyXEdDSA(pub, msg, sig);
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

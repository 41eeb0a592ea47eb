/**
 * Companion registration crypto done by the phone and the server: QR parsing,
 * the ADV device identity sent in <pair-success>, checking the companion's
 * <pair-device-sign> answer, and the pairing-code (link_code_companion_reg) key exchange.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, pbkdf2, randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { Curve, proto } from '@whiskeysockets/baileys';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { bytes, child, node, S_WHATSAPP_NET, serverId, unixNow } from './frames.js';
import type { KeyPair } from './noise.js';
import { aesGcmDecrypt } from './noise.js';
import { verifyXEdDSA } from './signal-device.js';

const ACCOUNT_SIG_PREFIX = Buffer.from([6, 0]);
const DEVICE_SIG_PREFIX = Buffer.from([6, 1]);
const QR_URL_PREFIX = 'https://wa.me/settings/linked_devices#';

export interface ParsedQr {
  ref: string;
  noiseKey: Buffer;
  identityKey: Buffer;
  advSecret: Buffer;
  platformId: string | undefined;
}

/** `[https://wa.me/settings/linked_devices#]ref,noiseB64,identityB64,advB64[,platform]` */
export function parseQr(qr: string): ParsedQr {
  const body = qr.startsWith(QR_URL_PREFIX) ? qr.slice(QR_URL_PREFIX.length) : qr;
  const [ref, noise, identity, adv, platformId] = body.split(',');
  if (!ref || !noise || !identity || !adv) {
    throw new Error('QR string must carry ref, noise key, identity key and adv secret');
  }
  return {
    ref,
    noiseKey: Buffer.from(noise, 'base64'),
    identityKey: Buffer.from(identity, 'base64'),
    advSecret: Buffer.from(adv, 'base64'),
    platformId,
  };
}

/** The part of the QR the server knows (it never learns the adv secret, which only travels in the QR image). */
export const qrPrefix = (ref: string, noiseKey: Uint8Array, identityKey: Uint8Array): string =>
  `${QR_URL_PREFIX}${ref},${Buffer.from(noiseKey).toString('base64')},${Buffer.from(identityKey).toString('base64')}`;

export function makeRef(): string {
  return `2@${randomBytes(48).toString('base64')}`;
}

export interface PairSuccessInput {
  phone: string;
  lid: string;
  deviceId: number;
  advSecret: Uint8Array;
  /** the phone's identity key pair, which is the account signature key */
  accountKey: { public: Uint8Array; private: Uint8Array };
  companionIdentity: Uint8Array;
  /** a business account's verified name (`<biz name>`): Baileys takes it as `creds.me.name` */
  businessName?: string | undefined;
}

/** Builds `<iq><pair-success>` with an ADVSignedDeviceIdentityHMAC keyed by the companion's adv secret. */
export function buildPairSuccess(input: PairSuccessInput): { stanza: BinaryNode; deviceDetails: Uint8Array } {
  const deviceDetails = proto.ADVDeviceIdentity.encode({
    rawId: randomInt(1, 0x7fffffff),
    timestamp: Math.floor(Date.now() / 1000),
    keyIndex: input.deviceId,
  }).finish();
  const accountSignature = Curve.sign(input.accountKey.private, Buffer.concat([ACCOUNT_SIG_PREFIX, deviceDetails, input.companionIdentity]));
  const details = proto.ADVSignedDeviceIdentity.encode({
    details: deviceDetails,
    accountSignatureKey: input.accountKey.public,
    accountSignature,
  }).finish();
  const hmac = createHmac('sha256', input.advSecret).update(details).digest();
  const identity = proto.ADVSignedDeviceIdentityHMAC.encode({ details, hmac }).finish();
  const stanza = node('iq', { from: S_WHATSAPP_NET, type: 'set', id: serverId('pair'), xmlns: 'md', t: unixNow() }, [
    node('pair-success', {}, [
      node('device-identity', {}, identity),
      node('platform', { name: 'android' }),
      node('device', { jid: `${input.phone}:${input.deviceId}@s.whatsapp.net`, lid: `${input.lid}:${input.deviceId}@lid` }),
      ...(input.businessName ? [node('biz', { name: input.businessName })] : []),
    ]),
  ]);
  return { stanza, deviceDetails };
}

/** Checks the companion's signature in `<pair-device-sign>`: sign(identity, 06 01 ‖ details ‖ identity pub ‖ account key). */
export function verifyPairDeviceSign(
  reply: BinaryNode,
  expected: { deviceDetails: Uint8Array; companionIdentity: Uint8Array; accountKey: Uint8Array },
): { ok: boolean; reason?: string } {
  const identityNode = child(child(reply, 'pair-device-sign'), 'device-identity');
  const raw = bytes(identityNode);
  if (!raw) return { ok: false, reason: 'no device-identity in pair-device-sign' };
  const signed = proto.ADVSignedDeviceIdentity.decode(raw);
  if (!signed.details || !Buffer.from(signed.details).equals(Buffer.from(expected.deviceDetails))) {
    return { ok: false, reason: 'device details changed' };
  }
  if (!signed.deviceSignature) return { ok: false, reason: 'no device signature' };
  const msg = Buffer.concat([DEVICE_SIG_PREFIX, signed.details, expected.companionIdentity, expected.accountKey]);
  if (!verifyXEdDSA(expected.companionIdentity, msg, signed.deviceSignature)) {
    return { ok: false, reason: 'device signature invalid' };
  }
  return { ok: true };
}

// ---- pairing code (link_code_companion_reg) ----

const pbkdf2Async = promisify(pbkdf2);

/** PBKDF2-SHA256(code, salt, 2<<16 rounds), as Baileys' derivePairingCodeKey. */
export const pairingCodeKey = (code: string, salt: Uint8Array): Promise<Buffer> => pbkdf2Async(Buffer.from(code, 'utf8'), salt, 2 << 16, 32, 'sha256');

/** salt(32) ‖ iv(16) ‖ AES-CTR(key(code, salt), ephemeral public) */
export async function unwrapEphemeral(wrapped: Uint8Array, code: string): Promise<Buffer> {
  const buf = Buffer.from(wrapped);
  if (buf.length < 80) throw new Error('wrapped ephemeral key too short');
  const key = await pairingCodeKey(code, buf.subarray(0, 32));
  const d = createDecipheriv('aes-256-ctr', key, buf.subarray(32, 48));
  return Buffer.concat([d.update(buf.subarray(48, 80)), d.final()]);
}

export async function wrapEphemeral(publicKey: Uint8Array, code: string): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const key = await pairingCodeKey(code, salt);
  const c = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([salt, iv, c.update(publicKey), c.final()]);
}

/**
 * Opens the companion_finish key bundle and derives the adv secret the companion
 * derived on its side: HKDF(companionShared ‖ identityShared ‖ random, info "adv_secret").
 */
export function openKeyBundle(input: {
  wrappedBundle: Uint8Array;
  primaryEphemeral: KeyPair;
  companionEphemeralPublic: Uint8Array;
  primaryIdentity: { public: Uint8Array; private: Uint8Array };
}): { companionIdentity: Buffer; advSecret: Buffer } {
  const buf = Buffer.from(input.wrappedBundle);
  const companionShared = Curve.sharedKey(input.primaryEphemeral.private, input.companionEphemeralPublic);
  const key = Buffer.from(hkdfSync('sha256', companionShared, buf.subarray(0, 32), Buffer.from('link_code_pairing_key_bundle_encryption_key'), 32));
  const plain = aesGcmDecrypt(buf.subarray(44), key, buf.subarray(32, 44), Buffer.alloc(0));
  const companionIdentity = plain.subarray(0, 32);
  const primaryIdentity = plain.subarray(32, 64);
  const random = plain.subarray(64, 96);
  if (!primaryIdentity.equals(Buffer.from(input.primaryIdentity.public))) {
    throw new Error('key bundle names a different primary identity');
  }
  const identityShared = Curve.sharedKey(input.primaryIdentity.private, companionIdentity);
  const advSecret = Buffer.from(hkdfSync('sha256', Buffer.concat([companionShared, identityShared, random]), Buffer.alloc(0), Buffer.from('adv_secret'), 32));
  return { companionIdentity: Buffer.from(companionIdentity), advSecret };
}

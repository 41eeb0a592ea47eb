import { randomBytes } from 'node:crypto';
import { BufferJSON, Curve, initAuthCreds, proto, type AuthenticationCreds, type SignalDataSet } from '@whiskeysockets/baileys';

/** A session id as the backend builds them: the '+' is real. */
export const SID = 'session_6_+221771234567';

/** What Baileys writes when a phone links: `me`, a signed account identity, signal identities. */
export function linkCreds(creds: AuthenticationCreds): void {
  creds.me = { id: '221771234567:12@s.whatsapp.net', lid: '123456789012345:12@lid', name: 'Awa' };
  creds.account = proto.ADVSignedDeviceIdentity.fromObject({
    details: randomBytes(40),
    accountSignatureKey: randomBytes(32),
    accountSignature: randomBytes(64),
    deviceSignature: randomBytes(64),
  });
  creds.signalIdentities = [{ identifier: { name: '221771234567:12@s.whatsapp.net', deviceId: 0 }, identifierKey: Buffer.concat([Buffer.from([5]), randomBytes(32)]) }];
  creds.platform = 'android';
  creds.registered = true;
  creds.nextPreKeyId = 31;
  creds.firstUnuploadedPreKeyId = 31;
  creds.myAppStateKeyId = 'AAAAAFxz';
}

/** One or more keys of every Signal key type Baileys stores, Buffers and Uint8Arrays included. */
export function keysOfEveryType(): SignalDataSet {
  const preKey = Curve.generateKeyPair();
  return {
    'pre-key': { '1': preKey, '2': Curve.generateKeyPair() },
    session: { '221771234567.0': randomBytes(300), '33612345678.1': new Uint8Array(randomBytes(200)) },
    'sender-key': { '120363000000000000@g.us::221770000001::0': randomBytes(150) },
    'sender-key-memory': { '120363000000000000@g.us': { '221770000001:0@s.whatsapp.net': true } },
    'app-state-sync-key': {
      AAAAAFxz: proto.Message.AppStateSyncKeyData.fromObject({ keyData: randomBytes(32), fingerprint: { rawId: 7, currentIndex: 1, deviceIndexes: [0, 1] }, timestamp: 1_700_000_000 }),
    },
    'app-state-sync-version': {
      regular_high: { version: 12, hash: randomBytes(128), indexValueMap: { [randomBytes(32).toString('base64')]: { valueMac: randomBytes(32) } } },
    },
    'lid-mapping': { '221771234567': '123456789012345', '123456789012345_reverse': '221771234567' },
    'device-list': { '221770000001': ['0', '12'] },
    tctoken: { '221770000001@s.whatsapp.net': { token: randomBytes(24), timestamp: '1700000000' } },
    'identity-key': { '221770000001.0': Buffer.concat([Buffer.from([5]), randomBytes(32)]) },
  };
}

/** A fresh `initAuthCreds()`, linked. */
export function linkedCreds(): AuthenticationCreds {
  const creds = initAuthCreds();
  linkCreds(creds);
  return creds;
}

/** Byte-exact, type-aware comparison form (Buffers and Uint8Arrays compare by content). */
export function canonical(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, BufferJSON.replacer));
}

/** The private key material of a creds object, as raw bytes. */
export function credsSecrets(creds: AuthenticationCreds): Array<[string, Buffer]> {
  return [
    ['noiseKey.private', Buffer.from(creds.noiseKey.private)],
    ['signedIdentityKey.private', Buffer.from(creds.signedIdentityKey.private)],
    ['signedPreKey.keyPair.private', Buffer.from(creds.signedPreKey.keyPair.private)],
    ['pairingEphemeralKeyPair.private', Buffer.from(creds.pairingEphemeralKeyPair.private)],
    ['advSecretKey', Buffer.from(creds.advSecretKey, 'base64')],
  ];
}

/** Every encoding of a secret that a careless store could leave on disk. */
export function encodingsOf(secret: Buffer): Buffer[] {
  return [secret, Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex')), Buffer.from(secret.toString('base64url'))];
}

/**
 * Server side of WhatsApp Web's Noise_XX_25519_AESGCM_SHA256 handshake, plus the
 * certificate chain the server presents. Mirrors Baileys' Utils/noise-handler.js
 * from the responder's point of view.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { Curve, NOISE_MODE, NOISE_WA_HEADER, proto } from '@whiskeysockets/baileys';

export interface KeyPair {
  public: Uint8Array;
  private: Uint8Array;
}

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** 12-byte GCM nonce: 8 zero bytes then the big-endian counter. */
const counterIv = (counter: number): Buffer => {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
};

export const aesGcmEncrypt = (plain: Uint8Array, key: Uint8Array, iv: Uint8Array, aad: Uint8Array): Buffer => {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
};

export const aesGcmDecrypt = (data: Uint8Array, key: Uint8Array, iv: Uint8Array, aad: Uint8Array): Buffer => {
  const buf = Buffer.from(data);
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(buf.subarray(buf.length - 16));
  return Buffer.concat([d.update(buf.subarray(0, buf.length - 16)), d.final()]);
};

const hkdf64 = (ikm: Uint8Array, salt: Uint8Array): [Buffer, Buffer] => {
  const out = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.alloc(0), 64));
  return [out.subarray(0, 32), out.subarray(32)];
};

/**
 * Noise certificate chain: root (trust anchor, never sent) -> intermediate -> leaf.
 * The client checks the leaf against the intermediate's key, the intermediate
 * against WA_CERT_DETAILS.PUBLIC_KEY, and that the intermediate's issuerSerial is 0.
 */
export function makeCertChain(root: KeyPair, serverStaticPublic: Uint8Array): Uint8Array {
  const Details = proto.CertChain.NoiseCertificate.Details;
  const now = Math.floor(Date.now() / 1000);
  const intermediate = Curve.generateKeyPair();
  const intermediateDetails = Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
    notBefore: now - 3600,
    notAfter: now + 10 * 365 * 86400,
  }).finish();
  const leafDetails = Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStaticPublic,
    notBefore: now - 3600,
    notAfter: now + 365 * 86400,
  }).finish();
  return proto.CertChain.encode({
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
  }).finish();
}

/** Symmetric transport after the handshake; the server encrypts with the second HKDF half. */
export class NoiseTransport {
  private readCounter = 0;
  private writeCounter = 0;
  constructor(
    private readonly encKey: Uint8Array,
    private readonly decKey: Uint8Array,
  ) {}
  encrypt(plain: Uint8Array): Buffer {
    return aesGcmEncrypt(plain, this.encKey, counterIv(this.writeCounter++), Buffer.alloc(0));
  }
  decrypt(cipher: Uint8Array): Buffer {
    return aesGcmDecrypt(cipher, this.decKey, counterIv(this.readCounter++), Buffer.alloc(0));
  }
}

export interface HandshakeResult {
  clientStaticPublic: Buffer;
  clientPayload: proto.ClientPayload;
  transport: NoiseTransport;
}

/** One responder handshake; create one per connection. */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private readonly ephemeral: KeyPair = Curve.generateKeyPair();
  private clientEphemeral: Buffer | undefined;

  constructor(
    private readonly serverStatic: KeyPair,
    private readonly certChain: Uint8Array,
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(NOISE_WA_HEADER);
  }

  private authenticate(data: Uint8Array): void {
    this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  private mixIntoKey(dh: Uint8Array): void {
    const [write, read] = hkdf64(dh, this.salt);
    this.salt = write;
    this.key = read;
    this.counter = 0;
  }

  private encrypt(plain: Uint8Array): Buffer {
    const out = aesGcmEncrypt(plain, this.key, counterIv(this.counter++), this.hash);
    this.authenticate(out);
    return out;
  }

  private decrypt(cipher: Uint8Array): Buffer {
    const out = aesGcmDecrypt(cipher, this.key, counterIv(this.counter++), this.hash);
    this.authenticate(cipher);
    return out;
  }

  /** Consumes the client's HandshakeMessage{clientHello}; returns the encoded serverHello. */
  respondToHello(frame: Uint8Array): Uint8Array {
    const msg = proto.HandshakeMessage.decode(frame);
    const eph = msg.clientHello?.ephemeral;
    if (!eph || eph.length !== 32) throw new Error('clientHello without a 32-byte ephemeral');
    this.clientEphemeral = Buffer.from(eph);
    this.authenticate(this.clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, this.clientEphemeral));
    const staticEnc = this.encrypt(this.serverStatic.public);
    this.mixIntoKey(Curve.sharedKey(this.serverStatic.private, this.clientEphemeral));
    const payloadEnc = this.encrypt(this.certChain);
    return proto.HandshakeMessage.encode({
      serverHello: { ephemeral: this.ephemeral.public, static: staticEnc, payload: payloadEnc },
    }).finish();
  }

  /** Consumes HandshakeMessage{clientFinish}; returns the client's static key, ClientPayload and transport. */
  finish(frame: Uint8Array): HandshakeResult {
    const msg = proto.HandshakeMessage.decode(frame);
    const fin = msg.clientFinish;
    if (!fin?.static || !fin.payload) throw new Error('clientFinish missing static/payload');
    const clientStaticPublic = this.decrypt(fin.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStaticPublic));
    const clientPayload = proto.ClientPayload.decode(this.decrypt(fin.payload));
    const [clientWrite, clientRead] = hkdf64(Buffer.alloc(0), this.salt);
    // the client encrypts with the first half, so the server decrypts with it
    return { clientStaticPublic, clientPayload, transport: new NoiseTransport(clientRead, clientWrite) };
  }
}

/**
 * An emulated Signal device (an account's phone, or a contact) built on the same
 * `libsignal` package Baileys uses, with in-memory storage. Sessions are keyed by
 * the remote device's identity key, never by the PN/LID address on the wire, so a
 * peer that is addressed by PN in one stanza and by LID in the next keeps one session.
 */
import * as libsignal from 'libsignal';
import type { SessionRecord, SignalStorage } from 'libsignal';
import * as curve from 'libsignal/src/curve.js';

export interface SignalKeyPair {
  /** 33 bytes, 0x05-prefixed (libsignal's format) */
  pubKey: Buffer;
  privKey: Buffer;
}

/** What a `<key>` fetch returns / what a registration carries; keys are 32 bytes (no 0x05 prefix). */
export interface PreKeyBundle {
  registrationId: number;
  identityKey: Uint8Array;
  signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array };
  preKey?: { keyId: number; publicKey: Uint8Array };
}

export type EncType = 'pkmsg' | 'msg';

const prefixed = (k: Uint8Array): Buffer => (k.length === 33 ? Buffer.from(k) : Buffer.concat([Buffer.from([5]), k]));
export const unprefixed = (k: Uint8Array): Buffer => (k.length === 33 ? Buffer.from(k.subarray(1)) : Buffer.from(k));

const toKeyPair = (kp: { pubKey: Uint8Array; privKey: Uint8Array }): SignalKeyPair => ({
  pubKey: Buffer.from(kp.pubKey),
  privKey: Buffer.from(kp.privKey),
});

/** Strict XEdDSA verification (libsignal's verify really checks; Baileys rc14's Curve.verify does not). */
export function verifyXEdDSA(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return curve.verifySignature(prefixed(publicKey), message, signature) === true;
  } catch {
    return false;
  }
}

/** Address name for a remote device: derived from its identity key. */
export const identityAddress = (identityKey: Uint8Array): libsignal.ProtocolAddress =>
  new libsignal.ProtocolAddress(`id${unprefixed(identityKey).toString('hex').slice(0, 40)}`, 1);

export class SignalDevice {
  readonly identity: SignalKeyPair = toKeyPair(curve.generateKeyPair());
  readonly registrationId: number = (Math.floor(Math.random() * 0x3ffe) + 1) & 0x3fff;
  private readonly signedPreKeyPair: SignalKeyPair = toKeyPair(curve.generateKeyPair());
  private signedPreKeySigned: { keyId: number; keyPair: SignalKeyPair; signature: Buffer } | undefined;
  private readonly preKeys = new Map<number, SignalKeyPair>();
  private nextPreKeyId = 1;
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly storage: SignalStorage;

  constructor() {
    this.storage = {
      loadSession: async (id) => this.sessions.get(id),
      storeSession: async (id, record) => {
        this.sessions.set(id, record);
      },
      isTrustedIdentity: () => true,
      loadPreKey: async (id) => this.preKeys.get(Number(id)),
      removePreKey: (id) => {
        this.preKeys.delete(Number(id));
      },
      loadSignedPreKey: () => this.signedPreKeyPair,
      getOurRegistrationId: () => this.registrationId,
      getOurIdentity: () => this.identity,
    };
  }

  /**
   * Signed on first use: the signature is a pure-JS curve25519 operation (libsignal's
   * curve25519-js, ~10 ms), and most accounts' phones are never asked for their bundle; making
   * thousands of accounts (the scale bench) would otherwise spend most of its time here.
   */
  get signedPreKey(): { keyId: number; keyPair: SignalKeyPair; signature: Buffer } {
    this.signedPreKeySigned ??= {
      keyId: 1,
      keyPair: this.signedPreKeyPair,
      signature: Buffer.from(curve.calculateSignature(this.identity.privKey, this.signedPreKeyPair.pubKey)),
    };
    return this.signedPreKeySigned;
  }

  /** 32-byte identity public key (the wire format). */
  get identityPublic(): Buffer {
    return unprefixed(this.identity.pubKey);
  }

  /** Raw (Baileys-style) identity key pair, e.g. to use as an ADV account signature key. */
  get identityRaw(): { public: Buffer; private: Buffer } {
    return { public: this.identityPublic, private: this.identity.privKey };
  }

  /** Bundle for a `<key>` fetch. Each one-time prekey is handed out exactly once. */
  takeBundle(): PreKeyBundle {
    const keyId = this.nextPreKeyId++;
    const kp = toKeyPair(curve.generateKeyPair());
    this.preKeys.set(keyId, kp);
    return {
      registrationId: this.registrationId,
      identityKey: this.identityPublic,
      signedPreKey: {
        keyId: this.signedPreKey.keyId,
        publicKey: unprefixed(this.signedPreKey.keyPair.pubKey),
        signature: this.signedPreKey.signature,
      },
      preKey: { keyId, publicKey: unprefixed(kp.pubKey) },
    };
  }

  async hasSession(remoteIdentity: Uint8Array): Promise<boolean> {
    const rec = this.sessions.get(identityAddress(remoteIdentity).toString());
    return !!rec && rec.haveOpenSession();
  }

  /** Drops the session with a remote device, so the next encrypt starts a new one (a retry receipt with keys asks for that). */
  forgetSession(remoteIdentity: Uint8Array): void {
    this.sessions.delete(identityAddress(remoteIdentity).toString());
  }

  /** Encrypts to the device owning `remote.identityKey`, building a session from the bundle if needed. */
  async encrypt(remote: PreKeyBundle, plaintext: Uint8Array): Promise<{ type: EncType; ciphertext: Buffer }> {
    const addr = identityAddress(remote.identityKey);
    if (!(await this.hasSession(remote.identityKey))) {
      const builder = new libsignal.SessionBuilder(this.storage, addr);
      const session = {
        registrationId: remote.registrationId,
        identityKey: prefixed(remote.identityKey),
        signedPreKey: {
          keyId: remote.signedPreKey.keyId,
          publicKey: prefixed(remote.signedPreKey.publicKey),
          signature: remote.signedPreKey.signature,
        },
        // libsignal's typings require a preKey, its code does not: sessions may use the signed prekey alone
        preKey: remote.preKey ? { keyId: remote.preKey.keyId, publicKey: prefixed(remote.preKey.publicKey) } : (undefined as never),
      };
      await builder.initOutgoing(session);
    }
    const cipher = new libsignal.SessionCipher(this.storage, addr);
    const { type, body } = await cipher.encrypt(plaintext);
    return { type: type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(body, 'binary') };
  }

  /** Decrypts a message from the device owning `remoteIdentity`. */
  async decrypt(remoteIdentity: Uint8Array, type: EncType, ciphertext: Uint8Array): Promise<Buffer> {
    const cipher = new libsignal.SessionCipher(this.storage, identityAddress(remoteIdentity));
    const out = type === 'pkmsg' ? await cipher.decryptPreKeyWhisperMessage(ciphertext) : await cipher.decryptWhisperMessage(ciphertext);
    return Buffer.from(out);
  }
}

/**
 * The sender identity inside a pkmsg (PreKeyWhisperMessage field 4), so that the
 * emulator can key the session by identity even before decrypting.
 */
export function identityFromPkmsg(ciphertext: Uint8Array): Buffer | undefined {
  // byte 0 is the version; then protobuf: 1 registrationId? 5 registrationId, 1 preKeyId, 6 signedPreKeyId, 2 baseKey, 3 identityKey, 4 message
  let i = 1;
  const buf = Buffer.from(ciphertext);
  const readVarint = (): number => {
    let shift = 0;
    let result = 0;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error('truncated varint');
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
    }
  };
  try {
    while (i < buf.length) {
      const key = readVarint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) {
        readVarint();
      } else if (wire === 2) {
        const len = readVarint();
        const val = buf.subarray(i, i + len);
        i += len;
        if (field === 3) return Buffer.from(val);
      } else {
        return undefined;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { WorkerError } from '../util/errors.js';

/**
 * Every stored object goes through a codec. With a key: AES-256-GCM, a fresh 12-byte IV per
 * object, and a header naming the key id, so keys can be rotated (old objects stay readable with
 * a previous key; new writes use the current one). Without a key: plaintext with its own header,
 * so that neither kind is ever mistaken for the other.
 *
 *   encrypted: "WAE1" | keyIdLen (1) | keyId | iv (12) | tag (16) | ciphertext
 *   plain:     "WAP1" | data
 */
const ENCRYPTED = Buffer.from('WAE1');
const PLAIN = Buffer.from('WAP1');

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface Codec {
  readonly encrypted: boolean;
  encode(plain: Buffer): Buffer;
  /** `legacy` is true when the object was not written with the current key (plaintext, or an old key): rewrite it. */
  decode(stored: Buffer, what: string): { data: Buffer; legacy: boolean };
}

/** 64 hex characters or base64 of exactly 32 bytes. */
export function parseEncryptionKey(raw: string, name = 'SESSION_ENCRYPTION_KEY'): EncryptionKey {
  const text = raw.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text, 'base64');
    if (decoded.length === 32) key = decoded;
  }
  if (!key) throw new WorkerError('INVALID_COMMAND', `${name} must be 32 bytes given as 64 hex characters or base64`);
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
}

export function createCodec(current: EncryptionKey | undefined, previous: EncryptionKey[] = []): Codec {
  const byId = new Map([...previous, ...(current ? [current] : [])].map((k) => [k.id, k]));
  return {
    encrypted: !!current,
    encode(plain) {
      if (!current) return Buffer.concat([PLAIN, plain]);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      const id = Buffer.from(current.id, 'utf8');
      return Buffer.concat([ENCRYPTED, Buffer.from([id.length]), id, iv, cipher.getAuthTag(), body]);
    },
    decode(stored, what) {
      const magic = stored.subarray(0, 4);
      if (magic.equals(PLAIN)) return { data: stored.subarray(4), legacy: !!current };
      if (!magic.equals(ENCRYPTED)) throw new WorkerError('DECRYPTION_FAILED', `${what}: not a wa-worker object (unknown header)`);
      const idLen = stored[4]!;
      const keyId = stored.subarray(5, 5 + idLen).toString('utf8');
      const key = byId.get(keyId);
      if (!key) {
        throw new WorkerError(
          'DECRYPTION_FAILED',
          current
            ? `${what} is encrypted with key ${keyId}, which is neither SESSION_ENCRYPTION_KEY (${current.id}) nor in SESSION_ENCRYPTION_PREVIOUS_KEYS`
            : `${what} is encrypted (key ${keyId}) but no SESSION_ENCRYPTION_KEY is configured`,
        );
      }
      const at = 5 + idLen;
      const iv = stored.subarray(at, at + 12);
      const tag = stored.subarray(at + 12, at + 28);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
        decipher.setAuthTag(tag);
        const data = Buffer.concat([decipher.update(stored.subarray(at + 28)), decipher.final()]);
        return { data, legacy: key !== current };
      } catch (err) {
        throw new WorkerError('DECRYPTION_FAILED', `${what} failed authentication with key ${keyId}: wrong key or tampered data`, { cause: err });
      }
    },
  };
}

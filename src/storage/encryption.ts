import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { WorkerError } from '../util/errors.js';

/**
 * Every stored object goes through a codec, which frames it with a small versioned header:
 *
 *   encrypted: "WAW" 'E' | version (1) | keyIdLength (1) | keyId (ASCII) | iv (12) | tag (16) | ciphertext
 *   plaintext: "WAW" 'P' | version (1) | data
 *
 * With a key: AES-256-GCM, a fresh random 12-byte IV per object. The header AND the object's
 * storage key are authenticated (GCM additional data), so neither the key id nor the object's
 * location can be swapped: copying session A's credentials over session B's fails to decrypt
 * instead of silently handing B's worker A's identity.
 * Keys rotate through a keyring: new writes use `current`; objects written under a `previous`
 * key stay readable and are reported as `stale` so that the caller rewrites them.
 * Without a key: plaintext, but still framed, so that an encrypted store read without a key
 * (and a plaintext store read with one) fails clearly instead of yielding garbage.
 */
const MAGIC = Buffer.from('WAW');
const KIND_ENCRYPTED = 0x45; // 'E'
const KIND_PLAIN = 0x50; // 'P'
const VERSION = 1;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_ENV = 'SESSION_ENCRYPTION_KEY';
const PREVIOUS_ENV = 'SESSION_ENCRYPTION_PREVIOUS_KEYS';
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface EncryptionKey {
  /** Written in each object's header; at most 64 characters of [A-Za-z0-9._-]. */
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

export interface Keyring {
  current: EncryptionKey;
  /** Older keys, still accepted for reading while their objects are rewritten. */
  previous?: EncryptionKey[];
}

export interface Decoded {
  data: Buffer;
  /** Not written with the current key (an older key, or plaintext under `acceptPlaintext`): rewrite it. */
  stale: boolean;
}

export interface Codec {
  readonly encrypted: boolean;
  /** The id new objects are written with (undefined: plaintext). */
  readonly keyId: string | undefined;
  /** `context` is the object's storage key: authenticated, so the object cannot be moved. */
  encode(plain: Buffer, context: string): Buffer;
  /** Throws WorkerError('DECRYPTION_FAILED') with a message naming `context`, never returns garbage. */
  decode(stored: Buffer, context: string): Decoded;
}

/** The key id derived from a key: the first 8 hex digits of its SHA-256 (reveals nothing useful). */
export function deriveKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Parses a key given as 64 hex characters or as base64 (or base64url) of exactly 32 bytes,
 * optionally prefixed by an explicit id: `<id>:<key>`. Throws WorkerError('INVALID_CONFIG')
 * naming the setting (`name`), never echoing the value.
 */
export function parseEncryptionKey(raw: string, name = KEY_ENV): EncryptionKey {
  let text = raw.trim();
  let id: string | undefined;
  const colon = text.indexOf(':');
  if (colon >= 0) {
    id = text.slice(0, colon);
    text = text.slice(colon + 1);
    if (!KEY_ID_PATTERN.test(id)) throw new WorkerError('INVALID_CONFIG', `${name}: a key id (before ':') must be 1 to 64 characters of [A-Za-z0-9._-]`);
  }
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(text)) {
    const decoded = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (decoded.length === 32) key = decoded;
  }
  if (!key) {
    throw new WorkerError('INVALID_CONFIG', `${name} must be a 32-byte key given as 64 hex characters or as base64 (e.g. \`openssl rand -hex 32\`), optionally prefixed by "<id>:"`);
  }
  return { id: id ?? deriveKeyId(key), key };
}

/** A keyring from the settings' raw strings; undefined without a current key (plaintext). */
export function parseKeyring(current: string | undefined, previous: readonly string[] = []): Keyring | undefined {
  const prev = previous.map((k, i) => parseEncryptionKey(k, `${PREVIOUS_ENV}[${i}]`));
  if (!current?.trim()) {
    if (prev.length > 0) throw new WorkerError('INVALID_CONFIG', `${PREVIOUS_ENV} is set but ${KEY_ENV} is not: previous keys need a current one`);
    return undefined;
  }
  return { current: parseEncryptionKey(current, KEY_ENV), previous: prev };
}

export interface CodecOptions {
  /**
   * Accept plaintext objects although a key is configured (reported stale, so rewritten
   * encrypted): only for migrating a store that ran without a key. Off by default, because a
   * plaintext object appearing in an encrypted store is otherwise an injected one.
   */
  acceptPlaintext?: boolean;
}

/** The codec for a keyring, or the plaintext pass-through when there is none. */
export function createCodec(keyring: Keyring | undefined, opts: CodecOptions = {}): Codec {
  return keyring ? encryptingCodec(keyring, opts) : plaintextCodec();
}

export function plaintextCodec(): Codec {
  const header = Buffer.concat([MAGIC, Buffer.from([KIND_PLAIN, VERSION])]);
  return {
    encrypted: false,
    keyId: undefined,
    encode: (plain) => Buffer.concat([header, plain]),
    decode(stored, context) {
      const kind = readKind(stored, context);
      if (kind === KIND_PLAIN) return { data: stored.subarray(header.length), stale: false };
      const keyId = readKeyId(stored, context);
      throw new WorkerError('DECRYPTION_FAILED', `${context} is encrypted (key id ${keyId}) but no ${KEY_ENV} is configured`);
    },
  };
}

function encryptingCodec(keyring: Keyring, opts: CodecOptions): Codec {
  const { current } = keyring;
  const byId = new Map<string, EncryptionKey>();
  for (const k of [current, ...(keyring.previous ?? [])]) {
    if (!KEY_ID_PATTERN.test(k.id)) throw new WorkerError('INVALID_CONFIG', `encryption key id ${JSON.stringify(k.id)} must be 1 to 64 characters of [A-Za-z0-9._-]`);
    if (k.key.length !== 32) throw new WorkerError('INVALID_CONFIG', `encryption key ${k.id} is not 32 bytes`);
    const known = byId.get(k.id);
    if (known && !known.key.equals(k.key)) throw new WorkerError('INVALID_CONFIG', `two different encryption keys share the id ${k.id}`);
    byId.set(k.id, known ?? k);
  }
  const currentId = Buffer.from(current.id, 'ascii');
  const currentHeader = Buffer.concat([MAGIC, Buffer.from([KIND_ENCRYPTED, VERSION, currentId.length]), currentId]);
  const plainHeaderLength = MAGIC.length + 2;

  return {
    encrypted: true,
    keyId: current.id,
    encode(plain, context) {
      const iv = randomBytes(IV_LENGTH);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(additionalData(currentHeader, context));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([currentHeader, iv, cipher.getAuthTag(), body]);
    },
    decode(stored, context) {
      const kind = readKind(stored, context);
      if (kind === KIND_PLAIN) {
        if (opts.acceptPlaintext) return { data: stored.subarray(plainHeaderLength), stale: true };
        throw new WorkerError(
          'DECRYPTION_FAILED',
          `${context} is stored unencrypted but ${KEY_ENV} is set: it was written without a key (or injected); refusing it`,
        );
      }
      const keyId = readKeyId(stored, context);
      const headerLength = plainHeaderLength + 1 + Buffer.byteLength(keyId, 'ascii');
      const key = byId.get(keyId);
      if (!key) {
        throw new WorkerError(
          'DECRYPTION_FAILED',
          `${context} is encrypted with key id ${keyId}, which is neither ${KEY_ENV} (key id ${current.id}) nor one of ${PREVIOUS_ENV}`,
        );
      }
      if (stored.length < headerLength + IV_LENGTH + TAG_LENGTH) throw truncated(context);
      const iv = stored.subarray(headerLength, headerLength + IV_LENGTH);
      const tag = stored.subarray(headerLength + IV_LENGTH, headerLength + IV_LENGTH + TAG_LENGTH);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
        decipher.setAAD(additionalData(stored.subarray(0, headerLength), context));
        decipher.setAuthTag(tag);
        const data = Buffer.concat([decipher.update(stored.subarray(headerLength + IV_LENGTH + TAG_LENGTH)), decipher.final()]);
        return { data, stale: key.id !== current.id };
      } catch (err) {
        throw new WorkerError(
          'DECRYPTION_FAILED',
          `${context} failed authentication under key id ${keyId}: the key is wrong (same id, different key?), or the object was altered or moved`,
          { cause: err },
        );
      }
    },
  };
}

/** The header plus the object's location: both are bound to the ciphertext. */
function additionalData(header: Buffer, context: string): Buffer {
  return Buffer.concat([header, Buffer.from([0]), Buffer.from(context, 'utf8')]);
}

function readKind(stored: Buffer, context: string): number {
  if (stored.length < MAGIC.length + 2 || !stored.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new WorkerError('DECRYPTION_FAILED', `${context} is not a wa-worker object (unknown header)`);
  }
  const kind = stored[MAGIC.length];
  const version = stored[MAGIC.length + 1];
  if ((kind !== KIND_ENCRYPTED && kind !== KIND_PLAIN) || version !== VERSION) {
    throw new WorkerError('DECRYPTION_FAILED', `${context} has an unsupported header (kind ${kind}, version ${version}): written by a newer wa-worker?`);
  }
  return kind;
}

function readKeyId(stored: Buffer, context: string): string {
  const at = MAGIC.length + 2;
  const length = stored[at];
  if (length === undefined || stored.length < at + 1 + length) throw truncated(context);
  return stored.subarray(at + 1, at + 1 + length).toString('ascii');
}

function truncated(context: string): WorkerError {
  return new WorkerError('DECRYPTION_FAILED', `${context} is truncated`);
}

/**
 * Secrets out of log records, at any depth. pino's own `redact` takes paths (`*.creds` is one
 * level deep), and Baileys logs whole objects (a socket's `creds`, a message with its
 * `mediaKey`) at whatever depth they sit. So every record is walked, by key name, with bounds:
 * depth and node caps (what lies beyond them is replaced, never printed unexamined), cycles
 * safe, and copy-on-write (a record without secrets is returned as is, unallocated).
 */

export const REDACTED = '[redacted]';

/**
 * Key names (compared case-insensitively) whose values are credentials, or content that has no
 * business in a log:
 *  - QR strings and pairing codes: credentials for a minute.
 *  - Baileys' creds and Signal keys: credentials for ever (`creds`, `keys`, `privKey`, `private`,
 *    `noiseKey`, `signedIdentityKey`, `signedPreKey`, `pairingEphemeralKeyPair`, `advSecretKey`,
 *    app-state `keyData`, the media `encKey`/`macKey`, a message's `messageSecret`).
 *  - Service credentials: passwords, S3 `accessKey`/`secretKey`, `authorization`, cookies,
 *    tokens, the storage `encryptionKey`s, a number's `proxy` URL (it may carry a password; what
 *    is meant to be shown of it is `redactProxyUrl`'s, under another name).
 *  - `base64`: a send_message's media, private content and megabytes of noise.
 * Numbers and booleans under these names stay (`keys: 42` is a count, not a key).
 */
export const SECRET_KEYS: readonly string[] = [
  'qr',
  'qrCode',
  'qrString',
  'pairingCode',
  'creds',
  'keys',
  'privKey',
  'private',
  'noiseKey',
  'signedIdentityKey',
  'signedPreKey',
  'pairingEphemeralKeyPair',
  'advSecretKey',
  'keyData',
  'encKey',
  'macKey',
  'messageSecret',
  'password',
  'secretKey',
  'accessKey',
  'secretAccessKey',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'encryptionKey',
  'previousEncryptionKeys',
  'proxy',
  'proxyUrl',
  'base64',
];
const SECRET = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));

/**
 * `mediaKey` means two things here. In our commands and records it is a media STORE key
 * (`media/<sessionId>/images/<id>.jpg`): a name, useful in a log. In a WhatsApp message it is
 * the 32-byte key that decrypts the file on WhatsApp's CDN (bytes, or their base64): a secret.
 * So it is redacted unless it reads as a store key.
 */
const isSecretMediaKey = (value: unknown) => !(typeof value === 'string' && value.startsWith('media/'));

/** Deeper than any record we write (Baileys' nodes reach about 8); beyond it, nothing is printed unexamined. */
export const MAX_REDACT_DEPTH = 16;
/** Objects and arrays examined per record. */
export const MAX_REDACT_NODES = 5000;
const TOO_DEEP = '[redaction: too deep]';
const TOO_LARGE = '[redaction: too large]';
const CIRCULAR = '[Circular]';

interface WalkState {
  nodes: number;
  /** object → its redacted form (IN_PROGRESS while its children are walked: a cycle). */
  seen: Map<object, unknown>;
}
const IN_PROGRESS = Symbol('in progress');

/**
 * `value` with every secret replaced by REDACTED, at any depth; `value` itself when it holds
 * none. Never throws: a record that cannot be walked (a getter that throws) is replaced whole.
 */
export function redactSecrets<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  try {
    return visit(value, 0, { nodes: 0, seen: new Map() }) as T;
  } catch (err) {
    return { redactionFailed: err instanceof Error ? err.message.slice(0, 200) : 'unknown error' } as T;
  }
}

function redactedValue(key: string, value: unknown): boolean {
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return false;
  const lower = key.toLowerCase();
  if (lower === 'mediakey') return isSecretMediaKey(value);
  return SECRET.has(lower);
}

function visit(value: unknown, depth: number, state: WalkState): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = state.seen.get(value);
  if (known !== undefined) return known === IN_PROGRESS ? CIRCULAR : known;
  // Bytes, dates and anything with its own JSON form (Buffer, Long) are printed by their
  // toJSON, not by their keys; a secret among them is caught by the key it sits under.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Map || value instanceof Set) return value;
  if (!(value instanceof Error) && typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (depth >= MAX_REDACT_DEPTH) return TOO_DEEP;
  if (++state.nodes > MAX_REDACT_NODES) return TOO_LARGE;

  state.seen.set(value, IN_PROGRESS);
  let result: unknown;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = visit(item, depth + 1, state);
      if (next !== item) {
        copy ??= value.slice();
        copy[i] = next;
      }
    }
    result = copy ?? value;
  } else if (value instanceof Error) {
    result = visitError(value, depth, state);
  } else {
    let copy: Record<string, unknown> | undefined;
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const item = obj[key];
      const next = redactedValue(key, item) ? REDACTED : visit(item, depth + 1, state);
      if (next !== item) {
        copy ??= { ...obj };
        copy[key] = next;
      }
    }
    result = copy ?? value;
  }
  state.seen.set(value, result);
  return result;
}

/**
 * An Error keeps its class, message and stack (pino's serializer prints them); its enumerable
 * fields and its `cause` are walked like any object, and a copy is made only when one of them
 * holds a secret.
 */
function visitError(err: Error, depth: number, state: WalkState): Error {
  const fields = err as unknown as Record<string, unknown>;
  const changes = new Map<string, unknown>();
  for (const key of Object.keys(err)) {
    const item = fields[key];
    const next = redactedValue(key, item) ? REDACTED : visit(item, depth + 1, state);
    if (next !== item) changes.set(key, next);
  }
  // `new Error(msg, { cause })` makes a non-enumerable own `cause`: walked too (pino prints its message).
  const causeProp = Object.getOwnPropertyDescriptor(err, 'cause');
  const hiddenCause = causeProp !== undefined && !causeProp.enumerable && 'value' in causeProp;
  const cause: unknown = hiddenCause ? visit(causeProp.value, depth + 1, state) : undefined;
  if (changes.size === 0 && (!hiddenCause || cause === causeProp.value)) return err;

  const copy = Object.create(Object.getPrototypeOf(err) as object | null) as Record<string, unknown>;
  for (const prop of ['message', 'stack', 'name'] as const) {
    if (Object.hasOwn(err, prop)) Object.defineProperty(copy, prop, { value: err[prop], writable: true, configurable: true, enumerable: false });
  }
  if (hiddenCause) Object.defineProperty(copy, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  for (const key of Object.keys(err)) copy[key] = changes.has(key) ? changes.get(key) : fields[key];
  return copy as unknown as Error;
}

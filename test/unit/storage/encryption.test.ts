import { randomBytes } from 'node:crypto';
import { createCodec, deriveKeyId, parseEncryptionKey, parseKeyring, plaintextCodec } from '../../../src/storage/encryption.js';

const KEY = 'sessions/s/auth/snapshot/000000000001';
const hex = randomBytes(32).toString('hex');
const A = parseEncryptionKey(randomBytes(32).toString('hex'));
const B = parseEncryptionKey(randomBytes(32).toString('base64'));

describe('parseEncryptionKey', () => {
  it('accepts 64 hex characters, base64 and base64url of 32 bytes, and an explicit "<id>:" prefix', () => {
    const raw = randomBytes(32);
    for (const text of [raw.toString('hex'), raw.toString('hex').toUpperCase(), raw.toString('base64'), raw.toString('base64url'), `  ${raw.toString('base64')}\n`]) {
      const key = parseEncryptionKey(text);
      expect(key.key.equals(raw)).toBe(true);
      expect(key.id).toBe(deriveKeyId(raw));
      expect(key.id).toMatch(/^[0-9a-f]{8}$/);
    }
    expect(parseEncryptionKey(`2026-q1:${raw.toString('hex')}`)).toMatchObject({ id: '2026-q1' });
  });

  it.each(['', 'secret', hex.slice(2), `${hex}00`, randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), 'g'.repeat(64), 'bad id!:' + hex])(
    'rejects %j with an error naming the setting and not echoing it',
    (text) => {
      let error: unknown;
      try {
        parseEncryptionKey(text);
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('SESSION_ENCRYPTION_KEY') });
      if (text.length > 8) expect((error as Error).message).not.toContain(text);
    },
  );

  it('builds a keyring from the settings and names the faulty previous key', () => {
    expect(parseKeyring(undefined)).toBeUndefined();
    expect(parseKeyring(hex, [B.key.toString('hex')])).toMatchObject({ current: { id: deriveKeyId(Buffer.from(hex, 'hex')) }, previous: [{ id: B.id }] });
    expect(() => parseKeyring(hex, ['nope'])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('SESSION_ENCRYPTION_PREVIOUS_KEYS[0]') }));
    expect(() => parseKeyring(undefined, [hex])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('codec', () => {
  const plain = Buffer.from('{"noiseKey":"very secret"}');

  it('encrypts with a fresh IV each time, and decrypts', () => {
    const codec = createCodec({ current: A });
    const one = codec.encode(plain, KEY);
    const two = codec.encode(plain, KEY);
    expect(one.equals(two)).toBe(false);
    expect(one.includes(plain)).toBe(false);
    expect(one.subarray(0, 4).toString()).toBe('WAWE');
    expect(one.includes(Buffer.from(A.id))).toBe(true); // the header names the key
    expect(codec.decode(one, KEY)).toEqual({ data: plain, stale: false });
  });

  it('a wrong key fails clearly (DECRYPTION_FAILED), never returns garbage', () => {
    const stored = createCodec({ current: A }).encode(plain, KEY);
    expect(() => createCodec({ current: B }).decode(stored, KEY)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED', message: expect.stringMatching(new RegExp(`key id ${A.id}.*SESSION_ENCRYPTION_KEY \\(key id ${B.id}\\)`)) }),
    );
    // Same id, different key (a mistyped key with an explicit id): the tag check catches it.
    const impostor = { id: A.id, key: randomBytes(32) };
    expect(() => createCodec({ current: impostor }).decode(stored, KEY)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED', message: expect.stringContaining('failed authentication') }));
  });

  it('detects tampering, truncation, and an object moved to another key', () => {
    const codec = createCodec({ current: A });
    const stored = codec.encode(plain, KEY);
    const flipped = Buffer.from(stored);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => codec.decode(flipped, KEY)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
    expect(() => codec.decode(stored.subarray(0, 20), KEY)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
    expect(() => codec.decode(stored, 'sessions/other/auth/snapshot/000000000001')).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
    expect(() => codec.decode(Buffer.from('{"creds":1}'), KEY)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED', message: expect.stringContaining('unknown header') }));
  });

  it('rotates: old-key objects are readable through `previous` and reported stale', () => {
    const old = createCodec({ current: A }).encode(plain, KEY);
    const rotated = createCodec({ current: B, previous: [A] });
    expect(rotated.decode(old, KEY)).toEqual({ data: plain, stale: true });
    const rewritten = rotated.encode(plain, KEY);
    expect(createCodec({ current: B }).decode(rewritten, KEY)).toEqual({ data: plain, stale: false });
    expect(() => createCodec({ current: A, previous: [{ id: A.id, key: B.key }] })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('keeps plaintext framed, so mixing up encrypted and plaintext stores fails clearly both ways', () => {
    const none = plaintextCodec();
    const framed = none.encode(plain, KEY);
    expect(framed.includes(plain)).toBe(true);
    expect(none.decode(framed, KEY)).toEqual({ data: plain, stale: false });
    const encrypted = createCodec({ current: A }).encode(plain, KEY);
    expect(() => none.decode(encrypted, KEY)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED', message: expect.stringContaining(`is encrypted (key id ${A.id}) but no SESSION_ENCRYPTION_KEY`) }));
    expect(() => createCodec({ current: A }).decode(framed, KEY)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED', message: expect.stringContaining('stored unencrypted') }));
    // Unless migrating on purpose: then it reads, and asks to be rewritten encrypted.
    expect(createCodec({ current: A }, { acceptPlaintext: true }).decode(framed, KEY)).toEqual({ data: plain, stale: true });
  });
});

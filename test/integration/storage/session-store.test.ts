import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobSessionStore } from '../../../src/storage/session-store.js';
import { createCodec, parseEncryptionKey, type EncryptionKey } from '../../../src/storage/encryption.js';
import { LocalDiskStore } from '../../../src/storage/local-disk-store.js';
import { S3Store } from '../../../src/storage/s3-store.js';
import type { BlobStore } from '../../../src/storage/types.js';
import { startS3rver, type RunningS3 } from '../../helpers/s3-servers.js';
import { silentLogger } from '../../helpers/silent-logger.js';

const SID = 'session_6_+221771234567';
const keyA = parseEncryptionKey(randomBytes(32).toString('hex'));
const keyB = parseEncryptionKey(randomBytes(32).toString('base64'));

let s3: RunningS3;
const dirs: string[] = [];
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const drivers: Array<[string, () => BlobStore]> = [
  [
    'local disk',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'store-'));
      dirs.push(dir);
      return new LocalDiskStore(dir);
    },
  ],
  ['s3rver', () => new S3Store(s3.options())],
];

const storeOf = (blobs: BlobStore, current?: EncryptionKey, previous: EncryptionKey[] = []) =>
  new BlobSessionStore({ blobs, codec: createCodec(current, previous), flushIntervalMs: 50, logger: silentLogger });

async function allObjects(blobs: BlobStore): Promise<Buffer> {
  const parts = await Promise.all((await blobs.list('')).map((k) => blobs.get(k)));
  return Buffer.concat(parts.filter((p): p is Buffer => !!p));
}

describe.each(drivers)('session store on %s', (_name, makeBlobs) => {
  it('stores no plaintext key material when encrypted', async () => {
    const blobs = makeBlobs();
    const store = storeOf(blobs, keyA);
    const auth = await store.openAuthState(SID);
    const secrets = [auth.state.creds.noiseKey.private, auth.state.creds.signedIdentityKey.private, auth.state.creds.signedPreKey.keyPair.private].map((k) => Buffer.from(k));
    const adv = auth.state.creds.advSecretKey;
    await auth.state.keys.set({ 'pre-key': { '1': { public: randomBytes(32), private: secrets[0]! } } });
    auth.saveCreds();
    await store.saveMeta({ sessionId: SID, numberId: 6, phoneNumber: '+221771234567', workerId: 'w1', createdAt: 1, updatedAt: 1 });
    await auth.close();

    const stored = await allObjects(blobs);
    expect(stored.length).toBeGreaterThan(100);
    for (const secret of secrets) {
      expect(stored.includes(secret)).toBe(false);
      expect(stored.includes(Buffer.from(secret.toString('base64')))).toBe(false);
      expect(stored.includes(Buffer.from(secret.toString('hex')))).toBe(false);
    }
    expect(stored.includes(Buffer.from(adv))).toBe(false);
    expect(stored.includes(Buffer.from('221771234567'))).toBe(false);
    expect(stored.includes(Buffer.from('noiseKey'))).toBe(false);

    // The same store without encryption would have shown them: the scan can fail.
    const plainBlobs = makeBlobs();
    const plain = storeOf(plainBlobs);
    const p = await plain.openAuthState(SID);
    p.saveCreds();
    await p.close();
    expect((await allObjects(plainBlobs)).includes(Buffer.from(Buffer.from(p.state.creds.noiseKey.private).toString('base64')))).toBe(true);
  });

  it('a wrong key fails clearly (DECRYPTION_FAILED), not with garbage', async () => {
    const blobs = makeBlobs();
    const a = await storeOf(blobs, keyA).openAuthState(SID);
    a.saveCreds();
    await a.close();
    await expect(storeOf(blobs, keyB).openAuthState(SID)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED', message: expect.stringMatching(new RegExp(`key ${keyA.id}`)) });
    await expect(storeOf(blobs).openAuthState(SID)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED', message: expect.stringMatching(/no SESSION_ENCRYPTION_KEY/) });
  });

  it('rotates keys: readable with the old key as previous, rewritten under the new one, then readable with the new key alone', async () => {
    const blobs = makeBlobs();
    const a = await storeOf(blobs, keyA).openAuthState(SID);
    const noise = Buffer.from(a.state.creds.noiseKey.private);
    a.saveCreds();
    await a.close();
    const rotated = await storeOf(blobs, keyB, [keyA]).openAuthState(SID);
    expect(Buffer.from(rotated.state.creds.noiseKey.private).equals(noise)).toBe(true);
    await rotated.close(); // rewrites what it read under the old key
    const onlyB = await storeOf(blobs, keyB).openAuthState(SID);
    expect(Buffer.from(onlyB.state.creds.noiseKey.private).equals(noise)).toBe(true);
    await onlyB.close();
  });

  it('lists metadata of every session, and removeAuth / removeSession remove exactly what they promise', async () => {
    const blobs = makeBlobs();
    const store = storeOf(blobs, keyA);
    for (const [id, n] of [[SID, 6], ['session_7_+221770000007', 7]] as const) {
      await store.saveMeta({ sessionId: id, numberId: n, phoneNumber: id.split('_')[2]!, workerId: 'w1', createdAt: 1, updatedAt: 1 });
      const auth = await store.openAuthState(id);
      auth.saveCreds();
      await auth.close();
    }
    expect((await store.listMeta()).map((m) => m.sessionId).sort()).toEqual([SID, 'session_7_+221770000007']);
    await store.removeAuth(SID);
    expect(await blobs.list(`sessions/session_6_~2B221771234567/auth/`)).toEqual([]);
    expect(await store.loadMeta(SID)).toBeDefined();
    await store.removeSession(SID);
    expect(await blobs.list('sessions/session_6_~2B221771234567/')).toEqual([]);
    expect((await blobs.list('sessions/session_7_~2B221770000007/')).length).toBe(2);
  });
});

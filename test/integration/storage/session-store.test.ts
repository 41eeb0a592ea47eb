import { randomBytes } from 'node:crypto';
import type { SignalDataTypeMap } from '@whiskeysockets/baileys';
import { createCodec, parseEncryptionKey, type Keyring } from '../../../src/storage/encryption.js';
import { objectKeys } from '../../../src/storage/object-keys.js';
import { createSessionStore } from '../../../src/storage/session-store.js';
import { BlobMessageHistory } from '../../../src/messaging/message-history.js';
import { silentLogger } from '../../helpers/silent-logger.js';
import type { BlobStore, SessionMeta } from '../../../src/storage/types.js';
import { canonical, credsSecrets, encodingsOf, keysOfEveryType, linkCreds, SID } from '../../unit/storage/fixtures.js';
import { availableDrivers } from './drivers.js';

const keyA = parseEncryptionKey(randomBytes(32).toString('hex'));
const keyB = parseEncryptionKey(randomBytes(32).toString('base64'));
const OTHER = 'session_7_+221770000007';

const storeOf = (blobStore: BlobStore, keyring?: Keyring) => createSessionStore({ blobStore, codec: createCodec(keyring), flushIntervalMs: 50 });
const metaOf = (sessionId: string, numberId: number, phoneNumber: string): SessionMeta => ({ sessionId, numberId, phoneNumber, workerId: 'worker-1', createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000 });

async function everyObject(blobs: BlobStore): Promise<Array<[string, Buffer]>> {
  const keys = await blobs.list('');
  return Promise.all(keys.map(async (k) => [k, (await blobs.get(k))!] as [string, Buffer]));
}

/** A linked session with keys of every type, closed (persisted). Returns what should be secret. */
async function persistLinkedSession(blobs: BlobStore, keyring?: Keyring): Promise<Array<[string, Buffer]>> {
  const store = storeOf(blobs, keyring);
  await store.saveMeta(metaOf(SID, 6, '+221771234567'));
  const auth = await store.openAuthState(SID);
  linkCreds(auth.state.creds);
  auth.saveCreds();
  const keys = keysOfEveryType();
  await auth.state.keys.set(keys);
  await auth.flush(); // a snapshot...
  await auth.state.keys.set({ session: { '221771234567.0': randomBytes(300) } });
  await auth.close(); // ...and a journal segment
  await store.close();
  const preKey = keys['pre-key']!['1'] as SignalDataTypeMap['pre-key'];
  return [
    ...credsSecrets(auth.state.creds),
    ['pre-key 1 private', Buffer.from(preKey.private)],
    ['session record', Buffer.from((await auth.state.keys.get('session', ['221771234567.0']))['221771234567.0']!)],
    ['sender key', Buffer.from(keys['sender-key']!['120363000000000000@g.us::221770000001::0'] as Uint8Array)],
  ];
}

const drivers = await availableDrivers();

describe.each(drivers)('session store on $name', (driver) => {
  beforeAll(() => driver.setup(), 180_000);
  afterAll(() => driver.teardown(), 60_000);

  it('restores a real Baileys auth state after a restart (new store instance), encrypted', async () => {
    const blobs = driver.make();
    const first = storeOf(blobs, { current: keyA });
    const auth = await first.openAuthState(SID);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    const keys = keysOfEveryType();
    await auth.state.keys.set(keys);
    await auth.state.keys.set({ 'pre-key': { '2': null } });
    await first.close(); // graceful shutdown flushes the open state

    const second = storeOf(blobs, { current: keyA });
    const again = await second.openAuthState(SID);
    expect(again.isLinked()).toBe(true);
    expect(canonical(again.state.creds)).toEqual(canonical(auth.state.creds));
    for (const [type, entries] of Object.entries(keys) as Array<[keyof SignalDataTypeMap, Record<string, unknown>]>) {
      const expected = type === 'pre-key' ? { '1': entries['1'] } : entries;
      expect(canonical(await again.state.keys.get(type, Object.keys(entries)))).toEqual(canonical(expected));
    }
    await again.close();
    await second.close();
  });

  it('stores no plaintext key material, nor phone numbers, when a key is set', async () => {
    const blobs = driver.make();
    const secrets = await persistLinkedSession(blobs, { current: keyA });
    const objects = await everyObject(blobs);
    expect(objects.length).toBeGreaterThanOrEqual(3); // metadata, snapshot, segment
    const everything = Buffer.concat(objects.map(([, body]) => body));
    for (const [name, secret] of secrets) {
      for (const encoded of encodingsOf(secret)) expect({ name, found: everything.includes(encoded) }).toEqual({ name, found: false });
    }
    for (const text of ['221771234567', 'noiseKey', 'advSecretKey', 'worker-1', 's.whatsapp.net']) expect({ text, found: everything.includes(Buffer.from(text)) }).toEqual({ text, found: false });
    for (const [key, body] of objects) expect({ key, header: body.subarray(0, 4).toString() }).toEqual({ key, header: 'WAWE' });

    // The control: the same scan finds them in a store without a key, so it can fail.
    const plainBlobs = driver.make();
    const plainSecrets = await persistLinkedSession(plainBlobs);
    const plain = Buffer.concat((await everyObject(plainBlobs)).map(([, body]) => body));
    for (const [, secret] of plainSecrets.slice(0, 4)) expect(plain.includes(Buffer.from(secret.toString('base64')))).toBe(true);
  });

  it('a wrong key, or no key, fails clearly with DECRYPTION_FAILED; so does a key on a plaintext store', async () => {
    const blobs = driver.make();
    await persistLinkedSession(blobs, { current: keyA });
    await expect(storeOf(blobs, { current: keyB }).openAuthState(SID)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
      message: expect.stringContaining(`encrypted with key id ${keyA.id}`),
    });
    await expect(storeOf(blobs).openAuthState(SID)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED', message: expect.stringContaining('no SESSION_ENCRYPTION_KEY is configured') });
    await expect(storeOf(blobs, { current: keyB }).loadMeta(SID)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });

    const plainBlobs = driver.make();
    await persistLinkedSession(plainBlobs);
    await expect(storeOf(plainBlobs, { current: keyA }).openAuthState(SID)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED', message: expect.stringContaining('stored unencrypted') });
  });

  it('rotates keys: written under A, read with {current B, previous [A]} and rewritten, then readable with B alone', async () => {
    const blobs = driver.make();
    await persistLinkedSession(blobs, { current: keyA });
    const historyA = new BlobMessageHistory(blobs, createCodec({ current: keyA }), { flushIntervalMs: 50, logger: silentLogger });
    historyA.append(SID, { direction: 'in', messageId: 'M1', at: Date.UTC(2026, 0, 2), chat: 'x@s.whatsapp.net', type: 'text', text: 'kept across rotation' });
    await historyA.close();
    expect((await blobs.list(objectKeys.messages(SID))).length).toBe(1);
    const reference = await storeOf(blobs, { current: keyA }).openAuthState(SID);
    const expectedCreds = canonical(reference.state.creds);
    const expectedSession = canonical(await reference.state.keys.get('session', ['221771234567.0']));
    await reference.close();

    const rotating = storeOf(blobs, { current: keyB, previous: [keyA] });
    expect(await rotating.reencryptAll()).toBe(1);
    await rotating.close();
    for (const [key, body] of await everyObject(blobs)) expect({ key, keyId: body.subarray(6, 6 + body[5]!).toString() }).toEqual({ key, keyId: keyB.id });

    const onlyB = storeOf(blobs, { current: keyB });
    const auth = await onlyB.openAuthState(SID);
    expect(canonical(auth.state.creds)).toEqual(expectedCreds);
    expect(canonical(await auth.state.keys.get('session', ['221771234567.0']))).toEqual(expectedSession);
    expect(await onlyB.loadMeta(SID)).toMatchObject({ phoneNumber: '+221771234567' });
    await onlyB.close();
    const historyB = new BlobMessageHistory(blobs, createCodec({ current: keyB }), { flushIntervalMs: 50, logger: silentLogger });
    expect((await historyB.readDay(SID, '2026-01-02')).map((r) => r.text)).toEqual(['kept across rotation']);
    await historyB.close();
    await expect(storeOf(blobs, { current: keyA }).openAuthState(SID)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });

  it('lists metadata; removeAuth drops only the credentials, removeSession only that session', async () => {
    const blobs = driver.make();
    const store = storeOf(blobs, { current: keyA });
    for (const [id, n, phone] of [[SID, 6, '+221771234567'], [OTHER, 7, '+221770000007']] as const) {
      await store.saveMeta(metaOf(id, n, phone));
      const auth = await store.openAuthState(id);
      linkCreds(auth.state.creds);
      auth.saveCreds();
      await auth.close();
    }
    await blobs.put('sessions/lost+found/x', Buffer.from('not ours')); // a stray folder is ignored
    expect((await store.listMeta()).map((m) => m.sessionId).sort()).toEqual([SID, OTHER].sort());
    const otherBefore = await blobs.list(objectKeys.session(OTHER));

    await store.removeAuth(SID);
    expect(await blobs.list(objectKeys.auth(SID))).toEqual([]);
    expect(await blobs.list(objectKeys.session(SID))).toEqual([objectKeys.meta(SID)]);
    expect(await store.loadMeta(SID)).toEqual(metaOf(SID, 6, '+221771234567'));
    const relinked = await store.openAuthState(SID);
    expect(relinked.isLinked()).toBe(false); // logged out: fresh credentials
    await relinked.close();

    await store.removeSession(SID);
    expect(await blobs.list(objectKeys.session(SID))).toEqual([]);
    expect(await store.loadMeta(SID)).toBeUndefined();
    expect(await blobs.list(objectKeys.session(OTHER))).toEqual(otherBefore);
    expect((await store.listMeta()).map((m) => m.sessionId)).toEqual([OTHER]);
    await store.close();
  });

  it('one unreadable session does not hide the others from listMeta', async () => {
    const blobs = driver.make();
    await storeOf(blobs, { current: keyA }).saveMeta(metaOf(SID, 6, '+221771234567'));
    await storeOf(blobs, { current: keyB }).saveMeta(metaOf(OTHER, 7, '+221770000007'));
    expect((await storeOf(blobs, { current: keyB }).listMeta()).map((m) => m.sessionId)).toEqual([OTHER]);
  });
});

import { randomBytes } from 'node:crypto';
import { createCodec, parseEncryptionKey, type Codec, type Keyring } from '../../../src/storage/encryption.js';
import { objectKeys } from '../../../src/storage/object-keys.js';
import { createSessionStore, type BlobSessionStore, type PersistentAuthStateHandle } from '../../../src/storage/session-store.js';
import type { StorageLogger } from '../../../src/storage/storage-logger.js';
import type { BlobStore, SessionMeta } from '../../../src/storage/types.js';
import { WorkerError } from '../../../src/util/errors.js';
import { MemoryBlobStore } from '../../fakes/blob-stores.js';
import { availableDrivers } from '../../integration/storage/drivers.js';
import { linkCreds, SID } from './fixtures.js';

/**
 * Issue 11: rolling storage back is never silent. Every scenario runs on each driver the storage
 * contracts run on (local disk, s3rver; MinIO with Docker). Each detection test first shows that
 * the same storage, untouched, opens fine: the only difference is the rollback, so the test fails
 * if the check does not fire.
 */
const keyA = parseEncryptionKey(randomBytes(32).toString('hex'));
const keyB = parseEncryptionKey(randomBytes(32).toString('hex'));
const OTHER = 'session_7_+221770000007';
const HOUR = 3_600_000;

const metaOf = (workerId = 'w1', sessionId = SID): SessionMeta => ({ sessionId, numberId: 6, phoneNumber: '+221771234567', workerId, createdAt: 1, updatedAt: 1 });

function recordingLogger(): StorageLogger & { lines: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> } {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A new process on the same storage: nothing shared in memory. Writes only on explicit flush. */
const storeOn = (blobs: BlobStore, keyring: Keyring | undefined = { current: keyA }, extra: { logger?: StorageLogger; maxSegments?: number } = {}): BlobSessionStore =>
  createSessionStore({
    blobStore: blobs,
    codec: createCodec(keyring),
    flushIntervalMs: HOUR,
    retry: { baseMs: HOUR, maxMs: HOUR },
    ...(extra.logger ? { logger: extra.logger } : {}),
    ...(extra.maxSegments !== undefined ? { compaction: { maxSegments: extra.maxSegments, minJournalBytes: 1 << 30 } } : {}),
  });

async function setPeer(auth: PersistentAuthStateHandle, value: string): Promise<void> {
  await auth.state.keys.set({ session: { peer: Buffer.from(value) } });
}

async function peerOf(auth: PersistentAuthStateHandle): Promise<string | undefined> {
  const got = (await auth.state.keys.get('session', ['peer'])).peer;
  return got && Buffer.from(got).toString();
}

/** Opens the session in a new process and returns what it restored (closing it again, writing nothing). */
async function restored(blobs: BlobStore, keyring: Keyring | undefined = { current: keyA }): Promise<{ linked: boolean; peer: string | undefined; noiseKey: string }> {
  const store = storeOn(blobs, keyring);
  const auth = await store.openAuthState(SID);
  // The noise key is random per `initAuthCreds()`: it tells two sets of credentials apart.
  const out = { linked: auth.isLinked(), peer: await peerOf(auth), noiseKey: Buffer.from(auth.state.creds.noiseKey.public).toString('base64') };
  await auth.close();
  await store.close();
  return out;
}

const rollback = (...parts: string[]) => ({ code: 'STORAGE_ROLLBACK', message: expect.stringMatching(new RegExp(parts.join('[^]*'))) });
const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A linked session as a worker leaves it: metadata, snapshot 1 (the link), then one segment per
 * value (2, 3, ...), then a metadata write (the link's `connected`, an ownership change) that
 * records the head. Returns the store, still open, and the handle, closed.
 */
async function linkedSession(blobs: BlobStore, values: string[], opts: { keyring?: Keyring; metaAfter?: boolean; maxSegments?: number } = {}) {
  const store = storeOn(blobs, opts.keyring ?? { current: keyA }, opts.maxSegments === undefined ? {} : { maxSegments: opts.maxSegments });
  await store.saveMeta(metaOf());
  const auth = await store.openAuthState(SID);
  linkCreds(auth.state.creds);
  auth.saveCreds();
  await auth.flush();
  for (const v of values) {
    await setPeer(auth, v);
    await auth.flush();
  }
  if (opts.metaAfter ?? true) await store.saveMeta(metaOf());
  await auth.close();
  return { store, auth };
}

/** Requests that time out but land later: the next put(s) are kept aside and reported failed. */
class HoldingStore implements BlobStore {
  private holds = 0;
  private readonly held: Array<{ key: string; body: Buffer }> = [];
  constructor(readonly inner: BlobStore) {}
  holdNextPuts(n = 1): void {
    this.holds += n;
  }
  /** Lands what was held, in the order it was sent; returns the keys. */
  async landHeld(): Promise<string[]> {
    const landed = this.held.splice(0);
    for (const { key, body } of landed) await this.inner.put(key, body);
    return landed.map((h) => h.key);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  async put(key: string, body: Buffer): Promise<void> {
    if (this.holds > 0) {
      this.holds--;
      this.held.push({ key, body: Buffer.from(body) });
      throw new WorkerError('STORAGE_UNAVAILABLE', 'injected: request timed out (it will land later)');
    }
    await this.inner.put(key, body);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  listChildren(prefix: string) {
    return this.inner.listChildren(prefix);
  }
  deletePrefix(prefix: string) {
    return this.inner.deletePrefix(prefix);
  }
}

/** Rewrites every stored object of the session as the version before the chain wrote it: no prev / metaRevision / revision / authHead. */
async function toLegacy(blobs: BlobStore, codec: Codec): Promise<void> {
  for (const key of await blobs.list(objectKeys.session(SID))) {
    const value = JSON.parse(codec.decode((await blobs.get(key))!, key).data.toString('utf8')) as Record<string, unknown>;
    for (const field of ['prev', 'metaRevision', 'revision', 'authHead', 'authSeqFloor']) delete value[field];
    await blobs.put(key, codec.encode(Buffer.from(JSON.stringify(value), 'utf8'), key));
  }
}

/** Re-encodes an auth object with one of its keys changed, keeping everything else (its chain link too). */
async function tamper(blobs: BlobStore, codec: Codec, key: string): Promise<void> {
  const value = JSON.parse(codec.decode((await blobs.get(key))!, key).data.toString('utf8')) as { keys: Array<[string, string, unknown]> };
  value.keys.push(['session', 'intruder', { type: 'Buffer', data: Buffer.from('x').toString('base64') }]);
  await blobs.put(key, codec.encode(Buffer.from(JSON.stringify(value), 'utf8'), key));
}

const drivers = await availableDrivers();

describe.each(drivers)('rollback detection on $name', (driver) => {
  beforeAll(() => driver.setup(), 180_000);
  afterAll(() => driver.teardown(), 60_000);

  it('the newest segment deleted after a metadata write: STORAGE_ROLLBACK naming the session, the expected and the found head', async () => {
    const blobs = driver.make();
    const { store } = await linkedSession(blobs, ['v2', 'v3']); // snapshot 1, segments 2 and 3, then the metadata
    await store.close();
    expect(await restored(blobs)).toMatchObject({ linked: true, peer: 'v3' }); // the control: intact, it opens

    await blobs.delete(objectKeys.segment(SID, 3));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback(escaped(SID), 'recorded the auth journal head at seq 3', 'ends at seq 2'));
    // Opening again does not make it acceptable: nothing was written over it.
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject({ code: 'STORAGE_ROLLBACK' });
  });

  it('a segment deleted in the middle, or the snapshot under the segments: STORAGE_ROLLBACK (the chain alone, no metadata needed)', async () => {
    const blobs = driver.make();
    const { store } = await linkedSession(blobs, ['v2', 'v3', 'v4'], { metaAfter: false });
    await store.close();
    expect(await restored(blobs)).toMatchObject({ peer: 'v4' });
    const two = (await blobs.get(objectKeys.segment(SID, 2)))!;
    await blobs.delete(objectKeys.segment(SID, 2));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback(escaped(SID), 'segment 3 was written on top of seq 2', 'chain ends at seq 1'));

    await blobs.put(objectKeys.segment(SID, 2), two);
    expect(await restored(blobs)).toMatchObject({ peer: 'v4' });
    await blobs.delete(objectKeys.snapshot(SID, 1));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('segment 2 was written on top of seq 1'));
  });

  it('an object replaced in place (same place, other content): STORAGE_ROLLBACK, in the middle by the chain, at the head by the metadata', async () => {
    const blobs = driver.make();
    const codec = createCodec({ current: keyA });
    const { store } = await linkedSession(blobs, ['v2', 'v3']);
    await store.close();
    const original = (await blobs.get(objectKeys.segment(SID, 2)))!;
    await tamper(blobs, codec, objectKeys.segment(SID, 2));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('segment 3 was written on top of seq 2'));
    await blobs.put(objectKeys.segment(SID, 2), original);
    expect(await restored(blobs)).toMatchObject({ peer: 'v3' });
    await tamper(blobs, codec, objectKeys.segment(SID, 3));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('recorded the auth journal head at seq 3', 'holds another object there'));
  });

  it('an old session-data.json put back: STORAGE_ROLLBACK at open, and a metadata write refuses to launder it', async () => {
    const blobs = driver.make();
    const store = storeOn(blobs);
    await store.saveMeta(metaOf('w1'));
    const oldMeta = (await blobs.get(objectKeys.meta(SID)))!;
    const auth = await store.openAuthState(SID);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    await auth.flush();
    await store.saveMeta(metaOf('w2')); // an ownership change: a newer revision...
    await setPeer(auth, 'v2');
    await auth.close(); // ...which the segment written after it knows
    await store.close();
    expect(await restored(blobs)).toMatchObject({ peer: 'v2' });

    await blobs.put(objectKeys.meta(SID), oldMeta);
    const fresh = storeOn(blobs);
    expect(await fresh.loadMeta(SID)).toMatchObject({ workerId: 'w1' }); // on its own it looks fine...
    await expect(fresh.openAuthState(SID)).rejects.toMatchObject(rollback(escaped(SID), 'session-data.json is at revision \\d+, but revision \\d+ was already known to the credentials'));
    // ...and a routine write (a claim) must not turn it into a fresh revision that passes.
    await expect(storeOn(blobs).saveMeta(metaOf('w3'))).rejects.toMatchObject(rollback('session-data.json is at revision'));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject({ code: 'STORAGE_ROLLBACK' });
    expect(await storeOn(blobs).loadMeta(SID)).toMatchObject({ workerId: 'w1' }); // nothing was written over it
  });

  it('session-data.json deleted while credentials that knew it remain: STORAGE_ROLLBACK at open and at the next metadata write', async () => {
    const blobs = driver.make();
    const { store } = await linkedSession(blobs, ['v2']);
    await store.close();
    await blobs.delete(objectKeys.meta(SID));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('session-data.json is missing, but the credentials were written knowing its revision'));
    await expect(storeOn(blobs).saveMeta(metaOf())).rejects.toMatchObject(rollback('session-data.json is missing'));
    expect(await storeOn(blobs).loadMeta(SID)).toBeUndefined();
  });

  it('a handover records the head the released auth state left: deleting what it wrote last is then detected', async () => {
    const blobs = driver.make();
    const store = storeOn(blobs);
    await store.saveMeta(metaOf('w1')); // the claim, before anything is stored: head null
    const auth = await store.openAuthState(SID);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    await auth.flush();
    await setPeer(auth, 'v2');
    await auth.close(); // the release: flushed (segment 2), then the state is let go...
    await store.saveMeta(metaOf('w2')); // ...and the new owner recorded
    await store.close();
    expect(await restored(blobs)).toMatchObject({ peer: 'v2' });
    await blobs.delete(objectKeys.segment(SID, 2));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('head at seq 2', 'ends at seq 1'));
  });

  it('no false alarm: an attempt that reported failure but landed late, in the middle of the chain', async () => {
    const blobs = new HoldingStore(driver.make());
    const store = storeOn(blobs);
    await store.saveMeta(metaOf());
    const auth = await store.openAuthState(SID);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    await auth.flush(); // snapshot 1
    await setPeer(auth, 'stale');
    blobs.holdNextPuts(1);
    await expect(auth.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' }); // segment 2 "timed out"
    await setPeer(auth, 'v3');
    await auth.flush(); // segment 3, on top of 1 as well
    await store.saveMeta(metaOf()); // head 3
    expect(await blobs.landHeld()).toEqual([objectKeys.segment(SID, 2)]); // 2 lands after all that
    await setPeer(auth, 'v4');
    await auth.close(); // segment 4, on top of 3
    await store.close();
    expect(await restored(blobs)).toEqual({ linked: true, peer: 'v4', noiseKey: expect.any(String) });

    // The orphan does not mask a real rollback: without 3 and 4, it is not taken for the chain.
    await blobs.delete(objectKeys.segment(SID, 4));
    await blobs.delete(objectKeys.segment(SID, 3));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('head at seq 3'));
  });

  it('no false alarm: the last attempts failed, landed, and the process died; the next one takes the newest and chains on', async () => {
    const blobs = new HoldingStore(driver.make());
    const { store, auth } = await linkedSession(blobs, ['v2']); // snapshot 1, segment 2, metadata (head 2)
    await store.close();
    const again = storeOn(blobs);
    const reopened = await again.openAuthState(SID);
    await setPeer(reopened, 'v3');
    blobs.holdNextPuts(2);
    await expect(reopened.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' }); // attempt 3
    await setPeer(reopened, 'v4');
    await expect(reopened.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' }); // attempt 4, on top of 2 too
    expect(await blobs.landHeld()).toEqual([objectKeys.segment(SID, 3), objectKeys.segment(SID, 4)]);
    // SIGKILL: `again` is simply dropped. The newest landed attempt holds the newest state.
    expect(await restored(blobs)).toMatchObject({ peer: 'v4' });
    const next = storeOn(blobs);
    const h = await next.openAuthState(SID);
    await setPeer(h, 'v5');
    await h.flush(); // segment 5, on top of 4
    await next.saveMeta(metaOf());
    await h.close();
    await next.close();
    expect(await restored(blobs)).toMatchObject({ peer: 'v5', noiseKey: Buffer.from(auth.state.creds.noiseKey.public).toString('base64') });
    await again.close(); // the "killed" process's state, released only now (its retry timer would hold Jest)
  });

  it('legacy storage (records and metadata from before the chain) loads, and chaining starts with the next write', async () => {
    const blobs = driver.make();
    const codec = createCodec({ current: keyA });
    const { store } = await linkedSession(blobs, ['v2', 'v3']);
    await store.close();
    await toLegacy(blobs, codec);
    const rawMeta = JSON.parse(codec.decode((await blobs.get(objectKeys.meta(SID)))!, objectKeys.meta(SID)).data.toString()) as Record<string, unknown>;
    expect(rawMeta).not.toHaveProperty('revision');
    expect(await restored(blobs)).toMatchObject({ linked: true, peer: 'v3' });

    const upgraded = storeOn(blobs);
    const auth = await upgraded.openAuthState(SID);
    await setPeer(auth, 'v4');
    await auth.flush(); // segment 4: chained onto the legacy head (3)
    await upgraded.saveMeta(metaOf()); // the metadata now anchors it
    await auth.close();
    await upgraded.close();
    expect(await restored(blobs)).toMatchObject({ peer: 'v4' });

    const three = (await blobs.get(objectKeys.segment(SID, 3)))!;
    await blobs.delete(objectKeys.segment(SID, 3));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('segment 4 was written on top of seq 3'));
    await blobs.put(objectKeys.segment(SID, 3), three);
    await blobs.delete(objectKeys.segment(SID, 4));
    await expect(storeOn(blobs).openAuthState(SID)).rejects.toMatchObject(rollback('head at seq 4', 'ends at seq 3'));
  });

  it('logout, then create again: no false alarm; credentials from before the logout put back are ignored', async () => {
    const blobs = driver.make();
    // Compaction every 2 segments: the old life reaches a snapshot at a high sequence number.
    const { store } = await linkedSession(blobs, ['v2', 'v3', 'v4', 'v5'], { maxSegments: 2 });
    const oldObjects = await Promise.all((await blobs.list(objectKeys.auth(SID))).map(async (k) => [k, (await blobs.get(k))!] as const));
    expect(oldObjects.map(([k]) => k)).toContain(objectKeys.snapshot(SID, 4));
    const oldLife = (await restored(blobs)).noiseKey;

    await store.removeAuth(SID); // logout
    expect(await blobs.list(objectKeys.auth(SID))).toEqual([]);
    expect(await restored(blobs)).toMatchObject({ linked: false }); // logged out, not rolled back

    // Create again: the claim and the open run concurrently, as the session manager does.
    const [, auth] = await Promise.all([store.saveMeta(metaOf()), store.openAuthState(SID)]);
    expect(auth.isLinked()).toBe(false);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    await auth.flush();
    await store.saveMeta(metaOf());
    await auth.close();
    await store.close();
    const relinked = await restored(blobs);
    expect(relinked.linked).toBe(true);
    expect(relinked.noiseKey).not.toBe(oldLife);

    // Objects of the old life put back (a partial deletion, or on purpose) are never loaded.
    for (const [k, body] of oldObjects) await blobs.put(k, body);
    expect((await restored(blobs)).noiseKey).toBe(relinked.noiseKey);

    // Delete, then create again: no alarm either.
    const s2 = storeOn(blobs);
    await s2.removeSession(SID);
    expect(await blobs.list(objectKeys.session(SID))).toEqual([]);
    await s2.saveMeta(metaOf());
    const fresh = await s2.openAuthState(SID);
    expect(fresh.isLinked()).toBe(false);
    linkCreds(fresh.state.creds);
    fresh.saveCreds();
    await fresh.close();
    await s2.saveMeta(metaOf());
    await s2.close();
    expect(await restored(blobs)).toMatchObject({ linked: true });
  });

  it('key rotation (reencryptSession) keeps the chain and the anchor: it opens under the new key, and a rollback is still caught', async () => {
    const blobs = driver.make();
    const { store } = await linkedSession(blobs, ['v2', 'v3']);
    await store.close();
    const rotating = storeOn(blobs, { current: keyB, previous: [keyA] });
    expect(await rotating.reencryptAll()).toBe(1);
    await rotating.close();
    expect(await blobs.list(objectKeys.auth(SID))).toEqual([objectKeys.snapshot(SID, 4)]);
    expect(await restored(blobs, { current: keyB })).toMatchObject({ linked: true, peer: 'v3' });
    await blobs.delete(objectKeys.snapshot(SID, 4));
    await expect(storeOn(blobs, { current: keyB }).openAuthState(SID)).rejects.toMatchObject(rollback('head at seq 4', 'no credentials are stored'));
  });

  it('compaction keeps working: a head compacted away is satisfied by the snapshot above it; leftovers below it are ignored', async () => {
    const blobs = driver.make();
    const { store, auth } = await linkedSession(blobs, ['v2'], { maxSegments: 2 }); // metadata head: segment 2
    const leftovers = await Promise.all((await blobs.list(objectKeys.auth(SID))).map(async (k) => [k, (await blobs.get(k))!] as const));
    const h = await store.openAuthState(SID);
    for (const v of ['v3', 'v4', 'v5']) {
      await setPeer(h, v);
      await h.flush(); // 3, then the snapshot 4 (prunes 1 to 3), then 5
    }
    await h.close();
    await store.close();
    expect(await blobs.list(objectKeys.auth(SID))).toEqual([objectKeys.snapshot(SID, 4), objectKeys.segment(SID, 5)].sort());
    expect(await restored(blobs)).toMatchObject({ peer: 'v5', noiseKey: Buffer.from(auth.state.creds.noiseKey.public).toString('base64') });
    // An interrupted prune: the objects the snapshot replaced are back. Ignored, as before.
    for (const [k, body] of leftovers) await blobs.put(k, body);
    expect(await restored(blobs)).toMatchObject({ peer: 'v5' });
  });

  it('listMeta skips (and logs) a session found rolled back, listing the others', async () => {
    const blobs = driver.make();
    const logger = recordingLogger();
    const store = storeOn(blobs, { current: keyA }, { logger });
    await store.saveMeta(metaOf('w1', OTHER));
    await store.saveMeta(metaOf('w1'));
    const oldMeta = (await blobs.get(objectKeys.meta(SID)))!;
    await store.saveMeta(metaOf('w2'));
    expect((await store.listMeta()).map((m) => m.sessionId).sort()).toEqual([SID, OTHER].sort());
    await blobs.put(objectKeys.meta(SID), oldMeta);
    await expect(store.loadMeta(SID)).rejects.toMatchObject(rollback(escaped(SID), 'this process already saw revision'));
    expect((await store.listMeta()).map((m) => m.sessionId)).toEqual([OTHER]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'session storage rolled back: skipped', obj: expect.objectContaining({ sessionId: SID, err: expect.objectContaining({ code: 'STORAGE_ROLLBACK' }) }) }));
  });
});

describe('session metadata errors', () => {
  it('metadata that is not valid JSON says so (not "wrong key"), and listMeta skips it', async () => {
    const blobs = new MemoryBlobStore();
    const codec = createCodec({ current: keyA });
    await blobs.put(objectKeys.meta(SID), codec.encode(Buffer.from('{"sessionId": '), objectKeys.meta(SID)));
    const store = storeOn(blobs);
    const err = await store.loadMeta(SID).then(
      () => undefined,
      (e: unknown) => e as WorkerError,
    );
    expect(err).toMatchObject({ code: 'STORAGE_CORRUPT', message: expect.stringContaining('is not valid JSON') });
    expect(err!.message).toContain('the key is not the problem');
    expect(err!.message).not.toMatch(/key is wrong|failed authentication/);
    expect(await store.listMeta()).toEqual([]);
  });

  it('loadMeta returns the metadata as callers wrote it: the store keeps its own fields to itself', async () => {
    const blobs = new MemoryBlobStore();
    const store = storeOn(blobs);
    await store.saveMeta({ ...metaOf(), jid: 'x@s.whatsapp.net' });
    expect(await store.loadMeta(SID)).toEqual({ ...metaOf(), jid: 'x@s.whatsapp.net' });
    const key = objectKeys.meta(SID);
    const stored = JSON.parse(createCodec({ current: keyA }).decode(blobs.objects.get(key)!, key).data.toString()) as Record<string, unknown>;
    expect(stored).toMatchObject({ revision: expect.any(Number), authHead: null });
  });
});

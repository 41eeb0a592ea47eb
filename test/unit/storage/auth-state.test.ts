import { jest } from '@jest/globals';
import { Curve, type SignalDataTypeMap } from '@whiskeysockets/baileys';
import { createCodec, plaintextCodec, type Codec } from '../../../src/storage/encryption.js';
import { objectKeys } from '../../../src/storage/object-keys.js';
import { createSessionStore, type SessionStoreOptions } from '../../../src/storage/session-store.js';
import type { BlobStore } from '../../../src/storage/types.js';
import { CountingBlobStore, FailingBlobStore, MemoryBlobStore } from '../../fakes/blob-stores.js';
import { canonical, keysOfEveryType, linkCreds, SID } from './fixtures.js';

const WINDOW = 1000;
const storeOn = (blobStore: BlobStore, extra: Partial<SessionStoreOptions> = {}, codec: Codec = plaintextCodec()) =>
  createSessionStore({ blobStore, codec, flushIntervalMs: WINDOW, retry: { baseMs: 100, maxMs: 1000, random: () => 1 }, ...extra });
const preKey = (n: number): SignalDataTypeMap['pre-key'] => ({ public: Buffer.alloc(33, n), private: Buffer.alloc(32, n + 1) });
const authKeys = (blobs: MemoryBlobStore) => [...blobs.objects.keys()].filter((k) => k.startsWith(objectKeys.auth(SID))).sort();

afterEach(() => {
  jest.useRealTimers();
});

describe('journaled auth state: coalescing', () => {
  it('turns 100 key updates and creds updates within one window into ONE object write', async () => {
    jest.useFakeTimers();
    const counting = new CountingBlobStore(new MemoryBlobStore());
    const store = storeOn(counting);
    const auth = await store.openAuthState(SID);

    for (let i = 0; i < 100; i++) {
      await auth.state.keys.set({ 'pre-key': { [String(i)]: preKey(i) } });
      if (i % 10 === 0) auth.saveCreds();
    }
    await jest.advanceTimersByTimeAsync(WINDOW - 1);
    expect(counting.puts).toBe(0); // nothing before the window ends
    await jest.advanceTimersByTimeAsync(1);
    expect(counting.puts).toBe(1);

    // The next burst: one more object (a journal segment), with only what changed.
    for (let i = 0; i < 100; i++) await auth.state.keys.set({ session: { [`peer${i}.0`]: Buffer.from(`s${i}`) } });
    auth.saveCreds();
    await jest.advanceTimersByTimeAsync(WINDOW);
    expect(counting.puts).toBe(2);
    expect(counting.putKeys).toEqual([objectKeys.snapshot(SID, 1), objectKeys.segment(SID, 2)]);
    expect(auth.writes).toBe(2);
    expect(store.stats.writes).toBe(2);

    await auth.close();
    expect(counting.puts).toBe(2); // nothing was left to write
  });

  it('bounds the delay: a steady stream of changes is still written every window', async () => {
    jest.useFakeTimers();
    const counting = new CountingBlobStore(new MemoryBlobStore());
    const auth = await storeOn(counting).openAuthState(SID);
    for (let t = 0; t < 3 * WINDOW; t += 100) {
      await auth.state.keys.set({ 'pre-key': { [String(t)]: preKey(t % 200) } });
      await jest.advanceTimersByTimeAsync(100);
    }
    expect(counting.puts).toBe(3);
    await auth.close();
  });

  it('writes what is pending on close, without waiting for the window', async () => {
    const blobs = new MemoryBlobStore();
    const store = storeOn(blobs, { flushIntervalMs: 3_600_000 });
    const auth = await store.openAuthState(SID);
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1) } });
    auth.saveCreds();
    expect(authKeys(blobs)).toEqual([]);
    await auth.close();
    expect(authKeys(blobs)).toHaveLength(1);
    const again = await store.openAuthState(SID);
    expect(canonical(await again.state.keys.get('pre-key', ['1']))).toEqual(canonical({ '1': preKey(1) }));
    await again.close();
  });

  it('writes nothing for a session that only was opened (no objects for an unlinked, untouched session)', async () => {
    const counting = new CountingBlobStore(new MemoryBlobStore());
    const auth = await storeOn(counting).openAuthState(SID);
    expect(auth.isLinked()).toBe(false);
    await auth.flush();
    await auth.close();
    expect(counting.puts).toBe(0);
  });
});

describe('journaled auth state: restore', () => {
  it('round-trips creds and keys of every type (Buffers included) through close and reopen', async () => {
    const blobs = new MemoryBlobStore();
    const auth = await storeOn(blobs).openAuthState(SID);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    const keys = keysOfEveryType();
    await auth.state.keys.set(keys);
    await auth.close();

    // A new store: nothing shared in memory, as after a restart.
    const again = await storeOn(blobs).openAuthState(SID);
    expect(again.isLinked()).toBe(true);
    expect(canonical(again.state.creds)).toEqual(canonical(auth.state.creds));
    for (const [type, entries] of Object.entries(keys) as Array<[keyof SignalDataTypeMap, Record<string, unknown>]>) {
      const got = await again.state.keys.get(type, Object.keys(entries));
      expect(canonical(got)).toEqual(canonical(entries));
    }
    // Types come back as Baileys expects them.
    expect(Buffer.isBuffer(again.state.creds.noiseKey.private)).toBe(true);
    expect(Buffer.isBuffer((await again.state.keys.get('session', ['221771234567.0']))['221771234567.0'])).toBe(true);
    const appKey = (await again.state.keys.get('app-state-sync-key', ['AAAAAFxz'])).AAAAAFxz!;
    expect(typeof (appKey as { toJSON?: unknown }).toJSON).toBe('function'); // a protobuf message again
    expect(Buffer.from(appKey.keyData!).equals(Buffer.from((keys['app-state-sync-key']!.AAAAAFxz as { keyData: Uint8Array }).keyData))).toBe(true);
    await again.close();
  });

  it('records deletions (Baileys sets a key to null), in segments and across compaction', async () => {
    const blobs = new MemoryBlobStore();
    const store = storeOn(blobs, { compaction: { maxSegments: 2, minJournalBytes: 1 << 30 } });
    const auth = await store.openAuthState(SID);
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1), '2': preKey(2), '3': preKey(3) } });
    await auth.flush(); // snapshot 1
    await auth.state.keys.set({ 'pre-key': { '1': null } });
    await auth.flush(); // segment 2
    expect(Object.keys(await (await storeOn(blobs).openAuthState(SID)).state.keys.get('pre-key', ['1', '2', '3']))).toEqual(['2', '3']);
    await auth.state.keys.set({ 'pre-key': { '2': null } });
    await auth.flush(); // segment 3
    await auth.state.keys.set({ 'pre-key': { '4': preKey(4) } });
    await auth.flush(); // snapshot 4 (2 segments reached), older objects pruned
    expect(authKeys(blobs)).toEqual([objectKeys.snapshot(SID, 4)]);
    await auth.close();
    const again = await storeOn(blobs).openAuthState(SID);
    expect(Object.keys(await again.state.keys.get('pre-key', ['1', '2', '3', '4']))).toEqual(['3', '4']);
    await again.close();
  });

  it('compacts when the journal outweighs the snapshot, and restores snapshot + later segments in order', async () => {
    const blobs = new MemoryBlobStore();
    const store = storeOn(blobs, { compaction: { maxSegments: 1000, minJournalBytes: 1 } });
    const auth = await store.openAuthState(SID);
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1) } });
    await auth.flush(); // snapshot 1: small
    for (let i = 0; i < 3; i++) {
      // The same key changes in each window: the latest value must win at restore.
      await auth.state.keys.set({ session: { peer: Buffer.alloc(400, i) } });
      await auth.flush();
    }
    const written = authKeys(blobs);
    expect(written.some((k) => k.includes('/snapshot/') && !k.endsWith('000000000001'))).toBe(true);
    await auth.close();
    const again = await storeOn(blobs).openAuthState(SID);
    expect(Buffer.from((await again.state.keys.get('session', ['peer'])).peer!).equals(Buffer.alloc(400, 2))).toBe(true);
    await again.close();
  });

  it('ignores leftovers of an interrupted compaction (older snapshot and segments still there)', async () => {
    const blobs = new MemoryBlobStore();
    const auth = await storeOn(blobs).openAuthState(SID);
    await auth.state.keys.set({ session: { peer: Buffer.from('v1') } });
    await auth.flush(); // snapshot 1
    await auth.state.keys.set({ session: { peer: Buffer.from('v2') } });
    await auth.flush(); // segment 2
    const leftovers = new Map([...blobs.objects].filter(([k]) => k.startsWith(objectKeys.auth(SID))));
    await auth.state.keys.set({ session: { peer: Buffer.from('v3') } });
    await auth.close();
    // Rewrite as if a snapshot at 3 had been written but the prune never happened.
    const compacting = storeOn(blobs, { compaction: { maxSegments: 0, minJournalBytes: 0 } });
    const c = await compacting.openAuthState(SID);
    await c.state.keys.set({ session: { other: Buffer.from('x') } });
    await c.close();
    for (const [k, v] of leftovers) blobs.objects.set(k, v);
    const again = await storeOn(blobs).openAuthState(SID);
    expect(Buffer.from((await again.state.keys.get('session', ['peer'])).peer!).toString()).toBe('v3');
    await again.close();
  });

  it('shares one in-memory state between handles of the same session, released with the last one', async () => {
    const blobs = new MemoryBlobStore();
    const store = storeOn(blobs);
    const [a, b] = await Promise.all([store.openAuthState(SID), store.openAuthState(SID)]);
    expect(a.state).toBe(b.state);
    await a.state.keys.set({ 'pre-key': { '1': preKey(1) } });
    await a.close();
    expect(Object.keys(await b.state.keys.get('pre-key', ['1']))).toEqual(['1']);
    await b.state.keys.set({ 'pre-key': { '2': preKey(2) } });
    await b.close();
    const c = await store.openAuthState(SID);
    expect(c.state).not.toBe(a.state);
    expect(Object.keys(await c.state.keys.get('pre-key', ['1', '2']))).toEqual(['1', '2']);
    await c.close();
  });
});

describe('journaled auth state: storage failures', () => {
  it('keeps everything through an outage: flush rejects while it lasts, background retries with backoff until it ends', async () => {
    jest.useFakeTimers();
    const blobs = new FailingBlobStore();
    const store = storeOn(blobs);
    const auth = await store.openAuthState(SID);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    await auth.state.keys.set({ 'pre-key': { '7': preKey(7) } });

    blobs.down = true;
    await expect(auth.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await auth.state.keys.set({ 'pre-key': { '8': preKey(8) }, session: { peer: Buffer.from('s') } });
    await expect(auth.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    // Background retries: one timer at a time, delays doubling (random() = 1 here: 200, 400, 800 ms).
    const before = blobs.attempts;
    await jest.advanceTimersByTimeAsync(199);
    expect(blobs.attempts).toBe(before);
    await jest.advanceTimersByTimeAsync(1);
    expect(blobs.attempts).toBe(before + 1);
    await jest.advanceTimersByTimeAsync(399);
    expect(blobs.attempts).toBe(before + 1);
    await jest.advanceTimersByTimeAsync(1);
    expect(blobs.attempts).toBe(before + 2);
    expect(blobs.objects.size).toBe(0);
    expect(store.stats.failures).toBe(4);

    blobs.down = false;
    await jest.advanceTimersByTimeAsync(800); // the next background retry succeeds by itself
    expect(blobs.objects.size).toBe(1);
    expect(blobs.attempts).toBe(before + 3);
    await auth.close();
    jest.useRealTimers();

    const again = await storeOn(blobs).openAuthState(SID);
    expect(again.isLinked()).toBe(true);
    expect(Object.keys(await again.state.keys.get('pre-key', ['7', '8']))).toEqual(['7', '8']);
    expect(Object.keys(await again.state.keys.get('session', ['peer']))).toEqual(['peer']);
    await again.close();
  });

  it('retries N injected failures and then writes once, losing nothing', async () => {
    jest.useFakeTimers();
    const blobs = new FailingBlobStore();
    const auth = await storeOn(blobs).openAuthState(SID);
    blobs.failPuts = 3;
    for (let i = 0; i < 20; i++) await auth.state.keys.set({ 'pre-key': { [String(i)]: preKey(i) } });
    await jest.advanceTimersByTimeAsync(WINDOW + 100 + 200 + 400);
    expect(blobs.attempts).toBe(4);
    expect(authKeys(blobs)).toHaveLength(1);
    await auth.close();
    jest.useRealTimers();
    const again = await storeOn(blobs).openAuthState(SID);
    expect(Object.keys(await again.state.keys.get('pre-key', Array.from({ length: 20 }, (_, i) => String(i))))).toHaveLength(20);
    await again.close();
  });

  it('close rejects while storage is down and keeps the handle usable; closing again later succeeds', async () => {
    const blobs = new FailingBlobStore();
    const store = storeOn(blobs, { flushIntervalMs: 3_600_000, retry: { baseMs: 3_600_000, maxMs: 3_600_000 } });
    const auth = await store.openAuthState(SID);
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1) } });
    blobs.down = true;
    await expect(auth.close()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(store.close()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    blobs.down = false;
    await auth.close();
    await store.close();
    expect(authKeys(blobs)).toHaveLength(1);
  });

  it('a write that failed but landed late can never overwrite newer data', async () => {
    const blobs = new FailingBlobStore();
    const store = storeOn(blobs, { flushIntervalMs: 3_600_000, retry: { baseMs: 3_600_000, maxMs: 3_600_000 } });
    const auth = await store.openAuthState(SID);
    await auth.state.keys.set({ session: { peer: Buffer.from('v0') } });
    await auth.flush(); // snapshot 1
    await auth.state.keys.set({ session: { peer: Buffer.from('v1') } });
    blobs.holdNextPut(); // segment 2 "times out" but will land later
    await expect(auth.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await auth.state.keys.set({ session: { peer: Buffer.from('v2') } });
    await auth.flush(); // a NEW sequence number (3), never a rewrite of 2
    expect(await blobs.landHeld()).toBe(objectKeys.segment(SID, 2));
    await auth.close();
    const again = await storeOn(blobs).openAuthState(SID);
    expect(Buffer.from((await again.state.keys.get('session', ['peer'])).peer!).toString()).toBe('v2');
    await again.close();

    // Same for an ambiguous failure of a snapshot: the highest snapshot wins.
    const blobs2 = new FailingBlobStore();
    const s2 = storeOn(blobs2, { flushIntervalMs: 3_600_000, retry: { baseMs: 3_600_000, maxMs: 3_600_000 } });
    const a2 = await s2.openAuthState(SID);
    await a2.state.keys.set({ session: { peer: Buffer.from('old') } });
    blobs2.holdNextPut();
    await expect(a2.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await a2.state.keys.set({ session: { peer: Buffer.from('new') } });
    await a2.close();
    await blobs2.landHeld();
    const b2 = await storeOn(blobs2).openAuthState(SID);
    expect(Buffer.from((await b2.state.keys.get('session', ['peer'])).peer!).toString()).toBe('new');
    await b2.close();
  });

  it('an object that landed although its write reported failure is harmless', async () => {
    const blobs = new FailingBlobStore();
    blobs.landThenFail = true;
    const store = storeOn(blobs, { flushIntervalMs: 3_600_000, retry: { baseMs: 3_600_000, maxMs: 3_600_000 } });
    const auth = await store.openAuthState(SID);
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1) } });
    blobs.failPuts = 1;
    await expect(auth.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await auth.state.keys.set({ 'pre-key': { '1': null, '2': preKey(2) } });
    await auth.close();
    const again = await storeOn(blobs).openAuthState(SID);
    expect(Object.keys(await again.state.keys.get('pre-key', ['1', '2']))).toEqual(['2']);
    await again.close();
  });
});

describe('session store: removal and rotation with an open state', () => {
  it('removeAuth stops an open state first: a late flush cannot resurrect deleted credentials', async () => {
    const blobs = new MemoryBlobStore();
    const store = storeOn(blobs);
    await store.saveMeta({ sessionId: SID, numberId: 6, phoneNumber: '+221771234567', workerId: 'w1', createdAt: 1, updatedAt: 1 });
    const auth = await store.openAuthState(SID);
    linkCreds(auth.state.creds);
    auth.saveCreds();
    await auth.flush();
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1) } }); // pending when the logout comes
    await store.removeAuth(SID);
    await auth.flush();
    await auth.close();
    expect(authKeys(blobs)).toEqual([]);
    expect(await store.loadMeta(SID)).toMatchObject({ workerId: 'w1' });
    const fresh = await store.openAuthState(SID);
    expect(fresh.isLinked()).toBe(false);
    await fresh.close();
  });

  it('rewrites objects read under a previous key, under the current one, at the next write', async () => {
    const blobs = new MemoryBlobStore();
    const keyA = { id: 'a', key: Buffer.alloc(32, 1) };
    const keyB = { id: 'b', key: Buffer.alloc(32, 2) };
    const a = await storeOn(blobs, {}, createCodec({ current: keyA })).openAuthState(SID);
    await a.state.keys.set({ 'pre-key': { '1': preKey(1) } });
    await a.flush();
    await a.state.keys.set({ 'pre-key': { '2': preKey(2) } });
    await a.close(); // snapshot + segment under A
    const b = await storeOn(blobs, {}, createCodec({ current: keyB, previous: [keyA] })).openAuthState(SID);
    await b.close(); // nothing changed, but stale objects: one snapshot under B, the rest pruned
    const stored = authKeys(blobs).map((k) => blobs.objects.get(k)!);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.subarray(0, 7).toString('latin1')).toBe('WAWE\u0001\u0001b');
    const onlyB = await storeOn(blobs, {}, createCodec({ current: keyB })).openAuthState(SID);
    expect(Object.keys(await onlyB.state.keys.get('pre-key', ['1', '2']))).toEqual(['1', '2']);
    await onlyB.close();
  });
});

describe('baileys integration surface', () => {
  it('serves a key store usable as Baileys keys (get returns only present ids; clear empties it)', async () => {
    const blobs = new MemoryBlobStore();
    const store = storeOn(blobs);
    const auth = await store.openAuthState(SID);
    const pair = Curve.generateKeyPair();
    await auth.state.keys.set({ 'pre-key': { '5': pair } });
    expect(await auth.state.keys.get('pre-key', ['5', '6'])).toEqual({ '5': pair });
    await auth.state.keys.clear!();
    expect(await auth.state.keys.get('pre-key', ['5'])).toEqual({});
    await auth.close();
    const again = await store.openAuthState(SID);
    expect(await again.state.keys.get('pre-key', ['5'])).toEqual({});
    await again.close();
  });
});

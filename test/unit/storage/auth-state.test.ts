import { jest } from '@jest/globals';
import { BlobSessionStore } from '../../../src/storage/session-store.js';
import { createCodec } from '../../../src/storage/encryption.js';
import { keys } from '../../../src/storage/object-keys.js';
import { FlakyBlobStore } from '../../fakes/flaky-blob-store.js';
import { silentLogger } from '../../helpers/silent-logger.js';

const SID = 'session_6_+221771234567';
const makeStore = (blobs = new FlakyBlobStore(), compactEvery = 64) => ({
  blobs,
  store: new BlobSessionStore({ blobs, codec: createCodec(undefined), flushIntervalMs: 1000, compactEvery, logger: silentLogger }),
});
const preKey = (n: number) => ({ public: Buffer.alloc(32, n), private: Buffer.alloc(32, n + 1) });

describe('persisted auth state', () => {
  afterEach(() => jest.useRealTimers());

  it('coalesces a burst of 100 key updates and a creds update into one write per flush window', async () => {
    jest.useFakeTimers();
    const { blobs, store } = makeStore();
    const auth = await store.openAuthState(SID);
    for (let i = 0; i < 100; i++) await auth.state.keys.set({ 'pre-key': { [String(i)]: preKey(i) } });
    auth.saveCreds();
    expect(blobs.puts).toBe(0);
    const written = blobs.nextPut();
    await jest.advanceTimersByTimeAsync(1000);
    await written;
    expect(blobs.puts).toBe(1);
    expect(await blobs.list(keys.auth(SID))).toEqual([keys.journalSegment(SID, 1)]);
    await auth.close();
    expect(blobs.puts).toBe(1); // nothing left to write
  });

  it('round-trips creds and every kind of key (Buffers included) through close and reopen, deletions too', async () => {
    const { store } = makeStore();
    const auth = await store.openAuthState(SID);
    const creds = auth.state.creds;
    creds.me = { id: '221771234567:1@s.whatsapp.net', lid: '99:1@lid' };
    auth.saveCreds();
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1), '2': preKey(2) }, session: { 'a.0': Buffer.from('sess') }, 'app-state-sync-key': { k1: { keyData: Buffer.from('kd') } as never } });
    await auth.flush();
    await auth.state.keys.set({ 'pre-key': { '1': null } });
    await auth.close();

    const again = await store.openAuthState(SID);
    expect(again.state.creds.me).toEqual({ id: '221771234567:1@s.whatsapp.net', lid: '99:1@lid' });
    expect(Buffer.from(again.state.creds.noiseKey.private).equals(Buffer.from(creds.noiseKey.private))).toBe(true);
    const pre = await again.state.keys.get('pre-key', ['1', '2']);
    expect(Object.keys(pre)).toEqual(['2']);
    expect(Buffer.from(pre['2']!.private).equals(preKey(2).private)).toBe(true);
    expect(Buffer.from((await again.state.keys.get('session', ['a.0']))['a.0']!).toString()).toBe('sess');
    const appKey = (await again.state.keys.get('app-state-sync-key', ['k1'])).k1!;
    expect(Buffer.from(appKey.keyData!).toString()).toBe('kd');
    await again.close();
  });

  it('compacts the journal into a snapshot and restores from snapshot + later segments', async () => {
    const { blobs, store } = makeStore(new FlakyBlobStore(), 3);
    const auth = await store.openAuthState(SID);
    for (let i = 0; i < 4; i++) {
      await auth.state.keys.set({ 'pre-key': { [String(i)]: preKey(i) } });
      await auth.flush();
    }
    // segments 1 and 2, then a snapshot at 3 (segments removed), then segment 4
    expect(await blobs.list(keys.auth(SID))).toEqual([keys.journalSegment(SID, 4), keys.snapshot(SID)].sort());
    await auth.close();
    const again = await store.openAuthState(SID);
    expect(Object.keys(await again.state.keys.get('pre-key', ['0', '1', '2', '3']))).toEqual(['0', '1', '2', '3']);
    await again.close();
  });

  it('a storage outage loses nothing: flush rejects while it lasts, the changes are kept and written once it ends', async () => {
    const { blobs, store } = makeStore();
    const auth = await store.openAuthState(SID);
    await auth.state.keys.set({ 'pre-key': { '7': preKey(7) } });
    blobs.failNextPuts = 2;
    await expect(auth.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await auth.state.keys.set({ 'pre-key': { '8': preKey(8) } });
    await expect(auth.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await auth.flush();
    expect(blobs.puts).toBe(1);
    await auth.close();
    const again = await store.openAuthState(SID);
    expect(Object.keys(await again.state.keys.get('pre-key', ['7', '8']))).toEqual(['7', '8']);
    await again.close();
  });

  it('retries a failed background write by itself', async () => {
    const { blobs, store } = makeStore();
    const auth = await store.openAuthState(SID);
    blobs.failNextPuts = 1;
    const written = blobs.nextPut();
    auth.saveCreds();
    await written; // first attempt fails after the window, the backoff retry succeeds
    expect(blobs.puts).toBe(1);
    await auth.close();
  });

  it('removeAuth disarms an open handle: a late flush cannot resurrect deleted credentials', async () => {
    const { blobs, store } = makeStore();
    const auth = await store.openAuthState(SID);
    await store.saveMeta({ sessionId: SID, numberId: 6, phoneNumber: '+221771234567', workerId: 'w', createdAt: 1, updatedAt: 1 });
    auth.saveCreds();
    await auth.flush();
    await auth.state.keys.set({ 'pre-key': { '1': preKey(1) } });
    await store.removeAuth(SID);
    await auth.close();
    expect(await blobs.list(keys.auth(SID))).toEqual([]);
    expect(await store.loadMeta(SID)).toMatchObject({ workerId: 'w' });
    await store.removeSession(SID);
    expect(await blobs.list('sessions/')).toEqual([]);
  });
});

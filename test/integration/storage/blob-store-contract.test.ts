import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { LocalDiskStore } from '../../../src/storage/local-disk-store.js';
import { S3Store } from '../../../src/storage/s3-store.js';
import { decodeSessionId, objectKeys } from '../../../src/storage/object-keys.js';
import type { BlobStore } from '../../../src/storage/types.js';
import { availableDrivers } from './drivers.js';

/** One BlobStore contract, run against every driver. */
const drivers = await availableDrivers();

describe.each(drivers)('BlobStore contract: $name', (driver) => {
  let store: BlobStore;
  beforeAll(() => driver.setup(), 180_000);
  afterAll(() => driver.teardown(), 60_000);
  beforeEach(() => {
    store = driver.make();
  });

  it('round-trips bytes, returns undefined for a missing key, overwrites whole objects', async () => {
    expect(await store.get('a/missing')).toBeUndefined();
    const body = Buffer.from([0, 1, 2, 255, 254, 0x0a, 0x0d]);
    await store.put('a/b/c', body);
    expect(await store.get('a/b/c')).toEqual(body);
    await store.put('a/b/c', Buffer.from('second'));
    expect((await store.get('a/b/c'))!.toString()).toBe('second');
    await store.put('a/empty', Buffer.alloc(0));
    expect(await store.get('a/empty')).toEqual(Buffer.alloc(0));
  });

  it('concurrent puts to one key leave one complete body, never a mix', async () => {
    const bodies = [Buffer.alloc(256 * 1024, 1), Buffer.alloc(256 * 1024, 2), Buffer.alloc(256 * 1024, 3)];
    await Promise.all(bodies.map((b) => store.put('x/obj', b)));
    const got = (await store.get('x/obj'))!;
    expect(bodies.some((b) => b.equals(got))).toBe(true);
    expect(await store.list('x/')).toEqual(['x/obj']); // no temporary files show
  });

  it('stores a session whose id has a "+", and lists it back to the same id', async () => {
    const id = 'session_6_+221771234567';
    await store.put(objectKeys.meta(id), Buffer.from('{}'));
    await store.put(objectKeys.segment(id, 1), Buffer.from('seg'));
    expect((await store.get(objectKeys.meta(id)))!.toString()).toBe('{}');
    const children = await store.listChildren(objectKeys.sessionsRoot);
    expect(children).toEqual(['session_6_~2B221771234567']);
    expect(children.map(decodeSessionId)).toEqual([id]);
    expect(await store.list(objectKeys.session(id))).toEqual([objectKeys.segment(id, 1), objectKeys.meta(id)].sort());
  });

  it('lists recursively and sorted under a prefix (a partial name too); lists children that hold objects', async () => {
    for (const k of ['s/x/2', 's/x/1', 's/x/sub/3', 's/xy/1', 's/y/1', 't/1']) await store.put(k, Buffer.from(k));
    expect(await store.list('s/x/')).toEqual(['s/x/1', 's/x/2', 's/x/sub/3']);
    expect(await store.list('s/x')).toEqual(['s/x/1', 's/x/2', 's/x/sub/3', 's/xy/1']);
    expect(await store.list('nothing/')).toEqual([]);
    expect(await store.listChildren('s/')).toEqual(['x', 'xy', 'y']);
    expect(await store.listChildren('s/x/')).toEqual(['sub']);
    expect(await store.listChildren('none/')).toEqual([]);
    // A "folder" exists only while it holds objects (S3 semantics, kept on disk).
    await store.delete('s/y/1');
    expect(await store.listChildren('s/')).toEqual(['x', 'xy']);
  });

  it('deletes exactly a prefix (session_1 never takes session_10 along); deleting a missing key is fine', async () => {
    const one = 'session_1_+1';
    const ten = 'session_10_+1';
    const oneTen = 'session_1_+10';
    for (const id of [one, ten, oneTen]) {
      await store.put(objectKeys.meta(id), Buffer.from(id));
      await store.put(objectKeys.snapshot(id, 1), Buffer.from(id));
    }
    await store.deletePrefix(objectKeys.auth(one));
    expect(await store.list(objectKeys.session(one))).toEqual([objectKeys.meta(one)]);
    await store.deletePrefix(objectKeys.session(one));
    expect(await store.list(objectKeys.session(one))).toEqual([]);
    expect((await store.list('sessions/')).length).toBe(4);
    expect((await store.listChildren('sessions/')).map(decodeSessionId).sort()).toEqual([oneTen, ten].sort());
    await store.delete(objectKeys.meta(one));
    await store.deletePrefix(objectKeys.session(one));
  });

  it('deletes many objects under a prefix at once', async () => {
    await Promise.all(Array.from({ length: 60 }, (_, i) => store.put(`many/${String(i).padStart(3, '0')}`, Buffer.from([i]))));
    expect(await store.list('many/')).toHaveLength(60);
    await store.deletePrefix('many/');
    expect(await store.list('many/')).toEqual([]);
  });
});

describe('BlobStore failures become STORAGE_UNAVAILABLE', () => {
  it('local disk: an unusable root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-broken-'));
    try {
      writeFileSync(join(dir, 'file'), 'not a folder');
      const store = new LocalDiskStore(join(dir, 'file'));
      await expect(store.put('a/b', Buffer.from('x'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', cause: expect.anything() });
      expect(await store.get('a/b')).toBeUndefined(); // "not found", not an outage
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('local disk: refuses keys that would leave the root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-root-'));
    try {
      const store = new LocalDiskStore(dir);
      for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', 'a/./b']) {
        await expect(store.put(key, Buffer.from('x'))).rejects.toMatchObject({ code: 'INTERNAL' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('S3: nothing listening on the endpoint', async () => {
    // A port that was free a moment ago: connection refused.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = srv.address() as { port: number };
        srv.close(() => resolve(p));
      });
    });
    const store = new S3Store({ endPoint: '127.0.0.1', port, useSSL: false, accessKey: 'k', secretKey: 's', bucket: 'nowhere', requestTimeoutMs: 5000 });
    await expect(store.get('a')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', cause: expect.anything() });
    await expect(store.put('a', Buffer.from('x'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringContaining(`127.0.0.1:${port}/nowhere`) });
  });

  it('S3: an invalid bucket name is a configuration error, at construction', () => {
    expect(() => new S3Store({ endPoint: '127.0.0.1', useSSL: false, accessKey: 'k', secretKey: 's', bucket: 'Bad_Bucket' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

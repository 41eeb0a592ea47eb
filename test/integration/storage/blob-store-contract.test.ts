import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDiskStore } from '../../../src/storage/local-disk-store.js';
import { S3Store } from '../../../src/storage/s3-store.js';
import { keys } from '../../../src/storage/object-keys.js';
import type { BlobStore } from '../../../src/storage/types.js';
import { dockerEngineAvailable, startMinioContainer, startS3rver, type RunningS3 } from '../../helpers/s3-servers.js';

/** The same contract, run against every driver: local disk, s3rver, and MinIO where Docker runs. */
type Driver = { name: string; setup(): Promise<void>; make(): BlobStore; teardown(): Promise<void> };

const dirs: string[] = [];
let s3rver: RunningS3 | undefined;
let minio: RunningS3 | undefined;

const drivers: Driver[] = [
  {
    name: 'local disk',
    setup: async () => undefined,
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'blobs-'));
      dirs.push(dir);
      return new LocalDiskStore(dir);
    },
    teardown: async () => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })),
  },
  {
    name: 's3rver (real S3 protocol, in-process)',
    setup: async () => void (s3rver = await startS3rver()),
    make: () => new S3Store(s3rver!.options()),
    teardown: async () => s3rver?.close(),
  },
];
if (dockerEngineAvailable()) {
  drivers.push({
    name: 'MinIO (testcontainers)',
    setup: async () => void (minio = await startMinioContainer()),
    make: () => new S3Store(minio!.options()),
    teardown: async () => minio?.close(),
  });
} else {
  console.info('No Docker engine here: the MinIO container variant of the storage contract is not registered (s3rver covers the S3 path).');
}

describe.each(drivers)('BlobStore contract: $name', (driver) => {
  let store: BlobStore;
  beforeAll(() => driver.setup(), 120_000);
  afterAll(() => driver.teardown());
  beforeEach(() => {
    store = driver.make();
  });

  it('round-trips bytes, returns undefined for a missing key, overwrites atomically', async () => {
    expect(await store.get('a/missing')).toBeUndefined();
    const body = Buffer.from([0, 1, 2, 255, 254]);
    await store.put('a/b/c', body);
    expect(await store.get('a/b/c')).toEqual(body);
    await store.put('a/b/c', Buffer.from('second'));
    expect((await store.get('a/b/c'))!.toString()).toBe('second');
  });

  it('keeps a + in a session id safe and reversible', async () => {
    const key = keys.meta('session_6_+221771234567');
    expect(key).toBe('sessions/session_6_~2B221771234567/session-data.json');
    await store.put(key, Buffer.from('{}'));
    expect((await store.get(key))!.toString()).toBe('{}');
    expect(await store.listChildren('sessions/')).toEqual(['session_6_~2B221771234567']);
  });

  it('lists by prefix, sorted, recursively; lists children; deletes exactly a prefix', async () => {
    for (const k of ['s/x/2', 's/x/1', 's/x/sub/3', 's/y/1', 't/1']) await store.put(k, Buffer.from(k));
    expect(await store.list('s/x/')).toEqual(['s/x/1', 's/x/2', 's/x/sub/3']);
    expect(await store.listChildren('s/')).toEqual(['x', 'y']);
    await store.deletePrefix('s/x/');
    expect(await store.list('s/')).toEqual(['s/y/1']);
    expect((await store.get('t/1'))!.toString()).toBe('t/1');
    await store.delete('s/y/1');
    await store.delete('s/y/1'); // deleting a missing key is fine
    expect(await store.list('s/')).toEqual([]);
  });
});

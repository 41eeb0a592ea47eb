import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalMediaStore } from '../../src/storage/local-media-store.js';
import { mediaPrefix, receivedMediaKey, storedMediaType } from '../../src/storage/media-store.js';
import { S3MediaStore } from '../../src/storage/s3-media-store.js';
import { STALE_TEMP_MS } from '../../src/storage/stale-temp-files.js';
import { createMinioClient } from '../../src/storage/minio-client.js';
import { startS3rver, type RunningS3 } from '../helpers/s3-servers.js';

const SID = 'session_6_+221771234567';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'media-store-test-'));
  dirs.push(d);
  return d;
}
/** A file, made to look `ageMs` old. */
function file(path: string, ageMs: number, body = 'partial'): string {
  writeFileSync(path, body);
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
  return path;
}
const OLD = STALE_TEMP_MS + 60_000;

describe('received media keys and types', () => {
  it('key: session, kind, 16 hex of sha256(chat, sender, id), 8 random hex, allow-listed extension', () => {
    const from = { chat: '111@lid', sender: '111@lid', messageId: '3EB0.AB' };
    const a = receivedMediaKey(SID, 'image', from, 'jpg');
    const b = receivedMediaKey(SID, 'image', from, 'jpg');
    expect(a).toMatch(/^media\/session_6_~2B221771234567\/images\/[0-9a-f]{16}-[0-9a-f]{8}\.jpg$/);
    expect(a.startsWith(mediaPrefix(SID))).toBe(true);
    // the same message twice still gets two files (the random part), with the same hash part
    expect(b).not.toBe(a);
    expect(b.split('/').pop()!.slice(0, 16)).toBe(a.split('/').pop()!.slice(0, 16));
    const hash = (f: Partial<typeof from>) =>
      receivedMediaKey(SID, 'image', { ...from, ...f }, 'jpg')
        .split('/')
        .pop()!
        .slice(0, 16);
    expect(
      new Set([hash({}), hash({ messageId: '3EB0_AB' }), hash({ chat: '222@lid' }), hash({ sender: '333@lid' }), hash({ chat: '111@lid\0x', messageId: 'AB' })])
        .size,
    ).toBe(5);
    expect(receivedMediaKey(SID, 'sticker', from, 'webp')).toMatch(/\/stickers\/[0-9a-f]{16}-[0-9a-f]{8}\.webp$/);
  });

  it.each([
    ['image/jpeg', 'image/jpeg', 'jpg'],
    ['IMAGE/JPEG', 'image/jpeg', 'jpg'],
    ['audio/ogg; codecs=opus', 'audio/ogg', 'ogg'],
    ['application/pdf', 'application/pdf', 'pdf'],
    ['text/html', 'application/octet-stream', 'bin'],
    ['image/svg+xml', 'application/octet-stream', 'bin'],
    ['application/javascript', 'application/octet-stream', 'bin'],
    ['toString', 'application/octet-stream', 'bin'],
    ['__proto__', 'application/octet-stream', 'bin'],
    ['', 'application/octet-stream', 'bin'],
    [undefined, 'application/octet-stream', 'bin'],
  ])('a sender claiming %j is stored as %s (.%s)', (claim, contentType, ext) => {
    expect(storedMediaType(claim)).toEqual({ contentType, ext });
  });
});

describe('LocalMediaStore: temporary files left by a crash', () => {
  it('the first write sweeps old `<file>.<12 hex>.tmp` files; nothing else: fresh ones, other names, directories, symlinks, what they point to, deeper levels', async () => {
    const root = tempDir();
    const outside = tempDir();
    const kind = join(root, 'media', 'session_6_~2B221771234567', 'images');
    mkdirSync(join(kind, 'deeper'), { recursive: true });
    const stale = [file(join(kind, 'abc.jpg.0123456789ab.tmp'), OLD), file(join(kind, '3EB0AA.pdf.a1b2c3d4e5f6.tmp'), OLD)];
    const kept = [
      file(join(kind, 'fresh.jpg.0123456789ab.tmp'), 60_000),
      file(join(kind, 'abc.jpg'), OLD),
      file(join(kind, 'abc.jpg.tmp'), OLD),
      file(join(kind, 'abc.jpg.0123456789AB.tmp'), OLD),
      file(join(kind, 'abc.jpg.0123456789ab.tmp.keep'), OLD),
      file(join(kind, 'deeper', 'abc.jpg.0123456789ab.tmp'), OLD),
      file(join(root, 'not-media.jpg.0123456789ab.tmp'), OLD),
    ];
    mkdirSync(join(kind, 'dir.jpg.0123456789ab.tmp'));
    kept.push(join(kind, 'dir.jpg.0123456789ab.tmp'));
    // a symlink with a matching name, and a symlinked directory full of matching files: neither followed
    const target = file(join(outside, 'target.jpg.0123456789ab.tmp'), OLD);
    symlinkSync(target, join(kind, 'link.jpg.0123456789ab.tmp'));
    symlinkSync(outside, join(root, 'media', 'session_evil'));
    kept.push(join(kind, 'link.jpg.0123456789ab.tmp'), target);

    const store = new LocalMediaStore(root);
    const key = `${mediaPrefix(SID)}images/new.jpg`;
    await store.putStream(key, Readable.from([Buffer.from('new')]), { maxBytes: 100 });
    for (const p of stale) expect(existsSync(p)).toBe(false);
    for (const p of kept) expect(existsSync(p)).toBe(true);
    expect(existsSync(join(kind, 'new.jpg'))).toBe(true);

    // once per store: a leftover appearing later waits for the next start
    const later = file(join(kind, 'later.jpg.0123456789ab.tmp'), OLD);
    await store.putStream(`${mediaPrefix(SID)}images/other.jpg`, Readable.from([Buffer.from('x')]), { maxBytes: 100 });
    expect(existsSync(later)).toBe(true);
    expect(await store.sweepTempFiles()).toBe(1);
    expect(existsSync(later)).toBe(false);
  });

  it('a store whose media folder does not exist yet sweeps nothing and writes', async () => {
    const store = new LocalMediaStore(join(tempDir(), 'fresh'));
    expect(await store.sweepTempFiles()).toBe(0);
    await expect(store.putStream(`${mediaPrefix(SID)}audio/a.ogg`, Readable.from([Buffer.from('x')]), { maxBytes: 10 })).resolves.toEqual({ size: 1 });
  });
});

describe('S3MediaStore', () => {
  let s3: RunningS3 | undefined;
  afterAll(async () => {
    await s3?.close();
  });

  it('the first write sweeps old `wa-media-<16 hex>.tmp` spool files, and only those (even when the upload then fails)', async () => {
    const spool = tempDir();
    const stale = file(join(spool, 'wa-media-0123456789abcdef.tmp'), OLD);
    const kept = [
      file(join(spool, 'wa-media-fedcba9876543210.tmp'), 60_000),
      file(join(spool, 'wa-media-0123.tmp'), OLD),
      file(join(spool, 'other-0123456789abcdef.tmp'), OLD),
    ];
    mkdirSync(join(spool, 'wa-media-aaaaaaaaaaaaaaaa.tmp'));
    kept.push(join(spool, 'wa-media-aaaaaaaaaaaaaaaa.tmp'));
    const outside = file(join(tempDir(), 'wa-media-bbbbbbbbbbbbbbbb.tmp'), OLD);
    symlinkSync(outside, join(spool, 'wa-media-cccccccccccccccc.tmp'));
    kept.push(outside, join(spool, 'wa-media-cccccccccccccccc.tmp'));

    // nothing listens on port 1: the upload fails, the sweep has run before it
    const store = new S3MediaStore({
      endPoint: '127.0.0.1',
      port: 1,
      useSSL: false,
      accessKey: 'k',
      secretKey: 's',
      region: 'us-east-1',
      bucket: 'whatsapp-media',
      spoolDir: spool,
    });
    await expect(store.putStream(`${mediaPrefix(SID)}images/a.jpg`, Readable.from([Buffer.from('x')]), { maxBytes: 10 })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
    });
    expect(existsSync(stale)).toBe(false);
    for (const p of kept) expect(existsSync(p)).toBe(true);
  });

  it('the stored Content-Type is allow-listed, whatever the caller passes', async () => {
    s3 ??= await startS3rver();
    const o = s3.options();
    const store = new S3MediaStore({
      endPoint: o.endPoint,
      port: o.port,
      useSSL: false,
      accessKey: o.accessKey,
      secretKey: o.secretKey,
      region: 'us-east-1',
      bucket: o.bucket,
      spoolDir: tempDir(),
    });
    const client = createMinioClient({ endPoint: o.endPoint, port: o.port, useSSL: false, accessKey: o.accessKey, secretKey: o.secretKey });
    const put = async (name: string, contentType: string | undefined) => {
      const key = `${mediaPrefix(SID)}documents/${name}`;
      await store.putStream(key, Readable.from([Buffer.from('<html>')]), { contentType, maxBytes: 100 });
      return (await client.statObject(o.bucket, key)).metaData['content-type'];
    };
    expect(await put('a.bin', 'text/html')).toBe('application/octet-stream');
    expect(await put('b.pdf', 'application/pdf')).toBe('application/pdf');
    expect(await put('c.ogg', 'audio/ogg; codecs=opus')).toBe('audio/ogg');
    expect(await put('d.bin', undefined)).toBe('application/octet-stream');
  });
});

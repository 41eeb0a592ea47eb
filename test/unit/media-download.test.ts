import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { MediaDecryptor, mediaDownloadUrl, mediaKeys } from '../../src/whatsapp/media-download.js';
import { encryptMedia } from '../emulator/media-crypto.js';

/** Feeds `file` in chunks of the given sizes (cycled) through a decryptor; returns the output or the error. */
async function decrypt(file: Buffer, mediaKey: Buffer, chunkSizes: number[], expect: ConstructorParameters<typeof MediaDecryptor>[1] = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let i = 0, n = 0; i < file.length; n++) {
    const size = chunkSizes[n % chunkSizes.length]!;
    chunks.push(file.subarray(i, i + size));
    i += size;
  }
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    new MediaDecryptor(await mediaKeys(mediaKey, 'image'), expect),
    new Writable({ write: (c: Buffer, _e, done) => (out.push(c), done()) }),
  );
  return Buffer.concat(out);
}

describe('received media decryption (streaming, verified)', () => {
  it.each([[[1]], [[7, 3, 10]], [[16]], [[4096]], [[1_000_000]]])('decrypts exactly what the sender encrypted, whatever the chunking (%j)', async (sizes) => {
    const plain = randomBytes(10_007);
    const enc = await encryptMedia(plain, 'image');
    const out = await decrypt(enc.file, enc.mediaKey, sizes, { fileSha256: enc.fileSha256, fileEncSha256: enc.fileEncSha256 });
    expect(out.equals(plain)).toBe(true);
  });

  it('a flipped byte anywhere fails with MEDIA_CORRUPT (MAC), not with a partial file accepted', async () => {
    const enc = await encryptMedia(randomBytes(5000), 'image');
    for (const at of [0, 2500, enc.file.length - 11, enc.file.length - 1]) {
      const file = Buffer.from(enc.file);
      file[at] = file[at]! ^ 0x01;
      await expect(decrypt(file, enc.mediaKey, [333])).rejects.toMatchObject({ code: 'MEDIA_CORRUPT', message: expect.stringMatching(/MAC mismatch/) });
    }
  });

  it('a wrong key, a truncated file, or hashes that do not match fail with MEDIA_CORRUPT', async () => {
    const plain = randomBytes(3000);
    const enc = await encryptMedia(plain, 'image');
    await expect(decrypt(enc.file, randomBytes(32), [100])).rejects.toMatchObject({ code: 'MEDIA_CORRUPT' });
    await expect(decrypt(enc.file.subarray(0, 5), enc.mediaKey, [100])).rejects.toMatchObject({
      code: 'MEDIA_CORRUPT',
      message: expect.stringMatching(/shorter than its MAC/),
    });
    await expect(decrypt(enc.file.subarray(0, enc.file.length - 16), enc.mediaKey, [100])).rejects.toMatchObject({ code: 'MEDIA_CORRUPT' });
    await expect(decrypt(enc.file, enc.mediaKey, [100], { fileSha256: randomBytes(32) })).rejects.toMatchObject({
      message: expect.stringMatching(/file hash mismatch/),
    });
    await expect(decrypt(enc.file, enc.mediaKey, [100], { fileEncSha256: randomBytes(32) })).rejects.toMatchObject({
      message: expect.stringMatching(/encrypted file hash mismatch/),
    });
  });
});

describe('where received media are fetched from', () => {
  const ref = (url?: string, directPath?: string) => ({ kind: 'image' as const, url, directPath });

  it('WhatsApp media hosts: the URL host with the direct path, or mmg.whatsapp.net', () => {
    expect(mediaDownloadUrl(ref('https://mmg.whatsapp.net/o1/v/t62?x=1', '/v/t62.7118-24/abc.enc?ccb=11'), [])).toBe(
      'https://mmg.whatsapp.net/v/t62.7118-24/abc.enc?ccb=11',
    );
    expect(mediaDownloadUrl(ref('https://media-cdg2-1.cdn.whatsapp.net/x', '/v/abc'), [])).toBe('https://media-cdg2-1.cdn.whatsapp.net/v/abc');
    expect(mediaDownloadUrl(ref(undefined, '/v/abc'), [])).toBe('https://mmg.whatsapp.net/v/abc');
    expect(mediaDownloadUrl(ref('https://mmg.whatsapp.net/d/f/abc.enc'), [])).toBe('https://mmg.whatsapp.net/d/f/abc.enc');
  });

  it('refuses a sender-chosen host, plain http, odd ports on WhatsApp hosts, and a message with no location', () => {
    expect(() => mediaDownloadUrl(ref('https://evil.example/steal', '/v/abc'), [])).toThrow(/not a WhatsApp media host/);
    expect(() => mediaDownloadUrl(ref('https://whatsapp.net.evil.example/x'), [])).toThrow(/not a WhatsApp media host/);
    expect(() => mediaDownloadUrl(ref('https://169.254.169.254/latest/meta-data', '/v/abc'), [])).toThrow(/not a WhatsApp media host/);
    expect(() => mediaDownloadUrl(ref('http://mmg.whatsapp.net/v/abc'), [])).toThrow(/https only/);
    expect(() => mediaDownloadUrl(ref('https://mmg.whatsapp.net:8080/v/abc'), [])).toThrow(/not a WhatsApp media host/);
    expect(() => mediaDownloadUrl(ref(undefined, 'v/abc'), [])).toThrow(/no media location/);
    expect(() => mediaDownloadUrl(ref(), [])).toThrow(/no media location/);
  });

  it('an allowed extra host (an emulator next to WA_WEBSOCKET_URL) is used with its port', () => {
    expect(mediaDownloadUrl(ref('https://127.0.0.1:4443/v/x', '/v/abc'), ['127.0.0.1'])).toBe('https://127.0.0.1:4443/v/abc');
    expect(() => mediaDownloadUrl(ref('https://127.0.0.2:4443/v/x', '/v/abc'), ['127.0.0.1'])).toThrow(/not a WhatsApp media host/);
  });
});

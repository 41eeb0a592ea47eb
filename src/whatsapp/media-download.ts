/**
 * Downloading a received media file: fetched over HTTPS as a stream and decrypted as it arrives,
 * never held whole. Unlike Baileys' own downloader this one verifies what it decrypts: the MAC
 * WhatsApp appends to every file (HMAC-SHA256 over iv ‖ ciphertext, first 10 bytes) and, when
 * the message carries them, the SHA-256 of the encrypted and of the plain file. A mismatch
 * errors the stream (MEDIA_CORRUPT) at its end, so the media store discards the file. It also
 * fetches only from WhatsApp's media hosts (`*.whatsapp.net`) or hosts the worker was told to
 * allow (an emulator's): the URL inside a message is chosen by its sender.
 */
import { createDecipheriv, createHash, createHmac, timingSafeEqual, type Decipher, type Hash, type Hmac } from 'node:crypto';
import type { Agent } from 'node:https';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { getMediaKeys } from '@whiskeysockets/baileys';
import { WorkerError } from '../util/errors.js';
import type { IncomingMedia } from './types.js';
import { httpGet, HttpGetError } from '../util/http-get.js';

/** The media key's HKDF label depends on the kind of file. */
export type MediaKeyKind = IncomingMedia['kind'];

/** What a media message says about its file. */
export interface MediaRef {
  kind: MediaKeyKind;
  url?: string | null | undefined;
  directPath?: string | null | undefined;
  mediaKey?: Uint8Array | null | undefined;
  fileSha256?: Uint8Array | null | undefined;
  fileEncSha256?: Uint8Array | null | undefined;
}

export interface MediaDownloadOptions {
  /** Hosts allowed besides `*.whatsapp.net` (host or host:port). */
  extraHosts: readonly string[];
  /** TLS settings (e.g. an extra CA); default: Node's global agent. */
  agent?: Agent | undefined;
  /** Idle socket timeout. */
  timeoutMs: number;
}

const MAC_LENGTH = 10;
export const DEFAULT_MEDIA_HOST = 'mmg.whatsapp.net';

export function isAllowedMediaHost(host: string, extraHosts: readonly string[]): boolean {
  const name = host.toLowerCase();
  const bare = name.replace(/:\d+$/, '');
  if (bare === 'whatsapp.net' || bare.endsWith('.whatsapp.net')) return !/:\d+$/.test(name) || name.endsWith(':443');
  return extraHosts.some((h) => h.toLowerCase() === name || h.toLowerCase() === bare);
}

/** Where to fetch the file: `https://<host><directPath>`, the host taken from `url` when allowed (as WhatsApp Web does). */
export function mediaDownloadUrl(ref: MediaRef, extraHosts: readonly string[]): string {
  let urlHost: string | undefined;
  if (ref.url) {
    let parsed: URL;
    try {
      parsed = new URL(ref.url);
    } catch {
      throw new WorkerError('MEDIA_UNAVAILABLE', 'the media URL in the message is not a URL');
    }
    if (parsed.protocol !== 'https:') throw new WorkerError('MEDIA_UNAVAILABLE', `media URL scheme ${parsed.protocol} refused (https only)`);
    if (!isAllowedMediaHost(parsed.host, extraHosts)) throw new WorkerError('MEDIA_UNAVAILABLE', `media host ${parsed.host} is not a WhatsApp media host`);
    urlHost = parsed.host;
    if (!ref.directPath) return parsed.toString();
  }
  if (!ref.directPath?.startsWith('/')) throw new WorkerError('MEDIA_UNAVAILABLE', 'the message has no media location');
  return `https://${urlHost ?? DEFAULT_MEDIA_HOST}${ref.directPath}`;
}

/**
 * ciphertext ‖ mac in, plaintext out. Holds back the last 10 bytes (the MAC) of what it has seen,
 * so it never decrypts them; checks MAC and hashes when the input ends.
 */
export class MediaDecryptor extends Transform {
  private readonly decipher: Decipher;
  private readonly hmac: Hmac;
  private readonly encHash: Hash = createHash('sha256');
  private readonly plainHash: Hash = createHash('sha256');
  private tail = Buffer.alloc(0);

  constructor(
    keys: { iv: Buffer; cipherKey: Buffer; macKey: Buffer },
    private readonly expect: { fileSha256?: Uint8Array | undefined; fileEncSha256?: Uint8Array | undefined } = {},
  ) {
    super();
    this.decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
    this.hmac = createHmac('sha256', keys.macKey).update(keys.iv);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.encHash.update(chunk);
    const all = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const body = all.subarray(0, Math.max(0, all.length - MAC_LENGTH));
    this.tail = Buffer.from(all.subarray(body.length));
    if (body.length === 0) return done();
    this.hmac.update(body);
    const plain = this.decipher.update(body);
    this.plainHash.update(plain);
    done(null, plain);
  }

  override _flush(done: TransformCallback): void {
    const corrupt = (why: string) => done(new WorkerError('MEDIA_CORRUPT', `received media rejected: ${why}`));
    if (this.tail.length !== MAC_LENGTH) return corrupt('file shorter than its MAC');
    const mac = this.hmac.digest().subarray(0, MAC_LENGTH);
    if (!timingSafeEqual(mac, this.tail)) return corrupt('MAC mismatch');
    if (this.expect.fileEncSha256?.length && !this.encHash.digest().equals(Buffer.from(this.expect.fileEncSha256)))
      return corrupt('encrypted file hash mismatch');
    let last: Buffer;
    try {
      last = this.decipher.final();
    } catch {
      return corrupt('bad padding');
    }
    this.plainHash.update(last);
    if (this.expect.fileSha256?.length && !this.plainHash.digest().equals(Buffer.from(this.expect.fileSha256))) return corrupt('file hash mismatch');
    done(null, last);
  }
}

export async function mediaKeys(mediaKey: Uint8Array, kind: MediaKeyKind): Promise<{ iv: Buffer; cipherKey: Buffer; macKey: Buffer }> {
  const k = await getMediaKeys(mediaKey, kind);
  if (!k.macKey) throw new WorkerError('MEDIA_CORRUPT', 'no MAC key derived');
  return { iv: Buffer.from(k.iv), cipherKey: Buffer.from(k.cipherKey), macKey: Buffer.from(k.macKey) };
}

/** Thrown for 404/410: the file is gone from the media host (the phone can be asked to upload it again). */
export class MediaGoneError extends WorkerError {
  constructor(readonly status: number) {
    super('MEDIA_UNAVAILABLE', `the media host answered ${status}`);
  }
}

/** The decrypted file, as a stream that errors if it does not verify. */
export async function downloadMedia(ref: MediaRef, opts: MediaDownloadOptions): Promise<Readable> {
  if (!ref.mediaKey?.length) throw new WorkerError('MEDIA_UNAVAILABLE', 'the message carries no media key');
  const url = mediaDownloadUrl(ref, opts.extraHosts);
  const keys = await mediaKeys(ref.mediaKey, ref.kind);
  const body = await get(url, opts);
  const decryptor = new MediaDecryptor(keys, { fileSha256: ref.fileSha256 ?? undefined, fileEncSha256: ref.fileEncSha256 ?? undefined });
  body.on('error', (err) => decryptor.destroy(new WorkerError('MEDIA_UNAVAILABLE', `media download broke off: ${err.message}`, { cause: err })));
  // A small file can be fully received (and fail its MAC) before the caller attaches its
  // pipeline: the error must not be "unhandled" then. It is not lost: the stream stays errored,
  // and pipeline()/async iteration report it when they attach.
  decryptor.on('error', () => undefined);
  return body.pipe(decryptor);
}

async function get(url: string, opts: MediaDownloadOptions): Promise<Readable> {
  try {
    return await httpGet(url, { timeoutMs: opts.timeoutMs, agent: opts.agent, headers: { Origin: 'https://web.whatsapp.com' } });
  } catch (err) {
    const status = err instanceof HttpGetError ? err.status : 0;
    if (status === 404 || status === 410) throw new MediaGoneError(status);
    throw new WorkerError('MEDIA_UNAVAILABLE', `cannot fetch the media file: ${(err as Error).message}`, { cause: err });
  }
}

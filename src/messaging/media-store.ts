import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'minio';
import { createMinioClient } from '../storage/minio-client.js';
import { encodeSessionId } from '../storage/object-keys.js';
import { WorkerError } from '../util/errors.js';
import type { IncomingMedia } from '../whatsapp/types.js';

/**
 * Media files, streamed: a received file goes from WhatsApp's download stream to the store
 * without ever being held whole in memory. Keys (built only by `mediaKey`):
 *   media/<sessionId>/<images|videos|audio|documents|stickers>/<messageId>.<ext>
 * Local driver: files under STORAGE_DIR (so STORAGE_DIR/media/…); S3: the media bucket.
 * Files are stored as they are (the backend serves them); history and credentials are the
 * encrypted part of storage.
 */
export interface MediaStore {
  /** Stores the stream under `key`; refuses (storing nothing) beyond `maxBytes`. */
  putStream(key: string, body: Readable, opts: { contentType?: string | undefined; maxBytes: number }): Promise<{ size: number }>;
  /** The file, or undefined when there is none. */
  getStream(key: string): Promise<Readable | undefined>;
  /** Removes every file of a session (`delete`). */
  deleteSession(sessionId: string): Promise<void>;
}

export type MediaKind = IncomingMedia['kind'];
const FOLDER: Record<MediaKind, string> = { image: 'images', video: 'videos', audio: 'audio', document: 'documents', sticker: 'stickers' };
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'video/quicktime': 'mov',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'application/zip': 'zip',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
};

/** The extension for a file: from its MIME type, else from its name (if plain), else `bin`. */
export function mediaExtension(mimeType: string | undefined, fileName?: string): string {
  const base = mimeType?.split(';')[0]?.trim().toLowerCase();
  if (base && EXTENSIONS[base]) return EXTENSIONS[base];
  const fromName = fileName?.match(/\.([A-Za-z0-9]{1,8})$/)?.[1];
  return fromName ? fromName.toLowerCase() : 'bin';
}

export function mediaKey(sessionId: string, kind: MediaKind, messageId: string, ext: string): string {
  const id = messageId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
  return `${mediaPrefix(sessionId)}${FOLDER[kind]}/${id}.${ext}`;
}

/** Every media file of a session is under this prefix. */
export function mediaPrefix(sessionId: string): string {
  return `media/${encodeSessionId(sessionId)}/`;
}

/** Passes bytes through, counting them; errors with MEDIA_TOO_LARGE past `max`. */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) done(new WorkerError('MEDIA_TOO_LARGE', `media is larger than MEDIA_MAX_BYTES (${this.max})`));
    else done(null, chunk);
  }
}

const MEDIA_KEY = /^media\/[A-Za-z0-9._~-]+\/[a-z]+\/[A-Za-z0-9._~-]+$/;
function checkKey(key: string): void {
  if (!MEDIA_KEY.test(key) || key.includes('..')) throw new WorkerError('INVALID_MEDIA', `not a media key: ${key.slice(0, 80)}`);
}

/** Files under a root directory, written to a temporary file and renamed (never half a file). */
export class LocalMediaStore implements MediaStore {
  readonly root: string;
  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    checkKey(key);
    const full = resolve(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + sep)) throw new WorkerError('INVALID_MEDIA', `key escapes the storage root: ${key}`);
    return full;
  }

  async putStream(key: string, body: Readable, opts: { maxBytes: number }): Promise<{ size: number }> {
    const target = this.path(key);
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    const limit = new ByteLimit(opts.maxBytes);
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await pipeline(body, limit, createWriteStream(tmp, { mode: 0o600 }));
      const handle = await open(tmp, 'r');
      await handle.sync().finally(() => handle.close());
      await rename(tmp, target);
      return { size: limit.bytes };
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (err instanceof WorkerError) throw err;
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot write ${key}: ${(err as Error).message}`, { cause: err });
    }
  }

  async getStream(key: string): Promise<Readable | undefined> {
    const path = this.path(key);
    const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot read ${key}`, { cause: err });
    });
    if (!handle) return undefined;
    await handle.close();
    return createReadStream(path);
  }

  async deleteSession(sessionId: string): Promise<void> {
    const dir = resolve(this.root, ...mediaPrefix(sessionId).split('/').filter(Boolean));
    if (!dir.startsWith(this.root + sep)) throw new WorkerError('INVALID_MEDIA', `session media escapes the storage root: ${sessionId}`);
    await rm(dir, { recursive: true, force: true }).catch((err: unknown) => {
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot delete the media of ${sessionId}: ${(err as Error).message}`, { cause: err });
    });
  }
}

export interface S3MediaOptions {
  endPoint: string;
  port: number | undefined;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  /** Where files wait before upload (default: the OS temp dir). */
  spoolDir?: string | undefined;
}

/** Files in an S3 bucket (MinIO), spooled through a temporary file and uploaded with their length. */
export class S3MediaStore implements MediaStore {
  private readonly client: Client;
  private ready: Promise<void> | undefined;

  constructor(private readonly opts: S3MediaOptions) {
    this.client = createMinioClient(opts);
  }

  ensureBucket(): Promise<void> {
    this.ready ??= (async () => {
      try {
        if (!(await this.client.bucketExists(this.opts.bucket))) await this.client.makeBucket(this.opts.bucket, this.opts.region);
      } catch (err) {
        this.ready = undefined;
        throw new WorkerError('STORAGE_UNAVAILABLE', `cannot reach media bucket ${this.opts.bucket}: ${(err as Error).message}`, { cause: err });
      }
    })();
    return this.ready;
  }

  /**
   * Spooled through a temporary file, then uploaded with its length: memory stays bounded, the
   * whole file is verified (size limit, and the media MAC for downloads) before anything is
   * uploaded, so a rejected file never leaves a partial object; and a sized PUT needs no
   * multipart upload (which not every S3 server implements).
   */
  async putStream(key: string, body: Readable, opts: { contentType?: string | undefined; maxBytes: number }): Promise<{ size: number }> {
    checkKey(key);
    const limit = new ByteLimit(opts.maxBytes);
    const tmp = join(this.opts.spoolDir ?? tmpdir(), `wa-media-${randomBytes(8).toString('hex')}.tmp`);
    try {
      await pipeline(body, limit, createWriteStream(tmp, { mode: 0o600 }));
      await this.ensureBucket();
      await this.client.putObject(this.opts.bucket, key, createReadStream(tmp), limit.bytes, { 'Content-Type': opts.contentType ?? 'application/octet-stream' });
      return { size: limit.bytes };
    } catch (err) {
      if (err instanceof WorkerError) throw err;
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot write ${key}: ${(err as Error).message}`, { cause: err });
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  async getStream(key: string): Promise<Readable | undefined> {
    checkKey(key);
    await this.ensureBucket();
    try {
      return await this.client.getObject(this.opts.bucket, key);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NoSuchKey' || code === 'NotFound') return undefined;
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot read ${key}: ${(err as Error).message}`, { cause: err });
    }
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.ensureBucket();
    try {
      const keys: string[] = [];
      for await (const item of this.client.listObjectsV2(this.opts.bucket, mediaPrefix(sessionId), true) as AsyncIterable<{ name?: string }>) {
        if (item.name) keys.push(item.name);
      }
      for (let i = 0; i < keys.length; i += 1000) await this.client.removeObjects(this.opts.bucket, keys.slice(i, i + 1000));
    } catch (err) {
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot delete the media of ${sessionId}: ${(err as Error).message}`, { cause: err });
    }
  }
}

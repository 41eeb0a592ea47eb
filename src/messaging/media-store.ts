import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, opendir, open, rename, rm, unlink } from 'node:fs/promises';
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
 * without ever being held whole in memory. Keys of received files (built only by `receivedMediaKey`):
 *   media/<encoded sessionId>/<images|videos|audio|documents|stickers>/<16 hex>-<8 hex>.<ext>
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
/**
 * The content types a stored file may have, with their extension. Anything else a sender
 * claims (text/html, image/svg+xml, …) is stored as application/octet-stream, `.bin`: the
 * backend serves these files, and must not serve a contact's HTML as a page.
 */
const EXTENSIONS: Readonly<Record<string, string>> = {
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

/**
 * What a file is stored as, from the MIME type its sender claims: the content type (S3
 * `Content-Type`) and extension come only from the allow-list above, never from the claim as
 * such nor from the sender's file name.
 */
export function storedMediaType(mimeType: string | undefined): { contentType: string; ext: string } {
  const base = mimeType?.split(';')[0]?.trim().toLowerCase();
  const ext = base && Object.hasOwn(EXTENSIONS, base) ? EXTENSIONS[base] : undefined;
  return ext ? { contentType: base!, ext } : { contentType: 'application/octet-stream', ext: 'bin' };
}

/**
 * Where a received file goes: by session and kind, named after its chat, sender and message id
 * (hashed: the id is chosen by the sender, and `3EB0.AB` must not meet `3EB0_AB`) plus a random
 * part, so that no message, from any chat, can ever overwrite another's file.
 */
export function receivedMediaKey(sessionId: string, kind: MediaKind, from: { chat: string; sender: string; messageId: string }, ext: string): string {
  const hash = createHash('sha256').update(`${from.chat}\0${from.sender}\0${from.messageId}`).digest('hex').slice(0, 16);
  return `${mediaPrefix(sessionId)}${FOLDER[kind]}/${hash}-${randomBytes(4).toString('hex')}.${ext}`;
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

/** Temporary files older than this were left by a crash (or a kill): removed when a store is first used. */
export const STALE_TEMP_MS = 60 * 60_000;
/** Entries a sweep looks at, at most (a huge media tree or temp dir costs a bounded time). */
const SWEEP_MAX_ENTRIES = 100_000;

/**
 * Removes the temporary files a crash left behind: regular files only (never a symlink, never
 * a directory), whose name matches `pattern` exactly, older than `olderThanMs`, in `dir` and
 * its subdirectories down to `depth` levels (symlinked directories are not followed), looking
 * at no more than SWEEP_MAX_ENTRIES entries. Never throws; resolves to the number removed.
 */
export async function sweepStaleTempFiles(dir: string, pattern: RegExp, opts: { depth: number; olderThanMs: number }): Promise<number> {
  const cutoff = Date.now() - opts.olderThanMs;
  let looked = 0;
  let removed = 0;
  const walk = async (path: string, level: number): Promise<void> => {
    const handle = await opendir(path).catch(() => undefined);
    if (!handle) return;
    for await (const entry of handle) {
      if (++looked > SWEEP_MAX_ENTRIES) break;
      const full = join(path, entry.name);
      const isCandidate = pattern.test(entry.name);
      // A directory, or an entry of unknown type (some file systems do not say): lstat decides.
      const maybeDir = level < opts.depth && !entry.isFile() && !entry.isSymbolicLink();
      if (!isCandidate && !maybeDir) continue;
      const stat = await lstat(full).catch(() => undefined);
      if (!stat) continue;
      if (stat.isDirectory()) {
        if (level < opts.depth) await walk(full, level + 1);
      } else if (isCandidate && stat.isFile() && stat.mtimeMs < cutoff) {
        await unlink(full).then(
          () => removed++,
          () => undefined,
        );
      }
    }
  };
  await walk(dir, 0).catch(() => undefined);
  return removed;
}

const MEDIA_KEY = /^media\/[A-Za-z0-9._~-]+\/[a-z]+\/[A-Za-z0-9._~-]+$/;
/** LocalMediaStore's temporary file: `<file name>.<12 hex>.tmp`, next to the file. */
const LOCAL_TEMP = /^[A-Za-z0-9._~-]+\.[0-9a-f]{12}\.tmp$/;
/** S3MediaStore's spool file. */
const S3_SPOOL = /^wa-media-[0-9a-f]{16}\.tmp$/;
function checkKey(key: string): void {
  if (!MEDIA_KEY.test(key) || key.includes('..')) throw new WorkerError('INVALID_MEDIA', `not a media key: ${key.slice(0, 80)}`);
}

/** Files under a root directory, written to a temporary file and renamed (never half a file). */
export class LocalMediaStore implements MediaStore {
  readonly root: string;
  private swept: Promise<number> | undefined;
  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Removes `<file>.<12 hex>.tmp` files older than STALE_TEMP_MS under root/media/<session>/<kind>/ (a crash mid-write). */
  sweepTempFiles(olderThanMs = STALE_TEMP_MS): Promise<number> {
    return sweepStaleTempFiles(join(this.root, 'media'), LOCAL_TEMP, { depth: 2, olderThanMs });
  }

  private path(key: string): string {
    checkKey(key);
    const full = resolve(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + sep)) throw new WorkerError('INVALID_MEDIA', `key escapes the storage root: ${key}`);
    return full;
  }

  async putStream(key: string, body: Readable, opts: { maxBytes: number }): Promise<{ size: number }> {
    const target = this.path(key);
    await (this.swept ??= this.sweepTempFiles());
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
  private swept: Promise<number> | undefined;

  constructor(private readonly opts: S3MediaOptions) {
    this.client = createMinioClient(opts);
  }

  /** Removes `wa-media-<16 hex>.tmp` spool files older than STALE_TEMP_MS from the spool directory (a crash mid-upload). */
  sweepTempFiles(olderThanMs = STALE_TEMP_MS): Promise<number> {
    return sweepStaleTempFiles(this.opts.spoolDir ?? tmpdir(), S3_SPOOL, { depth: 0, olderThanMs });
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
    await (this.swept ??= this.sweepTempFiles());
    const limit = new ByteLimit(opts.maxBytes);
    const tmp = join(this.opts.spoolDir ?? tmpdir(), `wa-media-${randomBytes(8).toString('hex')}.tmp`);
    try {
      await pipeline(body, limit, createWriteStream(tmp, { mode: 0o600 }));
      await this.ensureBucket();
      // Only an allow-listed type (see storedMediaType), whatever the caller passes.
      await this.client.putObject(this.opts.bucket, key, createReadStream(tmp), limit.bytes, { 'Content-Type': storedMediaType(opts.contentType).contentType });
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

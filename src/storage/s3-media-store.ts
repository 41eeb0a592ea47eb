import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'minio';
import { WorkerError } from '../util/errors.js';
import { ByteLimit, checkMediaKey, mediaPrefix, storedMediaType, type MediaStore } from './media-store.js';
import { createMinioClient } from './minio-client.js';
import { STALE_TEMP_MS, sweepStaleTempFiles } from './stale-temp-files.js';

/** S3MediaStore's spool file. */
const S3_SPOOL = /^wa-media-[0-9a-f]{16}\.tmp$/;

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
    return sweepStaleTempFiles(this.opts.spoolDir ?? tmpdir(), S3_SPOOL, { maxDepth: 0, olderThanMs }).then((r) => r.removed);
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
    checkMediaKey(key);
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
    checkMediaKey(key);
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

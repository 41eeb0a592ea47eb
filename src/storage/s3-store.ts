import type { Client } from 'minio';
import { createMinioClient } from './minio-client.js';
import { describeError, WorkerError } from '../util/errors.js';
import type { BlobStore } from './types.js';

export interface S3StoreOptions {
  /** Host name or IP, without scheme or port (config.ts splits `MINIO_ENDPOINT`). */
  endPoint: string;
  port?: number | undefined;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string | undefined;
  /** Path-style requests (`host/bucket/key`): what MinIO and most self-hosted S3 expect. Default true. */
  pathStyle?: boolean;
  /** Upper bound for one request; a hung server must not hang a flush for ever. Default 20 s. */
  requestTimeoutMs?: number;
}

/**
 * Objects in MinIO (or any S3) through the official client. A single PUT is atomic in S3, so
 * readers never see a torn object. The bucket is created when missing (on first use, and again
 * if it disappears). Every backend failure becomes WorkerError('STORAGE_UNAVAILABLE') with the
 * cause attached, except "no such key", which is `undefined` from `get`.
 *
 * A request that times out may still complete on the server later; the auth journal is built
 * so that such a late write can never overwrite newer data (see auth-state.ts).
 */
export class S3Store implements BlobStore {
  private readonly client: Client;
  readonly bucket: string;
  private readonly region: string;
  private readonly timeoutMs: number;
  private bucketReady: Promise<void> | undefined;

  constructor(private readonly opts: S3StoreOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket) || opts.bucket.includes('..')) {
      throw new WorkerError('INVALID_CONFIG', `MINIO_BUCKET_NAME ${JSON.stringify(opts.bucket)} is not a valid bucket name (3 to 63 of a-z, 0-9, '.', '-')`);
    }
    this.bucket = opts.bucket;
    this.region = opts.region || 'us-east-1';
    this.timeoutMs = opts.requestTimeoutMs ?? 20_000;
    this.client = createMinioClient({ ...opts, region: this.region });
  }

  /** Creates the bucket if missing. Call at start to fail fast on a wrong endpoint or credentials. */
  ensureBucket(): Promise<void> {
    this.bucketReady ??= this.call('check bucket', async () => {
      if (await this.client.bucketExists(this.bucket)) return;
      try {
        await this.client.makeBucket(this.bucket, this.region);
      } catch (err) {
        // Another worker created it meanwhile: fine.
        if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(codeOf(err) ?? '')) throw err;
      }
    }).catch((err: unknown) => {
      this.bucketReady = undefined; // try again on the next call
      throw err;
    });
    return this.bucketReady;
  }

  async get(key: string): Promise<Buffer | undefined> {
    await this.ensureBucket();
    return this.call(`read ${key}`, async () => {
      try {
        const stream = await this.client.getObject(this.bucket, key);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.ensureBucket();
    await this.call(`write ${key}`, () => this.client.putObject(this.bucket, key, body, body.length, { 'Content-Type': 'application/octet-stream' }));
  }

  async delete(key: string): Promise<void> {
    await this.ensureBucket();
    await this.call(`delete ${key}`, async () => {
      try {
        await this.client.removeObject(this.bucket, key);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    const items = await this.listRaw(prefix, true);
    return items.flatMap((i) => (i.name ? [i.name] : [])).sort();
  }

  async listChildren(prefix: string): Promise<string[]> {
    const items = await this.listRaw(prefix, false);
    return items
      .flatMap((i) => (i.prefix ? [i.prefix.slice(prefix.length).replace(/\/$/, '')] : []))
      .filter((name) => name.length > 0)
      .sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    const names = await this.list(prefix);
    if (names.length === 0) return;
    await this.call(`delete ${prefix}*`, async () => {
      // The client sends batches of at most 1000 keys (S3's multi-delete limit); failures come
      // back per key rather than as an exception.
      const results = await this.client.removeObjects(this.bucket, names);
      const failed = results.filter((r) => r?.Error && r.Error.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]?.Error;
        throw new Error(`${failed.length} object(s) not deleted, e.g. ${first?.Key}: ${first?.Code} ${first?.Message ?? ''}`.trim());
      }
    });
  }

  private async listRaw(prefix: string, recursive: boolean): Promise<Array<{ name?: string; prefix?: string }>> {
    await this.ensureBucket();
    return this.call(`list ${prefix || '/'}`, async () => {
      const out: Array<{ name?: string; prefix?: string }> = [];
      for await (const item of this.client.listObjectsV2(this.bucket, prefix, recursive)) out.push(item as { name?: string; prefix?: string });
      return out;
    });
  }

  /** Runs one backend call under the timeout, turning every failure into STORAGE_UNAVAILABLE. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([fn(), timeout]);
    } catch (err) {
      // The bucket vanished (deleted by hand?): recreate it on the next call.
      if (codeOf(err) === 'NoSuchBucket') this.bucketReady = undefined;
      if (err instanceof WorkerError) throw err;
      const where = `${this.opts.useSSL ? 'https' : 'http'}://${this.opts.endPoint}${this.opts.port ? `:${this.opts.port}` : ''}/${this.bucket}`;
      throw new WorkerError('STORAGE_UNAVAILABLE', `S3 storage (${where}): cannot ${what}: ${[codeOf(err), describeError(err)].filter(Boolean).join(' ')}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

function isNotFound(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
}

/** @deprecated name kept for existing callers (test helpers); use S3StoreOptions. */
export type S3Options = S3StoreOptions;

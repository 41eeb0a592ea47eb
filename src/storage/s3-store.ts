import { Client } from 'minio';
import { WorkerError } from '../util/errors.js';
import type { BlobStore } from './types.js';

export interface S3Options {
  endPoint: string;
  port: number | undefined;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

/**
 * Objects in MinIO (or any S3) through the official client. A single PUT is atomic in S3, so
 * readers never see a torn object. The bucket is created when missing.
 */
export class S3Store implements BlobStore {
  private readonly client: Client;
  private readonly bucket: string;
  private ready: Promise<void> | undefined;

  constructor(private readonly opts: S3Options) {
    this.client = new Client({
      endPoint: opts.endPoint,
      ...(opts.port ? { port: opts.port } : {}),
      useSSL: opts.useSSL,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      region: opts.region,
      pathStyle: true,
    });
    this.bucket = opts.bucket;
  }

  /** Creates the bucket if missing; retried on the next call after a failure. */
  ensureBucket(): Promise<void> {
    this.ready ??= (async () => {
      try {
        if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket, this.opts.region);
      } catch (err) {
        this.ready = undefined;
        throw this.unavailable(`cannot reach bucket ${this.bucket}`, err);
      }
    })();
    return this.ready;
  }

  async get(key: string): Promise<Buffer | undefined> {
    await this.ensureBucket();
    try {
      const stream = await this.client.getObject(this.bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.unavailable(`cannot read ${key}`, err);
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.ensureBucket();
    try {
      await this.client.putObject(this.bucket, key, body, body.length, { 'Content-Type': 'application/octet-stream' });
    } catch (err) {
      throw this.unavailable(`cannot write ${key}`, err);
    }
  }

  async delete(key: string): Promise<void> {
    await this.ensureBucket();
    try {
      await this.client.removeObject(this.bucket, key);
    } catch (err) {
      if (!isNotFound(err)) throw this.unavailable(`cannot delete ${key}`, err);
    }
  }

  private async listRaw(prefix: string, recursive: boolean): Promise<Array<{ name?: string; prefix?: string }>> {
    await this.ensureBucket();
    try {
      const out: Array<{ name?: string; prefix?: string }> = [];
      for await (const item of this.client.listObjectsV2(this.bucket, prefix, recursive)) out.push(item as { name?: string; prefix?: string });
      return out;
    } catch (err) {
      throw this.unavailable(`cannot list ${prefix}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listRaw(prefix, true))
      .map((o) => o.name)
      .filter((n): n is string => !!n)
      .sort();
  }

  async listChildren(prefix: string): Promise<string[]> {
    return (await this.listRaw(prefix, false))
      .map((o) => o.prefix)
      .filter((p): p is string => !!p)
      .map((p) => p.slice(prefix.length).replace(/\/$/, ''))
      .sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    const names = await this.list(prefix);
    if (names.length === 0) return;
    try {
      await this.client.removeObjects(this.bucket, names);
    } catch (err) {
      throw this.unavailable(`cannot delete ${prefix}`, err);
    }
  }

  private unavailable(what: string, err: unknown): WorkerError {
    return new WorkerError('STORAGE_UNAVAILABLE', `${what} (S3 ${this.opts.endPoint}/${this.bucket}): ${(err as Error)?.message ?? err}`, { cause: err });
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
}

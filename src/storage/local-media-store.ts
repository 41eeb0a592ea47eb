import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WorkerError } from '../util/errors.js';
import { ByteLimit, checkMediaKey, mediaPrefix, type MediaStore } from './media-store.js';
import { STALE_TEMP_MS, sweepStaleTempFiles } from './stale-temp-files.js';

/** LocalMediaStore's temporary file: `<file name>.<12 hex>.tmp`, next to the file. */
const LOCAL_TEMP = /^[A-Za-z0-9._~-]+\.[0-9a-f]{12}\.tmp$/;

/** Files under a root directory, written to a temporary file and renamed (never half a file). */
export class LocalMediaStore implements MediaStore {
  readonly root: string;
  private swept: Promise<number> | undefined;
  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Removes `<file>.<12 hex>.tmp` files older than STALE_TEMP_MS under root/media/<session>/<kind>/ (a crash mid-write). */
  sweepTempFiles(olderThanMs = STALE_TEMP_MS): Promise<number> {
    return sweepStaleTempFiles(join(this.root, 'media'), LOCAL_TEMP, { maxDepth: 2, olderThanMs }).then((r) => r.removed);
  }

  private path(key: string): string {
    checkMediaKey(key);
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

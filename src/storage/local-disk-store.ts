import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { WorkerError } from '../util/errors.js';
import type { BlobStore } from './types.js';

/**
 * Objects as files under a root directory. Writes are atomic (temporary file in the same
 * directory, fsync, rename), so a crash leaves the old object or the new one, never half of one.
 */
export class LocalDiskStore implements BlobStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    const full = resolve(this.root, ...key.split('/'));
    if (full !== this.root && !full.startsWith(this.root + sep)) throw new WorkerError('INVALID_SESSION_ID', `key escapes the storage root: ${key}`);
    return full;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot read ${key}`, { cause: err });
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const target = this.path(key);
    const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(target), { recursive: true });
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot write ${key}`, { cause: err });
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const dirKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new WorkerError('STORAGE_UNAVAILABLE', `cannot list ${keyPrefix}`, { cause: err });
      }
      for (const e of entries) {
        const key = keyPrefix + e.name;
        if (e.isDirectory()) await walk(join(dir, e.name), `${key}/`);
        else if (!e.name.endsWith('.tmp') && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(dirKey ? this.path(dirKey) : this.root, dirKey);
    return out.sort();
  }

  async listChildren(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(this.path(prefix), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new WorkerError('STORAGE_UNAVAILABLE', `cannot list ${prefix}`, { cause: err });
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const target = this.path(prefix);
    if (prefix.endsWith('/')) {
      await rm(target, { recursive: true, force: true });
      return;
    }
    for (const key of await this.list(prefix)) await this.delete(key);
  }

  /** For tests and diagnostics: does the root exist? */
  async exists(): Promise<boolean> {
    return stat(this.root).then(
      () => true,
      () => false,
    );
  }
}

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { WorkerError } from '../util/errors.js';
import type { BlobStore } from './types.js';
import { sweepStaleTempFiles, type SweepOptions, type SweepResult } from './stale-temp-files.js';

const TEMP_SUFFIX = '.tmp';
const TEMP_RANDOM_BYTES = 6;
/** Exactly the names `put` gives its temporary files: `<object name>.<12 lower-case hex>.tmp`. */
const TEMP_NAME = new RegExp(`^.+\\.[0-9a-f]{${TEMP_RANDOM_BYTES * 2}}\\${TEMP_SUFFIX}$`);


/**
 * Objects as files under a root directory (key `a/b/c` → `<root>/a/b/c`).
 * - put is atomic and durable: write a temporary file in the same directory, fsync it, rename
 *   it over the target, fsync the directory. A crash leaves the old object or the new one.
 * - files are created 0600 and folders 0700: they hold credentials.
 * - listings skip temporary files (a crash may leave some; they are never read), and
 *   `listChildren` reports only folders that hold at least one object, like S3's common
 *   prefixes, which exist only while objects do.
 */
export class LocalDiskStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async get(key: string): Promise<Buffer | undefined> {
    const path = this.path(key);
    try {
      return await readFile(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw unavailable(`cannot read ${key}`, err);
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const target = this.path(key);
    const dir = dirname(target);
    const tmp = `${target}.${randomBytes(TEMP_RANDOM_BYTES).toString('hex')}${TEMP_SUFFIX}`;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const handle = await open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
      await syncDir(dir);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw unavailable(`cannot write ${key}`, err);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    try {
      await rm(path, { force: true });
    } catch (err) {
      throw unavailable(`cannot delete ${key}`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk the deepest folder the prefix names entirely, then filter on the rest of it.
    const folderKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      for (const entry of await this.readDir(dir, keyPrefix)) {
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) await walk(join(dir, entry.name), `${key}/`);
        else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX) && key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(this.path(folderKey), folderKey);
    return out.sort();
  }

  async listChildren(prefix: string): Promise<string[]> {
    const folderKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const partial = prefix.slice(folderKey.length);
    const dir = this.path(folderKey);
    const names: string[] = [];
    for (const entry of await this.readDir(dir, folderKey)) {
      if (entry.isDirectory() && entry.name.startsWith(partial) && (await this.holdsObject(join(dir, entry.name)))) names.push(entry.name);
    }
    return names.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    try {
      if (prefix.endsWith('/') && prefix.length > 1) {
        // A whole folder: one recursive removal (also sweeps temporary files).
        await rm(this.path(prefix), { recursive: true, force: true });
        return;
      }
    } catch (err) {
      throw unavailable(`cannot delete ${prefix}`, err);
    }
    for (const key of await this.list(prefix)) await this.delete(key);
  }

  /**
   * Removes the temporary files that a crash between `put`'s write and its rename left behind
   * (they are never read, but they would pile up): `sweepStaleTempFiles` with `put`'s exact
   * name pattern, at most 8 folders deep by default (object keys are 4 or 5 levels deep).
   * Called once at open (createStorageFromConfig).
   */
  sweepTemporaryFiles(opts: Partial<SweepOptions> = {}): Promise<SweepResult> {
    return sweepStaleTempFiles(this.root, TEMP_NAME, { ...opts, maxDepth: opts.maxDepth ?? 8 });
  }

  /** Maps a key to a path under the root, refusing anything that could leave it. */
  private path(key: string): string {
    // Keys come from object-keys.ts only; this is defence in depth against a bug there.
    if (key.includes('\0') || key.includes('\\') || key.startsWith('/') || key.split('/').some((s) => s === '..' || s === '.')) {
      throw new WorkerError('INTERNAL', `refusing unsafe storage key ${JSON.stringify(key.slice(0, 120))}`);
    }
    const full = resolve(this.root, ...key.split('/').filter(Boolean));
    if (full !== this.root && !full.startsWith(this.root + sep)) {
      throw new WorkerError('INTERNAL', `storage key ${JSON.stringify(key.slice(0, 120))} escapes the storage root`);
    }
    return full;
  }

  private async readDir(dir: string, keyPrefix: string) {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return [];
      throw unavailable(`cannot list ${keyPrefix || '/'}`, err);
    }
  }

  private async holdsObject(dir: string): Promise<boolean> {
    for (const entry of await this.readDir(dir, dir)) {
      if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) return true;
      if (entry.isDirectory() && (await this.holdsObject(join(dir, entry.name)))) return true;
    }
    return false;
  }
}

/** Makes a rename durable. Some platforms cannot open or fsync a directory: best effort there. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close();
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unavailable(what: string, err: unknown): WorkerError {
  const code = (err as NodeJS.ErrnoException)?.code;
  return new WorkerError('STORAGE_UNAVAILABLE', `local storage: ${what}${code ? ` (${code})` : ''}`, { cause: err });
}

import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Temporary files older than this were left by a crash (or a kill): removed when a store is opened or first used. */
export const STALE_TEMP_MS = 60 * 60_000;

export interface SweepOptions {
  /** Only temporary files last modified longer ago than this. Default STALE_TEMP_MS (1 hour). */
  olderThanMs?: number;
  /** Directory entries looked at, at most (the walk stops there). Default 100,000. */
  maxEntries?: number;
  /** Folder depth below `dir`, at most (0: `dir` itself only). */
  maxDepth: number;
}

export interface SweepResult {
  removed: number;
  scanned: number;
  /** The walk stopped at `maxEntries`: more may be left (swept the next time). */
  truncated: boolean;
}

/**
 * Removes the temporary files a crash left between a write and its rename (the one sweep of every
 * store that writes through temporary files). Careful by construction:
 *   - only names matching `pattern` exactly, only regular files;
 *   - only older than `olderThanMs`: a write in flight, here or in another process on the same
 *     folder, takes far less, so its file is never pulled from under it;
 *   - symbolic links are never followed (nor removed): the walk uses the entries' own types, so a
 *     link to a folder is not entered and a link named like a temporary file is left;
 *   - bounded: at most `maxEntries` directory entries and `maxDepth` levels.
 * Errors on single entries (gone meanwhile, no permission) are skipped; a folder that does not
 * exist yet is an empty sweep. Never throws.
 */
export async function sweepStaleTempFiles(dir: string, pattern: RegExp, opts: SweepOptions): Promise<SweepResult> {
  const cutoff = Date.now() - (opts.olderThanMs ?? STALE_TEMP_MS);
  const maxEntries = opts.maxEntries ?? 100_000;
  const result: SweepResult = { removed: 0, scanned: 0, truncated: false };
  const walk = async (path: string, depth: number): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
    if (!entries) return;
    for (const entry of entries) {
      if (result.scanned >= maxEntries) {
        result.truncated = true;
        return;
      }
      result.scanned++;
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        if (depth < opts.maxDepth) await walk(full, depth + 1);
      } else if (entry.isFile() && pattern.test(entry.name)) {
        try {
          const stat = await lstat(full);
          if (stat.isFile() && stat.mtimeMs < cutoff) {
            await unlink(full);
            result.removed++;
          }
        } catch {
          // Gone meanwhile (renamed into place, or removed by someone else): nothing to do.
        }
      }
    }
  };
  await walk(dir, 0);
  return result;
}

import { lstat, opendir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

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

import { existsSync, lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorageFromConfig } from '../../../src/storage/index.js';
import { LocalDiskStore } from '../../../src/storage/local-disk-store.js';
import type { StorageLogger } from '../../../src/storage/storage-logger.js';

/** Temporary files a crash left between `put`'s write and its rename are swept at open. */
const TWO_HOURS_AGO = (Date.now() - 2 * 3_600_000) / 1000;

describe('LocalDiskStore: sweeping temporary files left by a crash', () => {
  let base: string;
  let root: string;
  let outside: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'wa-sweep-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const file = (path: string, old: boolean) => {
    writeFileSync(path, 'x');
    if (old) utimesSync(path, TWO_HOURS_AGO, TWO_HOURS_AGO);
    return path;
  };

  it("removes only old regular files named exactly like put's temporary files; never follows or removes symlinks", async () => {
    const store = new LocalDiskStore(root);
    await store.put('sessions/s1/auth/journal/000000000001', Buffer.from('object'));
    const dir = join(root, 'sessions', 's1', 'auth', 'journal');
    const swept = [file(join(dir, '000000000002.a1b2c3d4e5f6.tmp'), true), file(join(root, 'sessions', 's1', 'session-data.json.0123456789ab.tmp'), true)];
    const kept = [
      file(join(dir, '000000000003.0123456789ab.tmp'), false), // recent: a put may be in flight
      file(join(dir, '000000000001'), true), // an object, however old
      file(join(dir, 'notes.tmp'), true), // not the pattern
      file(join(dir, 'x.A1B2C3D4E5F6.tmp'), true), // upper case: not what put writes
      file(join(dir, 'x.a1b2c3d4e5f6.tmp.bak'), true),
      file(join(dir, 'x.a1b2c3d4e5.tmp'), true), // too short
    ];
    // A link named like a temporary file, to an old file outside the root that matches too.
    const victim = file(join(outside, 'victim.bbbbbbbbbbbb.tmp'), true);
    const link = join(dir, 'link.aaaaaaaaaaaa.tmp');
    symlinkSync(victim, link);
    lutimesSync(link, TWO_HOURS_AGO, TWO_HOURS_AGO);
    // A link to a folder outside the root holding an old temporary file: not entered.
    const inner = file(join(outside, 'inner.cccccccccccc.tmp'), true);
    symlinkSync(outside, join(root, 'sessions', 'linked'));

    const result = await store.sweepTemporaryFiles();
    expect(result).toMatchObject({ removed: 2, truncated: false });
    for (const p of swept) expect({ p, exists: existsSync(p) }).toEqual({ p, exists: false });
    for (const p of [...kept, victim, inner]) expect({ p, exists: existsSync(p) }).toEqual({ p, exists: true });
    expect(existsSync(link)).toBe(true);
  });

  it('is bounded: stops after maxEntries (saying so) and below maxDepth', async () => {
    const store = new LocalDiskStore(root);
    for (let i = 0; i < 5; i++) file(join(root, `${i}.00000000000${i}.tmp`), true);
    const first = await store.sweepTemporaryFiles({ maxEntries: 3 });
    expect(first).toEqual({ removed: 3, scanned: 3, truncated: true });
    expect(await store.sweepTemporaryFiles({ maxEntries: 3 })).toEqual({ removed: 2, scanned: 2, truncated: false });

    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    const deep = file(join(root, 'a', 'b', 'deep.dddddddddddd.tmp'), true);
    expect(await store.sweepTemporaryFiles({ maxDepth: 1 })).toMatchObject({ removed: 0 });
    expect(existsSync(deep)).toBe(true);
    expect(await store.sweepTemporaryFiles({ maxDepth: 2 })).toMatchObject({ removed: 1 });
    expect(existsSync(deep)).toBe(false);
  });

  it('a root that does not exist yet is an empty sweep', async () => {
    expect(await new LocalDiskStore(join(base, 'nothing-here')).sweepTemporaryFiles()).toEqual({ removed: 0, scanned: 0, truncated: false });
  });

  it('runs when the storage is opened (createStorageFromConfig, local driver), and says what it removed', async () => {
    mkdirSync(join(root, 'sessions', 's1'), { recursive: true });
    const leftover = file(join(root, 'sessions', 's1', 'session-data.json.eeeeeeeeeeee.tmp'), true);
    const lines: Array<[string, string | undefined, object]> = [];
    const at = (level: string) => (obj: object, msg?: string) => void lines.push([level, msg, obj]);
    const logger: StorageLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const storage = await createStorageFromConfig({ dir: root, logger });
    expect(existsSync(leftover)).toBe(false);
    expect(lines).toContainEqual(['info', 'removed temporary files left by an interrupted write', expect.objectContaining({ removed: 1 })]);
    await storage.close();
  });
});

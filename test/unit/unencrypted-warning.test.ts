import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { createStorageFromConfig, storageOptions } from '../../src/storage/index.js';
import type { StorageLogger } from '../../src/storage/storage-logger.js';

/** The worker's path (config → storageOptions → factory) names a missing key once: in the config's warnings. */
describe('a missing SESSION_ENCRYPTION_KEY', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wa-unencrypted-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const recording = () => {
    const warnings: Array<string | undefined> = [];
    const logger: StorageLogger = { debug: () => undefined, info: () => undefined, warn: (_o, msg) => void warnings.push(msg), error: () => undefined };
    return { logger, warnings };
  };

  it("is warned about once on the worker's path: in the config's warnings, not again by the storage factory", async () => {
    const config = loadConfig({ WORKER_ID: 'w-test', STORAGE_DIR: dir });
    expect(config.warnings.filter((w) => /UNENCRYPTED/.test(w))).toHaveLength(1);
    const { logger, warnings } = recording();
    const storage = await createStorageFromConfig(storageOptions(config.storage, logger));
    expect(storage.codec.encrypted).toBe(false);
    expect(warnings).toEqual([]);
    await storage.close();
  });

  it('is still warned about by the factory for a caller that builds the storage settings itself', async () => {
    const { logger, warnings } = recording();
    const storage = await createStorageFromConfig({ dir, logger });
    expect(warnings).toEqual([expect.stringContaining('UNENCRYPTED')]);
    await storage.close();
  });
});

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createStorageFromConfig, type StorageConfig } from '../../../src/storage/index.js';
import type { StorageLogger } from '../../../src/storage/storage-logger.js';
import { startS3rver, type RunningS3 } from '../../helpers/s3-servers.js';

function recordingLogger(): StorageLogger & { lines: Array<[string, string | undefined]> } {
  const lines: Array<[string, string | undefined]> = [];
  const at = (level: string) => (_obj: object, msg?: string) => void lines.push([level, msg]);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('createStorageFromConfig', () => {
  let s3: RunningS3;
  let dir: string;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(() => s3.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wa-factory-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('local driver (the shape main.ts passes): sessions under the dir, files private to the worker', async () => {
    const logger = recordingLogger();
    const config: StorageConfig = { dir, minio: undefined, encryptionKey: randomBytes(32).toString('hex'), previousEncryptionKeys: [], flushIntervalMs: 20, logger };
    const storage = await createStorageFromConfig(config);
    expect(storage).toMatchObject({ driver: 'local', codec: { encrypted: true } });
    const auth = await storage.store.openAuthState('session_6_+221771234567');
    auth.saveCreds();
    await storage.close();
    const authDir = join(dir, 'sessions', 'session_6_~2B221771234567', 'auth', 'snapshot');
    const [file] = readdirSync(authDir);
    expect(file).toMatch(/^\d{12}$/);
    expect(statSync(join(authDir, file!)).mode & 0o077).toBe(0);
    expect(logger.lines).toContainEqual(['info', 'storage ready']);
  });

  it('s3 driver: creates the bucket, and warns when there is no encryption key', async () => {
    const logger = recordingLogger();
    const storage = await createStorageFromConfig({ driver: 's3', minio: s3.options(), flushIntervalMs: 20, logger });
    expect(storage).toMatchObject({ driver: 's3', codec: { encrypted: false } });
    expect(logger.lines.filter(([level]) => level === 'warn').map(([, msg]) => msg)).toEqual([expect.stringContaining('UNENCRYPTED')]);
    await storage.store.saveMeta({ sessionId: 'session_1_+1', numberId: 1, phoneNumber: '+1', workerId: 'w', createdAt: 1, updatedAt: 1 });
    expect(await storage.blobStore.list('sessions/')).toEqual(['sessions/session_1_~2B1/session-data.json']);
    await storage.close();
  });

  it('rejects bad settings with INVALID_CONFIG (naming the setting) or STORAGE_UNAVAILABLE (unreachable S3)', async () => {
    await expect(createStorageFromConfig({ dir, encryptionKey: 'too-short' })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('SESSION_ENCRYPTION_KEY') });
    await expect(createStorageFromConfig({ dir, encryptionKey: randomBytes(32).toString('hex'), previousEncryptionKeys: ['x'] })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('SESSION_ENCRYPTION_PREVIOUS_KEYS[0]'),
    });
    await expect(createStorageFromConfig({ driver: 's3' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createStorageFromConfig({})).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    const unreachable = { ...s3.options(), port: 1, requestTimeoutMs: 5000 };
    await expect(createStorageFromConfig({ minio: unreachable })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });
});

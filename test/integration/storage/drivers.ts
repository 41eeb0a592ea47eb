import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDiskStore } from '../../../src/storage/local-disk-store.js';
import { S3Store } from '../../../src/storage/s3-store.js';
import type { BlobStore } from '../../../src/storage/types.js';
import { dockerAvailable, startMinio, startS3rver, type RunningS3 } from '../../helpers/s3-servers.js';

/**
 * The drivers every storage contract runs against. Each `make()` gives a store on a fresh,
 * empty namespace (a temp dir, or a bucket of its own); `teardown()` removes them all.
 */
export interface Driver {
  name: string;
  setup(): Promise<void>;
  make(): BlobStore;
  teardown(): Promise<void>;
}

function localDisk(): Driver {
  const dirs: string[] = [];
  return {
    name: 'local disk',
    setup: async () => undefined,
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'wa-blobs-'));
      dirs.push(dir);
      return new LocalDiskStore(dir);
    },
    teardown: async () => {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function s3(name: string, start: () => Promise<RunningS3>): Driver {
  let server: RunningS3 | undefined;
  return {
    name,
    setup: async () => {
      server = await start();
    },
    make: () => {
      if (!server) throw new Error(`${name} is not started`);
      return new S3Store(server.options());
    },
    teardown: async () => {
      await server?.close();
      server = undefined;
    },
  };
}

/**
 * Local disk and s3rver always; MinIO only when a Docker engine answers. Without one the MinIO
 * variant cannot run, and the test count would silently depend on the machine: so the run then
 * says so in its output (a warning naming the variant and why), or, with REQUIRE_MINIO=1 (a CI
 * that has Docker), it is an error.
 */
export async function availableDrivers(): Promise<Driver[]> {
  const drivers = [localDisk(), s3('S3 protocol (s3rver, in-process)', startS3rver)];
  if (await dockerAvailable()) {
    drivers.push(s3('MinIO (testcontainers)', startMinio));
  } else if (process.env.REQUIRE_MINIO === '1') {
    throw new Error('REQUIRE_MINIO=1 but no Docker engine answered: the MinIO (testcontainers) variant cannot run');
  } else {
    // Said in the output of every run that leaves it out, rather than kept as a skipped test.
    console.warn('MinIO (testcontainers) variant NOT RUN on this machine: no Docker engine answered (s3rver covers the S3 protocol; REQUIRE_MINIO=1 makes this an error)');
  }
  return drivers;
}

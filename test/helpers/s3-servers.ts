import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import S3rver from 's3rver';
import type { S3Options } from '../../src/storage/s3-store.js';

/**
 * Real S3 servers for tests. `s3rver` runs in-process everywhere. It does NOT honour
 * conditional headers (If-Match / If-None-Match), versioning or object locking, so no test
 * relies on those; MinIO (through testcontainers, only where a Docker engine exists) does.
 */
export interface RunningS3 {
  name: string;
  options: (bucket?: string) => S3Options;
  close(): Promise<void>;
}

export async function startS3rver(): Promise<RunningS3> {
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });
  const { port } = (await server.run()) as { port: number };
  return {
    name: 's3rver',
    options: (bucket = `b-${randomUUID().slice(0, 12)}`) => ({ endPoint: '127.0.0.1', port, useSSL: false, accessKey: 'S3RVER', secretKey: 'S3RVER', bucket, region: 'us-east-1' }),
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Is a Docker engine reachable (not just the CLI)? */
export function dockerEngineAvailable(): boolean {
  return !!process.env.DOCKER_HOST || existsSync('/var/run/docker.sock');
}

export async function startMinioContainer(): Promise<RunningS3> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('minio/minio:latest')
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: 'minioadmin', MINIO_ROOT_PASSWORD: 'minioadmin' })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start();
  return {
    name: 'minio',
    options: (bucket = `b-${randomUUID().slice(0, 12)}`) => ({ endPoint: container.getHost(), port: container.getMappedPort(9000), useSSL: false, accessKey: 'minioadmin', secretKey: 'minioadmin', bucket, region: 'us-east-1' }),
    close: async () => {
      await container.stop();
    },
  };
}

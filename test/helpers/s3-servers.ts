import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import S3rver from 's3rver';
import type { S3StoreOptions } from '../../src/storage/s3-store.js';

/**
 * Real S3 servers for the storage tests.
 *
 * `s3rver` runs in-process, on an ephemeral port of 127.0.0.1. It speaks enough S3 for our
 * drivers (GET/PUT/DELETE, multi-object delete, ListObjectsV2 with delimiter), but it is not S3:
 * it ignores conditional headers (If-Match / If-None-Match), versioning and object locking, and
 * its listings do not round-trip URL-encoded keys (a key with `%2B` is listed back as `+`, a `+`
 * as a space), and its multi-object delete now and then answers 500 when it races to remove a
 * folder of its own (the minio client retries, and logs a warning). Nothing here relies on any of
 * that: keys are made of URL-unreserved characters only, and the journal needs no conditional
 * writes.
 *
 * MinIO (the production backend) runs through testcontainers only where a Docker engine answers.
 */
export interface RunningS3 {
  name: string;
  /** Options for a driver on a fresh bucket of its own (one per test). */
  options(bucket?: string): S3StoreOptions;
  close(): Promise<void>;
}

export const freshBucket = (): string => `t-${randomUUID()}`;

export async function startS3rver(): Promise<RunningS3> {
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = (await server.run()) as { port: number };
  return {
    name: 's3rver',
    options: (bucket = freshBucket()) => ({
      endPoint: '127.0.0.1',
      port,
      useSSL: false,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      bucket,
      region: 'us-east-1',
      requestTimeoutMs: 10_000,
    }),
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Does a container engine actually answer (not merely: is a CLI or socket path present)? */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startMinio(): Promise<RunningS3> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('minio/minio:latest')
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: 'minioadmin', MINIO_ROOT_PASSWORD: 'minioadmin' })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start();
  return {
    name: 'minio',
    options: (bucket = freshBucket()) => ({
      endPoint: container.getHost(),
      port: container.getMappedPort(9000),
      useSSL: false,
      accessKey: 'minioadmin',
      secretKey: 'minioadmin',
      bucket,
      region: 'us-east-1',
    }),
    close: async () => {
      await container.stop();
    },
  };
}

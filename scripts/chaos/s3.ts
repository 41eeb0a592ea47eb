import type { Server } from 'node:http';
import S3rver from 's3rver';

/**
 * The worker's S3 (auth state and media) as an in-process s3rver that can be stopped and started
 * again on the same port and directory: what it stored survives, as a real S3 outage would leave it.
 */
export class RestartableS3 {
  private server: S3rver | undefined;
  port = 0;
  stops = 0;

  constructor(private readonly directory: string) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  /** The first start takes an ephemeral port; every later one binds that same port again. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = new S3rver({ address: '127.0.0.1', port: this.port, silent: true, directory: this.directory });
    const { port } = await server.run();
    this.port = port;
    this.server = server;
  }

  /** A hard stop: open keep-alive connections are cut too, as when the server goes away. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.stops++;
    const closing = server.close();
    (server as unknown as { httpServer?: Server }).httpServer?.closeAllConnections();
    await closing;
  }

  env(bucket: string): Record<string, string> {
    return {
      MINIO_ENDPOINT: `127.0.0.1:${this.port}`,
      MINIO_ACCESS_KEY: 'S3RVER',
      MINIO_SECRET_KEY: 'S3RVER',
      MINIO_BUCKET_NAME: bucket,
      MINIO_MEDIA_BUCKET_NAME: `${bucket}-media`,
    };
  }
}

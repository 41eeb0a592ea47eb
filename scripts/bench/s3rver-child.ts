/**
 * s3rver in its own process, so its CPU (Koa, XML, files) is not charged to the worker under
 * test, as with a real S3/MinIO. Prints one JSON line {port, directory}; stops on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

const directory = mkdtempSync(join(tmpdir(), 'bench-s3rver-'));
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });
const { port } = (await server.run()) as { port: number };
process.stdout.write(`${JSON.stringify({ port, directory })}\n`);
const stop = () => {
  void server.close().finally(() => {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);

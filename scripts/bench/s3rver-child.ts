/**
 * s3rver in its own process, so its CPU (Koa, XML, files) is not charged to the worker under
 * test, as with a real S3/MinIO. Prints one JSON line {port, directory}; stops on SIGTERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, Server } from 'node:http';
import S3rver from 's3rver';

const directory = mkdtempSync(join(tmpdir(), 'bench-s3rver-'));
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, resetOnClose: true });
const { port } = (await server.run()) as { port: number };
// Requests served, by method (asked for over IPC: the bench reports S3 requests per restored session).
const requests: Record<string, number> = {};
(server as unknown as { httpServer: Server }).httpServer.on('request', (req: IncomingMessage) => {
  const kind = `${req.method} ${req.method === 'GET' && /[?&]list-type=2/.test(req.url ?? '') ? 'list' : 'object'}`;
  requests[kind] = (requests[kind] ?? 0) + 1;
});
process.on('message', () => process.send?.({ ...requests }));
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

import { request } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';

/** A GET of `127.0.0.1:port` through `agent` (a proxy agent): the status, or the error the request fails with. */
export function getThrough(agent: HttpsAgent, port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ hostname: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', resolve);
    req.end();
  });
}

import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';

/**
 * A GET of `127.0.0.1:port` through `agent` (a proxy agent), over HTTP or with `secure` over HTTPS
 * (TLS through the tunnel): the status, or the error the request fails with.
 */
export function getThrough(agent: HttpsAgent, port: number, opts: { secure?: boolean } = {}): Promise<unknown> {
  const request = opts.secure ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request({ hostname: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', resolve);
    req.end();
  });
}

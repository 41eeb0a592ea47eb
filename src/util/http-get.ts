import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent } from 'node:https';

export interface HttpGetOptions {
  /** Idle socket timeout. */
  timeoutMs: number;
  /** TLS settings for https (e.g. an extra CA). */
  agent?: Agent | undefined;
  headers?: Record<string, string>;
  /** Redirects followed (default none). */
  maxRedirects?: number;
  /** Schemes allowed, for the URL and every redirect (default: https only). */
  protocols?: ReadonlyArray<'http:' | 'https:'>;
}

/** Why a GET did not give a 2xx body: the status (0 when there was no answer) and a readable reason. */
export class HttpGetError extends Error {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A streamed GET with Node's own http(s): the response body is returned unread, so callers can
 * stream it anywhere. Fails on a non-2xx answer, a refused scheme (also after a redirect: an
 * https URL must not be able to redirect to file: or to plain http unless allowed), too many
 * redirects, or a socket idle for longer than `timeoutMs`.
 */
export function httpGet(url: string, opts: HttpGetOptions, redirects = 0): Promise<IncomingMessage> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new HttpGetError(0, `not a URL: ${url.slice(0, 100)}`));
  }
  const protocols = opts.protocols ?? ['https:'];
  if (!protocols.includes(parsed.protocol as 'http:' | 'https:')) return Promise.reject(new HttpGetError(0, `scheme ${parsed.protocol} refused`));
  const request = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(parsed, { method: 'GET', timeout: opts.timeoutMs, headers: opts.headers, ...(parsed.protocol === 'https:' && opts.agent ? { agent: opts.agent } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= (opts.maxRedirects ?? 0)) return reject(new HttpGetError(status, `too many redirects (${redirects + 1})`));
        return resolve(httpGet(new URL(res.headers.location, parsed).toString(), opts, redirects + 1));
      }
      if (status < 200 || status >= 300) {
        res.resume();
        return reject(new HttpGetError(status, `answered ${status}`));
      }
      res.setTimeout(opts.timeoutMs, () => res.destroy(new Error(`no data for ${opts.timeoutMs} ms`)));
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => reject(new HttpGetError(0, err.message, { cause: err })));
    req.end();
  });
}

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy.js';

export interface HttpGetOptions {
  /** Idle socket timeout. */
  timeoutMs: number;
  /**
   * Absolute limit for the whole fetch: resolving, connecting, every redirect and the whole
   * body (a server that drips one byte at a time fails here). Default: none (idle limit only).
   */
  deadlineMs?: number | undefined;
  /** TLS settings for https (e.g. an extra CA). */
  agent?: Agent | undefined;
  headers?: Record<string, string>;
  /** Redirects followed (default none). */
  maxRedirects?: number;
  /** Schemes allowed, for the URL and every redirect (default: https only). */
  protocols?: ReadonlyArray<'http:' | 'https:'>;
  /**
   * Which addresses may be connected to. When given, the host of the URL and of every redirect
   * is resolved here (all its addresses), each address is checked, and the connection is pinned
   * to the checked addresses (DNS cannot answer differently between the check and the connect);
   * the Host header and TLS SNI stay the hostname. No connection is pooled or reused.
   */
  addressPolicy?: AddressPolicy | undefined;
}

/**
 * Why a GET did not give a 2xx body: the status (0 when there was no answer) and a readable
 * reason. `refused` when this side refused to go there (scheme, credentials, address policy).
 */
export class HttpGetError extends Error {
  readonly refused: boolean;
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown; refused?: boolean },
  ) {
    super(message, options);
    this.refused = options?.refused ?? false;
  }
}

/** The deadline of one fetch: whatever is in progress when it passes (a request, a body) is destroyed. */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private abort: ((err: Error) => void) | undefined;
  private expired: Error | undefined;

  constructor(ms: number | undefined) {
    if (!ms) return;
    this.timer = setTimeout(() => {
      this.expired = new HttpGetError(0, `not complete within ${ms} ms (MEDIA_FETCH_DEADLINE_MS)`);
      this.abort?.(this.expired);
    }, ms);
    // A deadline guards a fetch; it must not keep the process alive on its own (a body left unread).
    this.timer.unref();
  }

  /** `abort` runs when the deadline passes (at once if it has). */
  watch(abort: (err: Error) => void): void {
    if (this.expired) abort(this.expired);
    else this.abort = abort;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.abort = undefined;
  }
}

/**
 * A streamed GET with Node's own http(s): the response body is returned unread, so callers can
 * stream it anywhere. Fails on a non-2xx answer, a refused scheme (also after a redirect: an
 * https URL must not be able to redirect to file: or to plain http unless allowed), credentials
 * in the URL, an address the policy refuses (also after a redirect), too many redirects, a
 * socket idle for longer than `timeoutMs`, or (also while the body streams) the deadline.
 */
export async function httpGet(url: string, opts: HttpGetOptions): Promise<IncomingMessage> {
  const deadline = new Deadline(opts.deadlineMs);
  try {
    let target = url;
    for (let redirects = 0; ; redirects++) {
      const { res, parsed } = await hop(target, opts, deadline);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= (opts.maxRedirects ?? 0)) throw new HttpGetError(status, `too many redirects (${redirects + 1})`);
        try {
          target = new URL(res.headers.location, parsed).toString();
        } catch {
          throw new HttpGetError(status, 'redirected to something that is not a URL');
        }
        continue;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        throw new HttpGetError(status, `answered ${status}`);
      }
      res.setTimeout(opts.timeoutMs, () => res.destroy(new HttpGetError(0, `no data for ${opts.timeoutMs} ms`)));
      deadline.watch((err) => res.destroy(err));
      res.once('close', () => deadline.clear());
      return res;
    }
  } catch (err) {
    deadline.clear();
    throw err;
  }
}

/** One request: checked (scheme, credentials, addresses), sent, and its response head. */
async function hop(url: string, opts: HttpGetOptions, deadline: Deadline): Promise<{ res: IncomingMessage; parsed: URL }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HttpGetError(0, 'not a URL', { refused: true });
  }
  const protocols = opts.protocols ?? ['https:'];
  if (!protocols.includes(parsed.protocol as 'http:' | 'https:')) throw new HttpGetError(0, `scheme ${parsed.protocol} refused`, { refused: true });
  // Node would turn them into an Authorization header, for whatever host the URL names.
  if (parsed.username || parsed.password) throw new HttpGetError(0, 'credentials in the URL refused', { refused: true });

  let lookup: LookupFunction | undefined;
  if (opts.addressPolicy) {
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) => {
      deadline.watch(reject);
      resolveHost(parsed.hostname).then(resolve, reject);
    });
    for (const a of addresses) {
      const refusal = opts.addressPolicy.refusal(parsed.hostname, a.address);
      if (refusal) throw new HttpGetError(0, `${parsed.host}: ${refusal}`, { refused: true });
    }
    lookup = pinnedLookup(addresses);
  }

  const request = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
  // A pinned request gets a fresh connection (no pooled socket opened for another check).
  const agent = opts.addressPolicy ? { agent: false as const } : parsed.protocol === 'https:' && opts.agent ? { agent: opts.agent } : {};
  return new Promise((resolve, reject) => {
    const req = request(parsed, { method: 'GET', timeout: opts.timeoutMs, headers: opts.headers, ...agent, ...(lookup ? { lookup } : {}) }, (res) =>
      resolve({ res, parsed }),
    );
    deadline.watch((err) => req.destroy(err));
    req.on('timeout', () => req.destroy(new HttpGetError(0, `no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof HttpGetError ? err : new HttpGetError(0, err.message, { cause: err })));
    req.end();
  });
}

/** Every address of a host (an IP literal is its own address). */
export async function resolveHost(hostname: string): Promise<LookupAddress[]> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const family = isIP(host);
  if (family) return [{ address: host, family }];
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, found) =>
      err ? reject(new HttpGetError(0, `cannot resolve ${host}: ${err.code ?? err.message}`, { cause: err })) : resolve(found),
    ),
  );
  if (addresses.length === 0) throw new HttpGetError(0, `cannot resolve ${host}: no address`);
  return addresses;
}

/** A `lookup` for http.request (or net/tls.connect) that answers with the addresses already checked, whatever DNS says now. */
export function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) return callback(null, addresses);
    const first = (options.family ? addresses.find((a) => a.family === options.family) : undefined) ?? addresses[0]!;
    callback(null, first.address, first.family);
  };
}

import type { Agent as HttpsAgent } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { WhatsAppEvent } from './types.js';
import { AddressPolicy } from '../util/address-policy.js';
import { pinnedLookup, resolveHost } from '../util/http-get.js';
import { isTrustedProxy, proxyHost, redactProxyUrl, type ProxyFailure, type ProxyFailureCode, type ProxyPolicy } from '../util/proxy-url.js';

/**
 * The agent a number's connections go through when its settings name a proxy: SOCKS5
 * (`socks-proxy-agent`) or HTTP CONNECT (`https-proxy-agent`), for the WebSocket, media uploads
 * and media downloads alike. There is no fallback: a connection the proxy does not carry fails,
 * with a `ProxyError` saying why (`classifyProxyError`), and is never made directly.
 */

/** A connection the proxy did not carry. Its message names the proxy without credentials. */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly failure: ProxyFailure;
  constructor(failure: ProxyFailure) {
    super(`${failure.code}: ${failure.detail}`);
    this.failure = failure;
  }
}

export interface ProxyAgentOptions {
  /**
   * CAs for TLS through the tunnel, to the destination (an emulator's media host); default: Node's
   * store. Never used to verify an https:// proxy itself: that one is `proxyCa`'s.
   */
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  /** CAs that verify an https:// proxy's own certificate (tests); default: Node's store, NODE_EXTRA_CA_CERTS included. */
  proxyCa?: string | Buffer | Array<string | Buffer> | undefined;
  /** Told of every connection the proxy did not carry, before it fails. */
  onFailure?: (failure: ProxyFailure) => void;
  /**
   * Where the proxy may be (a command's proxy: PROXY_ALLOWED_HOSTS); absent: anywhere (the
   * operator's). When given, the proxy's host is resolved for every connection, each address is
   * checked, and the socket to the proxy connects to those addresses only (no second lookup).
   */
  addressPolicy?: AddressPolicy | undefined;
  /** The proxy host's addresses (tests); default: the system resolver. */
  resolve?: ((host: string) => Promise<LookupAddress[]>) | undefined;
}

/** Socket errors that mean the proxy itself could not be reached (or went away mid-handshake). */
const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EPIPE|timed out|Socket closed/i;

/** What an error from a proxy agent's connect means (no credentials in the detail: `shown` is redacted). */
export function classifyProxyError(err: unknown, shown: string): ProxyFailure {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : '';
  const failure = (kind: ProxyFailureCode, what: string): ProxyFailure => ({ code: kind, detail: `${shown}: ${what}` });
  if (/authentication failed|no accepted authentication/i.test(message)) return failure('proxy_auth_failed', 'the proxy refused the credentials');
  if (UNREACHABLE.test(code) || UNREACHABLE.test(message)) return failure('proxy_unreachable', `the proxy cannot be reached (${code || firstWords(message)})`);
  return failure('proxy_failed', `the proxy did not open the connection (${firstWords(message)})`);
}

/** What a CONNECT answer other than 200 means. */
export function classifyConnectStatus(status: number, shown: string): ProxyFailure {
  if (status === 407) return { code: 'proxy_auth_failed', detail: `${shown}: the proxy refused the credentials (407)` };
  return { code: 'proxy_failed', detail: `${shown}: the proxy did not open the connection (${status})` };
}

/** An error message, bounded, without anything that looks like `user:password@`. */
const firstWords = (message: string): string => message.replace(/[^\s/@]+:[^\s/@]*@/g, '***@').slice(0, 120);

type SocketClose = Extract<WhatsAppEvent, { type: 'close' }>;
type Connect = (req: ClientRequest, opts: Record<string, unknown>) => Promise<Duplex>;

/**
 * An agent that tunnels every connection through `proxyUrl` (already checked by
 * `parseProxyUrl`). Typed as Node's https Agent, which is what Baileys and `httpGet` take; both
 * proxy agents are http.Agent subclasses that also tunnel TLS.
 */
export function createProxyAgent(proxyUrl: string, opts: ProxyAgentOptions = {}): HttpsAgent {
  const url = new URL(proxyUrl);
  const shown = redactProxyUrl(proxyUrl);
  const host = proxyHost(url);
  const policy = opts.addressPolicy;
  // The addresses last checked for the proxy's host: the only answer the socket's `lookup` gives.
  // Shared by the agent's connections, which is sound: whichever check filled it, every address
  // in it passed the policy for this host.
  let checked: LookupAddress[] | undefined;
  const lookup: LookupFunction = (hostname, options, callback) => {
    if (!checked) return callback(Object.assign(new Error(`${hostname}: no checked address`), { code: 'ENOTFOUND' }), '', 0);
    pinnedLookup(checked)(hostname, options, callback);
  };
  // The pinned lookup reaches only the socket to the proxy: https-proxy-agent's own connect options
  // (its TLS to an https:// proxy keeps the name as servername), socks' socket_options (an agent
  // option would also become the lookup of a socks5:// destination). The destination's CAs are
  // not constructor options: https-proxy-agent would verify the proxy with them (and only them).
  const agent = url.protocol.startsWith('socks')
    ? new SocksProxyAgent(url, policy ? { socketOptions: { lookup } } : {})
    : new HttpsProxyAgent(url, { ...(opts.proxyCa ? { ca: opts.proxyCa } : {}), ...(policy ? { lookup } : {}) });
  const inner = (agent.connect as unknown as Connect).bind(agent);
  const fail = (failure: ProxyFailure): never => {
    opts.onFailure?.(failure);
    throw new ProxyError(failure);
  };
  /** Resolves the proxy's host and checks every address: a refused one fails before any socket exists. */
  const check = async (checkWith: AddressPolicy): Promise<void> => {
    let addresses: LookupAddress[];
    try {
      addresses = await (opts.resolve ?? resolveHost)(host);
      if (addresses.length === 0) throw Object.assign(new Error(`cannot resolve ${host}: no address`), { code: 'ENOTFOUND' });
    } catch (err) {
      return fail(classifyProxyError(err, shown));
    }
    for (const { address } of addresses) {
      const refusal = checkWith.refusal(host, address);
      if (!refusal) continue;
      // a hostname's addresses are not told (they would map the internal network to the publisher)
      const what = isIP(host) ? refusal : `${host} resolves to an address that is ${refusal.slice(refusal.indexOf(' is ') + 4)}`;
      return fail({ code: 'proxy_not_allowed', detail: `${shown}: the proxy may not be used: ${what}` });
    }
    checked = addresses;
  };
  // agent-base calls `connect` for every new socket: the one place a failed tunnel is seen.
  (agent as unknown as { connect: Connect }).connect = async (req, connectOpts) => {
    if (policy) await check(policy);
    let status: number | undefined;
    req.once('proxyConnect', (answer: { statusCode?: number }) => (status = answer.statusCode));
    let socket: Duplex;
    try {
      // the tunnelled TLS is given these options: its CAs are the destination's, never `proxyCa`
      // (Node merges the agent's own options into each request's); with neither, the request's own
      socket = await inner(req, { ...connectOpts, ...(opts.ca || opts.proxyCa ? { ca: opts.ca } : {}) });
    } catch (err) {
      return fail(classifyProxyError(err, shown));
    }
    // https-proxy-agent hands a refused CONNECT back as a fake socket replaying the proxy's answer
    // (a 407 would reach the WebSocket as the server's own answer): refused here instead.
    if (status !== undefined && status !== 200) {
      socket.destroy();
      return fail(classifyConnectStatus(status, shown));
    }
    return socket;
  };
  return agent as unknown as HttpsAgent;
}

/** A command's proxy when the worker is given no PROXY_ALLOWED_HOSTS: public addresses only. */
const PUBLIC_ONLY = AddressPolicy.parse([], 'PROXY_ALLOWED_HOSTS');

/** TLS settings of media transfers: `agent` when direct, `ca` through a proxy; default Node's (NODE_EXTRA_CA_CERTS). */
export interface MediaAgentOptions {
  agent?: HttpsAgent | undefined;
  ca?: string | Buffer | undefined;
}

/**
 * One socket's agents: with a proxy, one for the WebSocket (whose failures are remembered for
 * the close event) and one for media transfers (whose failures fail the transfer: a ProxyError
 * in message_failed or a media error); without, none for the socket and `media.agent`.
 */
export function sessionAgents(
  proxy: string | undefined,
  media: MediaAgentOptions | undefined,
  policy: ProxyPolicy = { allowed: PUBLIC_ONLY },
): { socket: HttpsAgent | undefined; media: HttpsAgent | undefined; closeEvent(statusCode: number | undefined, message: string): SocketClose } {
  const closeEvent = (statusCode: number | undefined, message: string): SocketClose => ({ type: 'close', statusCode, message });
  if (!proxy) return { socket: undefined, media: media?.agent, closeEvent };
  let failure: ProxyFailure | undefined;
  // the operator's proxy goes anywhere; any other came from a command (now or stored): checked
  const addressPolicy = isTrustedProxy(proxy, policy) ? undefined : policy.allowed;
  return {
    socket: createProxyAgent(proxy, { onFailure: (f) => (failure = f), addressPolicy }),
    media: createProxyAgent(proxy, { ca: media?.ca, addressPolicy }),
    // a tunnel the proxy refused: the status Baileys made of the error (500, 408) says nothing true
    closeEvent: (statusCode, message) =>
      failure
        ? { type: 'close', statusCode: undefined, message: `${failure.code}: ${failure.detail}`, proxyFailure: failure }
        : closeEvent(statusCode, message),
  };
}

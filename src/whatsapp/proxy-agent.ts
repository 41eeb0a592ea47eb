import type { Agent as HttpsAgent } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { WhatsAppEvent } from './types.js';
import { redactProxyUrl, type ProxyFailure, type ProxyFailureCode } from '../util/proxy-url.js';

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
  /** Extra CAs for TLS through the tunnel (an emulator's media host); default: Node's. */
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  /** Told of every connection the proxy did not carry, before it fails. */
  onFailure?: (failure: ProxyFailure) => void;
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
  // Node merges an agent's options into each request's, which both agents hand to tls.connect for
  // the tunnelled TLS (SocksProxyAgent's option type leaves them out, its code does not).
  const tls = (opts.ca ? { ca: opts.ca } : {}) as ConstructorParameters<typeof SocksProxyAgent>[1] & ConstructorParameters<typeof HttpsProxyAgent>[1];
  const agent = url.protocol.startsWith('socks') ? new SocksProxyAgent(url, tls) : new HttpsProxyAgent(url, tls);
  const inner = (agent.connect as unknown as Connect).bind(agent);
  const fail = (failure: ProxyFailure): never => {
    opts.onFailure?.(failure);
    throw new ProxyError(failure);
  };
  // agent-base calls `connect` for every new socket: the one place a failed tunnel is seen.
  (agent as unknown as { connect: Connect }).connect = async (req, connectOpts) => {
    let status: number | undefined;
    req.once('proxyConnect', (answer: { statusCode?: number }) => (status = answer.statusCode));
    let socket: Duplex;
    try {
      // the CA for the tunnelled TLS, given here too: https-proxy-agent does not see the agent's own options
      socket = await inner(req, { ...connectOpts, ...tls });
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
): { socket: HttpsAgent | undefined; media: HttpsAgent | undefined; closeEvent(statusCode: number | undefined, message: string): SocketClose } {
  const closeEvent = (statusCode: number | undefined, message: string): SocketClose => ({ type: 'close', statusCode, message });
  if (!proxy) return { socket: undefined, media: media?.agent, closeEvent };
  let failure: ProxyFailure | undefined;
  return {
    socket: createProxyAgent(proxy, { onFailure: (f) => (failure = f) }),
    media: createProxyAgent(proxy, { ca: media?.ca }),
    // a tunnel the proxy refused: the status Baileys made of the error (500, 408) says nothing true
    closeEvent: (statusCode, message) =>
      failure
        ? { type: 'close', statusCode: undefined, message: `${failure.code}: ${failure.detail}`, proxyFailure: failure }
        : closeEvent(statusCode, message),
  };
}

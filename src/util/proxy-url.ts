import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy.js';

/**
 * A number's proxy (settings `proxy`, PROXY_URL): the one parser and the one redaction, so that
 * a command, the environment and a stored record are held to the same rules, and no credential
 * leaves in an event or a log line.
 *
 * Where a proxy may point: the operator's PROXY_URL anywhere (it is trusted, never checked). A
 * proxy named by a command (settings `proxy`, also once stored: it came from a command) only to
 * public addresses, or to what PROXY_ALLOWED_HOSTS allows: otherwise a queue publisher could make
 * the worker open connections to internal hosts, and proxy_unreachable / proxy_failed would
 * tell it which ports are open. An IP literal is refused as the command is parsed
 * (`proxyLiteralRefusal`); a hostname is resolved at each connection, every address checked and
 * the checked one connected to (proxy-agent.ts). What the worker does with a proxy is only the
 * SOCKS5 or CONNECT handshake, and what it reports back is a coarse reason, never what the far
 * side answered. The address policy of `url` fetches still applies to the target of a fetch
 * made through a proxy.
 */

/** Longest proxy URL accepted (credentials included). */
export const PROXY_URL_MAX = 512;

/** `socks5h`/`socks`: the proxy resolves names; `socks5`: the worker resolves them; `http`/`https`: CONNECT. */
export const PROXY_SCHEMES = ['socks5:', 'socks5h:', 'socks:', 'http:', 'https:'] as const;

/** Why a connection through the number's proxy did not get through it. */
export const PROXY_FAILURES = ['proxy_unreachable', 'proxy_auth_failed', 'proxy_failed', 'proxy_not_allowed'] as const;
export type ProxyFailureCode = (typeof PROXY_FAILURES)[number];

export interface ProxyFailure {
  code: ProxyFailureCode;
  /** For a person; names the proxy without its credentials. */
  detail: string;
}

export type ProxyUrlParse = { ok: true; url: string } | { ok: false; reason: string };

/**
 * `raw` as a proxy URL, strictly: one of PROXY_SCHEMES, a host, an optional port, optional
 * `user:password`, nothing else (no path, query or fragment: a proxy has none, and a typo there
 * would otherwise be ignored silently). Returns the URL normalised.
 */
export function parseProxyUrl(raw: string): ProxyUrlParse {
  if (raw.length === 0 || raw.length > PROXY_URL_MAX) return { ok: false, reason: `a proxy URL has 1 to ${PROXY_URL_MAX} characters` };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return { ok: false, reason: 'a proxy URL has no spaces or control characters' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (!(PROXY_SCHEMES as readonly string[]).includes(url.protocol)) {
    return { ok: false, reason: `scheme ${url.protocol} refused: use socks5://, socks5h://, socks://, http:// or https://` };
  }
  if (!url.hostname) return { ok: false, reason: 'a proxy URL names a host' };
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    return { ok: false, reason: 'a proxy URL has no path, query or fragment' };
  }
  if (url.password && !url.username) return { ok: false, reason: 'a proxy password needs a user name' };
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return { ok: false, reason: 'the proxy credentials are not valid percent-encoding' };
  }
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return { ok: true, url: `${url.protocol}//${auth}${url.host}` };
}

/** True for a URL `parseProxyUrl` accepts. */
export const isProxyUrl = (raw: unknown): raw is string => typeof raw === 'string' && parseProxyUrl(raw).ok;

/**
 * The proxy URL to show: the password replaced by `***` (the user name stays: it tells which
 * account of the proxy the number uses). Something that is not a URL is shown as `[invalid proxy URL]`.
 */
export function redactProxyUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '[invalid proxy URL]';
  }
  const auth = url.username ? `${url.username}${url.password ? ':***' : ''}@` : '';
  return `${url.protocol}//${auth}${url.host}`;
}

/** Which proxies a number's own settings may name (PROXY_ALLOWED_HOSTS) and which one is the operator's (PROXY_URL). */
export interface ProxyPolicy {
  /** Private hosts and CIDRs a command's proxy may be at; the rest: public addresses only. */
  allowed: AddressPolicy;
  /** PROXY_URL: the operator's proxy, never checked (also when a command names it again). */
  trusted?: string | undefined;
}

/** True when `proxyUrl` is the operator's own proxy (compared normalised). */
export function isTrustedProxy(proxyUrl: string, policy: ProxyPolicy): boolean {
  if (!policy.trusted) return false;
  const a = parseProxyUrl(proxyUrl);
  const b = parseProxyUrl(policy.trusted);
  return a.ok && b.ok && a.url === b.url;
}

/** The proxy host without IPv6 brackets (`[::1]` → `::1`). */
export const proxyHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

/**
 * Why a command may not name `proxyUrl`, when its host is an IP address the policy refuses;
 * undefined otherwise (a hostname is checked when it is resolved, at each connection). The
 * reason names the address (the command's own), never the credentials.
 */
export function proxyLiteralRefusal(proxyUrl: string, policy: ProxyPolicy): string | undefined {
  if (isTrustedProxy(proxyUrl, policy)) return undefined;
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    return undefined; // not a URL: parseProxyUrl says so
  }
  const host = proxyHost(url);
  if (!isIP(host)) return undefined;
  const refusal = policy.allowed.refusal(host, host);
  return refusal ? `the proxy's address ${refusal}` : undefined;
}

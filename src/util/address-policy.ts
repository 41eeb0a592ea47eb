import { BlockList, isIP } from 'node:net';
import { WorkerError } from './errors.js';

/**
 * Which network addresses an outgoing fetch (a `send_message` media `url`) may connect to.
 * Pure: no DNS, no sockets; `safe-fetch` resolves a host and asks here about every address.
 *
 * Public unicast addresses pass. Refused: loopback, private (RFC 1918), CGNAT, link-local
 * (with the cloud metadata address 169.254.169.254), unique-local, multicast, unspecified,
 * broadcast, documentation/benchmark/reserved ranges, every IPv6 address outside global
 * unicast (2000::/3), and IPv4 addresses embedded in IPv6 (IPv4-mapped ::ffff:a.b.c.d, NAT64
 * 64:ff9b::/96, 6to4 2002::/16) when the embedded address would be refused.
 */

interface Range {
  readonly cidr: string;
  readonly reason: string;
}

/** Never a destination, even for an allowed host: these do not name one unicast peer. */
const NEVER_V4: readonly Range[] = [
  { cidr: '0.0.0.0/8', reason: 'unspecified' },
  { cidr: '224.0.0.0/4', reason: 'multicast' },
  { cidr: '255.255.255.255/32', reason: 'broadcast' },
];
const NEVER_V6: readonly Range[] = [
  { cidr: '::/128', reason: 'unspecified' },
  { cidr: 'ff00::/8', reason: 'multicast' },
];

/** Not public: refused unless the host or a CIDR holding the address is allowed. */
const PRIVATE_V4: readonly Range[] = [
  { cidr: '127.0.0.0/8', reason: 'loopback' },
  { cidr: '10.0.0.0/8', reason: 'private' },
  { cidr: '172.16.0.0/12', reason: 'private' },
  { cidr: '192.168.0.0/16', reason: 'private' },
  { cidr: '100.64.0.0/10', reason: 'shared (CGNAT)' },
  { cidr: '169.254.0.0/16', reason: 'link-local' },
  { cidr: '192.0.0.0/24', reason: 'reserved (IETF protocol assignments)' },
  { cidr: '192.0.2.0/24', reason: 'reserved (documentation)' },
  { cidr: '198.51.100.0/24', reason: 'reserved (documentation)' },
  { cidr: '203.0.113.0/24', reason: 'reserved (documentation)' },
  { cidr: '198.18.0.0/15', reason: 'reserved (benchmarking)' },
  { cidr: '192.88.99.0/24', reason: 'reserved (6to4 relay)' },
  { cidr: '240.0.0.0/4', reason: 'reserved' },
];
const PRIVATE_V6: readonly Range[] = [
  { cidr: '::1/128', reason: 'loopback' },
  { cidr: 'fe80::/10', reason: 'link-local' },
  { cidr: 'fec0::/10', reason: 'site-local' },
  { cidr: 'fc00::/7', reason: 'unique-local' },
  { cidr: '2001::/23', reason: 'reserved (IETF protocol assignments, Teredo)' },
  { cidr: '2001:db8::/32', reason: 'reserved (documentation)' },
  { cidr: '3fff::/20', reason: 'reserved (documentation)' },
];

type Family = 'ipv4' | 'ipv6';
type Classified = { kind: 'public' } | { kind: 'private' | 'never'; reason: string };

function lists(ranges: readonly Range[], family: Family): Array<{ list: BlockList; reason: string }> {
  return ranges.map(({ cidr, reason }) => {
    const [net, bits] = cidr.split('/') as [string, string];
    const list = new BlockList();
    list.addSubnet(net, Number(bits), family);
    return { list, reason };
  });
}
const never4 = lists(NEVER_V4, 'ipv4');
const never6 = lists(NEVER_V6, 'ipv6');
const private4 = lists(PRIVATE_V4, 'ipv4');
const private6 = lists(PRIVATE_V6, 'ipv6');
const globalUnicast6 = lists([{ cidr: '2000::/3', reason: '' }], 'ipv6')[0]!.list;

/** `[::1]` → `::1`; `fe80::1%eth0` → `fe80::1` (the zone does not change what the address is). */
function bare(address: string): string {
  const unbracketed = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = unbracketed.indexOf('%');
  return zone >= 0 ? unbracketed.slice(0, zone) : unbracketed;
}

/** An IPv6 address as 16 bytes (any textual form, with an embedded dotted IPv4 tail), or undefined. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  const text = bare(address);
  if (isIP(text) !== 6) return undefined;
  let head = text;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = dotted[1]!.split('.').map(Number);
    tail.push((parts[0]! << 8) | parts[1]!, (parts[2]! << 8) | parts[3]!);
    head = text.slice(0, -dotted[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groups = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  let words: number[];
  const gap = head.indexOf('::');
  if (gap >= 0) {
    const left = groups(head.slice(0, gap));
    const right = [...groups(head.slice(gap + 2)), ...tail];
    words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    words = [...groups(head), ...tail];
  }
  if (words.length !== 8 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

const v4 = (b: Uint8Array, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const startsWith = (b: Uint8Array, prefix: readonly number[]) => prefix.every((x, i) => b[i] === x);

/** The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64 well-known prefix, 6to4), if any. */
export function embeddedIPv4(address: string): { ipv4: string; form: string } | undefined {
  const b = ipv6Bytes(address);
  if (!b) return undefined;
  if (startsWith(b, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])) return { ipv4: v4(b, 12), form: 'IPv4-mapped' };
  if (startsWith(b, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return { ipv4: v4(b, 12), form: 'NAT64' };
  if (startsWith(b, [0x20, 0x02])) return { ipv4: v4(b, 2), form: '6to4' };
  return undefined;
}

function classify(address: string): Classified {
  const text = bare(address);
  const family = isIP(text);
  if (family === 4) {
    for (const { list, reason } of never4) if (list.check(text, 'ipv4')) return { kind: 'never', reason };
    for (const { list, reason } of private4) if (list.check(text, 'ipv4')) return { kind: 'private', reason };
    return { kind: 'public' };
  }
  if (family !== 6) return { kind: 'never', reason: 'not an IP address' };
  const embedded = embeddedIPv4(text);
  if (embedded) {
    const inner = classify(embedded.ipv4);
    return inner.kind === 'public' ? inner : { kind: inner.kind, reason: `${embedded.form} ${inner.reason}` };
  }
  for (const { list, reason } of never6) if (list.check(text, 'ipv6')) return { kind: 'never', reason };
  for (const { list, reason } of private6) if (list.check(text, 'ipv6')) return { kind: 'private', reason };
  if (!globalUnicast6.check(text, 'ipv6')) return { kind: 'private', reason: 'reserved (not global unicast)' };
  return { kind: 'public' };
}

/** Why `address` is not a public unicast address (`loopback`, `private`, …), or undefined when it is. */
export function nonPublicReason(address: string): string | undefined {
  const c = classify(address);
  return c.kind === 'public' ? undefined : c.reason;
}

/**
 * MEDIA_FETCH_ALLOWED_HOSTS (and PROXY_ALLOWED_HOSTS, for a command's proxy): hostnames (exact, case-insensitive) and CIDRs or single addresses
 * (IPv4 or IPv6) that may be private. An allowed host may resolve to anything but an
 * unspecified, multicast or broadcast address; a CIDR allows the addresses inside it.
 */
export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly cidrs = new BlockList();
  private hasCidrs = false;

  /** The variable the list comes from, named in errors and refusals. */
  private readonly setting: string;

  private constructor(setting: string) {
    this.setting = setting;
  }

  /** Throws INVALID_CONFIG for an entry that is neither a hostname nor an address/CIDR. */
  static parse(entries: readonly string[] = [], setting = 'MEDIA_FETCH_ALLOWED_HOSTS'): AddressPolicy {
    const policy = new AddressPolicy(setting);
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const bad = () => new WorkerError('INVALID_CONFIG', `${setting}: "${raw.slice(0, 80)}" is not a hostname, an IP address or a CIDR`);
      const [net, bits, extra] = entry.split('/');
      const address = bare(net!);
      const family = isIP(address);
      if (extra !== undefined || (bits !== undefined && !family)) throw bad();
      if (family) {
        const max = family === 4 ? 32 : 128;
        const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
        if (!(prefix >= 0 && prefix <= max)) throw bad();
        policy.cidrs.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
        policy.hasCidrs = true;
        continue;
      }
      const host = entry.endsWith('.') ? entry.slice(0, -1) : entry;
      if (!/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host) || host.length > 253) throw bad();
      policy.hosts.add(host);
    }
    return policy;
  }

  /** A policy for the settings as they come (an AddressPolicy, or the list of entries), parsed once per list. */
  static from(setting: AddressPolicy | readonly string[] | undefined): AddressPolicy {
    if (setting instanceof AddressPolicy) return setting;
    if (!setting) return DEFAULT_POLICY;
    let policy = parsed.get(setting);
    if (!policy) parsed.set(setting, (policy = AddressPolicy.parse(setting)));
    return policy;
  }

  get empty(): boolean {
    return this.hosts.size === 0 && !this.hasCidrs;
  }

  /**
   * Why `address` (one of the addresses `hostname` resolved to, or the URL's literal address)
   * must not be connected to; undefined when it may.
   */
  refusal(hostname: string, address: string): string | undefined {
    const c = classify(address);
    if (c.kind === 'public') return undefined;
    const shown = bare(address);
    if (c.kind === 'never') return `${shown} is ${c.reason}`;
    const host = bare(hostname).toLowerCase().replace(/\.$/, '');
    if (this.hosts.has(host) || this.inCidr(shown)) return undefined;
    return `${shown} is ${c.reason} (not in ${this.setting})`;
  }

  private inCidr(address: string): boolean {
    if (!this.hasCidrs) return false;
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (this.cidrs.check(address, family)) return true;
    const embedded = embeddedIPv4(address);
    return embedded?.form === 'IPv4-mapped' ? this.cidrs.check(embedded.ipv4, 'ipv4') : false;
  }
}

const DEFAULT_POLICY = AddressPolicy.parse([]);
const parsed = new WeakMap<readonly string[], AddressPolicy>();

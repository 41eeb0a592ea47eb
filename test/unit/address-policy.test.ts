import { AddressPolicy, embeddedIPv4, ipv6Bytes, nonPublicReason } from '../../src/util/address-policy.js';

describe('address classification (what a media url may reach)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved (documentation)'],
    ['198.18.0.1', 'reserved (benchmarking)'],
    ['192.0.0.8', 'reserved (IETF protocol assignments)'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved (documentation)'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved (IETF protocol assignments, Teredo)'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['::ffff:169.254.169.254', 'IPv4-mapped link-local'],
    ['::ffff:0.0.0.0', 'IPv4-mapped unspecified'],
    ['64:ff9b::10.0.0.1', 'NAT64 private'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 link-local'],
    ['2002:7f00:1::', '6to4 loopback'],
    ['2002:c0a8:101::1', '6to4 private'],
    ['::127.0.0.1', 'reserved (not global unicast)'],
    ['100::1', 'reserved (not global unicast)'],
    ['64:ff9b:1::1', 'reserved (not global unicast)'],
  ])('%s is refused: %s', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '192.169.0.1',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4007:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(nonPublicReason(address)).toBeUndefined();
  });

  it('not an address at all is refused', () => {
    expect(nonPublicReason('localhost')).toBe('not an IP address');
    expect(nonPublicReason('')).toBe('not an IP address');
  });

  it('parses every IPv6 text form into the same 16 bytes, and finds the IPv4 inside', () => {
    const loopbackMapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];
    expect([...ipv6Bytes('::ffff:127.0.0.1')!]).toEqual(loopbackMapped);
    expect([...ipv6Bytes('0:0:0:0:0:ffff:7f00:0001')!]).toEqual(loopbackMapped);
    expect([...ipv6Bytes('[::FFFF:7F00:1]')!]).toEqual(loopbackMapped);
    expect([...ipv6Bytes('1:2:3:4:5:6:7:8')!]).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect([...ipv6Bytes('1::')!]).toEqual([0, 1, ...new Array(14).fill(0)]);
    expect(ipv6Bytes('127.0.0.1')).toBeUndefined();
    expect(ipv6Bytes('1:2:3')).toBeUndefined();
    expect(embeddedIPv4('::ffff:10.0.0.1')).toEqual({ ipv4: '10.0.0.1', form: 'IPv4-mapped' });
    expect(embeddedIPv4('64:ff9b::a00:1')).toEqual({ ipv4: '10.0.0.1', form: 'NAT64' });
    expect(embeddedIPv4('2002:a00:1::5')).toEqual({ ipv4: '10.0.0.1', form: '6to4' });
    expect(embeddedIPv4('2606:4700::1')).toBeUndefined();
  });
});

describe('MEDIA_FETCH_ALLOWED_HOSTS', () => {
  it('empty: public addresses only, whatever the host is called', () => {
    const p = AddressPolicy.parse([]);
    expect(p.empty).toBe(true);
    expect(p.refusal('example.com', '93.184.215.14')).toBeUndefined();
    expect(p.refusal('example.com', '10.0.0.5')).toBe('10.0.0.5 is private (not in MEDIA_FETCH_ALLOWED_HOSTS)');
    expect(p.refusal('localhost', '::1')).toBe('::1 is loopback (not in MEDIA_FETCH_ALLOWED_HOSTS)');
  });

  it('a CIDR allows the private addresses inside it, and nothing next to it', () => {
    const p = AddressPolicy.parse(['127.0.0.1/32', '10.20.0.0/16', 'fd00:1::/32']);
    expect(p.refusal('127.0.0.1', '127.0.0.1')).toBeUndefined();
    expect(p.refusal('anything', '127.0.0.1')).toBeUndefined();
    expect(p.refusal('anything', '::ffff:127.0.0.1')).toBeUndefined();
    expect(p.refusal('127.0.0.2', '127.0.0.2')).toMatch(/127\.0\.0\.2 is loopback/);
    expect(p.refusal('h', '10.20.255.1')).toBeUndefined();
    expect(p.refusal('h', '10.21.0.1')).toMatch(/private/);
    expect(p.refusal('h', 'fd00:1:ffff::1')).toBeUndefined();
    expect(p.refusal('h', 'fd00:2::1')).toMatch(/unique-local/);
    expect(p.refusal('h', '::1')).toMatch(/loopback/);
  });

  it('a single address and an allowed hostname (any case, trailing dot) work; unspecified, multicast and broadcast never do', () => {
    const p = AddressPolicy.parse([' Media.Internal. ', '192.168.1.10', '[::1]']);
    expect(p.refusal('media.internal', '10.9.9.9')).toBeUndefined();
    expect(p.refusal('MEDIA.internal.', '169.254.10.10')).toBeUndefined();
    expect(p.refusal('other.internal', '10.9.9.9')).toMatch(/private/);
    expect(p.refusal('x', '192.168.1.10')).toBeUndefined();
    expect(p.refusal('x', '192.168.1.11')).toMatch(/private/);
    expect(p.refusal('x', '::1')).toBeUndefined();
    expect(p.refusal('media.internal', '0.0.0.0')).toBe('0.0.0.0 is unspecified');
    expect(p.refusal('media.internal', '224.0.0.1')).toBe('224.0.0.1 is multicast');
    expect(AddressPolicy.parse(['0.0.0.0/0']).refusal('x', '255.255.255.255')).toBe('255.255.255.255 is broadcast');
  });

  it.each(['10.0.0.0/33', '10.0.0.0/', '::/129', 'host/16', '10.0.0.0/8/8', 'bad host', 'http://x', 'a..b', '-a.example'])(
    '"%s" is a configuration error',
    (entry) => {
      expect(() => AddressPolicy.parse([entry])).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('MEDIA_FETCH_ALLOWED_HOSTS') }),
      );
    },
  );

  it('from(): a list is parsed once; an AddressPolicy is used as it is', () => {
    const list = ['10.0.0.0/8'];
    const p = AddressPolicy.from(list);
    expect(AddressPolicy.from(list)).toBe(p);
    expect(AddressPolicy.from(p)).toBe(p);
    expect(AddressPolicy.from(undefined).empty).toBe(true);
  });
});

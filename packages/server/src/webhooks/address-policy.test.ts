import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { refusedAddress } from './address-policy.js';

/**
 * The webhook address policy over a table of addresses, and over every IPv6 form that carries an IPv4 address: the
 * blocks below are written out from the IANA special-purpose registries, not taken from the code under test.
 */

const ALLOWED = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.215.14',
  '192.31.196.1', // AS112, globally reachable
  '192.52.193.1', // AMT, globally reachable
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001:830::200e',
  '2001:3::1', // AMT
  '2001:4:112::1', // AS112-v6
  '2620:4f:8000::1', // AS112 direct delegation
  '::ffff:8.8.8.8', // IPv4-mapped, of a public address
  '::ffff:808:808',
  '::ffff:0:808:808', // IPv4-translated, of a public address
  '64:ff9b::808:808', // NAT64 (DNS64 on an IPv6-only network), of a public address
  '64:ff9b::8.8.8.8',
  '2002:808:808::1', // 6to4 through a public gateway
  '2001:0:808:808:0:0:f7f7:f7f7', // Teredo: server 8.8.8.8, client 8.8.8.8
];

const REFUSED = [
  // IPv4
  '0.0.0.0',
  '0.1.2.3',
  '10.0.0.1',
  '100.64.0.1',
  '100.127.255.254',
  '127.0.0.1',
  '127.255.255.255',
  '169.254.169.254',
  '172.16.0.1',
  '172.31.255.255',
  '192.0.0.1',
  '192.0.0.170',
  '192.0.2.1',
  '192.88.99.1',
  '192.168.1.1',
  '198.18.0.1',
  '198.19.255.255',
  '198.51.100.7',
  '203.0.113.9',
  '224.0.0.1',
  '239.255.255.250',
  '240.0.0.1',
  '255.255.255.255',
  // IPv6 special-purpose blocks
  '::',
  '::1',
  '100::1',
  '100:0:0:1::1',
  '64:ff9b:1::1',
  '2001::1',
  '2001:1::1',
  '2001:2::1',
  '2001:10::1',
  '2001:db8::1',
  '2001:db8:ffff::1',
  '3fff::1',
  '5f00::1',
  'fc00::1',
  'fd00:ec2::254',
  'fe80::1',
  'fe80::1%eth0',
  'fec0::1',
  'ff02::1',
  'ff0e::1',
  '4000::1',
  // IPv6 forms that embed a refused IPv4 address
  '::127.0.0.1', // IPv4-compatible, as glibc prints it
  '::7f00:1',
  '::8.8.8.8', // IPv4-compatible is deprecated: refused whatever it embeds
  '::ffff:127.0.0.1', // IPv4-mapped
  '::ffff:7f00:1',
  '::ffff:a9fe:a9fe',
  '::ffff:0:7f00:1', // IPv4-translated
  '::ffff:0:127.0.0.1',
  '2002:7f00:1::', // 6to4
  '2002:a9fe:a9fe::1',
  '2002:c058:6301::1', // 6to4 of the deprecated relay anycast 192.88.99.1
  '2001:0:7f00:1::', // Teredo, server 127.0.0.1
  '2001:0:808:808:0:0:80ff:fffe', // Teredo, server 8.8.8.8 and client 127.0.0.1
  '2001:0:808:808:8000:ffff:f5ff:fffe', // Teredo, client 10.0.0.1
  '64:ff9b::7f00:1', // NAT64
  '64:ff9b::10.0.0.1',
  '64:ff9b::a9fe:a9fe',
  // not addresses
  'localhost',
  '',
  '127.1',
  '0x7f000001',
];

describe('webhook address policy', () => {
  for (const address of ALLOWED) test(`${address} may be reached`, () => assert.equal(refusedAddress(address), null));

  for (const address of REFUSED)
    test(`${JSON.stringify(address)} is refused, with a reason`, () => {
      const why = refusedAddress(address);
      assert.notEqual(why, null);
      assert.ok(why!.startsWith(address), why!);
    });

  test('a refusal names the IPv4 address an IPv6 form embeds, and what it is', () => {
    assert.equal(
      refusedAddress('::ffff:0:7f00:1'),
      '::ffff:0:7f00:1 is an IPv4-translated address that embeds 127.0.0.1, a loopback address',
    );
    assert.equal(
      refusedAddress('2002:a9fe:a9fe::1'),
      '2002:a9fe:a9fe::1 is a 6to4 address that embeds 169.254.169.254, a link-local address',
    );
  });
});

/** IPv4 blocks no webhook may reach: the IANA IPv4 special-purpose registry's not globally reachable ones, and multicast. */
const REFUSED_V4_BLOCKS: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

const toInt = (dotted: string) => dotted.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const hex = (n: number) => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
const group = fc.integer({ min: 0, max: 0xffff }).map((g) => g.toString(16));

/** Any address in one of the refused blocks. */
const refusedV4 = fc
  .constantFrom(...REFUSED_V4_BLOCKS)
  .chain(([net, prefix]) =>
    fc.integer({ min: 0, max: 2 ** (32 - prefix) - 1 }).map((host) => (toInt(net) + host) >>> 0),
  );
/** Any ordinary public IPv4 address (outside every special-purpose block, AS112 and AMT included). */
const publicV4 = fc
  .integer({ min: 0, max: 0xffffffff })
  .filter(
    (n) =>
      !REFUSED_V4_BLOCKS.some(([net, prefix]) => n >>> (32 - prefix) === toInt(net) >>> (32 - prefix)) &&
      n !== 0xffffffff,
  );

/** Every IPv6 form that carries `v4` (`other` is a public address for the forms with two). */
const forms = (v4: number, other: number, g: string[]) => [
  `::ffff:${dotted(v4)}`,
  `::ffff:${hex(v4)}`,
  `::ffff:0:${dotted(v4)}`,
  `::ffff:0:${hex(v4)}`,
  `64:ff9b::${dotted(v4)}`,
  `64:ff9b::${hex(v4)}`,
  `2002:${hex(v4)}:${g[0]}:${g[1]}:${g[2]}:${g[3]}:${g[4]}`,
  `2001:0:${hex(v4)}:${g[0]}:${g[1]}:${hex(other ^ 0xffffffff)}`,
  `2001:0:${hex(other)}:${g[0]}:${g[1]}:${hex((v4 ^ 0xffffffff) >>> 0)}`,
];

describe('webhook address policy: IPv4 inside IPv6', () => {
  test('any refused IPv4 address embedded in any IPv6 form (mapped, translated, NAT64, 6to4, Teredo) is refused', () => {
    fc.assert(
      fc.property(refusedV4, publicV4, fc.array(group, { minLength: 5, maxLength: 5 }), (v4, other, g) => {
        assert.notEqual(refusedAddress(dotted(v4)), null, dotted(v4));
        for (const address of [...forms(v4, other, g), `::${dotted(v4)}`, `::${hex(v4)}`])
          assert.notEqual(refusedAddress(address), null, address);
      }),
      { numRuns: 2000 },
    );
  });

  test('a public IPv4 address in the same forms may be reached', () => {
    fc.assert(
      fc.property(publicV4, publicV4, fc.array(group, { minLength: 5, maxLength: 5 }), (v4, other, g) => {
        assert.equal(refusedAddress(dotted(v4)), null, dotted(v4));
        for (const address of forms(v4, other, g)) assert.equal(refusedAddress(address), null, address);
      }),
      { numRuns: 2000 },
    );
  });
});

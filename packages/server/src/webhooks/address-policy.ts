import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where webhooks may go (SSRF). A webhook URL is chosen by whoever holds an Org-API-Key, and the server then makes
 * requests to it from inside the operator's network, so by default it refuses addresses that reach that network
 * rather than the internet: loopback, private ranges, link-local (which holds the clouds' metadata services,
 * 169.254.169.254 and fd00:ec2::254), carrier-grade NAT, multicast and reserved ranges. The check runs when the URL
 * is given and again on every connection (the lookup the HTTP agent uses), so a name that resolved to a public
 * address at creation and to a private one later (DNS rebinding) is still refused.
 */

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv6');

/** True for an address a webhook may not reach without `--webhooks-allow-private`. */
export function forbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  // An IPv4-mapped or -compatible IPv6 address reaches the IPv4 address inside it.
  const mapped = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return BLOCKED.check(mapped[1]!, 'ipv4');
  const lower = address.toLowerCase();
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(lower)) {
    const [hi, lo] = lower
      .slice(7)
      .split(':')
      .map((h) => parseInt(h, 16)) as [number, number];
    return BLOCKED.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return BLOCKED.check(address, 'ipv6');
}

export class AddressRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefused';
  }
}

/** The host of a URL as an address, if it is one (`[::1]` → `::1`). */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? null : bare;
}

function resolveAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error === null ? resolve(addresses) : reject(error),
    ),
  );
}

/** Refuses (with the reason) a host that is, or resolves to, a forbidden address. */
export async function checkHost(hostname: string): Promise<void> {
  const literal = literalAddress(hostname);
  if (literal !== null) {
    if (forbiddenAddress(literal)) throw new AddressRefused(`${literal} is a private or reserved address`);
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(hostname);
  } catch {
    throw new AddressRefused(`${hostname} does not resolve`);
  }
  const bad = addresses.find((a) => forbiddenAddress(a.address));
  if (bad !== undefined)
    throw new AddressRefused(`${hostname} resolves to ${bad.address}, a private or reserved address`);
}

/**
 * The lookup for the delivery agents: resolves as usual, then refuses the connection if any address is forbidden
 * (all of them, not only the one tried: a name that mixes public and private answers is a rebinding attempt).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
    if (error !== null) return callback(error, '', 0);
    const bad = addresses.find((a) => forbiddenAddress(a.address));
    if (bad !== undefined) {
      const refused = Object.assign(new AddressRefused(`${hostname} resolves to ${bad.address}, a private address`), {
        code: 'EADDRREFUSED',
      });
      return callback(refused, '', 0);
    }
    if (options.all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (first === undefined) return callback(new AddressRefused(`${hostname} has no address`), '', 0);
    callback(null, first.address, first.family);
  });
};

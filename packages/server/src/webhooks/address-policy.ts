import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may go (SSRF). A webhook URL is chosen by whoever holds an Org-API-Key, and the server then makes
 * requests to it from inside the operator's network, so by default it refuses every address that is not plainly
 * on the internet: loopback, private ranges, link-local (which holds the clouds' metadata services,
 * 169.254.169.254 and fd00:ec2::254), carrier-grade NAT, multicast, documentation, benchmarking and reserved
 * ranges (the IANA IPv4 and IPv6 special-purpose registries), and every IPv6 form that carries a refused IPv4
 * address inside it. The check runs when the URL is given and again on every connection (the lookup the HTTP
 * agent uses, and the literal check before a request), with the same function, so a name that resolved to a
 * public address at creation and to a private one later (DNS rebinding) is still refused.
 *
 * The ranges are ipaddr.js's (`range()`), a maintained table of those registries; this file only decides which of
 * its names may be reached and reads the IPv4 address out of the forms that embed one. It names the allowed ranges,
 * not the refused ones, so a range the library learns to name later is refused until someone decides otherwise.
 */

/**
 * The ranges a webhook may reach: ordinary unicast, and the special-purpose blocks IANA marks globally reachable
 * (AS112 and AMT relays, ORCHIDv2, drone entity tags), which are public services like any other.
 */
const REACHABLE_V4 = new Set<string>(['unicast', 'as112', 'amt']);
const REACHABLE_V6 = new Set<string>(['unicast', 'as112v6', 'amt', 'orchid2', 'droneRemoteIdProtocolEntityTags']);

/** What a refused range is, in words for `lastError` and the 422's message. */
const DESCRIBED: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private address',
  uniqueLocal: 'a unique-local (private) address',
  reserved: 'a reserved or documentation address',
  benchmarking: 'a benchmarking address',
  discard: 'a discard-only address',
  deprecatedSiteLocal: 'a site-local (private) address',
  deprecatedOrchid: 'a deprecated ORCHID address',
  segmentRouting: 'a segment-routing address',
  rfc6052: 'a local-use NAT64 address',
};

const describe = (range: string) => DESCRIBED[range] ?? `a special-purpose address (${range})`;

/** Only 2000::/3 is allocated for global unicast; the rest of the IPv6 space is reserved by the IETF or special. */
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');

/** The IPv4 address in the 32 bits of `parts` from 16-bit group `at`, XOR-ed with `mask` (Teredo's obfuscation). */
function v4At(parts: readonly number[], at: number, mask = 0): ipaddr.IPv4 {
  const hi = (parts[at] ?? 0) ^ (mask >>> 16);
  const lo = (parts[at + 1] ?? 0) ^ (mask & 0xffff);
  return new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
}

function refusedV4(v4: ipaddr.IPv4): string | null {
  const range = v4.range();
  return REACHABLE_V4.has(range) ? null : describe(range);
}

/** Why an address that embeds `v4` is refused, or null when `v4` may be reached. */
function embedding(address: string, form: string, v4: ipaddr.IPv4): string | null {
  const why = refusedV4(v4);
  return why === null ? null : `${address} is ${form} that embeds ${v4.toString()}, ${why}`;
}

function refusedV6(address: string, v6: ipaddr.IPv6): string | null {
  const range: string = v6.range();
  const parts = v6.parts;
  // Other spellings of an IPv4 address, for a dual-stack socket or a translator: judged by that address.
  if (range === 'ipv4Mapped') return embedding(address, 'an IPv4-mapped address', v6.toIPv4Address());
  if (range === 'rfc6145') return embedding(address, 'an IPv4-translated address', v4At(parts, 6));
  if (v6.match(NAT64_WELL_KNOWN)) return embedding(address, 'a NAT64 address', v4At(parts, 6));
  // Tunnels that reach the IPv4 addresses in them: 6to4 its gateway's (bits 16-47), Teredo its server's (bits
  // 32-63) and its client's (the last 32 bits, XOR-ed with all ones).
  if (range === '6to4') return embedding(address, 'a 6to4 address', v4At(parts, 1));
  if (range === 'teredo')
    return (
      embedding(address, 'a Teredo address (server)', v4At(parts, 2)) ??
      embedding(address, 'a Teredo address (client)', v4At(parts, 6, 0xffffffff))
    );
  if (range === 'unspecified' || range === 'loopback') return `${address} is ${describe(range)}`;
  // Deprecated since RFC 4291 and routed, where at all, by automatic tunnels to the IPv4 address inside: refused
  // whatever that address is.
  if (v6.match(IPV4_COMPATIBLE))
    return `${address} is a deprecated IPv4-compatible address (of ${v4At(parts, 6).toString()})`;
  if (!v6.match(GLOBAL_UNICAST))
    return `${address} is ${range === 'unicast' ? 'outside the global unicast space (2000::/3)' : describe(range)}`;
  return REACHABLE_V6.has(range) ? null : `${address} is ${describe(range)}`;
}

/**
 * Why a webhook may not reach `address` without `--webhooks-allow-private` (`"127.0.0.1 is a loopback address"`),
 * or null when it may. Anything that is not an IPv4 or IPv6 address is refused. Used when a URL is given and at
 * every connection.
 */
export function refusedAddress(address: string): string | null {
  const family = isIP(address);
  if (family === 4) {
    const why = refusedV4(ipaddr.IPv4.parse(address));
    return why === null ? null : `${address} is ${why}`;
  }
  if (family !== 6) return `${address} is not an IP address`;
  // Read through the URL parser first: ipaddr.js takes `::a.b.c.d` (IPv4-compatible, as glibc prints one) for the
  // IPv4-mapped `::ffff:a.b.c.d`; the URL parser writes every IPv6 address in hex, which ipaddr.js reads as it is.
  // A zone (`fe80::1%eth0`) does not change the address's range, and the URL parser does not take one.
  let v6: ipaddr.IPv6;
  try {
    v6 = ipaddr.IPv6.parse(new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1));
  } catch {
    return `${address} is not an IP address`;
  }
  return refusedV6(address, v6);
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
    const why = refusedAddress(literal);
    if (why !== null) throw new AddressRefused(why);
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(hostname);
  } catch {
    throw new AddressRefused(`${hostname} does not resolve`);
  }
  for (const { address } of addresses) {
    const why = refusedAddress(address);
    if (why !== null) throw new AddressRefused(`${hostname} resolves to ${address}: ${why}`);
  }
}

/**
 * The lookup for the delivery agents: resolves as usual, then refuses the connection if any address is forbidden
 * (all of them, not only the one tried: a name that mixes public and private answers is a rebinding attempt).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
    if (error !== null) return callback(error, '', 0);
    for (const { address } of addresses) {
      const why = refusedAddress(address);
      if (why !== null) {
        const refused = Object.assign(new AddressRefused(`${hostname} resolves to ${address}: ${why}`), {
          code: 'EADDRREFUSED',
        });
        return callback(refused, '', 0);
      }
    }
    if (options.all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (first === undefined) return callback(new AddressRefused(`${hostname} has no address`), '', 0);
    callback(null, first.address, first.family);
  });
};

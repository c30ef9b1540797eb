import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook must never reach unless the deployer allowed it: a URL that resolves to
 * the instance metadata service or to something inside the VPC would turn the webhook into a
 * way to read internal endpoints (SSRF).
 */
const privateRanges = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, including 169.254.169.254 (instance metadata)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local, including fd00:ec2::254 (instance metadata over IPv6)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv6');
}

/** Thrown when the target resolves to an address the webhook may not reach. */
export class ForbiddenTargetError extends Error {
  override name = 'ForbiddenTargetError';
}

// IPv6 ranges whose last 32 bits are an IPv4 address that the packet reaches: a webhook to
// 64:ff9b::a9fe:a9fe is a request to 169.254.169.254 through the VPC's NAT64.
const IPV4_CARRYING_PREFIXES: number[][] = [
  [0, 0, 0, 0, 0, 0xffff], // ::ffff:0:0/96, IPv4-mapped
  [0, 0, 0, 0, 0xffff, 0], // ::ffff:0:0:0/96, SIIT IPv4-translated
  [0x64, 0xff9b, 0, 0, 0, 0], // 64:ff9b::/96, NAT64 well-known prefix (Route 53 Resolver DNS64)
  [0, 0, 0, 0, 0, 0], // ::/96, IPv4-compatible (deprecated)
];

// 64:ff9b:1::/48 is NAT64's local-use prefix (RFC 8215): a private network's own translator,
// which may embed the IPv4 address at any of RFC 6052's positions. Refused as a whole.
const LOCAL_USE_NAT64 = [0x64, 0xff9b, 1];

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return privateRanges.check(address, 'ipv4');
  if (family !== 6) return true;
  const groups = ipv6Groups(address);
  if (!groups) return true;
  if (LOCAL_USE_NAT64.every((group, index) => groups[index] === group)) return true;
  if (IPV4_CARRYING_PREFIXES.some((prefix) => prefix.every((group, index) => groups[index] === group))) {
    const embedded = [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
    if (privateRanges.check(embedded, 'ipv4')) return true;
  }
  return privateRanges.check(address.replace(/%.*$/, ''), 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '').toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const before = parse(head);
  const after = tail === undefined ? [] : parse(tail);
  const groups = [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

/** Refuses an IP-literal host up front: Node connects to literals without calling `lookup`. */
export function assertLiteralHostAllowed(hostname: string): void {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && isPrivateAddress(host)) {
    throw new ForbiddenTargetError(
      `webhook target ${host} is a private, loopback or link-local address (set allowPrivateTargets to send there)`,
    );
  }
}

/**
 * A DNS lookup for `http.request` that refuses the connection when ANY resolved address is
 * private. Checking inside the lookup the socket actually uses (rather than resolving once
 * beforehand) leaves no window for DNS rebinding between the check and the connect.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const forbidden = addresses.find((entry) => isPrivateAddress(entry.address));
    if (forbidden) {
      const refusal = new ForbiddenTargetError(
        `webhook target ${hostname} resolves to ${forbidden.address}, a private, loopback or link-local address (set allowPrivateTargets to send there)`,
      );
      return callback(refusal as NodeJS.ErrnoException, '', 0);
    }
    if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
};

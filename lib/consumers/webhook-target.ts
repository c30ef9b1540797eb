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

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return privateRanges.check(address, 'ipv4');
  if (family !== 6) return true;
  // IPv4-mapped and NAT64 forms reach the embedded IPv4 address: judge that one.
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (embedded) return privateRanges.check(embedded, 'ipv4');
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (mappedHex) {
    const value = (parseInt(mappedHex[1]!, 16) << 16) | parseInt(mappedHex[2]!, 16);
    return privateRanges.check([24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.'), 'ipv4');
  }
  return privateRanges.check(address, 'ipv6');
}

/** Refuses an IP-literal host up front: Node connects to literals without calling `lookup`. */
export function assertLiteralHostAllowed(hostname: string): void {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && isPrivateAddress(host)) {
    throw new ForbiddenTargetError(`webhook target ${host} is a private, loopback or link-local address (set allowPrivateTargets to send there)`);
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

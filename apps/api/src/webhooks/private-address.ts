import { lookup } from 'node:dns/promises';
import os from 'node:os';
import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a webhook may reach. Refused: loopback, private, carrier-grade NAT, link-local, unspecified,
 * multicast, broadcast, reserved and documentation ranges, and every address of this host's own interfaces (a
 * service bound to 0.0.0.0 answers on those too). WEBHOOK_ALLOW_PRIVATE=1 lifts the rule (tests, closed LANs).
 */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: would reach an IPv4 address unchecked
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  blocked.addSubnet(net, bits, 'ipv6');

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address, else the address itself (lower case). */
function canonical(ip: string): string {
  const m = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip.toLowerCase();
}

export function isPrivateAddress(ip: string): boolean {
  const a = canonical(ip);
  const v = isIP(a);
  if (v === 0) return true; // not an address: never connect to it
  return blocked.check(a, v === 4 ? 'ipv4' : 'ipv6');
}

/** Every address of this host's interfaces (read at each call: interfaces come and go). */
export function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces()))
    for (const i of list ?? []) out.add(canonical(i.address.replace(/%.*$/, '')));
  return out;
}

export interface AddressPolicy {
  /** True when a webhook may not connect to `ip`. */
  refuses(ip: string): boolean;
  /** One DNS resolution of a host name (all addresses). */
  resolve(host: string): Promise<{ address: string; family: number }[]>;
}

export const systemResolve = (host: string) => lookup(host, { all: true, verbatim: true });

/** The policy the service uses: everything allowed with WEBHOOK_ALLOW_PRIVATE=1, else the rule above. */
export function addressPolicy(allowPrivate: boolean, own: () => Set<string> = ownAddresses): AddressPolicy {
  return {
    refuses: (ip) => !allowPrivate && (isPrivateAddress(ip) || own().has(canonical(ip))),
    resolve: systemResolve,
  };
}

import { BlockList, isIP } from 'node:net';
import { embeddedIpv4, ipv6Groups } from './ip-literal.js';

interface Range {
  subnet: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  what: string;
}

const LOOPBACK = 'a loopback address';
const PRIVATE = 'a private address';
const LINK_LOCAL = 'a link-local address (the range of the 169.254.169.254 metadata and credentials endpoints)';

/** Special-purpose ranges (IANA registries), most specific first so the reason names the narrowest. */
const NON_PUBLIC: Range[] = [
  { subnet: '0.0.0.0', prefix: 8, family: 'ipv4', what: 'an unspecified ("this network") address' },
  { subnet: '10.0.0.0', prefix: 8, family: 'ipv4', what: PRIVATE },
  { subnet: '100.64.0.0', prefix: 10, family: 'ipv4', what: 'a carrier-grade NAT (shared) address' },
  { subnet: '127.0.0.0', prefix: 8, family: 'ipv4', what: LOOPBACK },
  { subnet: '169.254.0.0', prefix: 16, family: 'ipv4', what: LINK_LOCAL },
  { subnet: '172.16.0.0', prefix: 12, family: 'ipv4', what: PRIVATE },
  { subnet: '192.0.0.0', prefix: 24, family: 'ipv4', what: 'an IETF protocol assignment address' },
  { subnet: '192.0.2.0', prefix: 24, family: 'ipv4', what: 'a documentation address' },
  { subnet: '192.88.99.0', prefix: 24, family: 'ipv4', what: 'a 6to4 relay anycast address' },
  { subnet: '192.168.0.0', prefix: 16, family: 'ipv4', what: PRIVATE },
  { subnet: '198.18.0.0', prefix: 15, family: 'ipv4', what: 'a benchmarking address' },
  { subnet: '198.51.100.0', prefix: 24, family: 'ipv4', what: 'a documentation address' },
  { subnet: '203.0.113.0', prefix: 24, family: 'ipv4', what: 'a documentation address' },
  { subnet: '224.0.0.0', prefix: 4, family: 'ipv4', what: 'a multicast address' },
  { subnet: '240.0.0.0', prefix: 4, family: 'ipv4', what: 'a reserved (or broadcast) address' },
  { subnet: '::', prefix: 128, family: 'ipv6', what: 'the unspecified address' },
  { subnet: '::1', prefix: 128, family: 'ipv6', what: LOOPBACK },
  { subnet: '::', prefix: 96, family: 'ipv6', what: 'an IPv4-compatible (deprecated) address' },
  { subnet: '64:ff9b:1::', prefix: 48, family: 'ipv6', what: 'a local-use NAT64 address' },
  { subnet: '100::', prefix: 64, family: 'ipv6', what: 'a discard-only address' },
  { subnet: '2001::', prefix: 23, family: 'ipv6', what: 'an IETF protocol assignment address (Teredo included)' },
  { subnet: '2001:db8::', prefix: 32, family: 'ipv6', what: 'a documentation address' },
  { subnet: '2002::', prefix: 16, family: 'ipv6', what: 'a 6to4 address (it can tunnel to any IPv4 address)' },
  { subnet: '3fff::', prefix: 20, family: 'ipv6', what: 'a documentation address' },
  { subnet: 'fc00::', prefix: 7, family: 'ipv6', what: 'a unique local (private) address' },
  { subnet: 'fe80::', prefix: 10, family: 'ipv6', what: 'a link-local address' },
  { subnet: 'fec0::', prefix: 10, family: 'ipv6', what: 'a site-local (deprecated) address' },
  { subnet: 'ff00::', prefix: 8, family: 'ipv6', what: 'a multicast address' },
];
const RULES = NON_PUBLIC.map((range) => {
  const list = new BlockList();
  list.addSubnet(range.subnet, range.prefix, range.family);
  return { ...range, list };
});
/** IPv6 unicast outside 2000::/3 has no public use (the ranges above name the common ones). */
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/**
 * Why an IP address is not a public one (`"a private address (10.0.0.0/8)"`), or undefined when it is.
 * Anything that is not an IP address at all is refused too.
 */
export function nonPublicReason(address: string): string | undefined {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(plain);
  if (version === 0) return 'not an IP address';
  if (version === 6) {
    const groups = ipv6Groups(plain)!;
    const embedded = embeddedIpv4(groups);
    if (embedded) {
      const reason = nonPublicReason(embedded.ipv4);
      return reason ? `${embedded.how} ${embedded.ipv4}: ${reason}` : undefined;
    }
  }
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const rule = RULES.find((candidate) => candidate.family === family && candidate.list.check(plain, family));
  if (rule) return `${rule.what} (${rule.subnet}/${rule.prefix})`;
  if (family === 'ipv6' && !GLOBAL_UNICAST.check(plain, 'ipv6')) return 'not a global unicast address (outside 2000::/3)';
  return undefined;
}

import { BlockList, isIP } from 'node:net';
import { embeddedIpv4, ipv6Groups } from './ip-literal.js';

/**
 * What "this machine" means wherever the code makes an exception for it: the local stack's plain-http
 * media and video URLs (request-schema.ts, url-guard.ts), the CLI's local target, and the provider
 * simulator's admin routes. One definition, so the exceptions cannot drift apart.
 */

const LOOPBACK_RANGES = new BlockList();
LOOPBACK_RANGES.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK_RANGES.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 or an IPv4-mapped 127.x address, brackets and zone allowed; a socket without an address is none. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(plain);
  if (version === 0) return false;
  if (version === 6) {
    const embedded = embeddedIpv4(ipv6Groups(plain)!);
    if (embedded?.how === 'IPv4-mapped') return isLoopbackAddress(embedded.ipv4);
  }
  return LOOPBACK_RANGES.check(plain, version === 4 ? 'ipv4' : 'ipv6');
}

/** `localhost` or a loopback IP literal (a URL's hostname: `[::1]` keeps its brackets). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || isLoopbackAddress(host);
}

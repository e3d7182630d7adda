import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

export interface ResolvedAddress {
  address: string;
  /** 4 or 6 */
  family: number;
}

/** Every address a host name resolves to (what the connection may use). Injected in tests. */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

/** `dns.lookup` with `all: true`: the resolver connections use, so the guard checks what they will reach. */
export const resolveWithSystemDns: Resolve = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses: LookupAddress[]) => (error ? reject(error) : resolve(addresses)));
  });

import { isIP } from 'node:net';

/** The eight 16-bit groups of an IPv6 address (zone removed), or undefined when it is not one. */
export function ipv6Groups(address: string): number[] | undefined {
  const plain = address.replace(/%.*$/, '');
  if (isIP(plain) !== 6) return undefined;
  let text = plain;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv6 address carries in its last 32 bits under a prefix that reaches it. */
export function embeddedIpv4(groups: number[]): { ipv4: string; how: string } | undefined {
  const last = `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  // ::ffff:a.b.c.d is a.b.c.d itself to a dual-stack socket.
  if (zeros(0, 5) && groups[5] === 0xffff) return { ipv4: last, how: 'IPv4-mapped' };
  // 64:ff9b::a.b.c.d is translated to a.b.c.d by a NAT64 gateway.
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return { ipv4: last, how: 'NAT64' };
  return undefined;
}

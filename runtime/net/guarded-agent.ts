import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { assertAddressAllowed, checkedAddresses, type UrlGuardOptions } from './url-guard.js';

/**
 * A `net.connect` lookup that resolves like the system one and refuses, as the connection's error,
 * any address the guard would refuse. Used by the agent, so the address connected to is the
 * address checked, whatever DNS answered a moment before.
 */
export function guardedLookup(options: UrlGuardOptions = {}): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    checkedAddresses(hostname, options).then(
      (addresses) => {
        const family =
          lookupOptions.family === 4 || lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 6 || lookupOptions.family === 'IPv6' ? 6 : 0;
        const usable = family ? addresses.filter((address) => address.family === family) : addresses;
        if (usable.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`${hostname} has no IPv${family} address`);
          error.code = 'ENOTFOUND';
          callback(error, '', 0);
        } else if (lookupOptions.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

export type GuardedAgent = HttpAgent & { readonly guarded: true };

/**
 * An `http` or `https` agent whose every connection resolves through the guarded lookup and whose
 * socket, once connected, has its peer address checked before anything is written to it (this also
 * covers IP-literal hosts, which `net.connect` does not look up). No keep-alive: StoreVideo makes one
 * long download per invocation, and a pooled socket frozen with the Lambda environment is a liability.
 */
export function createGuardedAgent(protocol: 'http:' | 'https:', options: UrlGuardOptions = {}): GuardedAgent {
  const lookup = guardedLookup(options);
  const agent = protocol === 'https:' ? new HttpsAgent({ keepAlive: false, lookup }) : new HttpAgent({ keepAlive: false, lookup });
  // Agent#createConnection is net/tls.createConnection(options, callback); wrap it so the check is the
  // socket's first 'connect' listener, ahead of the request's own pending write.
  type CreateConnection = (connectOptions: { host?: string; lookup?: LookupFunction }, ...rest: unknown[]) => Socket;
  const connectable = agent as unknown as { createConnection: CreateConnection };
  const base = connectable.createConnection.bind(agent);
  connectable.createConnection = (connectOptions, ...rest) => {
    const socket = base({ ...connectOptions, lookup }, ...rest);
    const host = connectOptions.host ?? '';
    socket.once('connect', () => {
      try {
        assertAddressAllowed(host, socket.remoteAddress ?? '', options);
      } catch (refusal) {
        socket.destroy(refusal as Error);
      }
    });
    return socket;
  };
  return Object.assign(agent, { guarded: true as const });
}

const sharedAgents = new Map<string, GuardedAgent>();
/** One agent per scheme and setting for the life of the process (the system resolver). */
export function sharedAgent(protocol: 'http:' | 'https:', allowInsecureLoopback: boolean): GuardedAgent {
  const name = `${protocol}${allowInsecureLoopback}`;
  let agent = sharedAgents.get(name);
  if (!agent) {
    agent = createGuardedAgent(protocol, { allowInsecureLoopback });
    sharedAgents.set(name, agent);
  }
  return agent;
}

import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { AddressFamily } from '@socketgate/protocol';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to addresses; the gateway's resolver is replaceable (tests point it at their own DNS). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const found = await dns.lookup(hostname, { all: true, order: 'verbatim' });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

function notFound(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${hostname} does not resolve`);
  error.code = 'ENOTFOUND';
  return error;
}

/**
 * Resolves what a client asked for, filtered by family. IP literals pass through; the special-use
 * names of RFC 6761 are answered here and never asked of any DNS server: `*.invalid` does not exist
 * and `localhost` is the loopback addresses.
 */
export async function resolveHost(host: string, family: AddressFamily, resolver: Resolver): Promise<ResolvedAddress[]> {
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const version = isIP(literal);
  let found: ResolvedAddress[];
  if (version !== 0) {
    found = [{ address: literal, family: version === 6 ? 6 : 4 }];
  } else {
    const name = host.toLowerCase().replace(/\.$/, '');
    if (name === 'invalid' || name.endsWith('.invalid')) throw notFound(host);
    found =
      name === 'localhost' || name.endsWith('.localhost')
        ? [
            { address: '127.0.0.1', family: 4 },
            { address: '::1', family: 6 },
          ]
        : await resolver(name);
  }
  const wanted = family === 'ipv4' ? 4 : family === 'ipv6' ? 6 : undefined;
  const usable = wanted === undefined ? found : found.filter((entry) => entry.family === wanted);
  if (usable.length === 0) throw notFound(host);
  return usable;
}

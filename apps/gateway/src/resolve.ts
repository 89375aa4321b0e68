import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { AddressFamily } from '@socketgate/protocol';
import ipaddr from 'ipaddr.js';

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

/**
 * A resolver that asks the given DNS servers (`host` or `host:port`), A and AAAA, with a timeout,
 * instead of the system's resolver.
 */
export function dnsServerResolver(servers: readonly string[], timeoutMs = 2000): Resolver {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  resolver.setServers([...servers]);
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
    const found: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (found.length === 0) throw v4.status === 'rejected' ? v4.reason : notFound(hostname);
    return found;
  };
}

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
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // Every IPv4 spelling (127.1, 0x7f.0.0.1, 2130706433, …) is an address, never a name to look up.
  const literal = isIP(bare) === 0 && ipaddr.IPv4.isValid(bare) ? ipaddr.IPv4.parse(bare).toString() : bare;
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

/**
 * Remembers resolved names for a short, bounded time, so that a UDP socket sending many datagrams to
 * one name does not ask DNS for each (entries live `ttlMs`; at most `maxEntries` names).
 */
export class NameCache {
  readonly #entries = new Map<string, { expires: number; addresses: ResolvedAddress[] }>();
  readonly #resolver: Resolver;
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(resolver: Resolver, ttlMs = 30_000, maxEntries = 1024) {
    this.#resolver = resolver;
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  /** The cached answer, if fresh; IP literals and RFC 6761 names need no cache. */
  peek(host: string, family: AddressFamily): ResolvedAddress[] | undefined {
    const entry = this.#entries.get(`${family}|${host.toLowerCase()}`);
    if (entry === undefined || entry.expires < Date.now()) return undefined;
    return entry.addresses;
  }

  async resolve(host: string, family: AddressFamily): Promise<ResolvedAddress[]> {
    const cached = this.peek(host, family);
    if (cached) return cached;
    const addresses = await resolveHost(host, family, this.#resolver);
    const key = `${family}|${host.toLowerCase()}`;
    this.#entries.delete(key);
    this.#entries.set(key, { expires: Date.now() + this.#ttlMs, addresses });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    return addresses;
  }
}

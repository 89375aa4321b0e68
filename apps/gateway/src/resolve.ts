import { promises as dns } from 'node:dns';
import { type AddressFamily, parseHost } from '@socketgate/protocol';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  /** How long the answer may be cached, in seconds, as DNS records carry it; absent, the gateway's default applies. */
  ttlSec?: number;
}

/**
 * Resolves a host name to addresses; the gateway's resolver is replaceable (tests point it at their own DNS).
 * The gateway bounds every call in time and number; `signal` aborts when the gateway no longer waits for it.
 */
export type Resolver = (hostname: string, options?: { signal?: AbortSignal }) => Promise<ResolvedAddress[]>;

/**
 * getaddrinfo calls run on libuv's threadpool (4 threads unless UV_THREADPOOL_SIZE says otherwise),
 * which file system, crypto and zlib work needs too, and a lookup that never answers holds its
 * thread until the system resolver gives up. At most half the pool looks names up at once.
 */
const GETADDRINFO_SLOTS = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2));
let getaddrinfoRunning = 0;
/** Calls waiting for a slot, in order; a release hands its slot straight to the first. */
const getaddrinfoWaiting = new Set<() => void>();

async function getaddrinfoSlot(signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  if (getaddrinfoRunning < GETADDRINFO_SLOTS) {
    getaddrinfoRunning++;
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const start = (): void => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const abort = (): void => {
      getaddrinfoWaiting.delete(start);
      reject(signal?.reason);
    };
    getaddrinfoWaiting.add(start);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

function releaseGetaddrinfoSlot(): void {
  const next = getaddrinfoWaiting.values().next();
  if (next.done) {
    getaddrinfoRunning--;
    return;
  }
  getaddrinfoWaiting.delete(next.value);
  next.value();
}

/**
 * The system's resolver (getaddrinfo: /etc/hosts, nsswitch, then DNS), behind a process-wide cap on
 * concurrent calls. A call cannot be cancelled once it runs, so a few names that never answer can
 * delay every other lookup of the process (never its file system or crypto work). It gives no TTLs.
 */
export const systemResolver: Resolver = async (hostname, options) => {
  await getaddrinfoSlot(options?.signal);
  try {
    const found = await dns.lookup(hostname, { all: true, order: 'verbatim' });
    return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
  } finally {
    releaseGetaddrinfoSlot();
  }
};

/** A partial answer (one family answered, the other failed for now) is kept at most this long. */
const PARTIAL_TTL_SEC = 5;
/** c-ares codes that say the name, or its records of that type, do not exist. */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * A resolver that asks DNS servers directly with c-ares (A and AAAA, with their TTLs): no threadpool
 * thread is used, so names that never answer delay nothing else. It asks `servers` (`host` or
 * `host:port`), or else the servers of the system's /etc/resolv.conf; it does not read /etc/hosts.
 * Each query gets about `timeoutMs` in all over `tries` tries (c-ares doubles the wait per round).
 */
export function dnsResolver(options: { servers?: readonly string[]; timeoutMs?: number; tries?: number } = {}): Resolver {
  const { servers = [], timeoutMs = 5000, tries = 2 } = options;
  const resolver = new dns.Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 2 ** tries)), tries });
  if (servers.length > 0) resolver.setServers([...servers]);
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname, { ttl: true }), resolver.resolve6(hostname, { ttl: true })]);
    const failure = [v4, v6].find(
      (result): result is PromiseRejectedResult =>
        result.status === 'rejected' && !ABSENT.has((result.reason as NodeJS.ErrnoException).code ?? ''),
    );
    const ttlCap = failure === undefined ? Number.POSITIVE_INFINITY : PARTIAL_TTL_SEC;
    const found: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled'
        ? v4.value.map(({ address, ttl }) => ({ address, family: 4 as const, ttlSec: Math.min(ttl, ttlCap) }))
        : []),
      ...(v6.status === 'fulfilled'
        ? v6.value.map(({ address, ttl }) => ({ address, family: 6 as const, ttlSec: Math.min(ttl, ttlCap) }))
        : []),
    ];
    if (found.length > 0) return found;
    throw failure === undefined ? notFound(hostname) : failure.reason;
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
 * and `localhost` is the loopback addresses. Only other names reach `resolver`, lower-cased and
 * without a trailing dot.
 */
export async function resolveHost(host: string, family: AddressFamily, resolver: Resolver): Promise<ResolvedAddress[]> {
  // The protocol's one host grammar: the schema has already refused anything else, and this keeps
  // every caller to it (a malformed name is never asked of a resolver).
  const parsed = parseHost(host);
  if (!parsed.ok) throw notFound(host);
  let found: ResolvedAddress[];
  if (parsed.kind !== 'name') {
    // Every IPv4 spelling (127.1, 0x7f.0.0.1, 2130706433, …) is an address, never a name to look up.
    found = [{ address: parsed.host, family: parsed.kind === 'ipv6' ? 6 : 4 }];
  } else {
    const name = parsed.host;
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

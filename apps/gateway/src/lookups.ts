import { isIP } from 'node:net';
import type { AddressFamily } from '@socketgate/protocol';
import { SocketFailureError } from './errno-table.js';
import { type ResolvedAddress, type Resolver, resolveHost } from './resolve.js';

export interface LookupSettings {
  resolver: Resolver;
  /** Longest a stream waits for a name, queueing included; a flight is abandoned after it too. */
  timeoutMs: number;
  /** Names asked of the resolver at once, gateway-wide. */
  maxLookups: number;
  /** Lookups one session waits on at once. */
  maxLookupsPerSession: number;
  /** Names remembered at most (a quarter of that again for names that do not exist). */
  cacheEntries: number;
  maxTtlSec: number;
  /** For answers that carry no TTL (getaddrinfo, most embedders' resolvers). */
  defaultTtlSec: number;
  /** How long a name that does not exist is remembered. */
  negativeTtlSec: number;
}

/** Lookups waiting beyond a cap, per cap: a queue this many times the cap, then refusals. */
const QUEUE_FACTOR = 8;
/** Addresses kept per name: enough for any real service, and a bound on what one entry holds. */
const MAX_ADDRESSES = 32;

const hostNotFound = { error: 'HostNotFoundError', message: 'Host not found' } as const;

/** One stream's wait for one name. */
interface Request {
  readonly name: string;
  readonly session: SessionLookups;
  readonly settle: (outcome: ResolvedAddress[] | Error) => void;
  readonly timer: NodeJS.Timeout;
  /** Where it waits: its session's queue, the gateway's queue (holding a session slot), or a flight. */
  at: 'session' | 'gateway' | Flight | undefined;
  settled: boolean;
}

/** One call to the resolver, shared by every request for its name. */
interface Flight {
  readonly name: string;
  readonly requests: Set<Request>;
  readonly abort: AbortController;
  readonly timer: NodeJS.Timeout;
}

/**
 * Name resolution for the whole gateway: every lookup is bounded in time (`timeoutMs`, after which
 * the stream fails with HostNotFoundError, as Qt reports a lookup that timed out) and in number (per
 * session and gateway-wide); concurrent lookups of one name share one resolver call; answers are
 * cached for their TTL (clamped), names that do not exist briefly.
 *
 *   stream -> cache? -> session slot (or its FIFO queue) -> joins a flight of that name,
 *             or a gateway slot (or its FIFO queue) -> resolver(name)
 *
 * Waiting in bounded FIFO queues rather than failing at once lets a page that opens many sockets
 * at once have them all; a session can hold at most `maxLookupsPerSession` places in the gateway's
 * queue, so every other session's lookups stay near its front. A full queue fails the stream at
 * once with SocketResourceError, which says what happened, rather than a timeout later.
 */
export class Lookups {
  readonly #settings: LookupSettings;
  readonly #cache = new Map<string, { expiresAt: number; addresses: ResolvedAddress[] }>();
  readonly #absent = new Map<string, number>();
  /** Flights that new requests for their name may join. */
  readonly #flights = new Map<string, Flight>();
  /** Every flight whose resolver call runs, joinable or left by all its requests: what the cap counts. */
  readonly #running = new Set<Flight>();
  readonly #waiting = new Set<Request>();

  constructor(settings: LookupSettings) {
    this.#settings = settings;
  }

  /** A handle for one session: its lookups, capped, released together when it closes. */
  session(): SessionLookups {
    return new SessionLookups(this, this.#settings.maxLookupsPerSession, QUEUE_FACTOR * this.#settings.maxLookupsPerSession);
  }

  /** Names being asked of the resolver now, and lookups waiting for a gateway slot. */
  get pending(): { flights: number; waiting: number; cached: number } {
    return { flights: this.#running.size, waiting: this.#waiting.size, cached: this.#cache.size + this.#absent.size };
  }

  get timeoutMs(): number {
    return this.#settings.timeoutMs;
  }

  /** The cached answer: addresses, an error for a name known not to exist, or undefined. */
  cached(name: string): ResolvedAddress[] | Error | undefined {
    const now = performance.now();
    const entry = this.#cache.get(name);
    if (entry !== undefined) {
      this.#cache.delete(name);
      if (entry.expiresAt > now) {
        this.#cache.set(name, entry); // most recently used last
        return entry.addresses;
      }
    }
    const absentUntil = this.#absent.get(name);
    if (absentUntil === undefined) return undefined;
    if (absentUntil > now) return new SocketFailureError(hostNotFound);
    this.#absent.delete(name);
    return undefined;
  }

  /** A request holding its session's slot: answered from the cache, a flight, or a new flight in turn. */
  start(request: Request): void {
    this.#serve(request, false);
  }

  #serve(request: Request, fromQueue: boolean): void {
    const cached = this.cached(request.name);
    if (cached !== undefined) {
      request.settle(cached);
      request.session.release(request);
      return;
    }
    const flight = this.#flights.get(request.name);
    if (flight !== undefined) {
      flight.requests.add(request);
      request.at = flight;
      return;
    }
    // A free slot goes to the head of the queue first.
    if (this.#running.size < this.#settings.maxLookups && (fromQueue || this.#waiting.size === 0)) {
      this.#fly(request);
      return;
    }
    if (this.#waiting.size >= QUEUE_FACTOR * this.#settings.maxLookups) {
      request.settle(
        new SocketFailureError({
          error: 'SocketResourceError',
          message: 'Out of resources: too many name lookups are waiting on the gateway',
        }),
      );
      request.session.release(request);
      return;
    }
    this.#waiting.add(request);
    request.at = 'gateway';
  }

  /** Forgets a request whose session closed. */
  leave(request: Request): void {
    const at = request.at;
    request.at = undefined;
    if (at === 'gateway') this.#waiting.delete(request);
    if (typeof at !== 'object') return;
    at.requests.delete(request);
    if (at.requests.size > 0 || this.#flights.get(at.name) !== at) return;
    // No one waits for this answer any more: a resolver that can stop (one still queued for
    // getaddrinfo) stops; one that cannot keeps its slot until it ends, so it is still counted.
    this.#flights.delete(at.name);
    at.abort.abort();
  }

  #fly(first: Request): void {
    const { name } = first;
    const abort = new AbortController();
    const flight: Flight = {
      name,
      requests: new Set([first]),
      abort,
      // The resolver may never settle (an embedder's): the flight then ends here, and its slot with it.
      timer: setTimeout(() => this.#land(flight, lookupTimedOut(this.#settings.timeoutMs)), this.#settings.timeoutMs),
    };
    first.at = flight;
    this.#flights.set(name, flight);
    this.#running.add(flight);
    let call: Promise<ResolvedAddress[]>;
    try {
      call = this.#settings.resolver(name, { signal: abort.signal });
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      (addresses: unknown) => this.#land(flight, Array.isArray(addresses) ? addresses : new Error('the resolver returned no list')),
      (error: unknown) => this.#land(flight, error instanceof Error ? error : new Error(String(error))),
    );
  }

  #land(flight: Flight, outcome: ResolvedAddress[] | Error): void {
    if (!this.#running.delete(flight)) return; // ended already (timed out, then answered)
    if (this.#flights.get(flight.name) === flight) this.#flights.delete(flight.name);
    clearTimeout(flight.timer);
    flight.abort.abort();
    const answer = Array.isArray(outcome) ? this.#remember(flight.name, outcome) : this.#forget(flight.name, outcome);
    for (const request of flight.requests) {
      request.settle(answer);
      request.session.release(request);
    }
    flight.requests.clear();
    for (const request of this.#waiting) {
      if (this.#running.size >= this.#settings.maxLookups) break;
      this.#waiting.delete(request);
      this.#serve(request, true);
    }
  }

  /** Caches an answer for the shortest TTL of its records, clamped; returns what the streams get. */
  #remember(name: string, found: ResolvedAddress[]): ResolvedAddress[] | Error {
    // An embedder's resolver may return anything: keep IP addresses only, with their real family.
    const addresses = found
      .map((entry) => ({ entry, version: typeof entry?.address === 'string' ? isIP(entry.address) : 0 }))
      .filter(({ version }) => version !== 0)
      .slice(0, MAX_ADDRESSES)
      .map(({ entry, version }) => ({ ...entry, family: version === 6 ? (6 as const) : (4 as const) }));
    if (addresses.length === 0) return this.#forget(name, Object.assign(new Error(`${name} has no addresses`), { code: 'ENOTFOUND' }));
    const { maxTtlSec, defaultTtlSec, cacheEntries } = this.#settings;
    const ttls = addresses.map((entry) => entry.ttlSec).filter((ttl): ttl is number => typeof ttl === 'number' && ttl >= 0);
    const ttlSec = Math.min(maxTtlSec, ttls.length > 0 ? Math.min(...ttls) : defaultTtlSec);
    this.#absent.delete(name);
    this.#cache.delete(name);
    if (ttlSec > 0 && cacheEntries > 0) {
      this.#cache.set(name, { expiresAt: performance.now() + ttlSec * 1000, addresses });
      if (this.#cache.size > cacheEntries) this.#cache.delete(this.#cache.keys().next().value as string);
    }
    return addresses;
  }

  /**
   * Turns a resolver's failure into what Qt reports (HostNotFoundError, whatever the cause), and
   * remembers a name that does not exist (not one whose servers failed or timed out).
   */
  #forget(name: string, error: Error): Error {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const { negativeTtlSec, cacheEntries } = this.#settings;
    const bound = Math.ceil(cacheEntries / 4);
    if ((code === 'ENOTFOUND' || code === 'ENODATA') && negativeTtlSec > 0 && bound > 0) {
      this.#absent.delete(name);
      this.#absent.set(name, performance.now() + negativeTtlSec * 1000);
      if (this.#absent.size > bound) this.#absent.delete(this.#absent.keys().next().value as string);
    }
    return error instanceof SocketFailureError ? error : new SocketFailureError(hostNotFound, { cause: error });
  }
}

function lookupTimedOut(timeoutMs: number): SocketFailureError {
  return new SocketFailureError({ error: 'HostNotFoundError', message: `Host not found: no answer within ${timeoutMs} ms` });
}

/**
 * One session's lookups: at most `max` at once (each holds a slot until its flight ends), up to
 * `maxQueued` more waiting in order. Closing the session fails what is still pending.
 */
export class SessionLookups {
  readonly #lookups: Lookups;
  readonly #max: number;
  readonly #maxQueued: number;
  readonly #queue = new Set<Request>();
  readonly #holding = new Set<Request>();
  #pumping = false;
  #disposed = false;

  constructor(lookups: Lookups, max: number, maxQueued: number) {
    this.#lookups = lookups;
    this.#max = max;
    this.#maxQueued = maxQueued;
  }

  /** Lookups holding a slot, and lookups queued behind them. */
  get pending(): { active: number; queued: number } {
    return { active: this.#holding.size, queued: this.#queue.size };
  }

  /** What `host` resolves to in `family`: IP literals and RFC 6761 names as resolveHost answers them. */
  resolve(host: string, family: AddressFamily): Promise<ResolvedAddress[]> {
    return resolveHost(host, family, (name) => this.#lookup(name));
  }

  #lookup(name: string): Promise<ResolvedAddress[]> {
    const cached = this.#lookups.cached(name);
    if (cached !== undefined) return Array.isArray(cached) ? Promise.resolve(cached) : Promise.reject(cached);
    if (this.#disposed) return Promise.reject(new SocketFailureError(hostNotFound));
    if (this.#holding.size >= this.#max && this.#queue.size >= this.#maxQueued) {
      return Promise.reject(
        new SocketFailureError({
          error: 'SocketResourceError',
          message: `Out of resources: this session already waits for ${this.#holding.size + this.#queue.size} name lookups, its limit`,
        }),
      );
    }
    return new Promise<ResolvedAddress[]>((resolve, reject) => {
      const request: Request = {
        name,
        session: this,
        settle: (outcome) => {
          if (request.settled) return;
          request.settled = true;
          clearTimeout(request.timer);
          if (Array.isArray(outcome)) resolve(outcome);
          else reject(outcome);
        },
        timer: setTimeout(() => this.#timedOut(request), this.#lookups.timeoutMs),
        at: undefined,
        settled: false,
      };
      if (this.#holding.size < this.#max) this.#admit(request);
      else {
        this.#queue.add(request);
        request.at = 'session';
      }
    });
  }

  #admit(request: Request): void {
    this.#holding.add(request);
    this.#lookups.start(request);
  }

  /** The stream stops waiting; a request in a flight keeps its slot until the flight ends. */
  #timedOut(request: Request): void {
    request.settle(lookupTimedOut(this.#lookups.timeoutMs));
    if (request.at === 'session') this.#queue.delete(request);
    else if (request.at === 'gateway') {
      this.#lookups.leave(request);
      this.release(request);
    }
  }

  /** A request gives its slot back: the next queued one takes it. */
  release(request: Request): void {
    request.at = undefined;
    if (!this.#holding.delete(request)) return;
    // A queued request answered from the cache releases at once: loop here rather than recurse.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (const next of this.#queue) {
        if (this.#holding.size >= this.#max) break;
        this.#queue.delete(next);
        this.#admit(next);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** The session closed: its pending lookups fail, and their slots and places in line are freed. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const closed = new SocketFailureError({ error: 'HostNotFoundError', message: 'Host not found: the session closed' });
    for (const request of [...this.#queue, ...this.#holding]) {
      request.settle(closed);
      this.#lookups.leave(request);
    }
    this.#queue.clear();
    this.#holding.clear();
  }
}

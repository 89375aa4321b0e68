import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { GatewayConfig } from './config.js';
import { GW_ERR_STORE_UNAVAILABLE } from './errors.js';

/** One limited count a session takes a place in: its credential's, its address's. */
export interface SlotRequest {
  key: string;
  limit: number;
}

/**
 * Where single-use tickets and the places sessions hold in shared limits are kept: in this process
 * ({@link MemoryStore}), or in Redis for every gateway that names it ({@link RedisStore}). Every
 * method rejects with GW_ERR_STORE_UNAVAILABLE when the store cannot answer: callers fail closed.
 */
export interface SessionStore {
  /** True when ticket `id` had not been claimed (and now is, until `untilMs`, ms since the epoch). */
  claimTicket(id: string, untilMs: number): Promise<boolean>;
  /**
   * Takes a place for `holder` in every slot, or in none: resolves with the first slot already at its
   * limit, or undefined when every place was taken. The places last until {@link release}.
   */
  acquire(holder: string, slots: readonly SlotRequest[]): Promise<SlotRequest | undefined>;
  /** Gives back every place `holder` took; never rejects (a store that cannot be told lets them expire). */
  release(holder: string): void;
  /** Places taken in the slot `key`. */
  count(key: string): Promise<number>;
  close(): Promise<void>;
}

/** A binary min-heap of ticket expiries: the expired ones are found without looking at the rest. */
class ExpiryHeap {
  readonly #at: number[] = [];
  readonly #ids: string[] = [];

  get size(): number {
    return this.#at.length;
  }

  push(at: number, id: string): void {
    let i = this.#at.length;
    this.#at.push(at);
    this.#ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.#at[parent] as number) <= at) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** The id of the earliest expiry when it is at or before `now`, removed from the heap. */
  popExpired(now: number): string | undefined {
    if (this.#at.length === 0 || (this.#at[0] as number) > now) return undefined;
    const id = this.#ids[0] as string;
    const lastAt = this.#at.pop() as number;
    const lastId = this.#ids.pop() as string;
    if (this.#at.length > 0) {
      this.#at[0] = lastAt;
      this.#ids[0] = lastId;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < this.#at.length && (this.#at[left] as number) < (this.#at[least] as number)) least = left;
        if (right < this.#at.length && (this.#at[right] as number) < (this.#at[least] as number)) least = right;
        if (least === i) break;
        this.#swap(i, least);
        i = least;
      }
    }
    return id;
  }

  #swap(a: number, b: number): void {
    [this.#at[a], this.#at[b]] = [this.#at[b] as number, this.#at[a] as number];
    [this.#ids[a], this.#ids[b]] = [this.#ids[b] as string, this.#ids[a] as string];
  }
}

/**
 * The default store, for one gateway process: tickets in a bounded map whose expired entries leave
 * through a heap (no scan per hello), and slots as sets of holders. A full ticket map refuses new
 * tickets rather than forgetting unexpired ones.
 */
export class MemoryStore implements SessionStore {
  readonly #tickets = new Map<string, number>();
  readonly #expiries = new ExpiryHeap();
  readonly #maxTickets: number;
  readonly #slots = new Map<string, Set<string>>();
  readonly #held = new Map<string, readonly string[]>();
  readonly #log: FastifyBaseLogger | undefined;
  #full = false;

  constructor(maxTickets: number, log?: FastifyBaseLogger) {
    this.#maxTickets = maxTickets;
    this.#log = log;
  }

  /** Tickets remembered now (for tests). */
  get tickets(): number {
    return this.#tickets.size;
  }

  async claimTicket(id: string, untilMs: number): Promise<boolean> {
    const now = Date.now();
    for (let expired = this.#expiries.popExpired(now); expired !== undefined; expired = this.#expiries.popExpired(now)) {
      if ((this.#tickets.get(expired) ?? Number.POSITIVE_INFINITY) <= now) this.#tickets.delete(expired);
    }
    if (this.#tickets.has(id)) return false;
    if (this.#tickets.size >= this.#maxTickets) {
      if (!this.#full)
        this.#log?.warn({ maxTickets: this.#maxTickets }, 'the ticket store is full (jwt.replayCacheSize): tickets are refused');
      this.#full = true;
      throw new GW_ERR_STORE_UNAVAILABLE(`${this.#maxTickets} unexpired tickets are remembered, jwt.replayCacheSize`);
    }
    this.#full = false;
    this.#tickets.set(id, untilMs);
    this.#expiries.push(untilMs, id);
    return true;
  }

  async acquire(holder: string, slots: readonly SlotRequest[]): Promise<SlotRequest | undefined> {
    const full = slots.find(({ key, limit }) => {
      const holders = this.#slots.get(key);
      return holders !== undefined && !holders.has(holder) && holders.size >= limit;
    });
    if (full !== undefined) return full;
    for (const { key } of slots) {
      const holders = this.#slots.get(key) ?? new Set();
      holders.add(holder);
      this.#slots.set(key, holders);
    }
    this.#held.set(holder, [...(this.#held.get(holder) ?? []), ...slots.map(({ key }) => key)]);
    return undefined;
  }

  release(holder: string): void {
    for (const key of this.#held.get(holder) ?? []) {
      const holders = this.#slots.get(key);
      holders?.delete(holder);
      if (holders?.size === 0) this.#slots.delete(key);
    }
    this.#held.delete(holder);
  }

  async count(key: string): Promise<number> {
    return this.#slots.get(key)?.size ?? 0;
  }

  async close(): Promise<void> {}
}

// A slot is a sorted set of holders scored by when their place expires (Redis' clock, in ms). Taking
// places prunes the expired ones first, so a gateway that died without releasing frees its places
// after slotTtlMs; the owning gateway pushes the expiry forward while its sessions live.
const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/** KEYS: slots; ARGV: holder, ttl, then each slot's limit. Returns the 1-based index of a full slot, or 0. */
const ACQUIRE = `${NOW}
local holder, ttl = ARGV[1], tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if not redis.call('ZSCORE', key, holder) and redis.call('ZCARD', key) >= tonumber(ARGV[i + 2]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, holder)
  redis.call('PEXPIRE', key, ttl)
end
return 0`;

/** KEYS: slots; ARGV: ttl, then the holder in each slot. A holder whose place had expired takes it again. */
const REFRESH = `${NOW}
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS`;

/** KEYS: one slot. Places not expired. */
const COUNT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

interface Scripts {
  socketgateAcquire(keys: number, ...args: Array<string | number>): Promise<number>;
  socketgateRefresh(keys: number, ...args: Array<string | number>): Promise<number>;
  socketgateCount(keys: 1, key: string): Promise<number>;
}

/** Places refreshed per script call, so one call never holds Redis for long. */
const REFRESH_BATCH = 500;

/**
 * Tickets and slots in Redis, shared by every gateway that names the same server and key prefix.
 * Tickets are `SET key 1 NX PX ttl`; slots are sorted sets changed by one Lua script per call, so
 * counting and adding are atomic across gateways. Commands fail at once while Redis is unreachable
 * (no offline queue) and after `timeoutMs` when it does not answer.
 */
export class RedisStore implements SessionStore {
  readonly #client: Redis & Scripts;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #log: FastifyBaseLogger;
  /** The slots (full keys) each of this gateway's holders has a place in, refreshed while held. */
  readonly #held = new Map<string, readonly string[]>();
  readonly #refreshTimer: NodeJS.Timeout;
  #failing = false;

  constructor(RedisClient: typeof Redis, url: string, options: GatewayConfig['store'], log: FastifyBaseLogger) {
    this.#prefix = options.keyPrefix;
    this.#ttlMs = options.slotTtlMs;
    this.#log = log;
    const client = new RedisClient(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.timeoutMs,
      commandTimeout: options.timeoutMs,
      retryStrategy: (times) => Math.min(times * 100, 1000),
      lazyConnect: true,
    });
    client.defineCommand('socketgateAcquire', { lua: ACQUIRE });
    client.defineCommand('socketgateRefresh', { lua: REFRESH });
    client.defineCommand('socketgateCount', { lua: COUNT, readOnly: true });
    // Without a listener ioredis prints every failed reconnect; one line per outage is enough.
    client.on('error', (error: Error) => this.#failed(error));
    client.on('ready', () => this.#answered());
    this.#client = client as Redis & Scripts;
    this.#refreshTimer = setInterval(() => this.#refresh(), Math.floor(this.#ttlMs / 3));
    this.#refreshTimer.unref();
  }

  /** Connects, waiting at most `timeoutMs`; a Redis that is down is logged, and hellos are refused until it answers. */
  async connect(timeoutMs: number): Promise<void> {
    const ac = new AbortController();
    // A refused first attempt is reported through 'error'; ioredis keeps trying.
    this.#client.connect().catch(() => undefined);
    await Promise.race([once(this.#client, 'ready', { signal: ac.signal }), sleep(timeoutMs, undefined, { signal: ac.signal })]).catch(
      () => undefined,
    );
    ac.abort();
    if (this.#client.status === 'ready') {
      const { host, port, db } = this.#client.options;
      this.#log.info({ host, port, db, keyPrefix: this.#prefix }, 'the session store (Redis) is connected');
    }
  }

  async claimTicket(id: string, untilMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(untilMs - Date.now()));
    const reply = await this.#call(() => this.#client.set(`${this.#prefix}ticket:${id}`, '1', 'PX', ttl, 'NX'));
    return reply === 'OK';
  }

  async acquire(holder: string, slots: readonly SlotRequest[]): Promise<SlotRequest | undefined> {
    const keys = slots.map(({ key }) => `${this.#prefix}slot:${key}`);
    const full = await this.#call(() =>
      this.#client.socketgateAcquire(keys.length, ...keys, holder, this.#ttlMs, ...slots.map(({ limit }) => limit)),
    );
    if (full > 0) return slots[full - 1];
    this.#held.set(holder, [...(this.#held.get(holder) ?? []), ...keys]);
    return undefined;
  }

  release(holder: string): void {
    const keys = this.#held.get(holder);
    if (keys === undefined) return;
    this.#held.delete(holder);
    if (this.#client.status !== 'ready') return;
    const pipeline = this.#client.pipeline();
    for (const key of keys) pipeline.zrem(key, holder);
    pipeline.exec().catch((error: unknown) => this.#failed(error));
  }

  async count(key: string): Promise<number> {
    return this.#call(() => this.#client.socketgateCount(1, `${this.#prefix}slot:${key}`));
  }

  async close(): Promise<void> {
    clearInterval(this.#refreshTimer);
    if (this.#client.status === 'ready') await this.#client.quit().catch(() => undefined);
    this.#client.disconnect();
  }

  #refresh(): void {
    if (this.#held.size === 0 || this.#client.status !== 'ready') return;
    const keys: string[] = [];
    const holders: string[] = [];
    const flush = (): void => {
      this.#client.socketgateRefresh(keys.length, ...keys, this.#ttlMs, ...holders).catch((error: unknown) => this.#failed(error));
      keys.length = 0;
      holders.length = 0;
    };
    for (const [holder, held] of this.#held) {
      for (const key of held) {
        keys.push(key);
        holders.push(holder);
      }
      if (keys.length >= REFRESH_BATCH) flush();
    }
    if (keys.length > 0) flush();
  }

  async #call<T>(command: () => Promise<T>): Promise<T> {
    try {
      const reply = await command();
      this.#answered();
      return reply;
    } catch (error) {
      this.#failed(error);
      throw new GW_ERR_STORE_UNAVAILABLE((error as Error).message, { cause: error });
    }
  }

  #answered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log.info('the session store (Redis) answers again');
  }

  #failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#log.warn({ err: error }, 'the session store (Redis) does not answer: hellos are refused until it does');
  }
}

/** The store the configuration asks for: Redis when `store.redis` is set, else this process's memory. */
export async function createStore(config: GatewayConfig, log: FastifyBaseLogger): Promise<SessionStore> {
  if (config.store.redis === undefined) return new MemoryStore(config.jwt?.replayCacheSize ?? 100_000, log);
  // Loaded only when asked for: a gateway without Redis carries none of its client.
  const { Redis: RedisClient } = await import('ioredis');
  const store = new RedisStore(RedisClient, config.store.redis, config.store, log);
  await store.connect(config.store.timeoutMs);
  return store;
}

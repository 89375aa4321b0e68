import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { socketFailure } from './errors.js';
import { type LookupSettings, Lookups } from './lookups.js';
import type { ResolvedAddress, Resolver } from './resolve.js';

const settings = (resolver: Resolver, more: Partial<LookupSettings> = {}): LookupSettings => ({
  resolver,
  timeoutMs: 1000,
  maxLookups: 64,
  maxLookupsPerSession: 8,
  cacheEntries: 100,
  maxTtlSec: 300,
  defaultTtlSec: 30,
  negativeTtlSec: 5,
  ...more,
});

/** A resolver whose calls the test answers by hand, and which counts how many run at once. */
function manualResolver() {
  const calls: Array<{ name: string; signal: AbortSignal | undefined; answer(a: ResolvedAddress[]): void; fail(e: Error): void }> = [];
  let running = 0;
  let peak = 0;
  const resolver: Resolver = (name, options) =>
    new Promise<ResolvedAddress[]>((resolve, reject) => {
      running++;
      peak = Math.max(peak, running);
      const settle = (): void => {
        running--;
      };
      calls.push({
        name,
        signal: options?.signal,
        answer: (a) => {
          settle();
          resolve(a);
        },
        fail: (e) => {
          settle();
          reject(e);
        },
      });
    });
  return {
    resolver,
    calls,
    get peak() {
      return peak;
    },
  };
}

const v4 = (address: string, ttlSec?: number): ResolvedAddress =>
  ttlSec === undefined ? { address, family: 4 } : { address, family: 4, ttlSec };
const errno = (code: string): Error => Object.assign(new Error(code), { code });
const failureOf = async (promise: Promise<unknown>) =>
  socketFailure(
    await promise.then(
      () => undefined,
      (error: unknown) => error,
    ),
  );
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Lookups', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the resolver once for concurrent lookups of one name, from any session', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver));
    const [a, b] = [lookups.session(), lookups.session()];
    const pending = [a.resolve('Shared.Test', 'any'), a.resolve('shared.test.', 'ipv4'), b.resolve('shared.test', 'any')];
    expect(dns.calls.map((call) => call.name)).toEqual(['shared.test']);
    dns.calls[0]?.answer([v4('192.0.2.1', 60)]);
    for (const result of await Promise.all(pending)) expect(result).toEqual([v4('192.0.2.1', 60)]);
  });

  it('serves a name for the shortest TTL of its records, clamped, and asks again after it', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { maxTtlSec: 100 }));
    const session = lookups.session();
    const first = session.resolve('ttl.test', 'any');
    dns.calls[0]?.answer([v4('192.0.2.1', 10), v4('192.0.2.2', 2)]);
    await first;
    vi.advanceTimersByTime(1900);
    expect(await session.resolve('ttl.test', 'any')).toHaveLength(2);
    expect(dns.calls).toHaveLength(1);
    vi.advanceTimersByTime(200);
    const again = session.resolve('ttl.test', 'any');
    expect(dns.calls).toHaveLength(2);
    dns.calls[1]?.answer([v4('192.0.2.3', 100_000)]);
    expect(await again).toEqual([v4('192.0.2.3', 100_000)]);
    // Clamped to maxTtlSec: cached at 99 s, asked again at 101 s.
    vi.advanceTimersByTime(99_000);
    await session.resolve('ttl.test', 'any');
    expect(dns.calls).toHaveLength(2);
    vi.advanceTimersByTime(2000);
    void session.resolve('ttl.test', 'any');
    expect(dns.calls).toHaveLength(3);
  });

  it('caches an answer without TTLs for the default, and an answer with TTL 0 not at all', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { defaultTtlSec: 30 }));
    const session = lookups.session();
    const plain = session.resolve('plain.test', 'any');
    dns.calls[0]?.answer([v4('192.0.2.1')]);
    await plain;
    vi.advanceTimersByTime(29_000);
    await session.resolve('plain.test', 'any');
    expect(dns.calls).toHaveLength(1);
    const zero = session.resolve('zero.test', 'any');
    dns.calls[1]?.answer([v4('192.0.2.2', 0)]);
    await zero;
    void session.resolve('zero.test', 'any');
    expect(dns.calls.map((call) => call.name)).toEqual(['plain.test', 'zero.test', 'zero.test']);
  });

  it('remembers a name that does not exist for the negative TTL, but not a failure of its servers', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { negativeTtlSec: 5 }));
    const session = lookups.session();
    const absent = session.resolve('absent.test', 'any');
    dns.calls[0]?.fail(errno('ENOTFOUND'));
    expect(await failureOf(absent)).toEqual({ error: 'HostNotFoundError', message: 'Host not found' });
    expect(await failureOf(session.resolve('absent.test', 'any'))).toMatchObject({ error: 'HostNotFoundError' });
    expect(dns.calls).toHaveLength(1);
    vi.advanceTimersByTime(5001);
    void session.resolve('absent.test', 'any').catch(() => {});
    expect(dns.calls).toHaveLength(2);

    // Qt reports every lookup failure as HostNotFoundError, whatever the resolver's code.
    const broken = session.resolve('broken.test', 'any');
    dns.calls[2]?.fail(errno('ECONNREFUSED'));
    expect(await failureOf(broken)).toEqual({ error: 'HostNotFoundError', message: 'Host not found' });
    void session.resolve('broken.test', 'any').catch(() => {});
    expect(dns.calls).toHaveLength(4);
  });

  it('stays within cacheEntries names, dropping the least recently used, and a quarter of that for absent names', async () => {
    const answering: Resolver = async (name) => (name.startsWith('nx') ? Promise.reject(errno('ENOTFOUND')) : [v4('192.0.2.1', 60)]);
    let calls = 0;
    const counting: Resolver = (name) => {
      calls++;
      return answering(name);
    };
    const lookups = new Lookups(settings(counting, { cacheEntries: 8 }));
    const session = lookups.session();
    for (let i = 0; i < 100; i++) {
      await session.resolve(`n${i}.test`, 'any');
      if (i === 0 || i % 5 === 0) await session.resolve('n0.test', 'any'); // kept in use
      await session.resolve(`nx${i}.test`, 'any').catch(() => {});
      expect(lookups.pending.cached).toBeLessThanOrEqual(8 + 2);
    }
    const before = calls;
    await session.resolve('n0.test', 'any');
    await session.resolve('n99.test', 'any');
    expect(calls).toBe(before);
    await session.resolve('n1.test', 'any');
    expect(calls).toBe(before + 1);
  });

  it('fails a lookup whose resolver never settles with HostNotFoundError after timeoutMs, and frees its slot', async () => {
    const never: Resolver = () => new Promise(() => {});
    const lookups = new Lookups(settings(never, { timeoutMs: 500, maxLookups: 1 }));
    const session = lookups.session();
    const hung = failureOf(session.resolve('hung.test', 'any'));
    const behind = failureOf(session.resolve('behind.test', 'any'));
    expect(lookups.pending).toMatchObject({ flights: 1, waiting: 1 });
    vi.advanceTimersByTime(500);
    expect(await hung).toEqual({ error: 'HostNotFoundError', message: 'Host not found: no answer within 500 ms' });
    // The one gateway slot went to the next in line, whose own time ran out at the same moment.
    expect(await behind).toMatchObject({ error: 'HostNotFoundError' });
    vi.advanceTimersByTime(500);
    expect(lookups.pending).toMatchObject({ flights: 0, waiting: 0 });
    expect(session.pending).toEqual({ active: 0, queued: 0 });
  });

  it('holds a session to maxLookupsPerSession at once; more wait in order, and beyond the queue fail at once', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { maxLookupsPerSession: 2 }));
    const session = lookups.session();
    const results = Array.from({ length: 18 }, (_, i) => session.resolve(`q${i}.test`, 'any'));
    expect(dns.calls.map((call) => call.name)).toEqual(['q0.test', 'q1.test']);
    expect(session.pending).toEqual({ active: 2, queued: 16 });
    expect(await failureOf(session.resolve('one-too-many.test', 'any'))).toEqual({
      error: 'SocketResourceError',
      message: 'Out of resources: this session already waits for 18 name lookups, its limit',
    });
    for (let i = 0; i < 18; i++) {
      dns.calls[i]?.answer([v4(`192.0.2.${i + 1}`, 60)]);
      await flush();
    }
    expect((await Promise.all(results)).map(([entry]) => entry?.address)).toEqual(Array.from({ length: 18 }, (_, i) => `192.0.2.${i + 1}`));
    expect(dns.calls.map((call) => call.name)).toEqual(Array.from({ length: 18 }, (_, i) => `q${i}.test`));
    expect(dns.peak).toBe(2);
  });

  it('keeps one session from crowding out another: gateway-wide slots go in order, each session holding few places', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { maxLookups: 4, maxLookupsPerSession: 2 }));
    const [greedy, greedier, victim] = [lookups.session(), lookups.session(), lookups.session()];
    const waits = [
      ...Array.from({ length: 6 }, (_, i) => greedy.resolve(`g${i}.test`, 'any').catch(() => [])),
      ...Array.from({ length: 6 }, (_, i) => greedier.resolve(`h${i}.test`, 'any').catch(() => [])),
    ];
    const answer = victim.resolve('victim.test', 'any');
    expect(lookups.pending).toMatchObject({ flights: 4, waiting: 1 });
    // The first slot to free goes to the victim, ahead of the greedy sessions' queued lookups.
    dns.calls[0]?.answer([v4('192.0.2.9', 60)]);
    await flush();
    expect(dns.calls.map((call) => call.name)).toContain('victim.test');
    dns.calls.find((call) => call.name === 'victim.test')?.answer([v4('192.0.2.7', 60)]);
    expect(await answer).toEqual([v4('192.0.2.7', 60)]);
    greedy.dispose();
    greedier.dispose();
    await Promise.all(waits);
  });

  it('fails the pending lookups of a closed session, never asks its queued names, and aborts the calls no one waits for', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { maxLookupsPerSession: 2 }));
    const [closing, staying] = [lookups.session(), lookups.session()];
    const results = Array.from({ length: 5 }, (_, i) => failureOf(closing.resolve(`c${i}.test`, 'any')));
    const shared = staying.resolve('c1.test', 'any');
    closing.dispose();
    for (const result of await Promise.all(results))
      expect(result).toEqual({ error: 'HostNotFoundError', message: 'Host not found: the session closed' });
    expect(closing.pending).toEqual({ active: 0, queued: 0 });
    expect(dns.calls.map((call) => call.name)).toEqual(['c0.test', 'c1.test']);
    // c0 had no one else waiting: aborted, yet counted until it ends; c1 goes on for the other session.
    expect(dns.calls.map((call) => call.signal?.aborted)).toEqual([true, false]);
    expect(lookups.pending.flights).toBe(2);
    dns.calls[1]?.answer([v4('192.0.2.2', 60)]);
    expect(await shared).toEqual([v4('192.0.2.2', 60)]);
    // A resolver that ignores the abort still has its answer cached.
    dns.calls[0]?.answer([v4('192.0.2.1', 60)]);
    await flush();
    expect(lookups.pending.flights).toBe(0);
    expect(await lookups.session().resolve('c0.test', 'any')).toEqual([v4('192.0.2.1', 60)]);
    expect(dns.calls).toHaveLength(2);
  });

  it("keeps only IP addresses from an embedder's resolver, and fails a name whose answer holds none", async () => {
    const sloppy = (async (name: string) =>
      name === 'mixed.test'
        ? [{ address: 'not an address', family: 4 }, { address: '::1', family: 4 }, null]
        : name === 'nothing.test'
          ? undefined
          : [{ address: 'nope', family: 4 }]) as unknown as Resolver;
    const session = new Lookups(settings(sloppy)).session();
    expect(await session.resolve('mixed.test', 'any')).toEqual([{ address: '::1', family: 6 }]);
    expect(await failureOf(session.resolve('nothing.test', 'any'))).toEqual({ error: 'HostNotFoundError', message: 'Host not found' });
    expect(await failureOf(session.resolve('junk.test', 'any'))).toEqual({ error: 'HostNotFoundError', message: 'Host not found' });
  });

  it('answers a long queue of lookups of one name from the cache without deep recursion', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { maxLookupsPerSession: 2000 }));
    const session = lookups.session();
    const all = Array.from({ length: 18_000 }, () => session.resolve('popular.test', 'any'));
    expect(session.pending).toEqual({ active: 2000, queued: 16_000 });
    dns.calls[0]?.answer([v4('192.0.2.1', 60)]);
    expect((await Promise.all(all)).every((found) => found[0]?.address === '192.0.2.1')).toBe(true);
    expect(dns.calls).toHaveLength(1);
    expect(session.pending).toEqual({ active: 0, queued: 0 });
  });

  it('answers IP literals, localhost and *.invalid without a lookup or a slot', async () => {
    const dns = manualResolver();
    const lookups = new Lookups(settings(dns.resolver, { maxLookupsPerSession: 1 }));
    const session = lookups.session();
    void session.resolve('busy.test', 'any');
    expect(await session.resolve('127.1', 'any')).toEqual([v4('127.0.0.1')]);
    expect(await session.resolve('localhost', 'ipv6')).toEqual([{ address: '::1', family: 6 }]);
    expect(await failureOf(session.resolve('x.invalid', 'any'))).toEqual({ error: 'HostNotFoundError', message: 'Host not found' });
    expect(dns.calls).toHaveLength(1);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { GW_ERR_STORE_UNAVAILABLE } from './errors.js';
import { MemoryStore } from './store.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('MemoryStore tickets', () => {
  it('claims a ticket once until it expires, then forgets it', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new MemoryStore(10);
    expect(await store.claimTicket('a', 1_000_500)).toBe(true);
    expect(await store.claimTicket('a', 1_000_500)).toBe(false);
    vi.setSystemTime(1_000_499);
    expect(await store.claimTicket('a', 1_001_000)).toBe(false);
    vi.setSystemTime(1_000_500);
    expect(await store.claimTicket('b', 1_001_000)).toBe(true);
    expect(store.tickets).toBe(1);
    expect(await store.claimTicket('a', 1_001_000)).toBe(true);
  });

  it('is bounded: a full store refuses new tickets (GW_ERR_STORE_UNAVAILABLE) and never forgets an unexpired one', async () => {
    vi.useFakeTimers({ now: 0 });
    const store = new MemoryStore(3);
    for (const id of ['a', 'b', 'c']) expect(await store.claimTicket(id, 1000 + id.charCodeAt(0))).toBe(true);
    await expect(store.claimTicket('d', 5000)).rejects.toBeInstanceOf(GW_ERR_STORE_UNAVAILABLE);
    await expect(store.claimTicket('d', 5000)).rejects.toThrow(/3 unexpired tickets are remembered, jwt\.replayCacheSize/);
    expect(await store.claimTicket('a', 5000)).toBe(false);
    expect(store.tickets).toBe(3);
    // Once 'a' (the earliest) has expired there is room for one more.
    vi.setSystemTime(1000 + 'a'.charCodeAt(0));
    expect(await store.claimTicket('d', 5000)).toBe(true);
    await expect(store.claimTicket('e', 5000)).rejects.toBeInstanceOf(GW_ERR_STORE_UNAVAILABLE);
  });

  it('lets exactly the expired tickets go, in any order of expiry', async () => {
    vi.useFakeTimers({ now: 0 });
    const store = new MemoryStore(10_000);
    // Expiries in a scrambled order (a multiplicative permutation of 0..4999).
    const expiries = Array.from({ length: 5000 }, (_, i) => 1 + ((i * 7919) % 5000));
    for (const [i, until] of expiries.entries()) expect(await store.claimTicket(`t${i}`, until)).toBe(true);
    for (const now of [0, 1, 2, 1234, 2500, 4999, 5000, 5001]) {
      vi.setSystemTime(now);
      expect(await store.claimTicket(`probe${now}`, now + 1)).toBe(true);
      // The unexpired tickets, and this probe (the earlier ones have expired).
      expect(store.tickets).toBe(expiries.filter((until) => until > now).length + 1);
      if (now === 2500) {
        for (const [i, until] of expiries.entries()) expect(await store.claimTicket(`t${i}`, now + 1)).toBe(until <= now);
      }
    }
  });
});

describe('MemoryStore slots', () => {
  it('takes a place in every slot or in none, and gives them back', async () => {
    const store = new MemoryStore(10);
    const credential = { key: 'credential:x', limit: 2 };
    const address = { key: 'address:127.0.0.1', limit: 3 };
    expect(await store.acquire('s1', [credential, address])).toBeUndefined();
    expect(await store.acquire('s2', [credential, address])).toBeUndefined();
    expect(await store.acquire('s3', [credential, address])).toBe(credential);
    // Nothing was taken for the refused one.
    expect(await store.count('address:127.0.0.1')).toBe(2);
    expect(await store.acquire('s3', [{ key: 'credential:y', limit: 2 }, address])).toBeUndefined();
    expect(await store.acquire('s4', [{ key: 'credential:z', limit: 2 }, address])).toBe(address);
    store.release('s1');
    store.release('s1');
    expect([await store.count('credential:x'), await store.count('address:127.0.0.1')]).toEqual([1, 2]);
    expect(await store.acquire('s4', [{ key: 'credential:z', limit: 2 }, address])).toBeUndefined();
    for (const holder of ['s2', 's3', 's4']) store.release(holder);
    expect([await store.count('credential:x'), await store.count('address:127.0.0.1'), await store.count('credential:z')]).toEqual([
      0, 0, 0,
    ]);
  });
});

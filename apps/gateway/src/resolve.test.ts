import { startFakeDns } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import { dnsResolver, type Resolver, resolveHost } from './resolve.js';

const never: Resolver = async (name) => {
  throw new Error(`the test resolver must not be asked about ${name}`);
};
const table: Resolver = async (name) =>
  name === 'dual.test'
    ? [
        { address: '192.0.2.7', family: 4 },
        { address: '2001:db8::7', family: 6 },
      ]
    : [];

describe('resolveHost', () => {
  it('passes IP literals through, brackets or not', async () => {
    expect(await resolveHost('127.0.0.1', 'any', never)).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(await resolveHost('[::1]', 'any', never)).toEqual([{ address: '::1', family: 6 }]);
  });

  it('answers RFC 6761 names itself: *.invalid does not exist, localhost is loopback', async () => {
    await expect(resolveHost('nosuchhost.invalid', 'any', never)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolveHost('INVALID.', 'any', never)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await resolveHost('localhost', 'any', never)).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(await resolveHost('app.localhost', 'ipv6', never)).toEqual([{ address: '::1', family: 6 }]);
  });

  it('filters by the requested family and fails when none is left', async () => {
    expect(await resolveHost('dual.test', 'ipv4', table)).toEqual([{ address: '192.0.2.7', family: 4 }]);
    expect(await resolveHost('dual.test', 'ipv6', table)).toEqual([{ address: '2001:db8::7', family: 6 }]);
    await expect(resolveHost('127.0.0.1', 'ipv6', never)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolveHost('empty.test', 'any', table)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('dnsResolver', () => {
  const dnsFor = async (zone: Parameters<typeof startFakeDns>[0]) => {
    const server = await startFakeDns(zone, { silent: /\.never\.test$/ });
    onTestFinished(() => server.close());
    return server;
  };

  it('asks A and AAAA of the given server and returns every address with its TTL', async () => {
    const server = await dnsFor({ 'dual.test': { a: ['192.0.2.1', '192.0.2.2'], aaaa: ['2001:db8::1'], ttlSec: 42 } });
    const resolve = dnsResolver({ servers: [server.server] });
    expect(await resolve('dual.test')).toEqual([
      { address: '192.0.2.1', family: 4, ttlSec: 42 },
      { address: '192.0.2.2', family: 4, ttlSec: 42 },
      { address: '2001:db8::1', family: 6, ttlSec: 42 },
    ]);
    expect(server.queries.map((query) => query.type).sort()).toEqual(['A', 'AAAA']);
  });

  it('fails with ENOTFOUND for a name that does not exist, and with a timeout for one that never answers', async () => {
    const server = await dnsFor({});
    const resolve = dnsResolver({ servers: [server.server], timeoutMs: 400, tries: 2 });
    await expect(resolve('nowhere.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolve('x.never.test')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    // Two tries of A and of AAAA, no more.
    expect(server.asked('x.never.test')).toBe(4);
  });

  it('keeps a partial answer briefly: one family answered, the other timed out', async () => {
    const server = await dnsFor({ 'half.test': { a: ['192.0.2.5'], aaaa: 'silent', ttlSec: 3600 } });
    const resolve = dnsResolver({ servers: [server.server], timeoutMs: 400 });
    expect(await resolve('half.test')).toEqual([{ address: '192.0.2.5', family: 4, ttlSec: 5 }]);
  });
});

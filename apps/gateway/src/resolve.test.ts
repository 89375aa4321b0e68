import { describe, expect, it } from 'vitest';
import { type Resolver, resolveHost } from './resolve.js';

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

import { networkInterfaces } from 'node:os';
import { parseHost } from '@socketgate/protocol';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  BAD_PORTS,
  bothPolicies,
  EgressPolicy,
  normalizeAddress,
  parseAllowRule,
  specialRange,
  systemInterfaceAddresses,
} from './policy.js';

describe('parseAllowRule', () => {
  it.each([
    ['127.0.0.1/32:7', 'cidr', [[7, 7]]],
    ['127.0.0.1:7000-7100', 'cidr', [[7000, 7100]]],
    ['10.0.0.0/8', 'cidr', []],
    [
      '[::1]:7,9',
      'cidr',
      [
        [7, 7],
        [9, 9],
      ],
    ],
    ['[::1/128]', 'cidr', []],
    ['::1', 'cidr', []],
    ['fe80::/10', 'cidr', []],
    ['localhost:8080', 'host', [[8080, 8080]]],
    ['*.example.org:443', 'host', [[443, 443]]],
    ['*', 'host', []],
    ['Example.ORG.:*', 'host', []],
  ])('parses %s', (text, kind, ports) => {
    const rule = parseAllowRule(text);
    expect(rule.kind).toBe(kind);
    expect(rule.ports).toEqual(ports);
  });

  it.each([
    ['127.0.0.1:70000', /"70000" is not a port/],
    ['127.0.0.1:9-7', /"9-7" is not a port/],
    ['300.1.1.1', /is not an IP address or CIDR/],
    ['10.0.0.0/33', /is not an IP address or CIDR/],
    ['[::1', /missing "]"/],
    ['[::1]x', /unexpected "x"/],
    ['exa mple.org', /is not a host name pattern/],
    [':80', /no address or host/],
  ])('refuses %s with a message naming the problem', (text, message) => {
    expect(() => parseAllowRule(text)).toThrow(message);
    expect(() => parseAllowRule(text)).toThrow(/CIDR\[:ports\] or host\[:ports\]/);
  });
});

describe('EgressPolicy', () => {
  const policy = new EgressPolicy(['127.0.0.1/32:7000', '[::1]:7000-7001', 'localhost:9000', '*.example.org:443', '198.51.100.0/24:8080']);

  it('allows an address inside a CIDR rule on one of its ports', () => {
    expect(policy.allows('127.0.0.1', '127.0.0.1', 7000)?.text).toBe('127.0.0.1/32:7000');
    expect(policy.allows('127.0.0.1', '127.0.0.1', 7002)).toBeUndefined();
    expect(policy.allows('127.0.0.2', '127.0.0.2', 7000)).toBeUndefined();
    expect(policy.allows('::1', '::1', 7001)?.text).toBe('[::1]:7000-7001');
  });

  it('compares an IPv4-mapped IPv6 address as the IPv4 address it is', () => {
    expect(policy.allows('::ffff:127.0.0.1', '::ffff:127.0.0.1', 7000)?.text).toBe('127.0.0.1/32:7000');
  });

  it('matches host rules against the name asked for, and never lets them open a special-purpose address', () => {
    expect(policy.allows('a.b.example.org', '8.8.8.8', 443)?.text).toBe('*.example.org:443');
    expect(policy.allows('example.org', '8.8.8.8', 443)).toBeUndefined();
    expect(policy.allows('badexample.org', '8.8.8.8', 443)).toBeUndefined();
    expect(new EgressPolicy(['localhost:9000']).check('localhost', '127.0.0.1', 9000)).toEqual({
      allowed: false,
      reason: 'localhost is a special-purpose address (loopback), which the default policy refuses',
    });
    expect(policy.allows('a.example.org', '10.0.0.1', 443)).toBeUndefined();
  });

  it('opens a special-purpose range only for a CIDR rule inside that range', () => {
    const broad = new EgressPolicy(['0.0.0.0/0', '::/0', '*', '127.0.0.0/7', '100.0.0.0/8']);
    for (const address of ['127.0.0.1', '10.0.0.1', '169.254.169.254', '::1', '100.100.100.200', '::ffff:127.0.0.1', '0.0.0.0']) {
      expect(broad.allows(address, address, 8080), address).toBeUndefined();
    }
    expect(broad.allows('8.8.8.8', '8.8.8.8', 8080)?.text).toBe('0.0.0.0/0');
    const narrow = new EgressPolicy(['127.0.0.0/8', '10.1.0.0/16:8080', '[fd00::/8]']);
    expect(narrow.allows('127.0.0.2', '127.0.0.2', 8080)?.text).toBe('127.0.0.0/8');
    expect(narrow.allows('10.1.2.3', '10.1.2.3', 8080)?.text).toBe('10.1.0.0/16:8080');
    expect(narrow.allows('10.2.0.1', '10.2.0.1', 8080)).toBeUndefined();
    expect(narrow.allows('fd00::1', 'fd00::1', 8080)?.text).toBe('[fd00::/8]');
  });

  it("refuses the Fetch standard's bad ports unless the operator opens them", () => {
    expect(BAD_PORTS.has(25)).toBe(true);
    const open = new EgressPolicy(['198.51.100.0/24']);
    expect(open.check('198.51.100.1', '198.51.100.1', 25)).toEqual({
      allowed: false,
      reason: "port 25 is one browsers block (the Fetch standard's bad ports); the gateway refuses it by default",
    });
    expect(new EgressPolicy(['198.51.100.0/24'], { allowPorts: [25] }).allows('198.51.100.1', '8.8.8.8', 25)).toBeUndefined();
    expect(new EgressPolicy(['8.8.8.0/24'], { allowPorts: [25] }).allows('8.8.8.8', '8.8.8.8', 25)?.text).toBe('8.8.8.0/24');
    // A credential's own rules leave bad ports to the gateway's policy, without a list of every port.
    const all = new EgressPolicy(['8.8.8.0/24:0-65535'], { allowPorts: 'all' });
    expect([0, 22, 25, 6667, 65535].map((port) => all.allows('8.8.8.8', '8.8.8.8', port)?.text)).toEqual(
      Array(5).fill('8.8.8.0/24:0-65535'),
    );
    expect(all.allows('8.8.4.4', '8.8.4.4', 25)).toBeUndefined();
  });

  it('refuses zone ids and allows nothing without rules', () => {
    expect(new EgressPolicy(['fe80::/10']).check('fe80::1%eth0', 'fe80::1%eth0', 8080).allowed).toBe(false);
    expect(new EgressPolicy([]).allows('example.org', '8.8.8.8', 8080)).toBeUndefined();
  });
});

describe('IPv4 embedded in IPv6', () => {
  const broad = new EgressPolicy(['0.0.0.0/0', '::/0', '*'], { localAddresses: () => [] });

  it.each(['::7f00:1', '::2', '::a00:1', '::127.0.0.1', '::8.8.8.8', '::0.0.0.2', '0:0:0:0:0:0:808:808'])(
    'refuses the deprecated IPv4-compatible %s under broad rules',
    (address) => {
      expect(broad.check(address, address, 8080)).toEqual({
        allowed: false,
        reason: `${address} is a special-purpose address (IPv4-compatible IPv6, deprecated), which the default policy refuses`,
      });
    },
  );

  it('judges IPv4-compatible IPv6 as the IPv6 address the kernel connects to, not as the IPv4 address inside', () => {
    expect(specialRange(normalizeAddress('::127.0.0.1') as NonNullable<ReturnType<typeof normalizeAddress>>)).toBe(
      'IPv4-compatible IPv6, deprecated',
    );
    expect(normalizeAddress('::8.8.8.8')?.toString()).toBe('::808:808');
    expect(normalizeAddress('::ffff:8.8.8.8')?.toString()).toBe('8.8.8.8');
    expect(new EgressPolicy(['8.8.8.8/32'], { localAddresses: () => [] }).allows('::8.8.8.8', '::8.8.8.8', 8080)).toBeUndefined();
  });

  it('opens an IPv4-compatible address only for a rule inside ::/96, which never opens :: or ::1', () => {
    const exact = new EgressPolicy(['[::7f00:1]'], { localAddresses: () => [] });
    expect(exact.allows('::7f00:1', '::7f00:1', 8080)?.text).toBe('[::7f00:1]');
    expect(exact.allows('::127.0.0.1', '::127.0.0.1', 8080)?.text).toBe('[::7f00:1]');
    expect(exact.allows('::2', '::2', 8080)).toBeUndefined();
    const all = new EgressPolicy(['::/96'], { localAddresses: () => [] });
    expect(all.allows('::a00:1', '::a00:1', 8080)?.text).toBe('::/96');
    expect(all.check('::1', '::1', 8080)).toMatchObject({ allowed: false, reason: expect.stringMatching(/\(loopback\)/) });
    expect(all.check('::', '::', 8080)).toMatchObject({ allowed: false, reason: expect.stringMatching(/unspecified/) });
  });

  it('reads an IPv4-mapped CIDR rule as the IPv4 CIDR it denotes', () => {
    expect(parseAllowRule('::ffff:0:0/96')).toMatchObject({ kind: 'cidr', range: [expect.objectContaining({ octets: [0, 0, 0, 0] }), 0] });
    expect(parseAllowRule('[::ffff:10.0.0.0/104]:8080')).toMatchObject({ range: [expect.objectContaining({ octets: [10, 0, 0, 0] }), 8] });
    expect(parseAllowRule('::ffff:7f00:1')).toMatchObject({
      kind: 'cidr',
      range: [expect.objectContaining({ octets: [127, 0, 0, 1] }), 32],
    });
    const all = new EgressPolicy(['::ffff:0:0/96'], { localAddresses: () => [] });
    expect(all.allows('8.8.8.8', '8.8.8.8', 8080)?.text).toBe('::ffff:0:0/96');
    expect(all.allows('::ffff:8.8.4.4', '::ffff:8.8.4.4', 8080)?.text).toBe('::ffff:0:0/96');
    for (const address of ['0.0.0.0', '127.0.0.1', '10.0.0.1', '::ffff:0:0'])
      expect(all.allows(address, address, 8080), address).toBeUndefined();
    const ten = new EgressPolicy(['::ffff:10.0.0.0/104'], { localAddresses: () => [] });
    expect(ten.allows('10.1.2.3', '10.1.2.3', 8080)?.text).toBe('::ffff:10.0.0.0/104');
    expect(ten.allows('::ffff:10.1.2.3', '::ffff:10.1.2.3', 8080)?.text).toBe('::ffff:10.0.0.0/104');
    expect(ten.allows('11.0.0.1', '11.0.0.1', 8080)).toBeUndefined();
  });

  it.each(['::ffff:0:0/95', '::ffff:0:0/80', '[::ffff:10.0.0.0/64]'])('refuses the IPv4-mapped rule %s, shorter than /96', (rule) => {
    expect(() => parseAllowRule(rule)).toThrow(/is an IPv4-mapped range shorter than \/96; write the IPv4 CIDR it means/);
    expect(() => new EgressPolicy([rule])).toThrow(rule);
  });
});

describe('unspecified addresses', () => {
  it.each(['0.0.0.0', '0.1.2.3', '::', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0', '::0.0.0.0', '0'])(
    'never allows %s, whatever rule names it',
    (address) => {
      const policy = new EgressPolicy(['0.0.0.0/8', '0.0.0.0/32', '0.0.0.0', '[::]', '[::/128]', '0.0.0.0/0', '::/0', '*'], {
        localAddresses: () => [address],
      });
      const verdict = policy.check(address, address, 8080);
      expect(verdict).toMatchObject({ allowed: false, reason: expect.stringContaining('is an unspecified address (0.0.0.0/8 or ::)') });
    },
  );
});

describe("the gateway host's own addresses", () => {
  const own = ['93.184.216.34', '2606:4700::1111', '10.0.0.5', 'fe80::1', '127.0.0.1', '::1'];
  const local = () => own;

  it.each(['93.184.216.34', '::ffff:93.184.216.34', '2606:4700::1111', '2606:4700:0:0::1111'])(
    'refuses %s under broad rules and host rules',
    (address) => {
      const policy = new EgressPolicy(['0.0.0.0/0', '::/0', '*', '93.184.216.0/24', '[2606:4700::/32]'], { localAddresses: local });
      expect(policy.check(address, address, 8080)).toMatchObject({
        allowed: false,
        reason: expect.stringMatching(
          /is an address of the gateway host itself \(.+\), which only a rule naming exactly that address opens/,
        ),
      });
      expect(policy.allows('own.example', address, 443)).toBeUndefined();
    },
  );

  it('opens an own address only for a rule naming exactly it, on its ports', () => {
    for (const rule of ['93.184.216.34', '93.184.216.34/32', '93.184.216.34:8080', '[::ffff:93.184.216.34]']) {
      const policy = new EgressPolicy(['0.0.0.0/0', rule], { localAddresses: local });
      expect(policy.allows('93.184.216.34', '93.184.216.34', 8080)?.text, rule).toBe(rule);
    }
    const v6 = new EgressPolicy(['[2606:4700::1111/128]'], { localAddresses: local });
    expect(v6.allows('2606:4700::1111', '2606:4700::1111', 8080)?.text).toBe('[2606:4700::1111/128]');
    const wrongPort = new EgressPolicy(['93.184.216.34:9'], { localAddresses: local });
    expect(wrongPort.check('93.184.216.34', '93.184.216.34', 8080)).toEqual({
      allowed: false,
      reason: "no rule of the gateway's egress policy allows 93.184.216.34 port 8080",
    });
  });

  it('refuses an own address inside a special range that a rule opens, unless a rule names exactly it', () => {
    const policy = new EgressPolicy(['10.0.0.0/8', '[fe80::/10]'], { localAddresses: local });
    expect(policy.allows('10.0.0.6', '10.0.0.6', 8080)?.text).toBe('10.0.0.0/8');
    expect(policy.check('10.0.0.5', '10.0.0.5', 8080)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('gateway host itself'),
    });
    expect(policy.check('fe80::1', 'fe80::1', 8080)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('gateway host itself'),
    });
    expect(new EgressPolicy(['10.0.0.0/8', '10.0.0.5/32'], { localAddresses: local }).allows('10.0.0.5', '10.0.0.5', 8080)?.text).toBe(
      '10.0.0.5/32',
    );
  });

  it('leaves loopback to the loopback rule, as before', () => {
    const policy = new EgressPolicy(['127.0.0.0/8', '[::1]'], { localAddresses: local });
    expect(policy.allows('127.0.0.1', '127.0.0.1', 8080)?.text).toBe('127.0.0.0/8');
    expect(policy.allows('::1', '::1', 8080)?.text).toBe('[::1]');
  });

  it('sees an address as soon as its source reports it', () => {
    const addresses: string[] = [];
    const policy = new EgressPolicy(['0.0.0.0/0'], { localAddresses: () => [...addresses] });
    expect(policy.allows('93.184.216.34', '93.184.216.34', 8080)?.text).toBe('0.0.0.0/0');
    addresses.push('93.184.216.34');
    expect(policy.allows('93.184.216.34', '93.184.216.34', 8080)).toBeUndefined();
    addresses.length = 0;
    expect(policy.allows('93.184.216.34', '93.184.216.34', 8080)?.text).toBe('0.0.0.0/0');
  });

  it("reads the system's interfaces by default, and refuses each of its addresses under broad rules", () => {
    const system = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
    expect(systemInterfaceAddresses()).toEqual(system);
    expect(systemInterfaceAddresses()).toBe(systemInterfaceAddresses()); // reused until INTERFACE_REFRESH_MS passes
    expect(system).toContain('127.0.0.1');
    const policy = new EgressPolicy(['0.0.0.0/0', '::/0', '*']);
    for (const address of system) expect(policy.allows(address, address, 8080), address).toBeUndefined();
  });
});

describe('requested hosts outside the host grammar', () => {
  const policy = new EgressPolicy(['*.example.org', '0.0.0.0/0', '::/0', '*'], { localAddresses: () => [] });

  it.each([
    ['evil.test\u0000.example.org', 'has the control character U+0000 at index 9'],
    ['93.184.216.34\u0000x', 'has the control character U+0000 at index 13'],
    ['evil.test\t.example.org', 'has the control character U+0009 at index 9'],
    ['evil.test\u007f.example.org', 'has the control character U+007F at index 9'],
    ['evil.test\u0085.example.org', 'has the control character U+0085 at index 9'],
    ['evil.test\u2028.example.org', 'has the non-ASCII character U+2028 at index 9'],
    ['\ud800.example.org', 'has the lone surrogate U+D800 at index 0'],
    ['１２７.0.0.1', 'has the non-ASCII character U+FF11 at index 0'],
    ['a..example.org', 'has an empty label'],
    ['', 'is empty'],
  ])('refuses %j whatever address it led to: %s', (host, reason) => {
    const verdict = policy.check(host, '93.184.216.34', 443);
    expect(verdict.allowed).toBe(false);
    if (verdict.allowed) return;
    expect(verdict.reason).toMatch(/^the requested host ".*" is malformed: it /);
    expect(verdict.reason).toContain(reason);
    expect(verdict.reason).toMatch(/^[\x20-\x7e]*$/);
  });

  it('refuses them through a credential policy as well', () => {
    const both = bothPolicies(policy, new EgressPolicy(['*'], { localAddresses: () => [] }));
    expect(both.check('evil.test\u0000.example.org', '93.184.216.34', 443).allowed).toBe(false);
    expect(both.check('evil.test.example.org', '93.184.216.34', 443).allowed).toBe(true);
  });

  it('holds host rules to the same grammar', () => {
    expect(parseAllowRule('*._tcp.Example.ORG.:443')).toMatchObject({ kind: 'host', pattern: '*._tcp.example.org' });
    for (const rule of ['*.a..b', 'exa\u0000mple.org', '*.1.2', '-a.example', 'ex%ample.org']) {
      expect(() => parseAllowRule(rule), rule).toThrow(/is not a host name pattern/);
    }
  });

  it('reads as IPv4 exactly what ipaddr.js reads as IPv4, as the same address (property)', () => {
    const numeric = fc.string({ unit: fc.constantFrom(...'0123456789abcdefxX.'.split('')), minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(fc.oneof(numeric, fc.ipV4Extended()), (text) => {
        const parsed = parseHost(text);
        const asIPv4 = parsed.ok && parsed.kind === 'ipv4' ? parsed.host : undefined;
        expect(asIPv4).toBe(ipaddr.IPv4.isValid(text) ? ipaddr.IPv4.parse(text).toString() : undefined);
      }),
      { numRuns: 3000 },
    );
  });
});

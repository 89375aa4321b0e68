import { describe, expect, it } from 'vitest';
import { BAD_PORTS, EgressPolicy, parseAllowRule } from './policy.js';

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

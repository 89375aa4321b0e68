import { describe, expect, it } from 'vitest';
import { EgressPolicy, parseAllowRule } from './policy.js';

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
  const policy = new EgressPolicy(['127.0.0.1/32:7', '[::1]:7-8', 'localhost:9', '*.example.org:443']);

  it('allows an address inside a CIDR rule on one of its ports', () => {
    expect(policy.allows('127.0.0.1', '127.0.0.1', 7)?.text).toBe('127.0.0.1/32:7');
    expect(policy.allows('127.0.0.1', '127.0.0.1', 8)).toBeUndefined();
    expect(policy.allows('127.0.0.2', '127.0.0.2', 7)).toBeUndefined();
    expect(policy.allows('::1', '::1', 8)?.text).toBe('[::1]:7-8');
  });

  it('compares an IPv4-mapped IPv6 address as the IPv4 address it is', () => {
    expect(policy.allows('::ffff:127.0.0.1', '::ffff:127.0.0.1', 7)?.text).toBe('127.0.0.1/32:7');
  });

  it('matches host rules against the name asked for, never against an IP literal', () => {
    expect(policy.allows('localhost', '127.0.0.1', 9)?.text).toBe('localhost:9');
    expect(policy.allows('LOCALHOST.', '::1', 9)?.text).toBe('localhost:9');
    expect(policy.allows('127.0.0.1', '127.0.0.1', 9)).toBeUndefined();
    expect(policy.allows('a.b.example.org', '192.0.2.1', 443)?.text).toBe('*.example.org:443');
    expect(policy.allows('example.org', '192.0.2.1', 443)).toBeUndefined();
    expect(policy.allows('badexample.org', '192.0.2.1', 443)).toBeUndefined();
  });

  it('allows nothing without rules', () => {
    expect(new EgressPolicy([]).allows('localhost', '127.0.0.1', 7)).toBeUndefined();
  });
});

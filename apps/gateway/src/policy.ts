import ipaddr from 'ipaddr.js';
import { GW_ERR_ALLOW_RULE } from './errors.js';

/** Inclusive port ranges; an empty list means every port. */
type PortRanges = ReadonlyArray<readonly [number, number]>;

export type AllowRule =
  | { kind: 'cidr'; text: string; range: [ipaddr.IPv4 | ipaddr.IPv6, number]; ports: PortRanges }
  | { kind: 'host'; text: string; pattern: string; ports: PortRanges };

function parsePorts(spec: string, rule: string): PortRanges {
  if (spec === '' || spec === '*') return [];
  return spec.split(',').map((part) => {
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part.trim());
    const low = Number(match?.[1]);
    const high = match?.[2] === undefined ? low : Number(match[2]);
    if (!match || low > 65535 || high > 65535 || low > high) {
      throw new GW_ERR_ALLOW_RULE(rule, `"${part}" is not a port or port range from 0 to 65535`);
    }
    return [low, high] as const;
  });
}

function parseAddressRange(text: string, rule: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  try {
    if (text.includes('/')) {
      const [address, bits] = ipaddr.parseCIDR(text);
      return [address.kind() === 'ipv6' ? ipaddr.process(address.toString()) : address, bits] as [ipaddr.IPv4 | ipaddr.IPv6, number];
    }
    const address = ipaddr.process(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch (error) {
    throw new GW_ERR_ALLOW_RULE(rule, `"${text}" is not an IP address or CIDR (${(error as Error).message})`);
  }
}

const HOST_PATTERN = /^(\*|(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*)$/;

function looksLikeAddress(text: string): boolean {
  return text.includes('/') || ipaddr.IPv6.isValid(text) || /^[\d.]+$/.test(text);
}

/** Parses one `--allow` rule: `CIDR[:ports]`, `IP[:ports]`, `[IPv6 or CIDR][:ports]` or `host[:ports]`. */
export function parseAllowRule(rule: string): AllowRule {
  const text = rule.trim();
  let target: string;
  let ports = '';
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new GW_ERR_ALLOW_RULE(rule, 'missing "]"');
    target = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new GW_ERR_ALLOW_RULE(rule, `unexpected "${rest}" after "]"`);
    ports = rest.slice(1);
  } else if (text.split(':').length > 2) {
    target = text; // a bare IPv6 address or CIDR: bracket it to add ports
  } else {
    const colon = text.lastIndexOf(':');
    target = colon < 0 ? text : text.slice(0, colon);
    ports = colon < 0 ? '' : text.slice(colon + 1);
  }
  if (target === '') throw new GW_ERR_ALLOW_RULE(rule, 'no address or host');
  const portRanges = parsePorts(ports, rule);
  if (looksLikeAddress(target)) {
    return { kind: 'cidr', text, range: parseAddressRange(target, rule), ports: portRanges };
  }
  const pattern = target.toLowerCase().replace(/\.$/, '');
  if (!HOST_PATTERN.test(pattern)) throw new GW_ERR_ALLOW_RULE(rule, `"${target}" is not a host name pattern`);
  return { kind: 'host', text, pattern, ports: portRanges };
}

const portAllowed = (ports: PortRanges, port: number): boolean =>
  ports.length === 0 || ports.some(([low, high]) => port >= low && port <= high);

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return host === pattern;
}

/** Normalizes an address the way the policy compares it (IPv4-mapped IPv6 becomes IPv4). */
export function normalizeAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.process(address.replace(/%.*$/, ''));
  } catch {
    return undefined;
  }
}

/** The egress allow-list: a destination is reached only when a rule allows it. */
export class EgressPolicy {
  readonly rules: readonly AllowRule[];

  constructor(rules: readonly string[]) {
    this.rules = rules.map(parseAllowRule);
  }

  /**
   * The rule that allows connecting to `address`:`port`, reached by asking for `requestedHost`
   * (a name matched by host rules; an IP literal only by CIDR rules), or undefined.
   */
  allows(requestedHost: string, address: string, port: number): AllowRule | undefined {
    const ip = normalizeAddress(address);
    const name = requestedHost.toLowerCase().replace(/\.$/, '');
    const byName = ipaddr.isValid(name) ? undefined : name;
    return this.rules.find((rule) => {
      if (!portAllowed(rule.ports, port)) return false;
      if (rule.kind === 'host') return byName !== undefined && hostMatches(rule.pattern, byName);
      return ip !== undefined && ip.kind() === rule.range[0].kind() && ip.match(rule.range);
    });
  }
}

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

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Unicast addresses that are still off limits: cloud metadata and platform services. */
const EXTRA_SPECIAL: ReadonlyArray<[string, string]> = [
  ['168.63.129.16/32', 'a cloud platform service (Azure WireServer)'],
  ['192.0.0.192/32', 'a cloud metadata service (Oracle)'],
];
const extraSpecial = EXTRA_SPECIAL.map(([cidr, name]) => ({ range: ipaddr.parseCIDR(cidr) as [Address, number], name }));

/**
 * The Fetch standard's "bad ports": browsers refuse them for cross-protocol reasons (SMTP, IRC, …),
 * so a gateway for browsers refuses them too unless the operator opens them.
 */
export const BAD_PORTS: ReadonlySet<number> = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117,
  119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636,
  989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * The special-purpose range an address belongs to (loopback, private, link-local, CGNAT, multicast,
 * IPv4 embedded in IPv6, metadata services, …), or undefined for an ordinary unicast address.
 * IPv4-mapped IPv6 is judged as the IPv4 address it carries.
 */
export function specialRange(address: Address): string | undefined {
  const range = address.range();
  if (range !== 'unicast') return range;
  return extraSpecial.find(({ range: cidr }) => address.kind() === cidr[0].kind() && address.match(cidr))?.name;
}

/** The CIDR blocks that make up a named special range, for deciding whether a rule lies inside one. */
function specialBlocks(address: Address): Array<[Address, number]> {
  const name = address.range();
  type Table = { SpecialRanges: Record<string, [Address, number] | Array<[Address, number]>> };
  const table = ((address.kind() === 'ipv4' ? ipaddr.IPv4.prototype : ipaddr.IPv6.prototype) as unknown as Table).SpecialRanges;
  const entry = table[name];
  const blocks = entry === undefined ? [] : Array.isArray(entry[0]) ? (entry as Array<[Address, number]>) : [entry as [Address, number]];
  return [...blocks, ...extraSpecial.map(({ range }) => range)].filter(([block]) => block.kind() === address.kind());
}

/** True when a CIDR rule lies wholly inside one special-purpose range: only such a rule opens it. */
function insideSpecialRange([network, bits]: [Address, number]): boolean {
  if (specialRange(network) === undefined) return false;
  return specialBlocks(network).some(([block, blockBits]) => bits >= blockBits && network.match([block, blockBits]));
}

/** Normalizes an address the way the policy compares it (IPv4-mapped IPv6 becomes IPv4); undefined when invalid or zoned. */
export function normalizeAddress(address: string): Address | undefined {
  if (address.includes('%')) return undefined;
  try {
    return ipaddr.process(address);
  } catch {
    return undefined;
  }
}

export type Verdict = { allowed: true; rule: AllowRule } | { allowed: false; reason: string };

/** Anything that decides whether a destination may be reached. */
export interface DestinationPolicy {
  check(requestedHost: string, address: string, port: number): Verdict;
}

/** A destination must pass the gateway's policy and, where the credential names destinations, the credential's. */
export function bothPolicies(gateway: DestinationPolicy, credential: DestinationPolicy | undefined): DestinationPolicy {
  if (credential === undefined) return gateway;
  return {
    check(requestedHost, address, port) {
      const first = gateway.check(requestedHost, address, port);
      if (!first.allowed) return first;
      const second = credential.check(requestedHost, address, port);
      return second.allowed ? first : { allowed: false, reason: `the credential does not allow ${requestedHost} port ${port}` };
    },
  };
}

export interface PolicyOptions {
  /** Ports of the Fetch "bad port" list that this gateway allows anyway; `'all'` allows every one. */
  allowPorts?: readonly number[] | 'all';
}

/**
 * The egress policy. A destination is reached only when an allow rule names it. Special-purpose
 * addresses (loopback, private, link-local, metadata, multicast, documentation, IPv4 embedded in
 * IPv6, …) are refused unless a CIDR rule lying inside that very range allows them: broad rules
 * (`0.0.0.0/0`, `::/0`, `*`) and host rules never open them. Browser "bad ports" are refused
 * unless the operator opens them.
 */
export class EgressPolicy implements DestinationPolicy {
  readonly rules: readonly AllowRule[];
  readonly #allowPorts: Pick<ReadonlySet<number>, 'has'>;
  readonly #opensSpecial: ReadonlySet<AllowRule>;

  constructor(rules: readonly string[], options: PolicyOptions = {}) {
    this.rules = rules.map(parseAllowRule);
    this.#allowPorts = options.allowPorts === 'all' ? { has: () => true } : new Set(options.allowPorts ?? []);
    this.#opensSpecial = new Set(this.rules.filter((rule) => rule.kind === 'cidr' && insideSpecialRange(rule.range)));
  }

  /**
   * May the gateway connect to `address`:`port`, reached by asking for `requestedHost` (a name is
   * matched by host rules; an IP literal only by CIDR rules)? The reason names the rule that refused.
   */
  check(requestedHost: string, address: string, port: number): Verdict {
    const ip = normalizeAddress(address);
    if (ip === undefined) return { allowed: false, reason: `${address} is not an address the gateway connects to (zone ids are refused)` };
    if (BAD_PORTS.has(port) && !this.#allowPorts.has(port)) {
      return {
        allowed: false,
        reason: `port ${port} is one browsers block (the Fetch standard's bad ports); the gateway refuses it by default`,
      };
    }
    const name = requestedHost.toLowerCase().replace(/\.$/, '');
    const byName = normalizeAddress(name) === undefined && !name.includes(':') ? name : undefined;
    const special = specialRange(ip);
    const rule = this.rules.find((candidate) => {
      if (!portAllowed(candidate.ports, port)) return false;
      if (special !== undefined)
        return (
          this.#opensSpecial.has(candidate) &&
          candidate.kind === 'cidr' &&
          ip.kind() === candidate.range[0].kind() &&
          ip.match(candidate.range)
        );
      if (candidate.kind === 'host') return byName !== undefined && hostMatches(candidate.pattern, byName);
      return ip.kind() === candidate.range[0].kind() && ip.match(candidate.range);
    });
    if (rule) return { allowed: true, rule };
    const opened = [...this.#opensSpecial].some(
      (candidate) => candidate.kind === 'cidr' && ip.kind() === candidate.range[0].kind() && ip.match(candidate.range),
    );
    if (special !== undefined && !opened) {
      return { allowed: false, reason: `${requestedHost} is a special-purpose address (${special}), which the default policy refuses` };
    }
    return { allowed: false, reason: `no rule of the gateway's egress policy allows ${requestedHost} port ${port}` };
  }

  /** The rule that allows the destination, or undefined. */
  allows(requestedHost: string, address: string, port: number): AllowRule | undefined {
    const verdict = this.check(requestedHost, address, port);
    return verdict.allowed ? verdict.rule : undefined;
  }
}

import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseHost } from '@socketgate/protocol';
import ipaddr from 'ipaddr.js';
import { GW_ERR_ALLOW_RULE } from './errors.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Inclusive port ranges; an empty list means every port. */
type PortRanges = ReadonlyArray<readonly [number, number]>;

export type AllowRule =
  | { kind: 'cidr'; text: string; range: [Address, number]; ports: PortRanges }
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

function parseAddressRange(text: string, rule: string): [Address, number] {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const address = normalizeAddress(text);
    if (address === undefined) throw new GW_ERR_ALLOW_RULE(rule, `"${text}" is not an IP address or CIDR`);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  }
  if (text.includes('%')) throw new GW_ERR_ALLOW_RULE(rule, `"${text}" has a zone id; zone ids are refused`);
  let network: Address;
  let bits: number;
  try {
    [network, bits] = ipaddr.parseCIDR(`${hexTail(text.slice(0, slash))}${text.slice(slash)}`);
  } catch (error) {
    throw new GW_ERR_ALLOW_RULE(rule, `"${text}" is not an IP address or CIDR (${(error as Error).message})`);
  }
  if (network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress()) {
    // ::ffff:0:0/96 is all of IPv4: the IPv4 CIDR it denotes, compared with IPv4 addresses.
    if (bits < 96) throw new GW_ERR_ALLOW_RULE(rule, `"${text}" is an IPv4-mapped range shorter than /96; write the IPv4 CIDR it means`);
    return [(network as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [network, bits];
}

/** Anything with a slash, or an IP literal in any spelling the host grammar reads as one. */
function looksLikeAddress(text: string): boolean {
  if (text.includes('/') || ipaddr.IPv6.isValid(text)) return true;
  const parsed = parseHost(text);
  return parsed.ok ? parsed.kind !== 'name' : /^[\d.]+$/.test(text);
}

/** `*`, a name, or `*.` and a name, where a name is what the protocol's host grammar accepts. */
function hostPattern(target: string, rule: string): string {
  if (target === '*') return '*';
  const wildcard = target.startsWith('*.');
  const parsed = parseHost(wildcard ? target.slice(2) : target);
  if (!parsed.ok || parsed.kind !== 'name') {
    const why = parsed.ok ? 'is an address' : parsed.reason;
    throw new GW_ERR_ALLOW_RULE(rule, `${printable(target)} is not a host name pattern (the name ${why})`);
  }
  return wildcard ? `*.${parsed.host}` : parsed.host;
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
  return { kind: 'host', text, pattern: hostPattern(target, rule), ports: portRanges };
}

const portAllowed = (ports: PortRanges, port: number): boolean =>
  ports.length === 0 || ports.some(([low, high]) => port >= low && port <= high);

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return host === pattern;
}

/** Whether one rule names the destination: a host rule by the name asked for, a CIDR rule by the address. */
function ruleMatches(rule: AllowRule, byName: string | undefined, ip: Address, port: number): boolean {
  if (!portAllowed(rule.ports, port)) return false;
  if (rule.kind === 'host') return byName !== undefined && hostMatches(rule.pattern, byName);
  return sameKind(ip, rule.range) && ip.match(rule.range);
}

/**
 * The first of `rules` that names `address`:`port` reached by asking for `requestedHost`, as the
 * allow rules match (without the default policy's refusals): for rules that add a condition, such
 * as `tls.required`.
 */
export function matchingRule(rules: readonly AllowRule[], requestedHost: string, address: string, port: number): AllowRule | undefined {
  const ip = normalizeAddress(address);
  const requested = parseHost(requestedHost);
  if (ip === undefined) return undefined;
  const byName = requested.ok && requested.kind === 'name' ? requested.host : undefined;
  return rules.find((rule) => ruleMatches(rule, byName, ip, port));
}

/** Unicast addresses that are still off limits: cloud metadata and platform services, deprecated IPv6 forms. */
const EXTRA_SPECIAL: ReadonlyArray<[string, string]> = [
  ['168.63.129.16/32', 'a cloud platform service (Azure WireServer)'],
  ['192.0.0.192/32', 'a cloud metadata service (Oracle)'],
  // RFC 4291 §2.5.5.1: deprecated, and ipaddr.js calls it unicast; `::` and `::1` keep their own ranges.
  ['::/96', 'IPv4-compatible IPv6, deprecated'],
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

/** The CIDR blocks of the special-purpose range `address` is in (none for ordinary unicast). */
function specialBlocks(address: Address): Array<[Address, number]> {
  const name = address.range();
  if (name === 'unicast') {
    return extraSpecial.filter(({ range }) => address.kind() === range[0].kind() && address.match(range)).map(({ range }) => range);
  }
  type Table = { SpecialRanges: Record<string, [Address, number] | Array<[Address, number]>> };
  const table = ((address.kind() === 'ipv4' ? ipaddr.IPv4.prototype : ipaddr.IPv6.prototype) as unknown as Table).SpecialRanges;
  const entry = table[name];
  return entry === undefined ? [] : Array.isArray(entry[0]) ? (entry as Array<[Address, number]>) : [entry as [Address, number]];
}

const sameKind = (address: Address, [network]: [Address, number]): boolean => address.kind() === network.kind();

/**
 * True when a CIDR rule covers `address` and lies wholly inside the special-purpose range that
 * `address` is in: only such a rule opens it (`127.0.0.0/8` opens loopback, `::/96` does not).
 */
function opensSpecial(rule: AllowRule, address: Address): boolean {
  if (rule.kind !== 'cidr' || !sameKind(address, rule.range) || !address.match(rule.range)) return false;
  const [network, bits] = rule.range;
  return specialBlocks(address).some((block) => bits >= block[1] && network.match(block));
}

/** `::ffff:127.0.0.1` as `::ffff:7f00:1`: ipaddr.js reads a dotted tail after `::` as IPv4-mapped, the kernel does not. */
function hexTail(text: string): string {
  const tail = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!tail) return text;
  const [a, b, c, d] = tail.slice(2).map(Number) as [number, number, number, number];
  return `${tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * Normalizes an address the way the policy compares it: IPv4 in any spelling, IPv6 as written
 * (`::7f00:1` stays IPv4-compatible IPv6), IPv4-mapped IPv6 as the IPv4 address it carries.
 * Undefined when it is no address, or zoned.
 */
export function normalizeAddress(address: string): Address | undefined {
  if (address.includes('%')) return undefined;
  try {
    if (!address.includes(':')) return ipaddr.IPv4.parse(address);
    if (isIP(address) !== 6) return undefined;
    const v6 = ipaddr.IPv6.parse(hexTail(address));
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  } catch {
    return undefined;
  }
}

/** The current addresses of the gateway host's own interfaces. */
export type LocalAddresses = () => readonly string[];

/** How long the system's interface addresses are reused before they are read again. */
export const INTERFACE_REFRESH_MS = 2000;
let interfaces: { readAt: number; addresses: readonly string[] } | undefined;

/** The system's interface addresses (`os.networkInterfaces()`), read again at most every INTERFACE_REFRESH_MS. */
export const systemInterfaceAddresses: LocalAddresses = () => {
  const now = performance.now();
  if (interfaces === undefined || now - interfaces.readAt >= INTERFACE_REFRESH_MS) {
    const addresses = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
    interfaces = { readAt: now, addresses };
  }
  return interfaces.addresses;
};

const addressKey = (address: Address): string => `${address.kind()}|${address.toNormalizedString()}`;

/** Text of a host for a message, with anything but printable ASCII escaped and the length bounded. */
function printable(text: string): string {
  const quoted = JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
  return quoted.replace(/[^\x20-\x7e]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
  /** The gateway host's own addresses (default: its interfaces, as the system reports them now). */
  localAddresses?: LocalAddresses;
}

/**
 * The egress policy. A destination is reached only when an allow rule names it. Special-purpose
 * addresses (loopback, private, link-local, metadata, multicast, documentation, IPv4 embedded in
 * IPv6, …) are refused unless a CIDR rule lying inside that very range allows them: broad rules
 * (`0.0.0.0/0`, `::/0`, `*`) and host rules never open them. The unspecified addresses are never
 * a destination. The gateway host's own interface addresses are refused unless a rule names exactly
 * that address (as Tor's ExitPolicyRejectLocalInterfaces). Browser "bad ports" are refused unless
 * the operator opens them. A requested host outside the protocol's host grammar is refused.
 */
export class EgressPolicy implements DestinationPolicy {
  readonly rules: readonly AllowRule[];
  readonly #allowPorts: Pick<ReadonlySet<number>, 'has'>;
  readonly #localAddresses: LocalAddresses;
  #localList: readonly string[] | undefined;
  #localKeys: ReadonlySet<string> = new Set();

  constructor(rules: readonly string[], options: PolicyOptions = {}) {
    this.rules = rules.map(parseAllowRule);
    this.#allowPorts = options.allowPorts === 'all' ? { has: () => true } : new Set(options.allowPorts ?? []);
    this.#localAddresses = options.localAddresses ?? systemInterfaceAddresses;
  }

  /** Is `address` one of the gateway host's own (loopback aside, which its range rule governs)? */
  #isLocal(address: Address): boolean {
    const list = this.#localAddresses();
    if (list !== this.#localList) {
      this.#localList = list;
      this.#localKeys = new Set(list.flatMap((text) => normalizeAddress(text) ?? []).map(addressKey));
    }
    return this.#localKeys.has(addressKey(address));
  }

  /**
   * May the gateway connect to `address`:`port`, reached by asking for `requestedHost` (a name is
   * matched by host rules; an IP literal only by CIDR rules)? The reason names the rule that refused.
   */
  check(requestedHost: string, address: string, port: number): Verdict {
    const requested = parseHost(requestedHost);
    if (!requested.ok) {
      return { allowed: false, reason: `the requested host ${printable(requestedHost)} is malformed: it ${requested.reason}` };
    }
    const ip = normalizeAddress(address);
    if (ip === undefined) return { allowed: false, reason: `${address} is not an address the gateway connects to (zone ids are refused)` };
    if (BAD_PORTS.has(port) && !this.#allowPorts.has(port)) {
      return {
        allowed: false,
        reason: `port ${port} is one browsers block (the Fetch standard's bad ports); the gateway refuses it by default`,
      };
    }
    const range = ip.range();
    if (range === 'unspecified') {
      return {
        allowed: false,
        reason: `${requestedHost} is an unspecified address (0.0.0.0/8 or ::), never a destination (on Linux 0.0.0.0 is the gateway host itself)`,
      };
    }
    const ports = (candidate: AllowRule) => portAllowed(candidate.ports, port);
    if (range !== 'loopback' && this.#isLocal(ip)) {
      const bits = ip.kind() === 'ipv4' ? 32 : 128;
      const exact = this.rules.find(
        (candidate) =>
          candidate.kind === 'cidr' && candidate.range[1] === bits && sameKind(ip, candidate.range) && ip.match(candidate.range),
      );
      if (exact && ports(exact)) return { allowed: true, rule: exact };
      return {
        allowed: false,
        reason: exact
          ? `no rule of the gateway's egress policy allows ${requestedHost} port ${port}`
          : `${requestedHost} is an address of the gateway host itself (${ip.toString()}), which only a rule naming exactly that address opens`,
      };
    }
    const byName = requested.kind === 'name' ? requested.host : undefined;
    if (specialRange(ip) !== undefined) {
      const opening = this.rules.filter((candidate) => opensSpecial(candidate, ip));
      const rule = opening.find(ports);
      if (rule) return { allowed: true, rule };
      if (opening.length === 0) {
        return {
          allowed: false,
          reason: `${requestedHost} is a special-purpose address (${specialRange(ip)}), which the default policy refuses`,
        };
      }
    } else {
      const rule = this.rules.find((candidate) => ruleMatches(candidate, byName, ip, port));
      if (rule) return { allowed: true, rule };
    }
    return { allowed: false, reason: `no rule of the gateway's egress policy allows ${requestedHost} port ${port}` };
  }

  /** The rule that allows the destination, or undefined. */
  allows(requestedHost: string, address: string, port: number): AllowRule | undefined {
    const verdict = this.check(requestedHost, address, port);
    return verdict.allowed ? verdict.rule : undefined;
  }
}

import { NetworkLayerProtocol } from './enums.js';

export const SpecialAddress = {
  Null: 0,
  Broadcast: 1,
  LocalHost: 2,
  LocalHostIPv6: 3,
  Any: 4,
  AnyIPv6: 5,
  AnyIPv4: 6,
} as const;
export type SpecialAddress = (typeof SpecialAddress)[keyof typeof SpecialAddress];

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => (/^(0|[1-9]\d{0,2})$/.test(part) ? Number(part) : Number.NaN));
  return bytes.every((byte) => byte <= 255) ? bytes : undefined;
}

/** Parses IPv6 text (with an optional trailing IPv4 and `%zone`) into eight 16-bit groups. */
function parseIPv6(text: string): { groups: number[]; zone: string } | undefined {
  const [address = '', zone = '', ...rest] = text.split('%');
  if (rest.length > 0 || address.length === 0) return undefined;
  let body = address;
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(body.slice(lastColon + 1));
    if (!v4) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    body = `${body.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':').map((group) => (/^[0-9a-fA-F]{1,4}$/.test(group) ? Number.parseInt(group, 16) : Number.NaN));
    return groups.some(Number.isNaN) ? undefined : groups;
  };
  const head = toGroups(halves[0] ?? '');
  const back = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  if (!head || !back) return undefined;
  const known = head.length + back.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - known).fill(0), ...back];
  return { groups, zone };
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups shortened to `::`. */
function formatIPv6(groups: readonly number[], zone: string): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  let text: string;
  if (bestStart < 0) text = hex.join(':');
  else text = `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
  return zone ? `${text}%${zone}` : text;
}

/**
 * Qt's `QHostAddress`: an IPv4 or IPv6 address, or null. Host names are not addresses: pass them
 * to `connectToHost` as strings.
 */
export class QHostAddress {
  static readonly SpecialAddress = SpecialAddress;
  static readonly Null = SpecialAddress.Null;
  static readonly Broadcast = SpecialAddress.Broadcast;
  static readonly LocalHost = SpecialAddress.LocalHost;
  static readonly LocalHostIPv6 = SpecialAddress.LocalHostIPv6;
  static readonly Any = SpecialAddress.Any;
  static readonly AnyIPv6 = SpecialAddress.AnyIPv6;
  static readonly AnyIPv4 = SpecialAddress.AnyIPv4;

  #text = '';
  #protocol: NetworkLayerProtocol = NetworkLayerProtocol.UnknownNetworkLayerProtocol;

  constructor(address?: string | SpecialAddress | QHostAddress) {
    if (address instanceof QHostAddress) this.setAddress(address.toString());
    else if (typeof address === 'string') this.setAddress(address);
    else if (typeof address === 'number') this.#setSpecial(address);
  }

  #setSpecial(special: SpecialAddress): void {
    const table: Record<number, [string, NetworkLayerProtocol]> = {
      [SpecialAddress.Broadcast]: ['255.255.255.255', NetworkLayerProtocol.IPv4Protocol],
      [SpecialAddress.LocalHost]: ['127.0.0.1', NetworkLayerProtocol.IPv4Protocol],
      [SpecialAddress.LocalHostIPv6]: ['::1', NetworkLayerProtocol.IPv6Protocol],
      [SpecialAddress.Any]: ['::', NetworkLayerProtocol.AnyIPProtocol],
      [SpecialAddress.AnyIPv6]: ['::', NetworkLayerProtocol.IPv6Protocol],
      [SpecialAddress.AnyIPv4]: ['0.0.0.0', NetworkLayerProtocol.IPv4Protocol],
    };
    const entry = table[special];
    this.#text = entry?.[0] ?? '';
    this.#protocol = entry?.[1] ?? NetworkLayerProtocol.UnknownNetworkLayerProtocol;
  }

  /** Sets the address from text; returns false (and becomes null) when the text is not an IP address. */
  setAddress(text: string): boolean {
    const trimmed = text.trim().replace(/^\[(.*)\]$/, '$1');
    const v4 = parseIPv4(trimmed);
    if (v4) {
      this.#text = v4.join('.');
      this.#protocol = NetworkLayerProtocol.IPv4Protocol;
      return true;
    }
    const v6 = parseIPv6(trimmed);
    if (v6) {
      this.#text = formatIPv6(v6.groups, v6.zone);
      this.#protocol = NetworkLayerProtocol.IPv6Protocol;
      return true;
    }
    this.clear();
    return false;
  }

  clear(): void {
    this.#text = '';
    this.#protocol = NetworkLayerProtocol.UnknownNetworkLayerProtocol;
  }

  isNull(): boolean {
    return this.#protocol === NetworkLayerProtocol.UnknownNetworkLayerProtocol;
  }

  protocol(): NetworkLayerProtocol {
    return this.#protocol;
  }

  isLoopback(): boolean {
    return this.#text.startsWith('127.') || this.#text === '::1' || this.#text.startsWith('::ffff:127.');
  }

  isEqual(other: QHostAddress | string): boolean {
    return new QHostAddress(other).toString() === this.#text;
  }

  toString(): string {
    return this.#text;
  }

  /** True when `text` is an IPv4 or IPv6 literal (brackets allowed). */
  static isAddress(text: string): boolean {
    return !new QHostAddress(text).isNull();
  }
}

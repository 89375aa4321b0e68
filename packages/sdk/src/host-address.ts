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

/** `QHostAddress::ConversionModeFlag`: which cross-protocol matches `isEqual` accepts; combine with `|`. */
export const ConversionModeFlag = {
  StrictConversion: 0,
  ConvertV4MappedToIPv4: 1,
  ConvertV4CompatToIPv4: 2,
  ConvertUnspecifiedAddress: 4,
  ConvertLocalHost: 8,
  TolerantConversion: 0xff,
} as const;
export type ConversionMode = number;

const { IPv4Protocol, IPv6Protocol, AnyIPProtocol, UnknownNetworkLayerProtocol } = NetworkLayerProtocol;
const ZERO_GROUPS: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0];

/** Strict dotted quad: four decimal parts, 0-255, no leading zeros. Returns the address as a uint32. */
function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = value * 256 + byte;
  }
  return value;
}

const formatIPv4 = (value: number): string => [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');

/** Parses IPv6 text (with an optional trailing IPv4 and `%zone`) into eight 16-bit groups. */
function parseIPv6(text: string): { groups: number[]; zone: string } | undefined {
  // Qt takes the scope id after the last '%'; an address part with another '%' then fails to parse.
  const percent = text.lastIndexOf('%');
  const address = percent >= 0 ? text.slice(0, percent) : text;
  const zone = percent >= 0 ? text.slice(percent + 1) : '';
  if (!address.includes(':')) return undefined;
  let body = address;
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
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

/** The IPv4 address in the low 32 bits of `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), or undefined. */
function v4Mapped(groups: readonly number[]): number | undefined {
  if (groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) return undefined;
  return ((groups[6] ?? 0) * 0x10000 + (groups[7] ?? 0)) >>> 0;
}

/**
 * RFC 5952 text as Qt writes it (qipaddress.cpp): lower case, the longest run of two or more zero
 * groups (the first of equals) shortened to `::`, and a dotted IPv4 tail for `::ffff:a.b.c.d` and
 * for the deprecated IPv4-compatible `::a.b.c.d` (unless a.b.c are all zero, so `::1` stays `::1`).
 */
function formatIPv6(groups: readonly number[]): string {
  const high80Zero = groups.slice(0, 5).every((group) => group === 0);
  const g5 = groups[5] ?? 0;
  const g6 = groups[6] ?? 0;
  const g7 = groups[7] ?? 0;
  const embeddedIPv4 = high80Zero && (g5 === 0xffff || (g5 === 0 && (g6 !== 0 || g7 > 0xff)));
  const hexGroups = embeddedIPv4 ? 6 : 8;
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < hexGroups; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < hexGroups && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.slice(0, hexGroups).map((group) => group.toString(16));
  if (embeddedIPv4) hex.push(formatIPv4(((g6 << 16) | g7) >>> 0));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Qt's `QHostAddress`: an IPv4 or IPv6 address, or null. Host names are not addresses: pass them
 * to `connectToHost` as strings. Unlike Qt, text may wrap an IPv6 address in brackets (`[::1]`).
 */
export class QHostAddress {
  static readonly SpecialAddress = SpecialAddress;
  declare static readonly Null: typeof SpecialAddress.Null;
  declare static readonly Broadcast: typeof SpecialAddress.Broadcast;
  declare static readonly LocalHost: typeof SpecialAddress.LocalHost;
  declare static readonly LocalHostIPv6: typeof SpecialAddress.LocalHostIPv6;
  declare static readonly Any: typeof SpecialAddress.Any;
  declare static readonly AnyIPv6: typeof SpecialAddress.AnyIPv6;
  declare static readonly AnyIPv4: typeof SpecialAddress.AnyIPv4;
  static readonly ConversionModeFlag = ConversionModeFlag;
  static {
    // The special addresses as Qt's enum values on the class (QHostAddress.LocalHost).
    Object.assign(QHostAddress, SpecialAddress);
  }

  #protocol: NetworkLayerProtocol = UnknownNetworkLayerProtocol;
  /** The address when the protocol is IPv4 or AnyIP (then 0). */
  #v4 = 0;
  /** The address when the protocol is IPv6. */
  #v6: readonly number[] = ZERO_GROUPS;
  #zone = '';

  constructor(address?: string | SpecialAddress | QHostAddress) {
    if (address instanceof QHostAddress) {
      this.#protocol = address.#protocol;
      this.#v4 = address.#v4;
      this.#v6 = address.#v6;
      this.#zone = address.#zone;
    } else if (typeof address === 'string') this.setAddress(address);
    else if (typeof address === 'number') this.#setSpecial(address);
  }

  #setSpecial(special: SpecialAddress): void {
    this.clear();
    switch (special) {
      case SpecialAddress.Broadcast:
        this.#setIPv4(0xffffffff);
        break;
      case SpecialAddress.LocalHost:
        this.#setIPv4(0x7f000001);
        break;
      case SpecialAddress.AnyIPv4:
        this.#setIPv4(0);
        break;
      case SpecialAddress.LocalHostIPv6:
        this.#setIPv6([0, 0, 0, 0, 0, 0, 0, 1], '');
        break;
      case SpecialAddress.AnyIPv6:
        this.#setIPv6(ZERO_GROUPS, '');
        break;
      case SpecialAddress.Any:
        this.#protocol = AnyIPProtocol;
        break;
    }
  }

  #setIPv4(value: number): void {
    this.#protocol = IPv4Protocol;
    this.#v4 = value;
  }

  #setIPv6(groups: readonly number[], zone: string): void {
    this.#protocol = IPv6Protocol;
    this.#v6 = groups;
    this.#zone = zone;
  }

  /** Sets the address from text; returns false (and becomes null) when the text is not an IP address. */
  setAddress(text: string): boolean {
    this.clear();
    const trimmed = text.trim();
    const bracketed = /^\[(.*)\]$/.exec(trimmed);
    if (bracketed) {
      const v6 = parseIPv6(bracketed[1] ?? '');
      if (!v6) return false;
      this.#setIPv6(v6.groups, v6.zone);
      return true;
    }
    const v6 = parseIPv6(trimmed);
    if (v6) {
      this.#setIPv6(v6.groups, v6.zone);
      return true;
    }
    const v4 = parseIPv4(trimmed);
    if (v4 === undefined) return false;
    this.#setIPv4(v4);
    return true;
  }

  clear(): void {
    this.#protocol = UnknownNetworkLayerProtocol;
    this.#v4 = 0;
    this.#v6 = ZERO_GROUPS;
    this.#zone = '';
  }

  isNull(): boolean {
    return this.#protocol === UnknownNetworkLayerProtocol;
  }

  protocol(): NetworkLayerProtocol {
    return this.#protocol;
  }

  /** The IPv6 scope id (`eth0` in `fe80::1%eth0`); empty for IPv4 and for addresses without one. */
  scopeId(): string {
    return this.#zone;
  }

  /** 127.0.0.0/8, `::1`, or an IPv4-mapped `::ffff:127.x.y.z`, as Qt classifies them. */
  isLoopback(): boolean {
    if (this.#protocol === IPv4Protocol) return this.#v4 >>> 24 === 127;
    if (this.#protocol !== IPv6Protocol) return false;
    const mapped = v4Mapped(this.#v6);
    if (mapped !== undefined) return mapped >>> 24 === 127;
    return this.#v6.every((group, i) => group === (i === 7 ? 1 : 0));
  }

  /**
   * Qt's `isEqual(other, mode = TolerantConversion)`: by default `::ffff:1.2.3.4` equals `1.2.3.4`,
   * `::1` equals `127.0.0.1`, and Any, AnyIPv4 and AnyIPv6 are all equal. As in Qt, IPv6 scope ids
   * are not compared.
   */
  isEqual(other: QHostAddress | string | SpecialAddress, mode: ConversionMode = ConversionModeFlag.TolerantConversion): boolean {
    const that = other instanceof QHostAddress ? other : new QHostAddress(other);
    const unspecified = (mode & ConversionModeFlag.ConvertUnspecifiedAddress) !== 0;
    const allZero = (groups: readonly number[]) => groups.every((group) => group === 0);
    if (this.#protocol === IPv4Protocol) {
      if (that.#protocol === IPv4Protocol) return this.#v4 === that.#v4;
      if (that.#protocol === IPv6Protocol) return toIPv4(that.#v6, mode) === this.#v4;
      if (that.#protocol === AnyIPProtocol) return unspecified && this.#v4 === 0;
      return false;
    }
    if (this.#protocol === IPv6Protocol) {
      if (that.#protocol === IPv4Protocol) return toIPv4(this.#v6, mode) === that.#v4;
      if (that.#protocol === IPv6Protocol) return this.#v6.every((group, i) => group === that.#v6[i]);
      if (that.#protocol === AnyIPProtocol) return unspecified && allZero(this.#v6);
      return false;
    }
    if (this.#protocol === AnyIPProtocol && unspecified) {
      if (that.#protocol === IPv4Protocol) return that.#v4 === 0;
      if (that.#protocol === IPv6Protocol) return allZero(that.#v6);
    }
    return this.#protocol === that.#protocol;
  }

  /** Qt's text: dotted quad for IPv4 (and `0.0.0.0` for Any, as in Qt), RFC 5952 for IPv6. */
  toString(): string {
    if (this.#protocol === IPv4Protocol || this.#protocol === AnyIPProtocol) return formatIPv4(this.#v4);
    if (this.#protocol === IPv6Protocol) return this.#zone ? `${formatIPv6(this.#v6)}%${this.#zone}` : formatIPv6(this.#v6);
    return '';
  }

  /** True when `text` is an IPv4 or IPv6 literal (brackets allowed around IPv6). */
  static isAddress(text: string): boolean {
    return !new QHostAddress(text).isNull();
  }
}

/** Qt's `convertToIpv4`: the IPv4 address an IPv6 one stands for under `mode`, or undefined. */
function toIPv4(groups: readonly number[], mode: ConversionMode): number | undefined {
  if (groups.slice(0, 4).some((group) => group !== 0)) return undefined;
  const mid = ((groups[4] ?? 0) * 0x10000 + (groups[5] ?? 0)) >>> 0;
  const low = ((groups[6] ?? 0) * 0x10000 + (groups[7] ?? 0)) >>> 0;
  if (mid === 0xffff && mode & ConversionModeFlag.ConvertV4MappedToIPv4) return low;
  if (mid !== 0) return undefined;
  if (low === 0 && mode & ConversionModeFlag.ConvertUnspecifiedAddress) return 0;
  if (low === 1 && mode & ConversionModeFlag.ConvertLocalHost) return 0x7f000001;
  if (low !== 1 && mode & ConversionModeFlag.ConvertV4CompatToIPv4) return low;
  return undefined;
}

/** Throws the RangeError of a misused port: Qt's ports are 0 to 65535. */
export function checkPort(port: number, caller: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`${caller}() needs a port from 0 to 65535, got ${String(port)}`);
}

/**
 * The one grammar of a destination host, for every message and frame that names one: an IP literal
 * or an ASCII DNS name, and nothing else. Resolvers read a host as C strings and URLs do, so anything
 * outside this grammar could reach one as another host than the policy judged (`evil.test\0.example.org`
 * matches `*.example.org`, and a resolver looks up `evil.test`).
 *
 * - IPv4 in every spelling that `inet_aton` and ipaddr.js read as an address (`127.1`, `0x7f.0.0.1`,
 *   `0177.0.0.1`, `2130706433`): accepted as the address it is, so the policy judges that address.
 * - IPv6 (RFC 4291 text, a dotted IPv4 tail allowed), with or without brackets; no zone id.
 * - A name: labels of ASCII letters, digits, `-` and `_`, 1 to 63 characters, not starting or ending
 *   with `-`; 253 characters at most; one trailing dot allowed. Unicode names travel as punycode.
 *   A name whose last label is a number must be an IPv4 address (the WHATWG URL rule), so that no
 *   resolver reads as an address what the policy took for a name.
 */

/** What a valid host is, with its canonical text. */
export type HostKind = 'ipv4' | 'ipv6' | 'name';

export type ParsedHost =
  /** `host`: the dotted quad (`127.0.0.1` for `0x7f.1`); IPv6 without brackets; a name in lower case without its trailing dot. */
  | { ok: true; kind: HostKind; host: string }
  /** `reason`: what is wrong, as a phrase such as `has the control character U+0000 at index 9`. */
  | { ok: false; reason: string };

const MAX_NAME = 253;
const MAX_LABEL = 63;

/** `inet_aton`'s numbers: decimal, octal after a leading 0, hexadecimal after 0x; undefined otherwise. */
function ipv4Number(part: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(part)) return Number.parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return Number.parseInt(part, 8);
  if (/^(0|[1-9]\d*)$/.test(part)) return Number.parseInt(part, 10);
  return undefined;
}

/** The IPv4 address in `a.b.c.d`, `a.b.c` (c 16 bits), `a.b` (b 24 bits) or `a` (32 bits), as a dotted quad. */
function parseIPv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const value = ipv4Number(part);
    if (value === undefined) return undefined;
    numbers.push(value);
  }
  const last = numbers.pop() as number;
  if (numbers.some((value) => value > 255) || last >= 2 ** (8 * (5 - parts.length))) return undefined;
  const value = numbers.reduce((sum, byte, i) => sum + byte * 2 ** (8 * (3 - i)), 0) + last;
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** Strict RFC 4291 text: eight groups of 1 to 4 hex digits, one `::` for a run of zeros, a dotted-quad tail. */
function isIPv6(text: string): boolean {
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    const tail = body.slice(lastColon + 1).split('.');
    if (tail.length !== 4 || !tail.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) return false;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  if (!groups.every((list) => list.every((group) => /^[0-9a-f]{1,4}$/i.test(group)))) return false;
  const count = groups.reduce((sum, list) => sum + list.length, 0);
  return halves.length === 1 ? count === 8 : count <= 7;
}

const isNameCode = (code: number): boolean =>
  (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x5f;

/**
 * What is wrong with a host, for `explain` to put in words: the flaw and the index or length it
 * concerns. The grammar (`readHost`) names flaws only, so that a reader who needs no words (the
 * SDK's `isHost`) carries none.
 */
type Flaw = [flaw: keyof typeof REASONS, at?: number];
type Valid = ParsedHost & { ok: true };

function readName(text: string): Valid | Flaw {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name === '') return ['dot'];
  if (name.length > MAX_NAME) return ['long', name.length];
  const labels = name.split('.');
  const last = labels[labels.length - 1] as string;
  if (/^(\d+|0x[0-9a-f]*)$/i.test(last)) {
    const address = name === text ? parseIPv4(text) : undefined;
    if (address !== undefined) return { ok: true, kind: 'ipv4', host: address };
    return name === text || parseIPv4(name) === undefined ? ['number'] : ['dotted'];
  }
  for (const label of labels) {
    if (label === '') return ['label'];
    if (label.length > MAX_LABEL) return ['labelLong', label.length];
    if (label.startsWith('-') || label.endsWith('-')) return ['hyphen'];
  }
  return { ok: true, kind: 'name', host: name.toLowerCase() };
}

/** The grammar: the host with its canonical text, or its first flaw. */
function readHost(text: string): Valid | Flaw {
  if (typeof text !== 'string') return ['type'];
  if (text === '') return ['empty'];
  // Longer than any name or literal: refused before it is scanned.
  if (text.length > MAX_NAME + 1) return ['long', text.length];
  let colon = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isNameCode(code) || code === 0x2e) continue;
    if (code === 0x3a) colon = true;
    else if (code !== 0x5b && code !== 0x5d) return ['char', i];
  }
  const bracketed = text.startsWith('[') && text.endsWith(']');
  const bare = bracketed ? text.slice(1, -1) : text;
  if (bare.includes('[') || bare.includes(']')) return ['stray'];
  if (colon) return isIPv6(bare) ? { ok: true, kind: 'ipv6', host: bare.toLowerCase() } : ['ipv6'];
  if (bracketed) return ['brackets'];
  return readName(text);
}

/** A character that is neither in a name nor in an IP literal, described for a message. */
function describeCharacter(text: string, index: number): string {
  const code = text.codePointAt(index) as number;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return `has the control character ${hex} at index ${index}`;
  if (code === 0x20) return `has a space at index ${index}`;
  if (code === 0x25) return `has a zone id ("%" at index ${index}); the gateway takes no zone ids`;
  if (code >= 0xd800 && code <= 0xdfff) return `has the lone surrogate ${hex} at index ${index}`;
  if (code > 0x7f) return `has the non-ASCII character ${hex} at index ${index} (send a Unicode name as punycode)`;
  return `has "${String.fromCharCode(code)}" at index ${index}`;
}

const NOT_A_HOST = '; a host is an IP address or a name of ASCII letters, digits, "-", "_" and "."';

/** Each flaw in words, given the host and the flaw's index or length. */
const REASONS = {
  type: () => 'is not a string',
  empty: () => 'is empty',
  long: (_text: string, length: number) => `is ${length} characters long, more than the ${MAX_NAME} of a name`,
  char: (text: string, index: number) => describeCharacter(text, index) + (text.charCodeAt(index) === 0x25 ? '' : NOT_A_HOST),
  stray: () => 'has "[" or "]" that do not enclose an IPv6 address',
  ipv6: () => 'is not a valid IPv6 address',
  brackets: () => 'has brackets, which only an IPv6 address takes',
  dot: () => 'is only a dot',
  number: () => 'ends in a number but is not an IPv4 address',
  dotted: () => 'is an IPv4 address with a trailing dot; send the address without it',
  label: () => 'has an empty label (".." or a leading ".")',
  labelLong: (_text: string, length: number) => `has a label of ${length} characters, more than ${MAX_LABEL}`,
  hyphen: () => 'has a label that starts or ends with "-"',
} satisfies Record<string, (text: string, at: number) => string>;

/**
 * Reads a host the way the gateway connects to it, or says what is wrong with it. Never throws,
 * whatever the string (lone surrogates and the whole of Unicode included).
 */
export function parseHost(text: string): ParsedHost {
  const read = readHost(text);
  if (!Array.isArray(read)) return read;
  const [flaw, at = 0] = read;
  return { ok: false, reason: REASONS[flaw](text, at) };
}

/** What is wrong with `text` as a destination host, or undefined when it is one. */
export function hostProblem(text: string): string | undefined {
  const parsed = parseHost(text);
  return parsed.ok ? undefined : parsed.reason;
}

/** True when `text` is a host the gateway would try to reach: an IP literal or an ASCII DNS name. */
export const isHost = (text: string): boolean => !Array.isArray(readHost(text));

import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostProblem, isHost, parseHost } from './host.js';

/** Any UTF-16 code unit, lone surrogates included, and any code point of the whole of Unicode. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const anyCharacter = fc.oneof(codeUnit, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: codeUnit, maxLength: 300 }));
/** Hosts that must be accepted: names, IPv4 in every spelling, IPv6. */
const validHost = fc.oneof(
  fc.domain(),
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.ipV6().map((address) => `[${address}]`),
);
const GRAMMAR_CHARACTER = /^[A-Za-z0-9._:[\]-]$/;

/** A second, regex-only statement of the name grammar, to hold the parser to. */
const NAME = /^(?=[\s\S]{1,253}\.?$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
const NUMERIC_LAST_LABEL = /(^|\.)(\d+|0x[0-9a-f]*)\.?$/i;

describe('parseHost', () => {
  it.each([
    ['example.org', 'name', 'example.org'],
    ['Example.ORG.', 'name', 'example.org'],
    ['_sip._udp.example.org', 'name', '_sip._udp.example.org'],
    ['localhost', 'name', 'localhost'],
    ['xn--bcher-kva.example', 'name', 'xn--bcher-kva.example'],
    ['a-b.c1', 'name', 'a-b.c1'],
    [`${'a'.repeat(63)}.test`, 'name', `${'a'.repeat(63)}.test`],
    ['127.0.0.1', 'ipv4', '127.0.0.1'],
    ['127.1', 'ipv4', '127.0.0.1'],
    ['127.0.1', 'ipv4', '127.0.0.1'],
    ['0x7f.0.0.1', 'ipv4', '127.0.0.1'],
    ['0X7F000001', 'ipv4', '127.0.0.1'],
    ['0177.0.0.1', 'ipv4', '127.0.0.1'],
    ['017700000001', 'ipv4', '127.0.0.1'],
    ['2130706433', 'ipv4', '127.0.0.1'],
    ['127.000.000.001', 'ipv4', '127.0.0.1'],
    ['0', 'ipv4', '0.0.0.0'],
    ['4294967295', 'ipv4', '255.255.255.255'],
    ['::1', 'ipv6', '::1'],
    ['[::1]', 'ipv6', '::1'],
    ['::FFFF:127.0.0.1', 'ipv6', '::ffff:127.0.0.1'],
    ['::127.0.0.1', 'ipv6', '::127.0.0.1'],
    ['1:2:3:4:5:6:7:8', 'ipv6', '1:2:3:4:5:6:7:8'],
    ['1::', 'ipv6', '1::'],
    ['::', 'ipv6', '::'],
  ])('accepts %s as %s %s', (text, kind, host) => {
    expect(parseHost(text)).toEqual({ ok: true, kind, host });
  });

  it.each([
    ['', 'is empty'],
    ['evil.test\u0000.example.org', 'has the control character U+0000 at index 9'],
    ['93.184.216.34\u0000x', 'has the control character U+0000 at index 13'],
    ['a\tb', 'has the control character U+0009 at index 1'],
    ['a\u007fb', 'has the control character U+007F at index 1'],
    ['a\u0085b', 'has the control character U+0085 at index 1'],
    ['a\u2028b', 'has the non-ASCII character U+2028 at index 1'],
    ['\uff11\uff12\uff17.0.0.1', 'has the non-ASCII character U+FF11 at index 0'],
    ['ⓛⓞⓒⓐⓛⓗⓞⓢⓣ', 'has the non-ASCII character U+24DB at index 0'],
    ['a\ud800b', 'has the lone surrogate U+D800 at index 1'],
    ['a\udfffb', 'has the lone surrogate U+DFFF at index 1'],
    ['\u{1f600}.test', 'has the non-ASCII character U+1F600 at index 0'],
    ['exa mple.org', 'has a space at index 3'],
    ['fe80::1%eth0', 'has a zone id ("%" at index 7)'],
    ['example.org:80', 'is not a valid IPv6 address'],
    ['user@example.org', 'has "@" at index 4'],
    [`${'a'.repeat(64)}.test`, 'has a label of 64 characters, more than 63'],
    [`${'a.'.repeat(127)}a`, 'is 255 characters long'],
    [`${'ab.'.repeat(84)}ab`, 'is 254 characters long, more than the 253 of a name'],
    ['a..b', 'has an empty label'],
    ['.a', 'has an empty label'],
    ['a..', 'has an empty label'],
    ['.', 'is only a dot'],
    ['-a.test', 'has a label that starts or ends with "-"'],
    ['a-.test', 'has a label that starts or ends with "-"'],
    ['1.2.3.4.5', 'ends in a number but is not an IPv4 address'],
    ['256.0.0.1', 'ends in a number but is not an IPv4 address'],
    ['1.2.3.256', 'ends in a number but is not an IPv4 address'],
    ['1.2.65536', 'ends in a number but is not an IPv4 address'],
    ['1.16777216', 'ends in a number but is not an IPv4 address'],
    ['4294967296', 'ends in a number but is not an IPv4 address'],
    ['08.1.1.1', 'ends in a number but is not an IPv4 address'],
    ['example.0x', 'ends in a number but is not an IPv4 address'],
    ['example.123', 'ends in a number but is not an IPv4 address'],
    ['127.0.0.1.', 'is an IPv4 address with a trailing dot'],
    ['[127.0.0.1]', 'has brackets, which only an IPv6 address takes'],
    ['[example.org]', 'has brackets, which only an IPv6 address takes'],
    ['[::1', 'has "[" or "]" that do not enclose an IPv6 address'],
    ['[[::1]]', 'has "[" or "]" that do not enclose an IPv6 address'],
    ['1:2:3:4:5:6:7:8:9', 'is not a valid IPv6 address'],
    ['1::2::3', 'is not a valid IPv6 address'],
    ['12345::1', 'is not a valid IPv6 address'],
    ['::ffff:127.1', 'is not a valid IPv6 address'],
    ['::ffff:127.0.0.01', 'is not a valid IPv6 address'],
    [':::', 'is not a valid IPv6 address'],
  ])('refuses %j: %s', (text, reason) => {
    const parsed = parseHost(text);
    expect(parsed.ok).toBe(false);
    expect(hostProblem(text)).toContain(reason);
    expect(isHost(text)).toBe(false);
  });

  it('never throws, over the whole of Unicode and lone surrogates, and every refusal says why (property)', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const parsed = parseHost(text);
        if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every name, IPv4 spelling and IPv6 address of the generators (property)', () => {
    fc.assert(
      fc.property(validHost, (text) => {
        expect(parseHost(text).ok).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses any host with a character outside the grammar anywhere in it (property)', () => {
    const intruder = anyCharacter.filter((character) => !GRAMMAR_CHARACTER.test(character));
    fc.assert(
      fc.property(validHost, fc.nat(), intruder, (host, at, character) => {
        const index = at % (host.length + 1);
        const text = host.slice(0, index) + character + host.slice(index);
        const parsed = parseHost(text);
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(parsed.reason).toMatch(/at index|characters long/);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the strings that are a name, an IPv4 literal or an IPv6 literal by a separate statement of the grammar (property)', () => {
    const alphabet = fc.constantFrom(...'aAfFxX019-_.:[]'.split(''), 'z', '%', ' ', '\u0000');
    const group = fc.oneof(
      { arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,4}$/), weight: 20 },
      fc.stringMatching(/^[0-9a-fA-F]{5}$/),
      fc.constant(''),
      fc.ipV4(),
      fc.ipV4Extended(),
    );
    const colons = fc.tuple(fc.array(group, { minLength: 5, maxLength: 9 }), fc.nat(), fc.boolean()).map(([groups, at, squeeze]) => {
      const text = groups.join(':');
      return squeeze ? `${text.slice(0, at % (text.length + 1))}::${text.slice(at % (text.length + 1))}` : text;
    });
    const near = fc.oneof(
      fc.string({ unit: alphabet, maxLength: 40 }),
      validHost.map((host) => host.slice(0, 60)),
      colons,
    );
    fc.assert(
      fc.property(near, (text) => {
        const parsed = parseHost(text);
        const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
        const ipv6 = !text.includes('%') && isIP(bare) === 6;
        const name = NAME.test(text) && !NUMERIC_LAST_LABEL.test(text);
        if (ipv6) expect(parsed).toMatchObject({ ok: true, kind: 'ipv6' });
        else if (name) expect(parsed).toMatchObject({ ok: true, kind: 'name' });
        else if (parsed.ok) expect(parsed.kind).toBe('ipv4');
        if (parsed.ok && parsed.kind === 'ipv4') {
          // The WHATWG URL parser reads the same numeric spellings as the address they are.
          expect(new URL(`http://${text}/`).hostname).toBe(parsed.host);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads as IPv4 exactly the numeric spellings the WHATWG URL parser reads as IPv4 (property)', () => {
    const numeric = fc.string({ unit: fc.constantFrom(...'0123456789abcdefxX.'.split('')), minLength: 1, maxLength: 24 });
    fc.assert(
      fc.property(numeric, (text) => {
        // Two spellings URLs take and the gateway does not: a trailing dot, and "0x" with no digits.
        fc.pre(!text.endsWith('.') && !text.split('.').some((part) => /^0x$/i.test(part)));
        let url: string | undefined;
        try {
          url = new URL(`http://${text}/`).hostname;
        } catch {
          url = undefined;
        }
        const parsed = parseHost(text);
        const asIPv4 = parsed.ok && parsed.kind === 'ipv4' ? parsed.host : undefined;
        expect(asIPv4).toBe(url !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(url) ? url : undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it('returns canonical text that parses to itself (property)', () => {
    fc.assert(
      fc.property(validHost, (text) => {
        const parsed = parseHost(text);
        if (!parsed.ok) throw new Error(parsed.reason);
        expect(parseHost(parsed.host)).toEqual(parsed);
      }),
    );
  });
});

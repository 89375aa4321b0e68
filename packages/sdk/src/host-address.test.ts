import { describe, expect, it } from 'vitest';
import { NetworkLayerProtocol } from './enums.js';
import { QHostAddress, SpecialAddress } from './host-address.js';

const { IPv4Protocol, IPv6Protocol, AnyIPProtocol, UnknownNetworkLayerProtocol } = NetworkLayerProtocol;

describe('QHostAddress', () => {
  describe('IPv4', () => {
    it.each([
      ['127.0.0.1', '127.0.0.1'],
      ['0.0.0.0', '0.0.0.0'],
      ['255.255.255.255', '255.255.255.255'],
      ['192.0.2.10', '192.0.2.10'],
      ['  10.0.0.1  ', '10.0.0.1'],
    ])('parses %j as %s', (input, text) => {
      const address = new QHostAddress(input);
      expect(address.toString()).toBe(text);
      expect(address.protocol()).toBe(IPv4Protocol);
      expect(address.isNull()).toBe(false);
      expect(QHostAddress.isAddress(input)).toBe(true);
    });

    it.each([
      ['a part above 255', '256.1.1.1'],
      ['a last part above 255', '1.1.1.256'],
      ['three parts', '1.2.3'],
      ['five parts', '1.2.3.4.5'],
      ['a leading zero', '01.2.3.4'],
      ['a leading zero in a later part', '1.2.3.04'],
      ['an empty part', '1..2.3'],
      ['a trailing dot', '1.2.3.4.'],
      ['a sign', '+1.2.3.4'],
      ['hex', '0x7f.0.0.1'],
      ['a single number', '2130706433'],
      ['a port', '1.2.3.4:80'],
      ['a zone', '1.2.3.4%eth0'],
      ['brackets', '[1.2.3.4]'],
    ])('rejects %s (%s)', (_why, input) => {
      expect(new QHostAddress(input).isNull()).toBe(true);
      expect(QHostAddress.isAddress(input)).toBe(false);
    });
  });

  describe('IPv6 text (RFC 5952)', () => {
    it.each([
      ['2001:db8::1', '2001:db8::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
      // The longest run of zero groups is shortened.
      ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      // Of two equally long runs, the first.
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      // A single zero group stays as it is.
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
      // Runs at either end.
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::', '::'],
      ['fe80:0:0:0:0:0:0:1', 'fe80::1'],
      // Embedded IPv4, written in dotted form as Qt and RFC 5952 §5 do.
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::FFFF:102:304', '::ffff:1.2.3.4'],
      ['0:0:0:0:0:ffff:127.0.0.1', '::ffff:127.0.0.1'],
      ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
      ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
      // Qt also writes the deprecated IPv4-compatible form dotted, except when it looks like ::1.
      ['::1.2.3.4', '::1.2.3.4'],
      ['::0.0.0.1', '::1'],
      ['::0.0.0.255', '::ff'],
      // Brackets as in URLs.
      ['[::1]', '::1'],
      ['[2001:DB8::1]', '2001:db8::1'],
    ])('writes %s as %s', (input, text) => {
      const address = new QHostAddress(input);
      expect(address.toString()).toBe(text);
      expect(address.protocol()).toBe(IPv6Protocol);
      expect(QHostAddress.isAddress(input)).toBe(true);
      // The text reads back as the same address.
      expect(new QHostAddress(text).toString()).toBe(text);
    });

    it('keeps a zone id', () => {
      const address = new QHostAddress('FE80:0:0:0:0:0:0:1%eth0');
      expect(address.toString()).toBe('fe80::1%eth0');
      expect(address.scopeId()).toBe('eth0');
      expect(address.protocol()).toBe(IPv6Protocol);
      expect(new QHostAddress('[fe80::1%2]').toString()).toBe('fe80::1%2');
      expect(new QHostAddress('::1').scopeId()).toBe('');
      expect(new QHostAddress('127.0.0.1').scopeId()).toBe('');
    });

    it.each([
      ['two ::', '1::2::3'],
      ['a five-digit group', '12345::1'],
      ['nine groups', '1:2:3:4:5:6:7:8:9'],
      ['seven groups', '1:2:3:4:5:6:7'],
      [':: with eight groups', '::1:2:3:4:5:6:7:8'],
      ['a leading single colon', ':1:2:3:4:5:6:7'],
      ['a trailing single colon', '1:2:3:4:5:6:7:'],
      ['a triple colon', '1:::2'],
      ['a non-hex digit', '::g'],
      ['two zone ids', 'fe80::1%a%b'],
      ['a bad embedded IPv4', '::ffff:1.2.3.256'],
      ['a short embedded IPv4', '::ffff:1.2.3'],
      ['an embedded IPv4 not at the end', '::1.2.3.4:1'],
      ['an embedded IPv4 after eight groups', '1:2:3:4:5:6:7:1.2.3.4'],
      ['an unclosed bracket', '[::1'],
      ['a stray bracket', '::1]'],
      ['a port after brackets', '[::1]:80'],
    ])('rejects %s (%s)', (_why, input) => {
      const address = new QHostAddress(input);
      expect(address.isNull()).toBe(true);
      expect(address.protocol()).toBe(UnknownNetworkLayerProtocol);
      expect(QHostAddress.isAddress(input)).toBe(false);
    });
  });

  it.each(['', '   ', 'example.org', 'localhost', 'not an address', '1.2.3.4 5', ':'])(
    'gives a null address with UnknownNetworkLayerProtocol for %j',
    (input) => {
      const address = new QHostAddress(input);
      expect(address.isNull()).toBe(true);
      expect(address.protocol()).toBe(UnknownNetworkLayerProtocol);
      expect(address.protocol()).toBe(-1);
      expect(address.toString()).toBe('');
      expect(QHostAddress.isAddress(input)).toBe(false);
    },
  );

  describe('special addresses', () => {
    it('has Qt values for SpecialAddress, also as static members', () => {
      expect(SpecialAddress).toEqual({ Null: 0, Broadcast: 1, LocalHost: 2, LocalHostIPv6: 3, Any: 4, AnyIPv6: 5, AnyIPv4: 6 });
      expect(QHostAddress.SpecialAddress).toBe(SpecialAddress);
      for (const [name, value] of Object.entries(SpecialAddress)) {
        expect((QHostAddress as unknown as Record<string, number>)[name]).toBe(value);
      }
    });

    it.each([
      ['LocalHost', QHostAddress.LocalHost, '127.0.0.1', IPv4Protocol],
      ['LocalHostIPv6', QHostAddress.LocalHostIPv6, '::1', IPv6Protocol],
      ['AnyIPv4', QHostAddress.AnyIPv4, '0.0.0.0', IPv4Protocol],
      ['AnyIPv6', QHostAddress.AnyIPv6, '::', IPv6Protocol],
      ['Broadcast', QHostAddress.Broadcast, '255.255.255.255', IPv4Protocol],
      // Qt writes Any as its IPv4 form.
      ['Any', QHostAddress.Any, '0.0.0.0', AnyIPProtocol],
      ['Null', QHostAddress.Null, '', UnknownNetworkLayerProtocol],
    ])('%s is %j', (_name, special, text, protocol) => {
      const address = new QHostAddress(special);
      expect(address.toString()).toBe(text);
      expect(address.protocol()).toBe(protocol);
      expect(address.isNull()).toBe(protocol === UnknownNetworkLayerProtocol);
    });

    it('makes a null address by default', () => {
      expect(new QHostAddress().isNull()).toBe(true);
      expect(new QHostAddress().toString()).toBe('');
    });
  });

  it('copies another address, protocol and zone included', () => {
    const any = new QHostAddress(new QHostAddress(QHostAddress.Any));
    expect(any.protocol()).toBe(AnyIPProtocol);
    expect(any.toString()).toBe('0.0.0.0');
    const linkLocal = new QHostAddress(new QHostAddress('fe80::1%eth0'));
    expect(linkLocal.toString()).toBe('fe80::1%eth0');
    expect(linkLocal.scopeId()).toBe('eth0');
    const original = new QHostAddress('10.0.0.1');
    const copy = new QHostAddress(original);
    original.clear();
    expect(copy.toString()).toBe('10.0.0.1');
  });

  describe('isLoopback', () => {
    it.each([
      ['127.0.0.1', true],
      ['127.255.255.254', true],
      ['::1', true],
      ['[::1]', true],
      ['::ffff:127.0.0.1', true],
      ['::ffff:7f00:1', true],
      ['0:0:0:0:0:0:0:1', true],
      ['128.0.0.1', false],
      ['192.0.2.1', false],
      ['126.255.255.255', false],
      ['::', false],
      ['::2', false],
      ['1::1', false],
      ['::ffff:10.0.0.1', false],
      ['::127.0.0.1', false],
      ['', false],
    ])('%s → %s', (input, loopback) => {
      expect(new QHostAddress(input).isLoopback()).toBe(loopback);
    });

    it('knows the special addresses', () => {
      expect(new QHostAddress(QHostAddress.LocalHost).isLoopback()).toBe(true);
      expect(new QHostAddress(QHostAddress.LocalHostIPv6).isLoopback()).toBe(true);
      expect(new QHostAddress(QHostAddress.Any).isLoopback()).toBe(false);
      expect(new QHostAddress(QHostAddress.Broadcast).isLoopback()).toBe(false);
    });
  });

  describe('isEqual', () => {
    it('compares addresses of one protocol by value, not by spelling', () => {
      expect(new QHostAddress('2001:db8::1').isEqual('2001:DB8:0:0:0:0:0:1')).toBe(true);
      expect(new QHostAddress('2001:db8::1').isEqual(new QHostAddress('[2001:db8::1]'))).toBe(true);
      expect(new QHostAddress('127.0.0.1').isEqual(new QHostAddress(QHostAddress.LocalHost))).toBe(true);
      expect(new QHostAddress('127.0.0.1').isEqual(QHostAddress.LocalHost)).toBe(true);
      expect(new QHostAddress('127.0.0.1').isEqual('127.0.0.2')).toBe(false);
      expect(new QHostAddress('2001:db8::1').isEqual('2001:db8::2')).toBe(false);
      expect(new QHostAddress('127.0.0.1').isEqual('')).toBe(false);
      expect(new QHostAddress().isEqual(new QHostAddress())).toBe(true);
    });

    it("converts across protocols by default, as Qt's TolerantConversion does", () => {
      expect(new QHostAddress('::ffff:192.0.2.1').isEqual('192.0.2.1')).toBe(true);
      expect(new QHostAddress('192.0.2.1').isEqual('::ffff:192.0.2.1')).toBe(true);
      expect(new QHostAddress('::192.0.2.1').isEqual('192.0.2.1')).toBe(true);
      expect(new QHostAddress('::1').isEqual('127.0.0.1')).toBe(true);
      expect(new QHostAddress(QHostAddress.Any).isEqual(QHostAddress.AnyIPv4)).toBe(true);
      expect(new QHostAddress(QHostAddress.Any).isEqual(QHostAddress.AnyIPv6)).toBe(true);
      expect(new QHostAddress(QHostAddress.AnyIPv6).isEqual(QHostAddress.AnyIPv4)).toBe(true);
      expect(new QHostAddress('::ffff:192.0.2.1').isEqual('192.0.2.2')).toBe(false);
      expect(new QHostAddress('2001:db8::1').isEqual('0.0.0.1')).toBe(false);
    });

    it('compares strictly with StrictConversion', () => {
      const { StrictConversion, ConvertV4MappedToIPv4 } = QHostAddress.ConversionModeFlag;
      expect(new QHostAddress('::ffff:192.0.2.1').isEqual('192.0.2.1', StrictConversion)).toBe(false);
      expect(new QHostAddress('::1').isEqual('127.0.0.1', StrictConversion)).toBe(false);
      expect(new QHostAddress(QHostAddress.Any).isEqual(QHostAddress.AnyIPv4, StrictConversion)).toBe(false);
      expect(new QHostAddress('::ffff:192.0.2.1').isEqual('192.0.2.1', ConvertV4MappedToIPv4)).toBe(true);
      expect(new QHostAddress('::1').isEqual('127.0.0.1', ConvertV4MappedToIPv4)).toBe(false);
    });
  });

  describe('setAddress and clear', () => {
    it('sets, then becomes null on bad text', () => {
      const address = new QHostAddress();
      expect(address.setAddress('10.0.0.1')).toBe(true);
      expect(address.toString()).toBe('10.0.0.1');
      expect(address.setAddress('fe80::1%eth0')).toBe(true);
      expect(address.protocol()).toBe(IPv6Protocol);
      expect(address.setAddress('nope')).toBe(false);
      expect(address.isNull()).toBe(true);
      expect(address.toString()).toBe('');
      expect(address.scopeId()).toBe('');
    });

    it('clears to null', () => {
      const address = new QHostAddress('::1');
      address.clear();
      expect(address.isNull()).toBe(true);
      expect(address.protocol()).toBe(UnknownNetworkLayerProtocol);
      expect(address.isLoopback()).toBe(false);
    });
  });

  describe('QHostAddress.isAddress', () => {
    it.each([
      ['1.2.3.4', true],
      ['::', true],
      ['[::1]', true],
      ['fe80::1%eth0', true],
      ['::ffff:1.2.3.4', true],
      ['example.org', false],
      ['1.2.3', false],
      ['01.2.3.4', false],
      ['[1.2.3.4]', false],
      ['', false],
    ])('%j → %s', (input, expected) => {
      expect(QHostAddress.isAddress(input)).toBe(expected);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { NetworkLayerProtocol } from './enums.js';
import { QHostAddress } from './host-address.js';

describe('QHostAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1', NetworkLayerProtocol.IPv4Protocol],
    ['0.0.0.0', '0.0.0.0', NetworkLayerProtocol.IPv4Protocol],
    ['::1', '::1', NetworkLayerProtocol.IPv6Protocol],
    ['[::1]', '::1', NetworkLayerProtocol.IPv6Protocol],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', NetworkLayerProtocol.IPv6Protocol],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', NetworkLayerProtocol.IPv6Protocol],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', NetworkLayerProtocol.IPv6Protocol],
    ['::ffff:1.2.3.4', '::ffff:102:304', NetworkLayerProtocol.IPv6Protocol],
    ['fe80::1%eth0', 'fe80::1%eth0', NetworkLayerProtocol.IPv6Protocol],
    ['::', '::', NetworkLayerProtocol.IPv6Protocol],
  ])('parses %s as %s', (input, text, protocol) => {
    const address = new QHostAddress(input);
    expect(address.toString()).toBe(text);
    expect(address.protocol()).toBe(protocol);
    expect(address.isNull()).toBe(false);
  });

  it.each(['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', 'example.org', '', '1::2::3', '12345::1', '1:2:3:4:5:6:7:8:9', 'fe80::1%a%b'])(
    'gives a null address for %s',
    (input) => {
      const address = new QHostAddress(input);
      expect(address.isNull()).toBe(true);
      expect(address.protocol()).toBe(NetworkLayerProtocol.UnknownNetworkLayerProtocol);
      expect(address.toString()).toBe('');
      expect(QHostAddress.isAddress(input)).toBe(false);
    },
  );

  it('knows the special addresses', () => {
    expect(new QHostAddress(QHostAddress.LocalHost).toString()).toBe('127.0.0.1');
    expect(new QHostAddress(QHostAddress.LocalHostIPv6).toString()).toBe('::1');
    expect(new QHostAddress(QHostAddress.AnyIPv4).toString()).toBe('0.0.0.0');
    expect(new QHostAddress(QHostAddress.Broadcast).toString()).toBe('255.255.255.255');
    expect(new QHostAddress(QHostAddress.Any).protocol()).toBe(NetworkLayerProtocol.AnyIPProtocol);
    expect(new QHostAddress(QHostAddress.Null).isNull()).toBe(true);
    expect(new QHostAddress().isNull()).toBe(true);
  });

  it('compares and classifies', () => {
    expect(new QHostAddress('127.0.0.1').isLoopback()).toBe(true);
    expect(new QHostAddress('::1').isLoopback()).toBe(true);
    expect(new QHostAddress('192.0.2.1').isLoopback()).toBe(false);
    expect(new QHostAddress('2001:db8::1').isEqual('2001:DB8:0::1')).toBe(true);
    expect(new QHostAddress('127.0.0.1').isEqual(new QHostAddress(QHostAddress.LocalHost))).toBe(true);
    expect(QHostAddress.isAddress('[::1]')).toBe(true);
  });

  it('can be set and cleared', () => {
    const address = new QHostAddress();
    expect(address.setAddress('10.0.0.1')).toBe(true);
    expect(address.toString()).toBe('10.0.0.1');
    expect(address.setAddress('nope')).toBe(false);
    expect(address.isNull()).toBe(true);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeClose,
  encodeContinue,
  encodeInfo,
  encodeWispData,
  parseClose,
  parseConnect,
  parseInfo,
  parsePassword,
  parseWispPacket,
} from './wisp-packets.js';

const connect = (kind: number, port: number, host: string): Buffer => {
  const head = Buffer.alloc(3);
  head.writeUInt8(kind, 0);
  head.writeUInt16LE(port, 1);
  return Buffer.concat([head, Buffer.from(host)]);
};

describe('Wisp packets', () => {
  it('reads the header little-endian and refuses packets under 5 bytes', () => {
    expect(parseWispPacket(Buffer.from([0x02, 0x01, 0x02, 0x00, 0x00, 0xaa]))).toEqual({
      ok: true,
      value: { type: 0x02, stream: 0x0201, payload: Buffer.from([0xaa]) },
    });
    for (let size = 0; size < 5; size++) expect(parseWispPacket(Buffer.alloc(size)).ok).toBe(false);
  });

  it('reads CONNECT: TCP or UDP, the port, a UTF-8 hostname', () => {
    expect(parseConnect(connect(1, 443, 'example.org'))).toEqual({ ok: true, value: { transport: 'tcp', port: 443, host: 'example.org' } });
    expect(parseConnect(connect(2, 53, '::1'))).toEqual({ ok: true, value: { transport: 'udp', port: 53, host: '::1' } });
    expect(parseConnect(connect(3, 80, 'example.org')).ok).toBe(false);
    expect(parseConnect(Buffer.concat([connect(1, 80, ''), Buffer.from([0xff, 0xfe])])).ok).toBe(false);
    expect(parseConnect(Buffer.from([1, 80])).ok).toBe(false);
  });

  it('reads INFO extensions and refuses lengths beyond the packet', () => {
    const info = encodeInfo(2, 0, [
      [0x01, new Uint8Array(0)],
      [0x04, Buffer.from('hi')],
    ]).subarray(5);
    const parsed = parseInfo(info);
    expect(parsed.ok && [...parsed.value.extensions.entries()]).toEqual([
      [0x01, Buffer.alloc(0)],
      [0x04, Buffer.from('hi')],
    ]);
    const cut = Buffer.from(info);
    cut.writeUInt32LE(1000, 2 + 5 + 1);
    expect(parseInfo(cut).ok).toBe(false);
    expect(parseInfo(info.subarray(0, info.length - 1)).ok).toBe(false);
    expect(parseInfo(Buffer.from([2])).ok).toBe(false);
  });

  it('reads the password extension and refuses one cut short', () => {
    const metadata = Buffer.concat([Buffer.from([3, 4, 0]), Buffer.from('bob'), Buffer.from('pass')]);
    expect(parsePassword(metadata)).toEqual({ ok: true, value: { username: 'bob', password: 'pass' } });
    expect(parsePassword(metadata.subarray(0, metadata.length - 1)).ok).toBe(false);
    expect(parsePassword(Buffer.from([0, 0])).ok).toBe(false);
  });

  it('writes DATA, CONTINUE and CLOSE', () => {
    expect(encodeWispData(7, Buffer.from('ab'))).toEqual(Buffer.from([0x02, 7, 0, 0, 0, 0x61, 0x62]));
    expect(encodeContinue(0, 128)).toEqual(Buffer.from([0x03, 0, 0, 0, 0, 128, 0, 0, 0]));
    expect(encodeClose(1, 0x44)).toEqual(Buffer.from([0x04, 1, 0, 0, 0, 0x44]));
    expect(parseClose(Buffer.from([0x02]))).toEqual({ ok: true, value: 0x02 });
    expect(parseClose(Buffer.alloc(0)).ok).toBe(false);
  });
});

describe('Wisp packets, from hostile input', () => {
  it('never throw: every parser answers a result for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const data = Buffer.from(bytes);
        for (const parse of [parseWispPacket, parseConnect, parseInfo, parsePassword, parseClose]) {
          const result = parse(data);
          expect(typeof result.ok).toBe('boolean');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

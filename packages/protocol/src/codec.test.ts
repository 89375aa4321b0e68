import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeAck,
  encodeCredit,
  encodeData,
  encodeDatagram,
  encodeFrame,
  type Frame,
  parseClientMessage,
  parseServerMessage,
  readFrame,
} from './codec.js';
import { isHost } from './host.js';
import { ClientMessage, ServerMessage } from './messages.js';

interface FrameVectors {
  valid: Array<{
    name: string;
    frame: string;
    message: { kind: Frame['kind']; stream: number; payloadHex?: string; bytes?: number; host?: string; port?: number };
  }>;
  invalid: Array<{ name: string; frame: string; error: string; messageIncludes: string }>;
}
interface MessageSide {
  valid: Array<{ name: string; message: object }>;
  invalid: Array<{ name: string; frame: string; error: string; field: string }>;
}
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
const frames = load<FrameVectors>('frames.json');
const messages = load<{ client: MessageSide; server: MessageSide }>('messages.json');

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
function meaning(vector: FrameVectors['valid'][number]): Frame {
  const { kind, stream, payloadHex = '', bytes = 0, host = '', port = 0 } = vector.message;
  if (kind === 'data') return { kind, stream, payload: fromHex(payloadHex) };
  if (kind === 'datagram') return { kind, stream, host, port, payload: fromHex(payloadHex) };
  return { kind, stream, bytes };
}

describe('binary frame vectors', () => {
  it.each(frames.valid.map((v) => [v.name, v] as const))('round-trips %s', (_name, vector) => {
    expect(toHex(encodeFrame(meaning(vector)))).toBe(vector.frame);
    const decoded = decodeFrame(fromHex(vector.frame));
    expect(decoded).toEqual({ ok: true, value: meaning(vector) });
  });

  it.each(frames.invalid.map((v) => [v.name, v] as const))('rejects %s', (_name, vector) => {
    const decoded = decodeFrame(fromHex(vector.frame));
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.code).toBe(vector.error);
    expect(decoded.message).toContain(vector.messageIncludes);
  });
});

describe("readFrame, the SDK's light frame reader", () => {
  const agrees = (bytes: Uint8Array) => {
    const decoded = decodeFrame(bytes);
    expect(readFrame(bytes)).toEqual(decoded.ok ? decoded.value : undefined);
  };

  it('agrees with decodeFrame on every vector', () => {
    for (const vector of [...frames.valid, ...frames.invalid]) agrees(fromHex(vector.frame));
  });

  it('agrees with decodeFrame on random bytes, mutated frames and datagrams of any printable host (property)', () => {
    const seeds = frames.valid.map((v) => fromHex(v.frame));
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 4 }))
      .map(([seed, at, byte, cut]) => {
        const bytes = seed.slice(0, Math.max(0, seed.byteLength - cut));
        if (bytes.byteLength > 0) bytes[at % bytes.byteLength] = byte;
        return bytes;
      });
    const datagram = fc
      .oneof(fc.stringMatching(/^[\x21-\x7e]{0,255}$/), fc.domain(), fc.ipV6())
      .map((host) => encodeDatagram(7, host, 53, Uint8Array.of(1)));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated, datagram), agrees));
  });
});

describe('binary codec', () => {
  it('decodes a frame at a non-zero offset of a larger buffer, and its payload is a view', () => {
    const frame = encodeData(9, Uint8Array.of(1, 2, 3));
    const big = new Uint8Array(frame.byteLength + 20);
    big.set(frame, 10);
    const decoded = decodeFrame(big.subarray(10, 10 + frame.byteLength));
    expect(decoded).toEqual({ ok: true, value: { kind: 'data', stream: 9, payload: Uint8Array.of(1, 2, 3) } });
    if (!decoded.ok || decoded.value.kind !== 'data') throw new Error('unreachable');
    expect(decoded.value.payload.buffer).toBe(big.buffer);
    big[15] = 42;
    expect(decoded.value.payload[0]).toBe(42);
  });

  it('refuses datagram addresses and ports that do not fit the header with a RangeError', () => {
    expect(() => encodeDatagram(1, 'x'.repeat(256), 1, new Uint8Array())).toThrow(/at most 255 printable ASCII characters/);
    expect(() => encodeDatagram(1, 'bad host', 1, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeDatagram(1, 'a', 65536, new Uint8Array())).toThrow(/port must be from 0 to 65535, got 65536/);
  });

  it('refuses counts and stream ids that do not fit the header with a RangeError', () => {
    expect(() => encodeCredit(1, 0)).toThrow(RangeError);
    expect(() => encodeAck(1, 2 ** 32)).toThrow(/byte count must be an integer from 1 to 4294967295, got 4294967296/);
    expect(() => encodeCredit(1, 1.5)).toThrow(RangeError);
    expect(() => encodeData(-1, new Uint8Array())).toThrow(/stream id must be an unsigned 32-bit integer, got -1/);
    expect(() => encodeData(2 ** 32, new Uint8Array())).toThrow(RangeError);
  });

  it('round-trips random frames (property)', () => {
    const stream = fc.integer({ min: 0, max: 0xffff_ffff });
    const host = fc.oneof(fc.constant(''), fc.domain(), fc.ipV4(), fc.ipV4Extended(), fc.ipV6());
    const frame = fc.oneof(
      fc.record({ kind: fc.constant('data' as const), stream, payload: fc.uint8Array({ maxLength: 512 }) }),
      fc.record({
        kind: fc.constant('datagram' as const),
        stream,
        host,
        port: fc.integer({ min: 0, max: 65535 }),
        payload: fc.uint8Array({ maxLength: 512 }),
      }),
      fc.record({ kind: fc.constantFrom('credit' as const, 'ack' as const), stream, bytes: fc.integer({ min: 1, max: 0xffff_ffff }) }),
    );
    fc.assert(
      fc.property(frame, (value) => {
        expect(decodeFrame(encodeFrame(value as Frame))).toEqual({ ok: true, value });
      }),
    );
  });

  it('decodes a datagram exactly when its host is empty or of the host grammar (property)', () => {
    const host = fc.oneof(fc.stringMatching(/^[\x21-\x7e]{0,255}$/), fc.domain(), fc.ipV6());
    fc.assert(
      fc.property(host, (value) => {
        const decoded = decodeFrame(encodeDatagram(1, value, 53, Uint8Array.of(1)));
        expect(decoded.ok).toBe(value === '' || isHost(value));
        if (!decoded.ok) expect(decoded.message).toMatch(/^datagram host: /);
      }),
    );
  });

  it('never throws on random bytes, and every failure is a BAD_FRAME with a message (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const decoded = decodeFrame(bytes);
        if (!decoded.ok) {
          expect(decoded.code).toBe('BAD_FRAME');
          expect(decoded.message.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('never throws on mutated valid frames (property)', () => {
    const seeds = frames.valid.map((v) => fromHex(v.frame));
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 4 }), (seed, at, byte, cut) => {
        const mutated = seed.slice(0, Math.max(0, seed.byteLength - cut));
        if (mutated.byteLength > 0) mutated[at % mutated.byteLength] = byte;
        expect(() => decodeFrame(mutated)).not.toThrow();
      }),
    );
  });
});

describe.each([
  ['client', parseClientMessage, ClientMessage],
  ['server', parseServerMessage, ServerMessage],
] as const)('%s message vectors', (side, parse, schema) => {
  const vectors = messages[side];

  it.each(vectors.valid.map((v) => [v.name, v] as const))('accepts %s and round-trips it through JSON', (_name, vector) => {
    expect(parse(JSON.stringify(vector.message))).toEqual({ ok: true, value: vector.message });
    expect(schema.safeParse(vector.message).success).toBe(true);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('rejects %s with a message naming the field', (_name, vector) => {
    const parsed = parse(vector.frame);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.code).toBe(vector.error);
    expect(parsed.message).toContain(vector.field);
  });

  it('never throws on random JSON values (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parse(JSON.stringify(value));
        if (!parsed.ok) expect(parsed.message.length).toBeGreaterThan(0);
      }),
    );
  });

  it('never throws on random text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(() => parse(text)).not.toThrow();
      }),
    );
  });
});

describe('client messages', () => {
  it('names the stream of a bad message when it can be read, so only that stream ends', () => {
    const parsed = parseClientMessage('{"type":"set-option","stream":12,"option":"LowDelayOption","value":"yes"}');
    expect(parsed).toMatchObject({ ok: false, code: 'BAD_MESSAGE', stream: 12, message: 'value: expected number, got "yes"' });
    expect(parseClientMessage('{"type":"abort","stream":-4}')).not.toHaveProperty('stream');
  });

  it('reports every bad field of one message', () => {
    const parsed = parseClientMessage('{"type":"open","stream":1,"transport":"tcp","host":"","port":-1,"window":-1}');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toBe('host: is empty; port: must be at least 0, got -1; window: must be at least 0, got -1');
  });
});

/**
 * The Wisp and websockify endpoints under hostile clients, against a gateway process (an exception
 * there ends the process, which the test sees): Wisp packets of every type with hostnames, ports,
 * stream ids, reasons and INFO extensions drawn over the whole of Unicode and every integer width,
 * as v1 and as v2; websockify upgrades with tokens and queries over Unicode. Every connection is
 * answered or closed, and the gateway lives and serves afterwards.
 */
import { type GatewayProcess, startEchoServer, startGatewayProcess } from '@socketgate/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const TOKEN = 'relay-hostile-token-0123456789';
let gw: GatewayProcess;
let echo: Awaited<ReturnType<typeof startEchoServer>>;

beforeAll(async () => {
  echo = await startEchoServer();
  gw = await startGatewayProcess({
    tokens: [TOKEN],
    allow: [`127.0.0.1/32:${echo.port}`, 'echo.test'],
    names: { 'echo.test': ['127.0.0.1'] },
    wisp: { path: '/wisp/' },
    websockify: { path: '/websockify' },
    maxProtocolErrorsPerSecond: 1_000_000,
    maxControlMessagesPerSecond: 1_000_000,
    maxOpensPerSecond: 1_000_000,
  });
});
afterAll(async () => {
  await gw.stop();
  await echo.close();
});

const base = () => `ws://127.0.0.1:${gw.port}`;
/** Text over the whole of Unicode, lone surrogates included (UTF-8 makes them U+FFFD). */
const unicode = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 0x7fff_ffff, 0xffff_ffff), fc.nat({ max: 0xffff_ffff }));

function packet(type: number, stream: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32LE(stream, 1);
  return Buffer.concat([head, payload]);
}

const connect = fc
  .record({
    stream: u32,
    kind: fc.constantFrom(0x01, 0x02, 0x00, 0x03, 0xff),
    port: fc.oneof(fc.constant(0), fc.constant(65535), fc.nat({ max: 65535 })),
    host: fc.oneof(fc.constantFrom('127.0.0.1', 'echo.test', '::ffff:127.0.0.1', '[::1]', 'localhost'), unicode(300)),
  })
  .map(({ stream, kind, port, host }) => {
    const payload = Buffer.alloc(3);
    payload[0] = kind;
    payload.writeUInt16LE(port, 1);
    return packet(0x01, stream, Buffer.concat([payload, Buffer.from(host)]));
  });
const data = fc.record({ stream: u32, bytes: fc.uint8Array({ maxLength: 200 }) }).map(({ stream, bytes }) => packet(0x02, stream, bytes));
const resume = fc.record({ stream: u32, credit: u32 }).map(({ stream, credit }) => {
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(credit, 0);
  return packet(0x03, stream, payload);
});
const close = fc
  .record({ stream: u32, reason: fc.nat({ max: 255 }) })
  .map(({ stream, reason }) => packet(0x04, stream, Uint8Array.of(reason)));
/** INFO with extensions: random ids and lengths, and the password extension with Unicode names. */
const info = fc
  .record({
    major: fc.nat({ max: 255 }),
    minor: fc.nat({ max: 255 }),
    extensions: fc.array(
      fc.oneof(
        fc.record({ id: fc.nat({ max: 255 }), body: fc.uint8Array({ maxLength: 64 }), lie: fc.integer({ min: -3, max: 3 }) }),
        fc.record({ user: unicode(40), password: fc.oneof(fc.constant(TOKEN), unicode(80)) }).map(({ user, password }) => {
          const name = Buffer.from(user);
          const body = Buffer.concat([Uint8Array.of(Math.min(name.length, 255)), name, Buffer.from(password)]);
          return { id: 0x02, body, lie: 0 };
        }),
      ),
      { maxLength: 4 },
    ),
  })
  .map(({ major, minor, extensions }) =>
    packet(
      0x05,
      0,
      Buffer.concat([
        Uint8Array.of(major, minor),
        ...extensions.map(({ id, body, lie }) => {
          const head = Buffer.alloc(5);
          head[0] = id;
          head.writeUInt32LE(Math.max(0, body.length + lie), 1);
          return Buffer.concat([head, body]);
        }),
      ]),
    ),
  );
const garbage = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));
const wispPacket = fc.oneof(connect, connect, data, resume, close, info, garbage);

/**
 * Opens a WebSocket and sends `messages`; resolves once the gateway closed it (or refused the
 * upgrade) or `ms` passed, with whether any message came back and whether the gateway ended it.
 */
function exchange(
  url: string,
  protocols: readonly string[],
  messages: Array<Buffer | string>,
  ms = 150,
): Promise<{ answered: boolean; ended: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, [...protocols]);
    let answered = false;
    ws.on('error', () => {});
    ws.on('message', () => {
      answered = true;
    });
    ws.on('unexpected-response', (request) => {
      request.destroy();
      resolve({ answered, ended: true });
    });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ answered, ended: false });
    }, ms);
    ws.on('open', () => {
      for (const message of messages) ws.send(message);
    });
    ws.on('close', () => {
      clearTimeout(timer);
      resolve({ answered, ended: true });
    });
  });
}

describe('the Wisp and websockify endpoints against hostile clients', () => {
  it('takes every Wisp packet over Unicode and every field width, as v1 and v2, and lives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(wispPacket, { minLength: 1, maxLength: 12 }), async (v2, packets) => {
        const url = `${base()}/wisp/${v2 ? '' : `?token=${TOKEN}`}`;
        // The gateway always speaks first (CONTINUE on stream 0 for v1, INFO for v2).
        expect((await exchange(url, v2 ? ['wisp-v2'] : [], packets)).answered).toBe(true);
      }),
      { numRuns: 150 },
    );
    await gw.assertAlive();
  });

  it('refuses websockify upgrades whose tokens and queries are anything over Unicode, and lives', async () => {
    await fc.assert(
      fc.asyncProperty(
        unicode(200),
        unicode(40),
        fc.constantFrom([], ['binary'], ['base64'], ['binary', 'x']),
        async (token, extra, protocols) => {
          const query = `token=${encodeURIComponent(token)}&${encodeURIComponent(extra)}=${encodeURIComponent(token)}`;
          // No ticket names a target: refused at once, and nothing relayed back.
          expect(await exchange(`${base()}/websockify?${query}`, protocols, [Buffer.from('hello'), token], 2000)).toEqual({
            answered: false,
            ended: true,
          });
        },
      ),
      { numRuns: 200 },
    );
    await gw.assertAlive();
  });

  it('still relays after the fuzz: a Wisp v1 stream echoes through the endpoint', async () => {
    const ws = new WebSocket(`${base()}/wisp/?token=${TOKEN}`);
    const received: Buffer[] = [];
    ws.on('message', (message: Buffer) => received.push(message));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const host = Buffer.from('127.0.0.1');
    const head = Buffer.alloc(3);
    head[0] = 0x01;
    head.writeUInt16LE(echo.port, 1);
    ws.send(packet(0x01, 7, Buffer.concat([head, host])));
    ws.send(packet(0x02, 7, Buffer.from('still serving ✓')));
    const echoed = () =>
      Buffer.concat(
        received.filter((message) => message[0] === 0x02 && message.readUInt32LE(1) === 7).map((message) => message.subarray(5)),
      );
    for (let i = 0; i < 200 && echoed().toString() !== 'still serving ✓'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    ws.terminate();
    expect(echoed().toString()).toBe('still serving ✓');
    await gw.assertAlive();
  });
});

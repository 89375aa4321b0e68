/**
 * The Wisp endpoint with a client nobody here wrote: @mercuryworkshop/wisp-js's Node client, over
 * loopback only, through the gateway's streams, policy, credentials and budgets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { client, extensions, type WispConnection, type WispStream } from '@mercuryworkshop/wisp-js/client';
import {
  closedPort,
  settled,
  startBlackhole,
  startEchoServer,
  startGateway,
  startServer,
  startUdpEcho,
  TEST_TOKEN,
  until,
  writeInPieces,
} from '@socketgate/testkit';
import { SignJWT } from 'jose';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import type { GatewayOptions } from '../src/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function wispGateway(options: GatewayOptions = {}) {
  const gw = await startGateway({ wisp: { path: '/wisp/', motd: 'welcome to socketgate' }, ...options });
  onTestFinished(() => gw.close());
  return { gw, url: gw.url.replace(/\/v1\/socket$/, '/wisp/') };
}

/** A wisp-js v2 connection that presents `password` through the password extension. */
function connectWisp(url: string, password = TEST_TOKEN): Promise<WispConnection> {
  const connection = new client.ClientConnection(url, {
    wisp_extensions: [
      new extensions.UDPExtension({ client_config: {} }),
      new extensions.PasswordAuthExtension({ client_config: { username: 'tester', password } }),
      new extensions.MOTDExtension({ client_config: {} }),
    ],
  });
  onTestFinished(() => connection.close());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no Wisp handshake within 5 s')), 5000);
    connection.onopen = () => {
      clearTimeout(timer);
      resolve(connection);
    };
    connection.onclose = () => {
      clearTimeout(timer);
      reject(new Error('the Wisp connection closed'));
    };
  });
}

/** The reason the stream is closed with. */
const closeOf = (stream: WispStream, timeoutMs = 10_000): Promise<number> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stream did not close')), timeoutMs);
    stream.onclose = (reason) => {
      clearTimeout(timer);
      resolve(reason);
    };
  });

it('speaks Wisp v2 to wisp-js: the password is the credential, the MOTD and UDP are offered', async () => {
  const { url } = await wispGateway();
  const connection = await connectWisp(url);
  expect(connection.server_motd).toBe('welcome to socketgate');
  expect(connection.udp_enabled).toBe(true);
});

it('downloads 64 MiB over a TCP stream intact, then closes it voluntarily (0x02)', async () => {
  const SIZE = 64 * MiB;
  const data = randomBytes(SIZE);
  const server = await startServer((socket) => writeInPieces(socket, data, Array(SIZE / (256 * KiB)).fill(256 * KiB), { end: true }));
  onTestFinished(() => server.close());
  const { url } = await wispGateway();
  const stream = (await connectWisp(url)).create_stream('127.0.0.1', server.port, 'tcp');
  const hash = createHash('sha256');
  let received = 0;
  stream.onmessage = (bytes) => {
    received += bytes.byteLength;
    hash.update(bytes);
  };
  expect(await closeOf(stream, 60_000)).toBe(0x02);
  expect(received).toBe(SIZE);
  expect(hash.digest('hex')).toBe(sha256(data));
});

it('uploads 64 MiB over a TCP stream intact within the CONTINUE credit, and a voluntary close ends it with a FIN', async () => {
  const SIZE = 64 * MiB;
  const data = randomBytes(SIZE);
  const hash = createHash('sha256');
  let received = 0;
  let ended = false;
  const server = await startServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.byteLength;
      hash.update(chunk);
    });
    socket.on('end', () => {
      ended = true;
    });
  });
  onTestFinished(() => server.close());
  const { gw, url } = await wispGateway();
  const stream = (await connectWisp(url)).create_stream('127.0.0.1', server.port, 'tcp');
  let largestCredit = 0;
  for (let at = 0; at < SIZE; at += 64 * KiB) {
    stream.send(data.subarray(at, at + 64 * KiB));
    largestCredit = Math.max(largestCredit, stream.buffer_size);
  }
  // The client holds what the credit does not let it send yet.
  expect(stream.send_buffer.length).toBeGreaterThan(0);
  await until(() => received === SIZE, 60_000, 'every byte at the target');
  expect(hash.digest('hex')).toBe(sha256(data));
  stream.close(0x02);
  await until(() => ended, 5000, 'the FIN');
  await until(() => gw.app.socketgate.stats().streams === 0, 5000, 'the stream gone');
});

it('carries UDP datagrams both ways on a UDP stream', async () => {
  const echo = await startUdpEcho();
  onTestFinished(() => echo.close());
  const { url } = await wispGateway();
  const stream = (await connectWisp(url)).create_stream('127.0.0.1', echo.port, 'udp');
  const replies: string[] = [];
  stream.onmessage = (bytes) => replies.push(Buffer.from(bytes).toString());
  // Sent at once, before the stream is connected: the gateway holds them until it is.
  for (let i = 0; i < 5; i++) stream.send(Buffer.from(`datagram ${i}`));
  await until(() => replies.length === 5, 5000, 'five echoes');
  expect(replies.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `datagram ${i}`));
});

it('closes streams with the reasons of the native errors: refused 0x44, unreachable 0x42, no response 0x43, blocked 0x48', async () => {
  const blackhole = await startBlackhole();
  onTestFinished(() => blackhole.close());
  const { gw, url } = await wispGateway({
    connectTimeoutMs: 500,
    resolver: async (hostname) => {
      if (hostname === 'nowhere.example') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return [{ address: '127.0.0.1', family: 4 }];
    },
  });
  const connection = await connectWisp(url);
  const refused = closeOf(connection.create_stream('127.0.0.1', await closedPort(), 'tcp'));
  const unreachable = closeOf(connection.create_stream('nowhere.example', 80, 'tcp'));
  const silent = closeOf(connection.create_stream('127.0.0.1', blackhole.port, 'tcp'));
  // Loopback beyond 127.0.0.1 is not allowed, however it is spelled; nothing is connected.
  const blocked = ['127.0.0.2', '::ffff:127.0.0.2', '0.0.0.0', '169.254.169.254'].map((host) =>
    closeOf(connection.create_stream(host, 80, 'tcp')),
  );
  const blockedUdp = closeOf(connection.create_stream('127.0.0.3', 53, 'udp'));
  expect(await refused).toBe(0x44);
  expect(await unreachable).toBe(0x42);
  expect(await silent).toBe(0x43);
  expect(await Promise.all(blocked)).toEqual([0x48, 0x48, 0x48, 0x48]);
  expect(await blockedUdp).toBe(0x48);
  const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(Number(/^socketgate_policy_refusals_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5);
});

it('refuses a CONNECT it cannot use with 0x41: a bad hostname, port 0', async () => {
  const { url } = await wispGateway();
  const connection = await connectWisp(url);
  expect(await closeOf(connection.create_stream('exa mple.com', 80, 'tcp'))).toBe(0x41);
  expect(await closeOf(connection.create_stream('127.0.0.1', 0, 'tcp'))).toBe(0x41);
});

it('holds a stalled reader to the session send buffer, and delivers everything once it reads again', async () => {
  const SIZE = 32 * MiB;
  const data = randomBytes(SIZE);
  let written = 0;
  const server = await startServer((socket) =>
    writeInPieces(socket, data, Array(SIZE / (64 * KiB)).fill(64 * KiB), {
      end: true,
      onProgress: (n) => {
        written = n;
      },
    }),
  );
  onTestFinished(() => server.close());
  const { gw, url } = await wispGateway({ sessionBufferBytes: MiB });
  const connection = await connectWisp(url);
  const stream = connection.create_stream('127.0.0.1', server.port, 'tcp');
  const hash = createHash('sha256');
  let received = 0;
  stream.onmessage = (bytes) => {
    received += bytes.byteLength;
    hash.update(bytes);
  };
  const closed = closeOf(stream, 60_000);
  await until(() => received > 0, 5000, 'the first bytes');
  connection.ws.pause();
  const stalledAt = await settled(() => written);
  expect(stalledAt).toBeLessThan(SIZE);
  expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(MiB + 256 * KiB);
  connection.ws.resume();
  expect(await closed).toBe(0x02);
  expect(received).toBe(SIZE);
  expect(hash.digest('hex')).toBe(sha256(data));
});

it('holds a client that outruns a stalled target to the upload budgets', async () => {
  let target: import('node:net').Socket | undefined;
  const server = await startServer((socket) => {
    target = socket;
    socket.pause();
  });
  onTestFinished(() => server.close());
  const { gw, url } = await wispGateway({ sessionUploadBytes: 2 * MiB });
  const connection = await connectWisp(url);
  const stream = connection.create_stream('127.0.0.1', server.port, 'tcp');
  const chunk = randomBytes(64 * KiB);
  for (let i = 0; i < 512; i++) stream.send(chunk);
  await until(() => target !== undefined, 5000, 'the connection');
  await settled(() => gw.app.socketgate.stats().bufferedBytes);
  // The credit (128 packets, 8 MiB) is more than the session may hold: the byte budget decides.
  expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(4 * MiB);
  expect(stream.send_buffer.length).toBeGreaterThan(0);
});

it('refuses a wrong password with CLOSE 0xc0 on stream 0 and close 4401, and a v1 client without a token with 4401', async () => {
  const { gw, url } = await wispGateway();
  const packets: Buffer[] = [];
  const ws = new WebSocket(url, 'wisp-v2');
  onTestFinished(() => ws.terminate());
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data: Buffer) => {
    packets.push(data);
    if (data[0] === 0x05) {
      // INFO {password: "someone", "not-the-token"}
      const user = Buffer.from('someone');
      const password = Buffer.from('not-the-token');
      const metadata = Buffer.concat([Buffer.from([user.length, password.length, 0]), user, password]);
      const extension = Buffer.concat([Buffer.from([0x02]), Buffer.alloc(4), metadata]);
      extension.writeUInt32LE(metadata.length, 1);
      ws.send(Buffer.concat([Buffer.from([0x05, 0, 0, 0, 0, 2, 0]), extension]));
    }
  });
  expect(await closed).toBe(4401);
  expect(packets.at(-1)).toEqual(Buffer.from([0x04, 0, 0, 0, 0, 0xc0]));

  const v1 = new WebSocket(url);
  onTestFinished(() => v1.terminate());
  expect(await new Promise((resolve) => v1.on('close', (code) => resolve(code)))).toBe(4401);
  await until(() => gw.app.socketgate.stats().sessions === 0, 5000, 'both sessions gone');
});

it('lets a v1 client present its token in the URL, and answers CONTINUE on stream 0', async () => {
  const { url } = await wispGateway();
  const ws = new WebSocket(`${url}?token=${TEST_TOKEN}`);
  onTestFinished(() => ws.terminate());
  const first = await new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
  expect(first).toEqual(Buffer.from([0x03, 0, 0, 0, 0, 128, 0, 0, 0]));
});

it('speaks v2 with a client that offers any subprotocol, answering the one it offered (epoxy-tls offers a random one)', async () => {
  const { url } = await wispGateway();
  const ws = new WebSocket(`${url}?token=${TEST_TOKEN}`, ['0b8e6a4e-5d6c-4c4f-9a51-3f2e1d0c9b8a', 'another']);
  onTestFinished(() => ws.terminate());
  const first = await new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
  expect(ws.protocol).toBe('0b8e6a4e-5d6c-4c4f-9a51-3f2e1d0c9b8a');
  // INFO (0x05) on stream 0, version 2.0: the v2 handshake, not v1's CONTINUE.
  expect([...first.subarray(0, 7)]).toEqual([0x05, 0, 0, 0, 0, 2, 0]);
});

it('answers 404 to Wisp upgrades when no wisp.path is set', async () => {
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  const ws = new WebSocket(gw.url.replace(/\/v1\/socket$/, '/wisp/'), 'wisp-v2');
  ws.on('error', () => {});
  const status = await new Promise<number | undefined>((resolve) => {
    ws.on('unexpected-response', (request, response) => {
      resolve(response.statusCode);
      request.destroy();
    });
    ws.on('open', () => {
      resolve(undefined);
      ws.terminate();
    });
  });
  expect(status).toBe(404);
});

it('holds Wisp sessions to the same limits: streams per session (0x49), the idle timeout (0x47), a graceful drain (1001)', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const { gw, url } = await wispGateway({ maxStreamsPerSession: 2, streamIdleTimeoutMs: 400 });
  const connection = await connectWisp(url);
  const first = connection.create_stream('127.0.0.1', echo.port, 'tcp');
  const second = connection.create_stream('127.0.0.1', echo.port, 'tcp');
  const firstClosed = closeOf(first);
  const secondClosed = closeOf(second);
  expect(await closeOf(connection.create_stream('127.0.0.1', echo.port, 'tcp'))).toBe(0x49);
  // Both idle out with nothing sent either way.
  expect(await firstClosed).toBe(0x47);
  expect(await secondClosed).toBe(0x47);

  const third = connection.create_stream('127.0.0.1', echo.port, 'tcp');
  const echoed: string[] = [];
  third.onmessage = (bytes) => echoed.push(Buffer.from(bytes).toString());
  third.send(Buffer.from('still open'));
  await until(() => echoed.join('') === 'still open', 5000, 'the echo');
  const wsClosed = new Promise<number>((resolve) => connection.ws.once('close', (code: number) => resolve(code)));
  await gw.app.socketgate.drain(200);
  expect(await wsClosed).toBe(1001);
  expect(gw.app.socketgate.stats().sessions).toBe(0);
});

it("refuses a transport the credential does not allow with 0x48, and lets a client's CLOSE 0x01 write what it sent first", async () => {
  let received = '';
  let ended = false;
  const sink = await startServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on('end', () => {
      ended = true;
    });
  });
  onTestFinished(() => sink.close());
  const echo = await startUdpEcho();
  onTestFinished(() => echo.close());
  const secret = 'a-shared-secret-of-at-least-32-characters!';
  const { url } = await wispGateway({ jwt: { secret, algorithms: ['HS256'], audience: 'wisp-test' } });
  const jwt = await new SignJWT({ sub: 'user:tcp-only', transports: ['tcp'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('wisp-test')
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode(secret));
  const connection = await connectWisp(url, jwt);
  expect(await closeOf(connection.create_stream('127.0.0.1', echo.port, 'udp'))).toBe(0x48);
  const stream = connection.create_stream('127.0.0.1', sink.port, 'tcp');
  stream.send(Buffer.from('every byte, '));
  stream.send(Buffer.from('then the FIN'));
  stream.close();
  await until(() => ended, 5000, 'the FIN');
  expect(received).toBe('every byte, then the FIN');
});

it('confirms a TCP stream with a CONTINUE once its target is connected, for a client that names the stream-open confirmation extension', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const { url } = await wispGateway();
  const ws = new WebSocket(url, 'wisp-v2');
  onTestFinished(() => ws.terminate());
  const packets: Buffer[] = [];
  ws.on('message', (data: Buffer) => packets.push(data));
  await until(() => packets.length > 0, 5000, 'the INFO');
  expect(packets[0]?.[0]).toBe(0x05);
  const password = Buffer.from(TEST_TOKEN);
  const metadata = Buffer.concat([Buffer.from([0, password.length, 0]), password]);
  const extension = (id: number, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.writeUInt8(id, 0);
    head.writeUInt32LE(body.length, 1);
    return Buffer.concat([head, body]);
  };
  ws.send(Buffer.concat([Buffer.from([0x05, 0, 0, 0, 0, 2, 0]), extension(0x05, Buffer.alloc(0)), extension(0x02, metadata)]));
  await until(() => packets.length > 1, 5000, 'the CONTINUE on stream 0');
  expect(packets[1]).toEqual(Buffer.from([0x03, 0, 0, 0, 0, 128, 0, 0, 0]));
  const connect = Buffer.alloc(8);
  connect.writeUInt8(0x01, 0);
  connect.writeUInt32LE(1, 1);
  connect.writeUInt8(0x01, 5);
  connect.writeUInt16LE(echo.port, 6);
  ws.send(Buffer.concat([connect, Buffer.from('127.0.0.1')]));
  await until(() => packets.length > 2, 5000, 'the confirmation');
  expect(packets[2]).toEqual(Buffer.from([0x03, 1, 0, 0, 0, 128, 0, 0, 0]));
  ws.send(Buffer.concat([Buffer.from([0x02, 1, 0, 0, 0]), Buffer.from('echo me')]));
  await until(() => packets.some((packet) => packet[0] === 0x02), 5000, 'the echo');
  expect(packets.find((packet) => packet[0] === 0x02)).toEqual(Buffer.concat([Buffer.from([0x02, 1, 0, 0, 0]), Buffer.from('echo me')]));
});

it('survives random packets on a live connection: the gateway stays up and a new connection works', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const lines: string[] = [];
  const { gw, url } = await wispGateway({ logger: { level: 'debug', stream: { write: (line: string) => lines.push(line) } } });
  const hostile = await connectWisp(url);
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const packet = Buffer.alloc(random(40));
    for (let at = 0; at < packet.length; at++) packet[at] = random(256);
    // Mostly the known types, on small stream ids, so that they reach the parsers behind them.
    if (packet.length > 0) packet[0] = random(7);
    if (packet.length > 4) packet.writeUInt32LE(random(4), 1);
    hostile.ws.send(packet);
  }
  await sleep(200);
  expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  const stream = (await connectWisp(url)).create_stream('127.0.0.1', echo.port, 'tcp');
  const echoed: string[] = [];
  stream.onmessage = (bytes) => echoed.push(Buffer.from(bytes).toString());
  stream.send(Buffer.from('still fine'));
  await until(() => echoed.join('') === 'still fine', 5000, 'the echo on a new connection');
  // Every bad packet was the client's fault, never a fault of the gateway's own.
  expect(lines.filter((line) => line.includes('internal error'))).toEqual([]);
});

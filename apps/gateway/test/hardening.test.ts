import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { createGateway } from '@socketgate/gateway';
import { CloseCode, PROTOCOL_VERSION } from '@socketgate/protocol';
import { QAbstractSocket, QNetworkProxy, QTcpSocket, QUdpSocket } from '@socketgate/sdk';
import {
  freeUdpPort,
  nextSignal,
  Opcode,
  type RawSession,
  type RawWebSocket,
  type RunningGateway,
  rawSession,
  rawWebSocket,
  startGateway,
  startServer,
  TEST_TOKEN,
  until,
  writeInPieces,
} from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { run } from './cli-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

async function gateway(options: Parameters<typeof startGateway>[0] = {}) {
  const gw = await startGateway(options);
  onTestFinished(() => gw.close());
  return gw;
}

const portOf = (url: string) => Number(new URL(url).port);

/** Samples the gateway's own count of held bytes until it stops moving (the stalled pipeline is full); the peak. */
async function peakHeld(gw: RunningGateway): Promise<number> {
  let most = 0;
  let last = -1;
  for (let quiet = 0; quiet < 5; ) {
    const held = gw.app.socketgate.stats().bufferedBytes;
    most = Math.max(most, held);
    quiet = held === last ? quiet + 1 : 0;
    last = held;
    await sleep(100);
  }
  return most;
}

/** How many client connections the gateway cut for `reason` (socketgate_connections_cut_total). */
async function cuts(gw: RunningGateway, reason: string): Promise<number> {
  const { values } = await gw.app.socketgate.metrics.cuts.get();
  return values.find((value) => value.labels.reason === reason)?.value ?? 0;
}

async function alive(url: string): Promise<void> {
  const session = await rawSession(url, TEST_TOKEN);
  session.close();
}

describe('close reasons', () => {
  it.each([
    ['a type of 50 × €', JSON.stringify({ type: '€'.repeat(50) })],
    ['a hello whose token is 8,000 × 😀', JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token: '😀'.repeat(2000) })],
    ['an unknown field named in 4-byte characters', JSON.stringify({ type: 'hello', version: 1, token: 'x', ['𝄞'.repeat(60)]: 1 })],
    ['a wrong version with lone surrogates after it', `{"type":"hello","version":2,"token":"${'\\ud800'.repeat(80)}"}`],
    ['a message of another type first', JSON.stringify({ type: 'close', stream: 1, ['€'.repeat(40)]: 0 })],
  ])('closes a session whose first message is %s with a reason that fits, and the gateway goes on', async (_name, message) => {
    const gw = await gateway();
    const session = await rawSession(gw.url, TEST_TOKEN, { hello: false });
    session.ws.send(message);
    const closed = await session.closed;
    expect([CloseCode.PROTOCOL_ERROR, CloseCode.UNAUTHORIZED, CloseCode.VERSION_MISMATCH]).toContain(closed.code);
    expect(utf8Bytes(closed.reason)).toBeLessThanOrEqual(123);
    await alive(gw.url);
  });
});

describe('bad messages for new streams', () => {
  it('answers a malformed open for the stream id it names, which is then spent', async () => {
    const gw = await gateway();
    const session = await rawSession(gw.url, TEST_TOKEN);
    onTestFinished(() => session.close());
    session.send({ type: 'open', stream: 7, transport: 'tcp', host: 'evil.test\u0000.example.org', port: 7000, window: 1024 });
    const reply = await session.message('protocol-error');
    expect(reply).toMatchObject({ stream: 7, code: 'BAD_MESSAGE' });
    expect(reply.message).toMatch(/^host: /);
    session.send({ type: 'open', stream: 7, transport: 'tcp', host: '127.0.0.1', port: 7000, window: 1024 });
    expect(await session.message('protocol-error', (m) => m.code === 'STREAM_ID_REUSED')).toBeDefined();
  });
});

describe('connections and limits', () => {
  it('cuts clients that never answer the close handshake after closeTimeoutMs, counting them until then', async () => {
    const gw = await gateway({ closeTimeoutMs: 400, maxConnectionsPerAddress: 6 });
    const silent: RawWebSocket[] = [];
    for (let i = 0; i < 5; i++) {
      const client = await rawWebSocket(gw.url, { answerClose: false });
      client.write(client.text('{"type":"nope"}'));
      silent.push(client);
    }
    // Each was closed by the gateway (4400) but has not answered: every one still holds its connection.
    await until(() => silent.every((client) => client.frames.some((frame) => frame.opcode === Opcode.CLOSE)), 5000, 'the close frames');
    expect(gw.app.socketgate.stats().sessions).toBe(5);
    await rawWebSocket(gw.url, { answerClose: false }).then((extra) => onTestFinished(() => extra.destroy()));
    // Past maxConnectionsPerAddress a new connection is cut at once.
    await expect(rawWebSocket(gw.url)).rejects.toThrow(/ended during the WebSocket handshake/);
    // After closeTimeoutMs the gateway terminates them, and the address can connect again.
    await Promise.all(silent.map((client) => client.ended));
    expect(await cuts(gw, 'close')).toBe(5);
    expect(await cuts(gw, 'connections')).toBe(1);
    await until(() => gw.app.socketgate.stats().sessions <= 1, 5000, 'the silent sessions gone');
    await alive(gw.url);
  });

  it('does not let sockets that never say hello lock out a client of the same address', async () => {
    const gw = await gateway({ helloTimeoutMs: 60_000, maxPendingSessionsPerAddress: 4, maxSessionsPerAddress: 4 });
    const waiting: RawSession[] = [];
    for (let i = 0; i < 10; i++) waiting.push(await rawSession(gw.url, TEST_TOKEN, { hello: false }));
    onTestFinished(() => {
      for (const session of waiting) session.close();
    });
    // The oldest ones were closed to make room.
    const first = await waiting[0]?.closed;
    expect(first).toEqual({ code: CloseCode.TOO_MANY_SESSIONS, reason: 'too many sessions from this address are waiting to say hello' });
    const valid = await rawSession(gw.url, TEST_TOKEN);
    onTestFinished(() => valid.close());
    expect(valid.ws.readyState).toBe(WebSocket.OPEN);
    await until(() => gw.app.socketgate.stats().sessions <= 5, 5000, 'at most the pending limit and the valid session');
    // 11 sockets waited for hello (the valid one too, until its hello), 4 at a time.
    expect(await cuts(gw, 'pending')).toBe(7);
  });

  it('cuts a connection whose request headers are not complete within handshakeTimeoutMs', async () => {
    const gw = await gateway({ handshakeTimeoutMs: 300 });
    const port = portOf(gw.url);
    const half = net.connect({ host: '127.0.0.1', port });
    half.on('error', () => {});
    half.write('GET /v1/socket HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = net.connect({ host: '127.0.0.1', port });
    trickle.on('error', () => {});
    const header = `GET /v1/socket HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}`;
    let sent = 0;
    const drip = setInterval(() => {
      if (!trickle.destroyed) trickle.write(header[sent++ % header.length] as string);
    }, 50);
    onTestFinished(() => clearInterval(drip));
    // (`once` would reject on the ECONNRESET a cut connection may bring.)
    await Promise.all([half, trickle].map((socket) => new Promise((resolve) => socket.on('close', resolve))));
    clearInterval(drip);
    expect(sent).toBeLessThan(header.length);
    expect(await cuts(gw, 'handshake')).toBe(2);
    await alive(gw.url);
  });

  it('cuts a client that answers no ping, and keeps one that does', async () => {
    const gw = await gateway({ pingIntervalMs: 150 });
    const mute = await rawWebSocket(gw.url, { answerClose: false });
    mute.write(mute.text(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token: TEST_TOKEN })));
    const answering = await rawSession(gw.url, TEST_TOKEN);
    onTestFinished(() => answering.close());
    await mute.ended;
    expect(mute.frames.some((frame) => frame.opcode === Opcode.PING)).toBe(true);
    expect(await cuts(gw, 'ping')).toBe(1);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    // Several more intervals pass: the session that answers its pings stays.
    await sleep(600);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('buffers per session, both ways', () => {
  it('holds at most sessionUploadBytes of upload for a session whose targets all stall, and delivers every byte later', async () => {
    const STREAMS = 6;
    const EACH = 8 * MiB;
    const targets: net.Socket[] = [];
    const received = new Map<net.Socket, { bytes: number; hash: ReturnType<typeof createHash> }>();
    const server = await startServer((socket) => {
      socket.pause();
      targets.push(socket);
      const entry = { bytes: 0, hash: createHash('sha256') };
      received.set(socket, entry);
      socket.on('data', (chunk: Buffer) => {
        entry.bytes += chunk.byteLength;
        entry.hash.update(chunk);
      });
    });
    onTestFinished(() => server.close());
    const LIMIT = 2 * MiB;
    const gw = await gateway({ sessionUploadBytes: LIMIT, uploadWindowBytes: MiB, maxMessageBytes: 256 * KiB });
    const client = gw.client();
    const data = randomBytes(EACH);
    const expected = createHash('sha256').update(data).digest('hex');
    const sockets = [];
    for (let i = 0; i < STREAMS; i++) {
      const socket = new QTcpSocket({ gateway: client });
      socket.connectToHost('127.0.0.1', server.port);
      expect(await socket.waitForConnected(5000)).toBe(true);
      sockets.push(socket);
    }
    // While the session's reading is paused no message of it is read, new streams included: connect first.
    for (const socket of sockets) socket.write(data);
    await until(() => targets.length === STREAMS, 5000, 'every target connection');
    const most = await peakHeld(gw);
    // Without the session bound each stream would hold its whole 1 MiB window: 6 MiB.
    expect(most).toBeLessThanOrEqual(LIMIT + 256 * KiB + 64 * KiB);
    expect((await gw.app.socketgate.metrics.uploadPauses.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
    for (const target of targets) target.resume();
    await until(() => [...received.values()].every((entry) => entry.bytes === EACH), 60_000, 'every upload');
    for (const entry of received.values()) expect(entry.hash.digest('hex')).toBe(expected);
  });

  it('keeps the WebSocket send buffer near sessionBufferBytes when many streams flood a client that stopped reading', async () => {
    const STREAMS = 16;
    const server = await startServer((socket) => {
      const block = randomBytes(8 * MiB);
      writeInPieces(socket, block, [8 * MiB], { end: false });
    });
    onTestFinished(() => server.close());
    const LIMIT = MiB;
    const gw = await gateway({ sessionBufferBytes: LIMIT });
    const session = await rawSession(gw.url, TEST_TOKEN);
    onTestFinished(() => session.close());
    session.ws.pause();
    for (let stream = 1; stream <= STREAMS; stream++) {
      session.send({ type: 'open', stream, transport: 'tcp', host: '127.0.0.1', port: server.port, window: 8 * MiB });
    }
    await until(() => gw.app.socketgate.stats().streams === STREAMS, 5000, 'every stream');
    const most = await peakHeld(gw);
    expect(most).toBeGreaterThan(0);
    // One small read per stream at most beyond the limit (a read cannot be of zero bytes).
    expect(most).toBeLessThanOrEqual(LIMIT + 256 * KiB + STREAMS * KiB);
  });
});

describe('UDP ports and proxies', () => {
  it("never binds beside a local service's port with ShareAddress, but lets one session's sockets share a port", async () => {
    const port = await freeUdpPort();
    const service = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    let served = 0;
    service.on('message', () => served++);
    await new Promise<void>((resolve) => service.bind(port, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => service.close(() => resolve())));
    const gw = await gateway();
    const client = gw.client();
    const thief = new QUdpSocket({ gateway: client });
    thief.bind('127.0.0.1', port, QAbstractSocket.ShareAddress);
    await nextSignal(thief.errorOccurred);
    expect(thief.error()).toBe(QAbstractSocket.AddressInUseError);
    const sender = dgram.createSocket('udp4');
    onTestFinished(() => new Promise<void>((resolve) => sender.close(() => resolve())));
    for (let i = 0; i < 20; i++) sender.send('hello', port, '127.0.0.1');
    await until(() => served === 20, 5000, 'every datagram to the service');

    // One session's own sockets may share a free port; another session may not join them.
    const shared = await freeUdpPort();
    const first = new QUdpSocket({ gateway: client });
    // bind() is BoundState at once, as in Qt; the gateway's bind of the first sharer is done a moment later.
    first.bind('127.0.0.1', shared, QAbstractSocket.ShareAddress);
    await sleep(200);
    const second = new QUdpSocket({ gateway: client });
    second.bind('127.0.0.1', shared, QAbstractSocket.ShareAddress);
    await sleep(200);
    expect([first.state(), second.state(), second.error()]).toEqual([
      QAbstractSocket.BoundState,
      QAbstractSocket.BoundState,
      QAbstractSocket.UnknownSocketError,
    ]);
    const stranger = new QUdpSocket({ gateway: gw.client() });
    stranger.bind('127.0.0.1', shared, QAbstractSocket.ShareAddress);
    await nextSignal(stranger.errorOccurred);
    expect(stranger.error()).toBe(QAbstractSocket.AddressInUseError);
  });

  it('keeps no stream that failed at once (a bind to a protected port)', async () => {
    const gw = await gateway();
    const socket = new QUdpSocket({ gateway: gw.client() });
    socket.bind('127.0.0.1', 80);
    await nextSignal(socket.errorOccurred);
    expect(socket.error()).toBe(QAbstractSocket.SocketAccessError);
    expect(gw.app.socketgate.stats().streams).toBe(0);
  });

  it("refuses a client's own SOCKS5 proxy when the operator sends everything through an upstream proxy", async () => {
    const gw = await gateway({ clientProxies: true, upstreamProxy: 'socks5://127.0.0.1:9' });
    const socket = new QTcpSocket({ gateway: gw.client() });
    socket.setProxy(new QNetworkProxy(QNetworkProxy.Socks5Proxy, '127.0.0.1', 1080));
    socket.connectToHost('127.0.0.1', 7000);
    expect(await socket.waitForConnected(5000)).toBe(false);
    expect([socket.error(), socket.errorString()]).toEqual([
      QAbstractSocket.SocketAccessError,
      "Permission denied: the gateway sends every connection through its own proxy, so it does not take the client's",
    ]);
  });
});

describe('secrets', () => {
  it('never logs a token put in the URL query', async () => {
    const CANARY = 'canary-token-in-the-url-0123456789';
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const app = await createGateway({ tokens: [TEST_TOKEN], metricsPort: 0, logger: { level: 'debug', stream } });
    onTestFinished(() => app.close());
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const session = await rawSession(`${address.replace(/^http/, 'ws')}/v1/socket?token=${CANARY}`, TEST_TOKEN);
    session.close();
    await fetch(`${address}/healthz?token=${CANARY}`);
    await until(() => lines.some((line) => line.includes('/healthz')), 5000, 'the request log line');
    expect(lines.join('\n')).not.toContain(CANARY);
  });

  it('serves /metrics on the main port only to a direct loopback peer unless metricsPublic is set', async () => {
    const gw = await gateway();
    const get = (remoteAddress: string, headers: Record<string, string> = {}) =>
      gw.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers }).then((reply) => reply.statusCode);
    expect(await get('127.0.0.1')).toBe(200);
    expect(await get('::1')).toBe(200);
    expect(await get('203.0.113.9')).toBe(404);
    expect(await get('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })).toBe(404);
    const open = await gateway({ metricsPublic: true });
    expect((await open.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9' })).statusCode).toBe(200);
  });

  it("--print-config hides the upstream proxy's password", async () => {
    const cli = run(['--print-config', '--upstream-proxy', 'socks5://bob:hunter2-secret@127.0.0.1:1080']);
    const [code] = await once(cli.child, 'exit');
    expect(code).toBe(0);
    const printed = cli.lines.join('\n');
    expect(printed).toContain('socks5://bob:redacted@127.0.0.1:1080');
    expect(printed).not.toContain('hunter2-secret');
  });
});

describe('the demo', () => {
  it('gives its token only to pages on a loopback name, and accepts only loopback origins', async () => {
    const cli = run(['--port', '0', '--demo', '--demo-port', '0']);
    const [, url = ''] = await cli.line(/^socketgate listening on (ws:\/\/127\.0\.0\.1:\d+\/v1\/socket)$/);
    const port = portOf(url);
    const demo = (host: string, origin?: string) =>
      new Promise<number>((resolve, reject) => {
        const request = net.connect({ host: '127.0.0.1', port }, () => {
          request.write(`GET /demo.json HTTP/1.1\r\nHost: ${host}\r\n${origin ? `Origin: ${origin}\r\n` : ''}Connection: close\r\n\r\n`);
        });
        let answer = '';
        request.on('data', (chunk: Buffer) => {
          answer += chunk.toString();
        });
        request.on('end', () => resolve(Number(answer.slice(9, 12))));
        request.on('error', reject);
      });
    expect(await demo(`127.0.0.1:${port}`)).toBe(200);
    expect(await demo(`localhost:${port}`)).toBe(200);
    expect(await demo(`127.0.0.1:${port}`, `http://localhost:${port}`)).toBe(200);
    expect(await demo(`rebound.example:${port}`)).toBe(403);
    expect(await demo(`127.0.0.1:${port}`, 'http://rebound.example')).toBe(403);
    const upgrade = (origin: string) =>
      rawWebSocket(url, { origin }).then(
        (socket) => {
          socket.destroy();
          return 101;
        },
        (error: Error) => Number(/HTTP\/1\.1 (\d{3})/.exec(error.message)?.[1]),
      );
    expect(await upgrade(`http://127.0.0.1:${port}`)).toBe(101);
    expect(await upgrade('http://localhost:5173')).toBe(101);
    expect(await upgrade('http://rebound.example')).toBe(403);
    expect(await upgrade(`http://127.0.0.1.rebound.example:${port}`)).toBe(403);
  });
});

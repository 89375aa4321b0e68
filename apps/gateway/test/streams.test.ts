import type net from 'node:net';
import { encodeCredit, encodeData } from '@socketgate/protocol';
import { QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { rawSession, startEchoServer, startGateway, startServer, until } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';

async function setup(options: Parameters<typeof startGateway>[0] = {}) {
  const echo = await startEchoServer();
  const gw = await startGateway(options);
  onTestFinished(() => gw.close());
  onTestFinished(() => echo.close());
  const session = await rawSession(gw.url, gw.token);
  onTestFinished(() => session.close());
  return { echo, gw, session };
}

const open = (stream: number, port: number, window = 65536) => ({
  type: 'open',
  stream,
  transport: 'tcp',
  host: '127.0.0.1',
  port,
  window,
});

describe('egress allow-list', () => {
  it('refuses a destination no --allow rule names with SocketAccessError, and never connects to it', async () => {
    let attempts = 0;
    const target = await startServer(() => {
      attempts++;
    });
    const allowed = await startEchoServer();
    const gw = await startGateway({ allow: [`127.0.0.1/32:${allowed.port}`, `localhost:${allowed.port}`] });
    onTestFinished(() => gw.close());
    onTestFinished(() => target.close());
    onTestFinished(() => allowed.close());
    const gateway = gw.client();

    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      const socket = new QTcpSocket({ gateway });
      socket.connectToHost(host, target.port);
      expect(await socket.waitForConnected(5000)).toBe(false);
      expect(socket.error()).toBe(QAbstractSocket.SocketAccessError);
      expect(socket.errorString()).toMatch(
        host === '::1'
          ? /^Permission denied: ::1 is a special-purpose address \(loopback\), which the default policy refuses$/
          : /^Permission denied: no rule of the gateway's egress policy allows/,
      );
    }
    // ::1 is not allowed even on the allowed port: only 127.0.0.1 and the name localhost are.
    const v6 = new QTcpSocket({ gateway });
    v6.connectToHost('::1', allowed.port);
    expect(await v6.waitForConnected(5000)).toBe(false);
    expect(v6.error()).toBe(QAbstractSocket.SocketAccessError);

    const ok = new QTcpSocket({ gateway });
    ok.connectToHost('localhost', allowed.port);
    expect(await ok.waitForConnected(5000)).toBe(true);
    expect(ok.peerAddress().toString()).toBe('127.0.0.1');
    expect(attempts).toBe(0);
  });
});

describe('stream protocol', () => {
  it('reports a peer that resets as it accepts as connected, then reset (Qt connects, then closes), never as a failed connect', async () => {
    const { session } = await setup();
    const peer = await startServer((socket) => socket.resetAndDestroy());
    onTestFinished(() => peer.close());
    session.send(open(1, peer.port, 4));
    await session.message('connected', (m) => m.stream === 1);
    expect(await session.message('end', (m) => m.stream === 1)).toEqual({ type: 'end', stream: 1, reset: true });
    expect(session.received.some((r) => r.kind === 'message' && r.message.type === 'error')).toBe(false);
  });

  it('connects, relays data within credit, acknowledges writes, and closes after the flush', async () => {
    const { echo, session } = await setup();
    session.send(open(1, echo.port, 4));
    await session.message('resolved', (m) => m.stream === 1);
    const connected = await session.message('connected', (m) => m.stream === 1);
    expect(connected).toMatchObject({
      peerAddress: '127.0.0.1',
      peerPort: echo.port,
      localAddress: '127.0.0.1',
      options: { LowDelayOption: 0, KeepAliveOption: 0 },
    });
    expect(connected.window).toBe(1024 * 1024);
    session.sendBinary(encodeData(1, new TextEncoder().encode('abcdefgh')));
    // Only 4 bytes of credit: the gateway sends 4 and holds the rest.
    await until(() => session.received.some((r) => r.kind === 'frame' && r.frame.kind === 'ack'), 5000, 'the ack');
    await until(() => session.received.some((r) => r.kind === 'frame' && r.frame.kind === 'data'), 5000, 'data');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const data = () =>
      session.received
        .flatMap((r) => (r.kind === 'frame' && r.frame.kind === 'data' ? [new TextDecoder().decode(r.frame.payload)] : []))
        .join('');
    expect(data()).toBe('abcd');
    session.sendBinary(encodeCredit(1, 100));
    await until(() => data() === 'abcdefgh', 5000, 'the rest after credit');
    const acks = session.received.flatMap((r) => (r.kind === 'frame' && r.frame.kind === 'ack' ? [r.frame.bytes] : []));
    expect(acks.reduce((a, b) => a + b, 0)).toBe(8);
    session.send({ type: 'close', stream: 1 });
    await session.message('closed', (m) => m.stream === 1);
    await until(() => echo.sockets.size === 0, 5000, 'the real socket closed');
  });

  it('answers set-option with the effective value, and null for options it cannot set', async () => {
    const { echo, session } = await setup();
    session.send(open(1, echo.port));
    await session.message('connected');
    session.send({ type: 'set-option', stream: 1, option: 'LowDelayOption', value: 5 });
    expect(await session.message('option')).toEqual({ type: 'option', stream: 1, option: 'LowDelayOption', value: 1 });
    session.send({ type: 'set-option', stream: 1, option: 'TypeOfServiceOption', value: 32 });
    expect(await session.message('option')).toEqual({ type: 'option', stream: 1, option: 'TypeOfServiceOption', value: null });
  });

  it('ends only the offending stream for data beyond the window or before connect', async () => {
    const { echo, session } = await setup({ uploadWindowBytes: 128 * 1024 });
    session.send(open(1, echo.port));
    session.send(open(2, echo.port));
    await session.message('connected', (m) => m.stream === 1);
    await session.message('connected', (m) => m.stream === 2);
    session.sendBinary(encodeData(1, new Uint8Array(200 * 1024)));
    expect(await session.message('protocol-error')).toMatchObject({ stream: 1, code: 'WINDOW_EXCEEDED' });
    session.send({ type: 'open', stream: 3, transport: 'tcp', host: 'nosuchhost.invalid', port: 1, window: 1 });
    session.sendBinary(encodeData(3, new Uint8Array(1)));
    expect(await session.message('protocol-error')).toMatchObject({
      stream: 3,
      code: 'NOT_CONNECTED',
      message: 'stream 3: data before the stream is connected',
    });
    // Stream 2 is untouched.
    session.sendBinary(encodeData(2, new TextEncoder().encode('still here')));
    await until(
      () => session.received.some((r) => r.kind === 'frame' && r.frame.kind === 'data' && r.frame.stream === 2),
      5000,
      'stream 2 echo',
    );
    await until(() => echo.sockets.size === 1, 5000, 'stream 1 closed on the gateway');
  });

  it('refuses a reused stream id, reports a never-opened one, and drops messages for ended streams', async () => {
    const { echo, session } = await setup();
    session.send(open(5, echo.port));
    await session.message('connected');
    session.send(open(5, echo.port));
    expect(await session.message('protocol-error')).toMatchObject({
      code: 'STREAM_ID_REUSED',
      message: 'stream: 5 is not above 5, the last stream id this session used',
    });
    session.send(open(4, echo.port));
    expect(await session.message('protocol-error')).toMatchObject({ code: 'STREAM_ID_REUSED' });
    session.send({ type: 'abort', stream: 9 });
    expect(await session.message('protocol-error')).toEqual({
      type: 'protocol-error',
      code: 'UNKNOWN_STREAM',
      message: 'abort: stream 9 was never opened',
    });
    session.send({ type: 'abort', stream: 5 });
    await session.message('closed', (m) => m.stream === 5);
    // Messages that crossed the end on the wire are dropped silently.
    session.send({ type: 'abort', stream: 5 });
    session.sendBinary(encodeCredit(5, 10));
    session.sendBinary(encodeData(5, new Uint8Array(3)));
    session.send(open(6, echo.port));
    await session.message('connected', (m) => m.stream === 6);
    expect(session.received.filter((r) => r.kind === 'message' && r.message.type === 'protocol-error')).toHaveLength(3);
  });

  it('delivers every byte the peer sent before its close, then end', async () => {
    const payload = Buffer.alloc(300_000, 7);
    const server = await startServer((socket: net.Socket) => socket.end(payload));
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    onTestFinished(() => server.close());
    const session = await rawSession(gw.url, gw.token);
    onTestFinished(() => session.close());
    session.send(open(1, server.port, 1000));
    await session.message('connected');
    const received = () =>
      session.received.reduce((n, r) => n + (r.kind === 'frame' && r.frame.kind === 'data' ? r.frame.payload.byteLength : 0), 0);
    await until(() => received() === 1000, 5000, 'the first window');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(session.received.some((r) => r.kind === 'message' && r.message.type === 'end')).toBe(false);
    for (let sent = 1000; sent < payload.byteLength; sent += 50_000) session.sendBinary(encodeCredit(1, 50_000));
    await session.message('end');
    expect(received()).toBe(payload.byteLength);
    const endIndex = session.received.findIndex((r) => r.kind === 'message' && r.message.type === 'end');
    expect(session.received.slice(endIndex + 1).some((r) => r.kind === 'frame')).toBe(false);
  });

  it('limits streams per session with SocketResourceError', async () => {
    const { echo, session } = await setup({ maxStreamsPerSession: 2 });
    for (const stream of [1, 2, 3]) session.send(open(stream, echo.port));
    expect(await session.message('error', (m) => m.stream === 3)).toMatchObject({ error: 'SocketResourceError' });
    await session.message('connected', (m) => m.stream === 2);
  });
});

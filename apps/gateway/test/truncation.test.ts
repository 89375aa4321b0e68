import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { QAbstractSocket, QTcpSocket, type WebSocketConstructor } from '@socketgate/sdk';
import { type RunningGateway, recordSignals, startGateway, startServer, until } from '@socketgate/testkit';
import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';

const KiB = 1024;
const MiB = 1024 * KiB;
const TOTAL = 64 * MiB;
const CUT_AT = 16 * MiB;
const RESET_TEXT = 'The remote host closed the connection (connection reset by peer)';
const upload = randomBytes(TOTAL);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

interface UploadTarget {
  port: number;
  /** Bytes received so far. */
  readonly received: number;
  /** How the connection ended: 'fin', 'reset', or another error code; undefined while open. */
  readonly ended: string | undefined;
  /** SHA-256 of everything received, once the connection ended. */
  readonly digest: string | undefined;
  /** Starts reading again after `stopReadingAt`. */
  resume(): void;
}

/**
 * A target that hashes what it receives and records how its connection ended. libuv reports a reset
 * that arrives behind unread bytes as an end, so an end is checked with a one-byte write: a
 * connection the peer closed with a FIN takes it (it is half-open), a reset one refuses it.
 */
async function startUploadTarget(stopReadingAt = Number.POSITIVE_INFINITY): Promise<UploadTarget> {
  const hash = createHash('sha256');
  let received = 0;
  let ended: string | undefined;
  let digest: string | undefined;
  let connection: net.Socket | undefined;
  let resumed = false;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    connection = socket;
    const settle = (how: string | undefined): void => {
      if (ended !== undefined) return;
      ended = how;
      digest = hash.digest('hex');
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.byteLength;
      if (received >= stopReadingAt && !resumed) socket.pause();
    });
    socket.on('end', () => socket.write(Buffer.of(0), (error) => settle(error ? 'reset' : 'fin')));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      settle(error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'reset' : error.code),
    );
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        connection?.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    get received() {
      return received;
    },
    get ended() {
      return ended;
    },
    get digest() {
      return digest;
    },
    resume: () => {
      resumed = true;
      connection?.resume();
    },
  };
}

/** The SDK's WebSockets, so a test can cut one. */
function capturingWebSocket(): { WebSocket: WebSocketConstructor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Capturing extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
    }
  }
  return { WebSocket: Capturing as unknown as WebSocketConstructor, sockets };
}

/** Connects an SDK socket to the target and hands it the whole upload. */
async function startUpload(gw: RunningGateway, target: UploadTarget, clientOptions: Parameters<RunningGateway['client']>[0] = {}) {
  const socket = new QTcpSocket({ gateway: gw.client(clientOptions) });
  socket.connectToHost('127.0.0.1', target.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  expect(socket.write(upload)).toBe(TOTAL);
  return socket;
}

/** The target saw a reset, never a clean end, and what it got is a strict prefix of the upload. */
async function expectCutWithReset(target: UploadTarget): Promise<void> {
  await until(() => target.ended !== undefined, 30_000, 'the target connection to end');
  expect(target.ended).toBe('reset');
  expect(target.received).toBeGreaterThan(0);
  expect(target.received).toBeLessThan(TOTAL);
  expect(target.digest).toBe(sha256(upload.subarray(0, target.received)));
}

describe('an upload cut because the session is lost reaches the target as a reset', () => {
  it('when the client WebSocket is terminated mid-upload', async () => {
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const capture = capturingWebSocket();
    const target = await startUploadTarget();
    const socket = await startUpload(gw, target, { WebSocket: capture.WebSocket });
    await until(() => target.received >= CUT_AT, 30_000, `${CUT_AT} bytes at the target`);
    expect(capture.sockets).toHaveLength(1);
    capture.sockets[0]?.terminate();
    await expectCutWithReset(target);
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 5000, 'the SDK to see the loss');
    expect(socket.error()).toBe(QAbstractSocket.ProxyConnectionClosedError);
  });

  it('when a drain with a short grace ends while the upload is in flight', async () => {
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    // The target stops reading midway, so the upload is still in flight when the grace ends.
    const target = await startUploadTarget(CUT_AT);
    const socket = await startUpload(gw, target);
    await until(() => target.received >= CUT_AT, 30_000, `${CUT_AT} bytes at the target`);
    expect(gw.app.socketgate.stats().streams).toBe(1);
    expect(socket.bytesToWrite()).toBeGreaterThan(0);
    await gw.app.socketgate.drain(100);
    expect(gw.app.socketgate.stats()).toMatchObject({ sessions: 0, streams: 0 });
    target.resume();
    await expectCutWithReset(target);
  });

  it('when the gateway ends the session because its credential expired', async () => {
    const secret = 'a-shared-secret-of-at-least-32-characters!';
    const gw = await startGateway({ jwt: { secret, algorithms: ['HS256'], audience: 'socketgate-test', clockToleranceSec: 0 } });
    onTestFinished(() => gw.close());
    const token = await new SignJWT({ sub: 'user:expiring' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('socketgate-test')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(new TextEncoder().encode(secret));
    const target = await startUploadTarget(CUT_AT);
    const socket = await startUpload(gw, target, { token });
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 10_000, 'the expiry');
    expect(socket.errorString()).toBe('Proxy authentication failed (gateway closed the session with 4440: the credential expired)');
    target.resume();
    await expectCutWithReset(target);
  });

  it('when the gateway ends an idle stream', async () => {
    const gw = await startGateway({ streamIdleTimeoutMs: 300 });
    onTestFinished(() => gw.close());
    const target = await startUploadTarget(CUT_AT);
    const socket = await startUpload(gw, target);
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 10_000, 'the idle timeout');
    expect(socket.error()).toBe(QAbstractSocket.SocketTimeoutError);
    target.resume();
    await expectCutWithReset(target);
  });
});

describe('a stream the client ends itself', () => {
  it('disconnectFromHost after the whole upload: the target gets a clean end and every byte (SHA-256)', async () => {
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const target = await startUploadTarget();
    const socket = await startUpload(gw, target);
    const log = recordSignals(socket);
    socket.disconnectFromHost();
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 60_000, 'the graceful close');
    expect(log).toEqual(['stateChanged(ClosingState)', 'stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected']);
    await until(() => target.ended !== undefined, 10_000, 'the target connection to end');
    expect(target.ended).toBe('fin');
    expect(target.received).toBe(TOTAL);
    expect(target.digest).toBe(sha256(upload));
  });

  it('abort: the target gets a FIN after what was written, as from Qt on Linux (no lingering reset)', async () => {
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const target = await startUploadTarget();
    const socket = new QTcpSocket({ gateway: gw.client() });
    socket.connectToHost('127.0.0.1', target.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write(upload.subarray(0, 64 * KiB));
    await until(() => target.received === 64 * KiB, 10_000, 'the first bytes');
    socket.abort();
    await until(() => target.ended !== undefined, 10_000, 'the target connection to end');
    expect(target.ended).toBe('fin');
    expect(target.digest).toBe(sha256(upload.subarray(0, 64 * KiB)));
  });
});

describe('a target that ends the connection', () => {
  /** Receives everything the SDK socket gets until it is unconnected. */
  function reader(socket: QTcpSocket) {
    const hash = createHash('sha256');
    let received = 0;
    const take = (): void => {
      const bytes = socket.readAll();
      received += bytes.byteLength;
      hash.update(bytes);
    };
    socket.readyRead.connect(take);
    return {
      take,
      get received() {
        return received;
      },
      digest: () => hash.digest('hex'),
    };
  }

  const CLOSE_SEQUENCE = [
    'errorOccurred(RemoteHostClosedError)',
    'stateChanged(ClosingState)',
    'stateChanged(UnconnectedState)',
    'readChannelFinished',
    'disconnected',
  ];

  it('sends N bytes then resets: the bytes the kernel delivered, then RemoteHostClosedError saying it was a reset', async () => {
    const N = 4 * MiB;
    const data = randomBytes(N);
    const server = await startServer((peer) => peer.write(data, () => peer.resetAndDestroy()));
    onTestFinished(() => server.close());
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const socket = new QTcpSocket({ gateway: gw.client() });
    const log = recordSignals(socket);
    const got = reader(socket);
    socket.connectToHost('127.0.0.1', server.port);
    await until(() => socket.state() === QAbstractSocket.UnconnectedState && log.includes('disconnected'), 20_000, 'the reset');
    expect(log.filter((signal) => signal !== 'readyRead').slice(-CLOSE_SEQUENCE.length)).toEqual(CLOSE_SEQUENCE);
    expect(log.indexOf('errorOccurred(RemoteHostClosedError)')).toBeGreaterThan(log.lastIndexOf('readyRead'));
    expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
    expect(socket.errorString()).toBe(RESET_TEXT);
    got.take();
    expect(got.received).toBeLessThanOrEqual(N);
    expect(got.digest()).toBe(sha256(data.subarray(0, got.received)));
  });

  // Behind 64 KiB the gateway's last read fails with ECONNRESET; behind 1 MiB libuv reports the reset
  // as an end after a short read, and the gateway must still see that the connection was reset.
  it.each([
    ['a read buffer of 64 KiB', 64 * KiB, 1 * MiB],
    ['a read buffer of 1 MiB', 1 * MiB, 8 * MiB],
  ])('resets while its bytes wait unread behind %s: they are still delivered, then the reset', async (_name, readBufferSize, N) => {
    const data = randomBytes(N);
    const server = await startServer((peer) => peer.write(data));
    onTestFinished(() => server.close());
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const socket = new QTcpSocket({ gateway: gw.client() });
    socket.setReadBufferSize(readBufferSize);
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    const peer = await server.nextConnection();
    // The gateway has sent all the SDK takes and stopped reading; the rest waits in the kernels.
    await until(() => socket.bytesAvailable() === readBufferSize, 10_000, 'a full read buffer');
    const closed = new Promise((resolve) => peer.once('close', resolve));
    peer.resetAndDestroy();
    await closed;
    const log = recordSignals(socket);
    const got = reader(socket);
    got.take();
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 20_000, 'the reset');
    got.take();
    expect(got.received).toBeGreaterThan(readBufferSize);
    expect(got.received).toBeLessThanOrEqual(N);
    expect(got.digest()).toBe(sha256(data.subarray(0, got.received)));
    expect(log.filter((signal) => signal !== 'readyRead')).toEqual(CLOSE_SEQUENCE);
    expect(log.lastIndexOf('readyRead')).toBeLessThan(log.indexOf('errorOccurred(RemoteHostClosedError)'));
    expect(socket.errorString()).toBe(RESET_TEXT);
  });

  it('resets while the client closes with bytes still to write: RemoteHostClosedError, never a clean disconnect', async () => {
    const server = await startServer((peer) => {
      let received = 0;
      peer.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received >= MiB && !peer.destroyed) peer.resetAndDestroy();
      });
    });
    onTestFinished(() => server.close());
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const socket = new QTcpSocket({ gateway: gw.client() });
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write(upload);
    const log = recordSignals(socket);
    socket.disconnectFromHost();
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 20_000, 'the reset');
    // Qt's failed write while closing: errorOccurred, then the abort path.
    expect(log).toEqual([
      'stateChanged(ClosingState)',
      'errorOccurred(RemoteHostClosedError)',
      'aboutToClose',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
    expect(socket.errorString()).toBe(RESET_TEXT);
  });

  it('sends N bytes then ends: every byte, then RemoteHostClosedError with the text of a close', async () => {
    const N = 4 * MiB;
    const data = randomBytes(N);
    const server = await startServer((peer) => peer.end(data));
    onTestFinished(() => server.close());
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const socket = new QTcpSocket({ gateway: gw.client() });
    const log = recordSignals(socket);
    const got = reader(socket);
    socket.connectToHost('127.0.0.1', server.port);
    await until(() => socket.state() === QAbstractSocket.UnconnectedState && log.includes('disconnected'), 20_000, 'the close');
    expect(log.filter((signal) => signal !== 'readyRead').slice(-CLOSE_SEQUENCE.length)).toEqual(CLOSE_SEQUENCE);
    expect(log.indexOf('errorOccurred(RemoteHostClosedError)')).toBeGreaterThan(log.lastIndexOf('readyRead'));
    expect(socket.errorString()).toBe('The remote host closed the connection');
    got.take();
    expect(got.received).toBe(N);
    expect(got.digest()).toBe(sha256(data));
  });
});

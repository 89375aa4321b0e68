/**
 * Qt's tst_qtcpsocket (QT-SOCKETS.md §7.1), written afresh as SDK tests through a real gateway and
 * real loopback servers. Each test names the Qt case and its number in §7.1.
 */
import { QAbstractSocket, QTcpSocket, SocketOption } from '@socketgate/sdk';
import {
  closedPort,
  IMAP_GREETING,
  nextSignal,
  recordSignals,
  startBlackhole,
  startDownloadServer,
  startEchoServer,
  startGateway,
  startImapServer,
  startServer,
  startSinkServer,
  text,
  until,
} from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import { bytes, ConnectedState, captureWarnings, gatewayForTest, sleep, stopAfter, UnconnectedState } from './helpers.js';

const { OpenModeFlag } = QAbstractSocket;

/** The fresh-socket invariants of case #1. */
function expectFresh(socket: QAbstractSocket): void {
  expect(socket.state()).toBe(UnconnectedState);
  expect(socket.isSequential()).toBe(true);
  expect(socket.isOpen()).toBe(false);
  expect(socket.isValid()).toBe(false);
  expect(socket.socketType()).toBe(QAbstractSocket.TcpSocket);
  expect(socket.getChar()).toBeUndefined();
  expect(socket.bytesAvailable()).toBe(0);
  expect(socket.canReadLine()).toBe(false);
  expect(socket.readLine().byteLength).toBe(0);
  expect(socket.socketDescriptor()).toBe(-1);
  expect(socket.localPort()).toBe(0);
  expect(socket.localAddress().isNull()).toBe(true);
  expect(socket.peerPort()).toBe(0);
  expect(socket.peerAddress().isNull()).toBe(true);
  expect(socket.readChannelCount()).toBe(0);
  expect(socket.writeChannelCount()).toBe(0);
  expect(socket.error()).toBe(QAbstractSocket.UnknownSocketError);
  expect(socket.errorString()).toBe('Unknown error');
}

async function imapSetup() {
  const imap = stopAfter(await startImapServer());
  const gw = await gatewayForTest();
  return { imap, gw };
}

describe('tst_qtcpsocket', () => {
  it('#1 constructing: a fresh socket is Unconnected, not open, not valid, with no error', () => {
    QAbstractSocket.warnings = false;
    onTestFinished(() => {
      QAbstractSocket.warnings = true;
    });
    expectFresh(new QTcpSocket());
  });

  it('#6 socketDescriptor: -1 before connecting, an opaque positive id once connected', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    expect(socket.socketDescriptor()).toBe(-1);
    socket.connectToHost('127.0.0.1', imap.port);
    expect(socket.socketDescriptor()).toBe(-1);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.socketDescriptor()).toBeGreaterThan(0);
  });

  it('#7 blockingIMAP: greeting, pipelined commands answered in order, LOGOUT, close', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    while (!socket.canReadLine()) expect(await socket.waitForReadyRead(5000)).toBe(true);
    expect(text(socket.readLine())).toBe(IMAP_GREETING);
    socket.write('1 NOOP\r\n2 NOOP\r\n');
    expect(await socket.waitForBytesWritten(5000)).toBe(true);
    const lines: string[] = [];
    while (lines.length < 2) {
      if (!socket.canReadLine()) expect(await socket.waitForReadyRead(5000)).toBe(true);
      while (socket.canReadLine()) lines.push(text(socket.readLine()));
    }
    expect(lines).toEqual(['1 OK NOOP completed\r\n', '2 OK NOOP completed\r\n']);
    // A write does not clear the read buffer.
    socket.write('3 NOOP\r\n');
    expect(await socket.waitForReadyRead(5000)).toBe(true);
    socket.write('X\r\n');
    await socket.waitForBytesWritten(5000);
    expect(text(socket.readLine())).toBe('3 OK NOOP completed\r\n');
    socket.write('4 LOGOUT\r\n');
    const logout: string[] = [];
    while (logout.length < 2) {
      if (!socket.canReadLine()) await socket.waitForReadyRead(5000);
      while (socket.canReadLine()) logout.push(text(socket.readLine()));
    }
    expect(logout).toEqual(['* BYE LOGOUT received\r\n', '4 OK LOGOUT completed\r\n']);
    socket.close();
    expect(socket.state()).toBe(UnconnectedState);
    expect(socket.readChannelCount()).toBe(0);
    expect(socket.writeChannelCount()).toBe(0);
  });

  it('#8 nonBlockingIMAP: signal-driven dialogue; hostFound before connected; bytesWritten totals 8 then 10', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    const order: string[] = [];
    const lines: string[] = [];
    let written = 0;
    socket.hostFound.connect(() => order.push('hostFound'));
    socket.connected.connect(() => order.push('connected'));
    socket.bytesWritten.connect((n) => {
      written += n;
    });
    socket.readyRead.connect(() => {
      while (socket.canReadLine()) lines.push(text(socket.readLine()));
    });
    socket.connectToHost('localhost', imap.port);
    await until(() => lines.length === 1, 5000, 'the greeting');
    expect(order).toEqual(['hostFound', 'connected']);
    socket.write('1 NOOP\r\n');
    await until(() => lines.length === 2 && written === 8, 5000, 'the NOOP answer');
    written = 0;
    socket.write('2 LOGOUT\r\n');
    await until(() => lines.length === 4 && written === 10, 5000, 'the LOGOUT answer');
    expect(lines.slice(1)).toEqual(['1 OK NOOP completed\r\n', '* BYE LOGOUT received\r\n', '2 OK LOGOUT completed\r\n']);
  });

  it('#9 hostNotFound: waitForConnected false, Unconnected, HostNotFoundError', async () => {
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('nosuchserver.invalid', 143);
    expect(await socket.waitForConnected(5000)).toBe(false);
    expect(socket.state()).toBe(UnconnectedState);
    expect(socket.error()).toBe(QAbstractSocket.HostNotFoundError);
  });

  it('#10 timeoutConnect: waitForConnected times out with SocketTimeoutError; an attempt aborted while connecting ends NotOpen', async () => {
    const blackhole = stopAfter(await startBlackhole());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', blackhole.port);
    expect(await socket.waitForConnected(300)).toBe(false);
    expect(socket.state()).toBe(UnconnectedState);
    expect(socket.error()).toBe(QAbstractSocket.SocketTimeoutError);
    expect(socket.readChannelCount()).toBe(0);
    expect(socket.writeChannelCount()).toBe(0);
    socket.connectToHost('127.0.0.1', blackhole.port);
    const aborted = nextSignal(socket.stateChanged);
    setTimeout(() => socket.abort(), 50);
    expect(await aborted).toEqual([UnconnectedState]);
    expect(socket.openMode()).toBe(OpenModeFlag.NotOpen);
    socket.connectToHost('localhost', blackhole.port);
    socket.abort();
    expect(socket.state()).toBe(UnconnectedState);
    expect(socket.openMode()).toBe(OpenModeFlag.NotOpen);
  });

  it('#11 delayedClose: close() after LOGOUT and 100 000 bytes is Closing; disconnected brings Unconnected', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('1 LOGOUT\r\n');
    socket.write(new Uint8Array(100_000).fill(0x58));
    socket.close();
    expect(socket.state()).toBe(QAbstractSocket.ClosingState);
    await nextSignal(socket.disconnected);
    expect(socket.state()).toBe(UnconnectedState);
  });

  it('#12 partialRead: reading the greeting two bytes at a time reproduces it', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    let got = '';
    while (got.length < IMAP_GREETING.length) {
      if (socket.bytesAvailable() < 2 && got.length + socket.bytesAvailable() < IMAP_GREETING.length) {
        expect(await socket.waitForReadyRead(5000)).toBe(true);
        continue;
      }
      got += text(socket.read(2));
    }
    expect(got).toBe(IMAP_GREETING);
  });

  it('#13 unget: ungetChar of the two bytes read restores bytesAvailable and the bytes', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    await until(() => socket.bytesAvailable() === IMAP_GREETING.length, 5000, 'the greeting');
    const first = socket.getChar() as number;
    const second = socket.getChar() as number;
    expect(socket.bytesAvailable()).toBe(IMAP_GREETING.length - 2);
    socket.ungetChar(second);
    socket.ungetChar(first);
    expect(socket.bytesAvailable()).toBe(IMAP_GREETING.length);
    expect(text(socket.read(2))).toBe('* ');
  });

  it('#14 readAllAfterClose: after close(), readAll() is empty', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    await nextSignal(socket.readyRead);
    socket.close();
    QAbstractSocket.warnings = false;
    onTestFinished(() => {
      QAbstractSocket.warnings = true;
    });
    expect(socket.readAll().byteLength).toBe(0);
  });

  it('#15 openCloseOpenClose: three rounds of fresh invariants, connect, close', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    QAbstractSocket.warnings = false;
    onTestFinished(() => {
      QAbstractSocket.warnings = true;
    });
    for (let round = 0; round < 3; round++) {
      expectFresh(socket);
      socket.connectToHost('127.0.0.1', imap.port);
      expect(await socket.waitForConnected(5000)).toBe(true);
      socket.close();
    }
    expectFresh(socket);
  });

  it('#16 connectDisconnectConnectDisconnect: openMode stays ReadWrite; addresses reset before each connect', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    for (let round = 0; round < 3; round++) {
      socket.connectToHost('127.0.0.1', imap.port);
      expect(socket.peerAddress().isNull()).toBe(true);
      expect(socket.peerPort()).toBe(0);
      expect(await socket.waitForReadyRead(5000)).toBe(true);
      expect(text(socket.read(4))).toBe('* OK');
      socket.disconnectFromHost();
      if (socket.state() !== UnconnectedState) expect(await socket.waitForDisconnected(5000)).toBe(true);
      expect(socket.openMode()).toBe(OpenModeFlag.ReadWrite);
      expect(socket.peerAddress().isNull()).toBe(true);
      expect(socket.localPort()).toBe(0);
    }
  });

  describe.each([
    ['disconnectFromHost', 0],
    ['disconnectFromHost', 13],
    ['disconnectFromHost', 1024 * 1024],
    ['close', 0],
    ['close', 13],
    ['close', 1024 * 1024],
  ] as const)('#17 disconnectWhileConnecting via %s with %i bytes', (how, size) => {
    it('connects, flushes, ends Unconnected; the peer gets exactly the data and the close', async () => {
      const server = stopAfter(await startSinkServer());
      const gw = await gatewayForTest();
      const socket = gw.socket();
      socket.connectToHost('localhost', server.port);
      if (size > 0) expect(socket.write(new Uint8Array(size))).toBe(size);
      if (how === 'close') socket.close();
      else socket.disconnectFromHost();
      expect(await socket.waitForDisconnected(10_000)).toBe(true);
      expect(socket.state()).toBe(UnconnectedState);
      expect(socket.openMode()).toBe(how === 'close' ? OpenModeFlag.NotOpen : OpenModeFlag.ReadWrite);
      await until(() => server.ended, 5000, 'the peer sees the close');
      expect(server.bytes).toBe(size);
    });
  });

  it.each(['disconnectFromHost', 'close'] as const)('#18 disconnectWhileLookingUp via %s', async (how) => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('localhost', echo.port);
    expect(socket.state()).toBe(QAbstractSocket.HostLookupState);
    if (how === 'close') socket.close();
    else socket.disconnectFromHost();
    expect(socket.openMode()).toBe(how === 'close' ? OpenModeFlag.NotOpen : OpenModeFlag.ReadWrite);
    expect(await socket.waitForDisconnected(5000)).toBe(true);
    expect(socket.state()).toBe(UnconnectedState);
  });

  it('#19 downloadBigFile: a 10 MB body read through readyRead matches Content-Length', async () => {
    const server = stopAfter(await startDownloadServer(10_000_000));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    let header = '';
    let body = 0;
    let expected = -1;
    socket.readyRead.connect(() => {
      while (expected < 0 && socket.canReadLine()) {
        const line = text(socket.readLine());
        header += line;
        if (line === '\r\n') expected = Number(/Content-Length: (\d+)/.exec(header)?.[1]);
      }
      if (expected >= 0) body += socket.readAll().byteLength;
    });
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('GET / HTTP/1.0\r\n\r\n');
    await nextSignal(socket.disconnected, 30_000);
    expect(expected).toBe(10_000_000);
    expect(body).toBe(expected);
  });

  it('#20 readLine: NUL-terminated lines, a line split by the size limit, 0 after a timeout, -1 after close', async () => {
    const warnings = captureWarnings();
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    await until(() => socket.canReadLine(), 5000, 'the greeting');
    const buffer = new Uint8Array(1024).fill(0xff);
    const n = socket.readLineInto(buffer);
    expect(n).toBe(IMAP_GREETING.length);
    expect(text(buffer.subarray(n - 2, n))).toBe('\r\n');
    expect(buffer[n]).toBe(0);
    socket.write('1 NOOP\r\n');
    await until(() => socket.canReadLine(), 5000, 'the answer');
    const small = new Uint8Array(11);
    expect(socket.readLineInto(small, 11)).toBe(10);
    expect(text(small.subarray(0, 10))).toBe('1 OK NOOP ');
    expect(socket.readLineInto(small, 11)).toBe(10);
    expect(text(small.subarray(0, 10))).toBe('completed\r');
    expect(socket.readLineInto(small, 11)).toBe(1);
    expect(small[0]).toBe(0x0a);
    expect(small[1]).toBe(0);
    expect(await socket.waitForReadyRead(100)).toBe(false);
    expect(socket.readLineInto(buffer)).toBe(0);
    expect([QAbstractSocket.SocketTimeoutError, QAbstractSocket.RemoteHostClosedError]).toContain(socket.error());
    socket.close();
    expect(socket.readLineInto(buffer)).toBe(-1);
    expect(warnings.some((w) => w.includes('device not open'))).toBe(true);
  });

  it('#21 readLineString, readChunks: readLine() returns the greeting; read into a buffer returns only what is there', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    await until(() => socket.canReadLine(), 5000, 'the greeting');
    expect(text(socket.readLine())).toBe(IMAP_GREETING);
    socket.write('1 NOOP\r\n');
    await until(() => socket.canReadLine(), 5000, 'the answer');
    const buffer = new Uint8Array(4096).fill(0xee);
    const n = socket.readInto(buffer, 4096);
    expect(text(buffer.subarray(0, n))).toBe('1 OK NOOP completed\r\n');
    expect(buffer.subarray(n).every((byte) => byte === 0xee)).toBe(true);
  });

  it.each([5000, -1])('#22 waitForBytesWritten(%i): true, and bytesToWrite decreased', async (msecs) => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('1 NOOP\r\n');
    const before = socket.bytesToWrite();
    expect(await socket.waitForBytesWritten(msecs)).toBe(true);
    expect(socket.bytesToWrite()).toBeLessThan(before);
  });

  it.each([5000, -1])('#23 waitForReadyRead(%i) right after connectToHost, with a request written while connecting', async (msecs) => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('localhost', echo.port);
    socket.write('request\n');
    expect(await socket.waitForReadyRead(msecs)).toBe(true);
    expect(text(socket.readAll())).toBe('request\n');
  });

  it('#24 flush: harmless unconnected; after a 10-byte write, bytesToWrite 10, flush, then 0 once acknowledged (adapted)', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    expect(socket.flush()).toBe(false);
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('0123456789');
    expect(socket.bytesToWrite()).toBe(10);
    expect(socket.flush()).toBe(true);
    await until(() => socket.bytesToWrite() === 0, 5000, 'the acknowledgement');
  });

  it('#25 synchronousApi: write QUIT, waitForDisconnected true, the reply is still readable', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('QUIT\r\n');
    expect(await socket.waitForDisconnected(5000)).toBe(true);
    expect(socket.bytesAvailable()).toBeGreaterThan(0);
    expect(text(socket.readAll())).toBe(`${IMAP_GREETING}BYE\r\n`);
  });

  it('#26 dontCloseOnTimeout: on a silent connection both waits time out with SocketTimeoutError and the socket stays open', async () => {
    const silent = stopAfter(await startServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', silent.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(await socket.waitForReadyRead(100)).toBe(false);
    expect(socket.error()).toBe(QAbstractSocket.SocketTimeoutError);
    expect(socket.isOpen()).toBe(true);
    expect(await socket.waitForDisconnected(100)).toBe(false);
    expect(socket.error()).toBe(QAbstractSocket.SocketTimeoutError);
    expect(socket.isOpen()).toBe(true);
    expect(socket.state()).toBe(ConnectedState);
  });

  it('#27 recursiveReadyRead (adapted): no readyRead is emitted re-entrantly from within a synchronous handler', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.setReadBufferSize(4);
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    let depth = 0;
    let maxDepth = 0;
    let calls = 0;
    socket.readyRead.connect(() => {
      depth++;
      calls++;
      maxDepth = Math.max(maxDepth, depth);
      // Raising the limit from the handler makes more data available while it still runs.
      socket.setReadBufferSize(socket.readBufferSize() + 4);
      socket.read(1);
      depth--;
    });
    socket.write('0123456789abcdef');
    await until(() => calls >= 2, 5000, 'more readyRead');
    expect(maxDepth).toBe(1);
  });

  it('#28 atEnd: not at end before reading the greeting, at end after reading the single line', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    await until(() => socket.canReadLine(), 5000, 'the greeting');
    expect(socket.atEnd()).toBe(false);
    socket.readLine();
    expect(socket.atEnd()).toBe(true);
  });

  it('#30 waitForReadyReadInASlot: awaiting waitForReadyRead inside the connected handler resolves true', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    const result = new Promise<boolean>((resolve) => {
      socket.connected.connect(() => {
        void socket.waitForReadyRead(5000).then(resolve);
      });
    });
    socket.connectToHost('127.0.0.1', imap.port);
    expect(await result).toBe(true);
  });

  it('#31 remoteCloseError: one RemoteHostClosedError while Connected, one disconnected; reconnecting works', async () => {
    const server = stopAfter(await startServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    const peer = await server.nextConnection();
    await nextSignal(socket.connected);
    peer.write('12345');
    await until(() => socket.bytesAvailable() === 5, 5000, 'five bytes');
    const log = recordSignals(socket, { readyRead: false });
    const states: number[] = [];
    socket.errorOccurred.connect(() => states.push(socket.state()));
    peer.end();
    await nextSignal(socket.disconnected);
    await sleep(50);
    expect(log.filter((e) => e === 'errorOccurred(RemoteHostClosedError)')).toHaveLength(1);
    expect(log.filter((e) => e === 'disconnected')).toHaveLength(1);
    expect(states).toEqual([ConnectedState]);
    socket.connectToHost('127.0.0.1', server.port);
    const peer2 = await server.nextConnection();
    expect(await socket.waitForConnected(5000)).toBe(true);
    peer2.end();
    await nextSignal(socket.disconnected);
    expect(socket.state()).toBe(UnconnectedState);
  });

  it('#32 nestedEventLoopInErrorSlot (adapted): disposing the socket from its errorOccurred handler is safe', async () => {
    const gw = await gatewayForTest();
    let socket: QTcpSocket | undefined = gw.socket();
    const done = new Promise<void>((resolve) => {
      socket?.errorOccurred.connect(() => {
        socket?.abort();
        socket = undefined;
        resolve();
      });
    });
    socket.connectToHost('nosuchhost.invalid', 80);
    await done;
    expect(socket).toBeUndefined();
  });

  it('#33 connectToHostError: localhost on an unused port is refused; 0.0.0.1 is never connected (refused by policy here)', async () => {
    const gw = await gatewayForTest();
    const refused = gw.socket();
    refused.connectToHost('localhost', await closedPort());
    await nextSignal(refused.errorOccurred);
    expect(refused.error()).toBe(QAbstractSocket.ConnectionRefusedError);
    expect(refused.state()).toBe(UnconnectedState);
    const unroutable = gw.socket();
    unroutable.connectToHost('0.0.0.1', 80);
    await nextSignal(unroutable.errorOccurred);
    expect(unroutable.state()).toBe(UnconnectedState);
    expect(unroutable.error()).toBe(QAbstractSocket.SocketAccessError);
  });

  it('#34 waitForConnectedInHostLookupSlot: awaiting waitForConnected in the hostFound handler connects once', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    let connects = 0;
    socket.connected.connect(() => connects++);
    const result = new Promise<boolean>((resolve) => {
      socket.hostFound.connect(() => void socket.waitForConnected(15_000).then(resolve));
    });
    socket.connectToHost('localhost', echo.port);
    expect(await result).toBe(true);
    await sleep(50);
    expect(connects).toBe(1);
    expect(echo.sockets.size).toBe(1);
  });

  it('#35 waitForConnectedInHostLookupSlot2: connectToHost and waitForConnected from a timer yield one connected', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    let connects = 0;
    socket.connected.connect(() => connects++);
    const result = await new Promise<boolean>((resolve) => {
      setTimeout(() => {
        socket.connectToHost('localhost', echo.port);
        void socket.waitForConnected(5000).then(resolve);
      }, 0);
    });
    expect(result).toBe(true);
    await sleep(50);
    expect(connects).toBe(1);
  });

  it('#36 readyReadSignalsAfterWaitForReadyRead: waitForReadyRead emits readyRead once and no more later', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    let readyReads = 0;
    socket.readyRead.connect(() => readyReads++);
    socket.connectToHost('127.0.0.1', imap.port);
    expect(await socket.waitForReadyRead(5000)).toBe(true);
    expect(readyReads).toBe(1);
    socket.readAll();
    await sleep(50);
    expect(readyReads).toBe(1);
  });

  it('#38 abortiveClose: the peer aborts right after accepting: no readyRead, one RemoteHostClosedError, then disconnected', async () => {
    const server = stopAfter(await startServer((peer) => setTimeout(() => peer.resetAndDestroy(), 50)));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.connected);
    const log = recordSignals(socket);
    await nextSignal(socket.disconnected);
    expect(log).toEqual([
      'errorOccurred(RemoteHostClosedError)',
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
  });

  it("#39 localAddressEmptyOnBSD (adapted): connected to 127.0.0.1, localAddress is the gateway's and not null", async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.localAddress().isNull()).toBe(false);
    expect(socket.localAddress().toString()).toBe('127.0.0.1');
    expect(socket.localPort()).toBeGreaterThan(0);
    expect(socket.peerAddress().toString()).toBe('127.0.0.1');
    expect(socket.peerPort()).toBe(echo.port);
    expect([...echo.sockets][0]?.remotePort).toBe(socket.localPort());
  });

  it('#40 zeroAndMinusOneReturns: 0 while connected and empty; buffered data after the peer closes; -1 at end and after close', async () => {
    const warnings = captureWarnings();
    const server = stopAfter(await startServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    const peer = await server.nextConnection();
    expect(await socket.waitForConnected(5000)).toBe(true);
    const buffer = new Uint8Array(16);
    expect(socket.readAll().byteLength).toBe(0);
    expect(socket.readInto(buffer)).toBe(0);
    expect(socket.readLineInto(buffer)).toBe(0);
    expect(socket.getChar()).toBeUndefined();
    peer.end('abcd\nefgh');
    await nextSignal(socket.disconnected);
    expect(socket.write('x')).toBe(-1);
    expect(socket.getChar()).toBe(0x61);
    expect(socket.readInto(buffer, 1)).toBe(1);
    expect(socket.readLineInto(buffer)).toBe(3);
    expect(text(socket.readAll())).toBe('efgh');
    expect(socket.readInto(buffer)).toBe(-1);
    expect(socket.readLineInto(buffer)).toBe(-1);
    expect(socket.getChar()).toBeUndefined();
    expect(socket.putChar('x')).toBe(false);
    socket.close();
    expect(socket.write('x')).toBe(-1);
    expect(socket.readInto(buffer)).toBe(-1);
    expect(socket.readLineInto(buffer)).toBe(-1);
    expect(socket.getChar()).toBeUndefined();
    expect(socket.putChar('x')).toBe(false);
    expect(warnings).toContain('QIODevice::write (QTcpSocket): device not open');
  });

  it('#41 connectionRefused: exactly three stateChanged, one errorOccurred, ConnectionRefusedError', async () => {
    const gw = await gatewayForTest();
    const socket = gw.socket();
    const states: number[] = [];
    let errors = 0;
    socket.stateChanged.connect((state) => states.push(state));
    socket.errorOccurred.connect(() => errors++);
    socket.connectToHost('127.0.0.1', await closedPort());
    await nextSignal(socket.errorOccurred);
    await sleep(50);
    expect(states).toEqual([QAbstractSocket.HostLookupState, QAbstractSocket.ConnectingState, UnconnectedState]);
    expect(errors).toBe(1);
    expect(socket.error()).toBe(QAbstractSocket.ConnectionRefusedError);
  });

  it('#43 connectToMultiIP (adapted): a name with three addresses, two dead, connects; a silent port times out', async () => {
    const echo = stopAfter(await startEchoServer());
    const dead = await closedPort();
    const blackhole = stopAfter(await startBlackhole());
    const gw = await gatewayForTest({
      allow: ['127.0.0.0/8'],
      resolver: async (name) =>
        name === 'multi.test'
          ? [
              { address: '127.0.0.2', family: 4 },
              { address: '127.0.0.3', family: 4 },
              { address: '127.0.0.1', family: 4 },
            ]
          : [{ address: '127.0.0.1', family: 4 }],
      connectTimeoutMs: 300,
    });
    const socket = gw.socket();
    socket.connectToHost('multi.test', echo.port);
    expect(await socket.waitForConnected(10_000)).toBe(true);
    expect(socket.peerAddress().toString()).toBe('127.0.0.1');
    const silent = gw.socket();
    silent.connectToHost('127.0.0.1', blackhole.port);
    expect(await silent.waitForConnected(200)).toBe(false);
    expect(silent.error()).toBe(QAbstractSocket.SocketTimeoutError);
    expect(dead).toBeGreaterThan(0);
  });

  it('#45 increaseReadBufferSize: 256, then 384, then 1024 show 256, 384, 512; the next 512 with 256 then 0', async () => {
    const server = stopAfter(await startServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.setReadBufferSize(256);
    socket.connectToHost('127.0.0.1', server.port);
    const peer = await server.nextConnection();
    expect(await socket.waitForConnected(5000)).toBe(true);
    const data = Buffer.alloc(512);
    for (let i = 0; i < 512; i++) data[i] = i % 251;
    peer.write(data);
    await until(() => socket.bytesAvailable() === 256, 5000, '256 bytes');
    await sleep(100);
    expect(socket.bytesAvailable()).toBe(256);
    socket.setReadBufferSize(384);
    await until(() => socket.bytesAvailable() === 384, 5000, '384 bytes');
    await sleep(100);
    expect(socket.bytesAvailable()).toBe(384);
    socket.setReadBufferSize(1024);
    await until(() => socket.bytesAvailable() === 512, 5000, '512 bytes');
    expect(Buffer.from(socket.readAll()).equals(data)).toBe(true);
    socket.setReadBufferSize(256);
    peer.write(data);
    await until(() => socket.bytesAvailable() === 256, 5000, '256 bytes again');
    await sleep(100);
    expect(socket.bytesAvailable()).toBe(256);
    socket.setReadBufferSize(0);
    await until(() => socket.bytesAvailable() === 512, 5000, 'all 512');
    expect(Buffer.from(socket.readAll()).equals(data)).toBe(true);
  });

  it('#46 increaseReadBufferSizeFromSlot: raising the limit inside readyRead shows the limit each time, then all 512 bytes', async () => {
    const server = stopAfter(await startServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.setReadBufferSize(256);
    const seen: number[] = [];
    socket.readyRead.connect(() => {
      seen.push(socket.bytesAvailable());
      if (socket.readBufferSize() < 512) socket.setReadBufferSize(socket.readBufferSize() + 128);
    });
    socket.connectToHost('127.0.0.1', server.port);
    const peer = await server.nextConnection();
    const data = Buffer.alloc(512, 0x33);
    peer.write(data);
    await until(() => socket.bytesAvailable() === 512, 5000, 'all 512 bytes');
    expect(seen).toEqual([256, 384, 512]);
    expect(Buffer.from(socket.readAll()).equals(data)).toBe(true);
  });

  it('#47 taskQtBug5799: a refused port is reported as ConnectionRefusedError, with and without waitForConnected', async () => {
    const gw = await gatewayForTest();
    const port = await closedPort();
    const waited = gw.socket();
    waited.connectToHost('127.0.0.1', port);
    expect(await waited.waitForConnected(10_000)).toBe(false);
    expect(waited.error()).toBe(QAbstractSocket.ConnectionRefusedError);
    expect(waited.state()).toBe(UnconnectedState);
    const signalled = gw.socket();
    signalled.connectToHost('127.0.0.1', port);
    expect(await nextSignal(signalled.errorOccurred)).toEqual([QAbstractSocket.ConnectionRefusedError]);
    expect(signalled.state()).toBe(UnconnectedState);
  });

  it('#48 taskQtBug7054TimeoutErrorResetting: UnknownSocketError after connecting, a timeout, then RemoteHostClosedError', async () => {
    const server = stopAfter(await startServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    const peer = await server.nextConnection();
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.error()).toBe(QAbstractSocket.UnknownSocketError);
    expect(await socket.waitForReadyRead(200)).toBe(false);
    expect(socket.error()).toBe(QAbstractSocket.SocketTimeoutError);
    setTimeout(() => peer.destroy(), 50);
    expect(await socket.waitForReadyRead(5000)).toBe(false);
    expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
  });

  it('#50 qtbug14268_peek: after each chunk, peek returns all unread data; a final read returns everything', async () => {
    const server = stopAfter(await startServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    const peer = await server.nextConnection();
    expect(await socket.waitForConnected(5000)).toBe(true);
    let all = '';
    for (const chunk of ['first chunk;', 'second chunk;', 'third chunk']) {
      peer.write(chunk);
      all += chunk;
      await until(() => socket.bytesAvailable() === all.length, 5000, chunk);
      expect(text(socket.peek(128 * 1024))).toBe(all);
    }
    expect(text(socket.read(128 * 1024))).toBe(all);
  });

  it('#51 setSocketOption (adapted): LowDelay and KeepAlive read back as set; TypeOfService is unsupported (undefined)', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    for (const value of [true, false]) {
      socket.setSocketOption(SocketOption.LowDelayOption, value);
      socket.setSocketOption(SocketOption.KeepAliveOption, value);
      expect(socket.socketOption(SocketOption.LowDelayOption)).toBe(value ? 1 : 0);
      expect(socket.socketOption(SocketOption.KeepAliveOption)).toBe(value ? 1 : 0);
    }
    socket.setSocketOption(SocketOption.TypeOfServiceOption, 32);
    socket.setSocketOption(SocketOption.LowDelayOption, 1);
    // The gateway's answers arrive; the supported option stays, the other is invalid.
    socket.write('sync');
    expect(await socket.waitForReadyRead(5000)).toBe(true);
    expect(socket.socketOption(SocketOption.TypeOfServiceOption)).toBeUndefined();
    expect(socket.socketOption(SocketOption.LowDelayOption)).toBe(1);
  });

  it('#52 clientSendDataOnDelayedDisconnect: write, close(), waitForDisconnected; the peer reads exactly the data', async () => {
    const server = stopAfter(await startSinkServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('A lot of data to send before the close');
    socket.close();
    expect(await socket.waitForDisconnected(5000)).toBe(true);
    await until(() => server.ended, 5000, 'the peer sees the close');
    expect(server.text).toBe('A lot of data to send before the close');
  });

  it('#53 serverDisconnectWithBuffered: one byte then close: the byte is read, one disconnected, last state Unconnected', async () => {
    const server = stopAfter(await startServer((peer) => peer.end('x')));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    const log = recordSignals(socket);
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.disconnected);
    await sleep(50);
    expect(text(socket.read(1))).toBe('x');
    expect(log.filter((e) => e === 'disconnected')).toHaveLength(1);
    expect(log.filter((e) => e.startsWith('stateChanged')).at(-1)).toBe('stateChanged(UnconnectedState)');
  });

  it('#54 socketDiscardDataInWriteMode: opened WriteOnly, incoming data is discarded; atEnd', async () => {
    const { imap, gw } = await imapSetup();
    const socket = gw.socket();
    let readyReads = 0;
    socket.readyRead.connect(() => readyReads++);
    socket.connectToHost('127.0.0.1', imap.port, OpenModeFlag.WriteOnly);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('1 NOOP\r\n');
    expect(await socket.waitForBytesWritten(5000)).toBe(true);
    await sleep(100);
    expect(readyReads).toBe(0);
    expect(socket.bytesAvailable()).toBe(0);
    expect(socket.atEnd()).toBe(true);
  });

  it('#55 writeOnReadBufferOverflow: with readBufferSize 1 and two bytes sent, one is available; putChar and waitForBytesWritten succeed', async () => {
    const server = stopAfter(await startServer((peer) => peer.write('ab')));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.setReadBufferSize(1);
    socket.connectToHost('127.0.0.1', server.port);
    await until(() => socket.bytesAvailable() === 1, 5000, 'one byte');
    await sleep(100);
    expect(socket.bytesAvailable()).toBe(1);
    expect(socket.putChar('a')).toBe(true);
    expect(await socket.waitForBytesWritten(5000)).toBe(true);
  });

  it('#57 socketsConstructedBeforeEventLoop (adapted): sockets used before the WebSocket is open get one bytesWritten and one readyRead', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const session = gw.client();
    const sockets = [new QTcpSocket({ gateway: session }), new QTcpSocket({ gateway: session })];
    const counts = sockets.map(() => ({ written: 0, readyRead: 0 }));
    sockets.forEach((socket, i) => {
      socket.bytesWritten.connect(() => counts[i] && counts[i].written++);
      socket.readyRead.connect(() => counts[i] && counts[i].readyRead++);
      socket.connectToHost('127.0.0.1', echo.port);
      socket.write(bytes('x'));
    });
    await until(() => counts.every((c) => c.written === 1 && c.readyRead === 1), 5000, 'one of each');
    await sleep(50);
    expect(counts).toEqual([
      { written: 1, readyRead: 1 },
      { written: 1, readyRead: 1 },
    ]);
  });
});

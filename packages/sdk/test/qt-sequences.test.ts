/**
 * The signal and state sequences of QT-SOCKETS.md §2.2 (Qt 6 probes) and the supplementary checks
 * of §7.4, asserted as exact lists through a real gateway and real loopback servers.
 */
import { QAbstractSocket } from '@socketgate/sdk';
import {
  closedPort,
  nextSignal,
  recordSignals,
  startBlackhole,
  startEchoServer,
  startServer,
  startSinkServer,
  text,
  until,
} from '@socketgate/testkit';
import { describe, expect, it } from 'vitest';
import {
  ClosingState,
  ConnectedState,
  ConnectingState,
  captureWarnings,
  gatewayForTest,
  HostLookupState,
  sleep,
  stopAfter,
  UnconnectedState,
} from './helpers.js';

const { OpenModeFlag } = QAbstractSocket;

describe('§2.2 scenario traces', () => {
  it('1. IP literal, success: HostLookup, Connecting, hostFound sync; Connected, connected later (S1)', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    const log = recordSignals(socket);
    socket.connectToHost('127.0.0.1', echo.port);
    expect(log).toEqual(['stateChanged(HostLookupState)', 'stateChanged(ConnectingState)', 'hostFound']);
    expect(socket.state()).toBe(ConnectingState);
    expect(socket.openMode()).toBe(OpenModeFlag.ReadWrite);
    await nextSignal(socket.connected);
    expect(log).toEqual([
      'stateChanged(HostLookupState)',
      'stateChanged(ConnectingState)',
      'hostFound',
      'stateChanged(ConnectedState)',
      'connected',
    ]);
  });

  it('2. host name, success: only HostLookup sync; Connecting, hostFound, Connected, connected later', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    const log = recordSignals(socket);
    socket.connectToHost('localhost', echo.port);
    expect(log).toEqual(['stateChanged(HostLookupState)']);
    expect(socket.state()).toBe(HostLookupState);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(log).toEqual([
      'stateChanged(HostLookupState)',
      'stateChanged(ConnectingState)',
      'hostFound',
      'stateChanged(ConnectedState)',
      'connected',
    ]);
  });

  it('3. connection refused: three stateChanged, then errorOccurred; the device stays open (S2)', async () => {
    const warnings = captureWarnings();
    const gw = await gatewayForTest();
    const port = await closedPort();
    const socket = gw.socket();
    const log = recordSignals(socket);
    let stateAtError = -2;
    socket.errorOccurred.connect(() => {
      stateAtError = socket.state();
    });
    socket.connectToHost('127.0.0.1', port);
    await nextSignal(socket.errorOccurred);
    expect(log).toEqual([
      'stateChanged(HostLookupState)',
      'stateChanged(ConnectingState)',
      'hostFound',
      'stateChanged(UnconnectedState)',
      'errorOccurred(ConnectionRefusedError)',
    ]);
    expect(stateAtError).toBe(UnconnectedState);
    expect(socket.errorString()).toBe('Connection refused');
    expect(socket.isOpen()).toBe(true);
    expect(socket.isValid()).toBe(true);
    expect(socket.peerName()).toBe('127.0.0.1');
    expect(socket.peerPort()).toBe(0);
    expect(socket.write('x')).toBe(-1);
    expect(socket.error()).toBe(QAbstractSocket.UnknownSocketError);
    expect(socket.errorString()).toBe('Socket is not connected');
    expect(socket.readInto(new Uint8Array(4))).toBe(-1);
    expect(log).toHaveLength(5);
    expect(warnings).toEqual([]);
  });

  it('4. host not found: HostLookup, then Unconnected and HostNotFoundError; no Connecting, no hostFound', async () => {
    const gw = await gatewayForTest();
    const socket = gw.socket();
    const log = recordSignals(socket);
    socket.connectToHost('nosuchhost.invalid', 80);
    expect(await socket.waitForConnected(5000)).toBe(false);
    expect(log).toEqual(['stateChanged(HostLookupState)', 'stateChanged(UnconnectedState)', 'errorOccurred(HostNotFoundError)']);
    expect(socket.errorString()).toBe('Host not found');
    expect(socket.isOpen()).toBe(true);
  });

  it('5. remote graceful close after data: readyRead, errorOccurred while Connected, Closing, Unconnected, readChannelFinished, disconnected (S3)', async () => {
    const warnings = captureWarnings();
    const server = stopAfter(await startServer((peer) => peer.end('hello')));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.connected);
    const log = recordSignals(socket);
    const seen: string[] = [];
    socket.errorOccurred.connect(() => seen.push(`error in ${socket.state()}`));
    socket.readChannelFinished.connect(() => seen.push(`readChannelFinished avail ${socket.bytesAvailable()}`));
    await nextSignal(socket.disconnected);
    expect(log).toEqual([
      'readyRead',
      'errorOccurred(RemoteHostClosedError)',
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect(seen).toEqual([`error in ${ConnectedState}`, 'readChannelFinished avail 5']);
    expect(socket.errorString()).toBe('The remote host closed the connection');
    expect(socket.isOpen()).toBe(true);
    expect(socket.bytesAvailable()).toBe(5);
    const buffer = new Uint8Array(16);
    expect(socket.readInto(buffer, 3)).toBe(3);
    expect(socket.readInto(buffer, 16)).toBe(2);
    expect(socket.readInto(buffer, 16)).toBe(-1);
    expect(socket.write('x')).toBe(-1);
    expect(socket.errorString()).toBe('Socket is not connected');
    expect(socket.putChar('x')).toBe(false);
    expect(socket.getChar()).toBeUndefined();
    const closing = recordSignals(socket);
    socket.close();
    expect(closing).toEqual(['aboutToClose']);
    expect(warnings).toEqual([]);
  });

  it('6. remote reset: the same sequence and error as a graceful close, an errorString that says reset; buffered data stays readable', async () => {
    const server = stopAfter(
      await startServer((peer) => {
        peer.write('abc', () => setTimeout(() => peer.resetAndDestroy(), 50));
      }),
    );
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.connected);
    const log = recordSignals(socket);
    await nextSignal(socket.disconnected);
    expect(log).toEqual([
      'readyRead',
      'errorOccurred(RemoteHostClosedError)',
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
    expect(socket.errorString()).toBe('The remote host closed the connection (connection reset by peer)');
    expect(text(socket.readAll())).toBe('abc');
  });

  it('7. disconnectFromHost with 8 MiB pending: Closing at once, late writes accepted, bytesWritten in Closing, every byte arrives', async () => {
    const server = stopAfter(await startSinkServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.write(new Uint8Array(8 * 1024 * 1024))).toBe(8 * 1024 * 1024);
    expect(socket.bytesToWrite()).toBe(8 * 1024 * 1024);
    const log = recordSignals(socket, { bytesWritten: true });
    const statesAtBytesWritten = new Set<number>();
    socket.bytesWritten.connect(() => statesAtBytesWritten.add(socket.state()));
    socket.disconnectFromHost();
    expect(log).toEqual(['stateChanged(ClosingState)']);
    expect(socket.write('late')).toBe(4);
    expect(await socket.waitForDisconnected(10_000)).toBe(true);
    expect(log.slice(-3)).toEqual(['stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected']);
    const written = log.filter((entry) => entry.startsWith('bytesWritten')).map((entry) => Number(entry.slice(13, -1)));
    expect(written.reduce((a, b) => a + b, 0)).toBe(8 * 1024 * 1024 + 4);
    expect([...statesAtBytesWritten]).toEqual([ClosingState]);
    expect(socket.isOpen()).toBe(true);
    await until(() => server.ended, 5000, 'the peer sees the close');
    expect(server.bytes).toBe(8 * 1024 * 1024 + 4);
  });

  it('8. close() with nothing pending: aboutToClose while Connected, Closing, Unconnected, readChannelFinished, disconnected, all sync (S4)', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    const log = recordSignals(socket);
    let stateAtAboutToClose = -1;
    socket.aboutToClose.connect(() => {
      stateAtAboutToClose = socket.state();
    });
    socket.close();
    expect(log).toEqual([
      'aboutToClose',
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect(stateAtAboutToClose).toBe(ConnectedState);
    expect(socket.isOpen()).toBe(false);
  });

  it('9. close() with 4 MiB pending: aboutToClose and Closing sync; bytesWritten while NotOpen; the peer receives everything', async () => {
    const server = stopAfter(await startSinkServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write(new Uint8Array(4 * 1024 * 1024));
    const log = recordSignals(socket, { bytesWritten: true });
    socket.close();
    expect(log).toEqual(['aboutToClose', 'stateChanged(ClosingState)']);
    expect(socket.openMode()).toBe(OpenModeFlag.NotOpen);
    await nextSignal(socket.disconnected);
    expect(log.filter((entry) => entry.startsWith('bytesWritten')).length).toBeGreaterThan(0);
    expect(log.slice(-3)).toEqual(['stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected']);
    await until(() => server.bytes === 4 * 1024 * 1024, 5000, 'every byte at the peer');
  });

  it('10. abort() with pending output: aboutToClose, Unconnected, readChannelFinished, disconnected, all sync; nothing pending', async () => {
    const server = stopAfter(await startServer((peer) => peer.pause()));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write(new Uint8Array(64 * 1024 * 1024));
    const log = recordSignals(socket);
    socket.abort();
    expect(log).toEqual(['aboutToClose', 'stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected']);
    expect(socket.bytesToWrite()).toBe(0);
    expect(socket.openMode()).toBe(OpenModeFlag.NotOpen);
    await until(() => gw.app.socketgate.stats().streams === 0, 5000, 'the gateway closes the real socket');
  });

  it('11. abort() while Connecting or HostLookup: aboutToClose, Unconnected, readChannelFinished; no disconnected (S5)', async () => {
    const blackhole = stopAfter(await startBlackhole());
    const gw = await gatewayForTest();
    const connecting = gw.socket();
    connecting.connectToHost('127.0.0.1', blackhole.port);
    const log = recordSignals(connecting);
    connecting.abort();
    expect(log).toEqual(['aboutToClose', 'stateChanged(UnconnectedState)', 'readChannelFinished']);
    const lookingUp = gw.socket();
    lookingUp.connectToHost('localhost', blackhole.port);
    const log2 = recordSignals(lookingUp);
    lookingUp.abort();
    expect(log2).toEqual(['aboutToClose', 'stateChanged(UnconnectedState)', 'readChannelFinished']);
    await sleep(100);
    expect(log).toHaveLength(3);
    expect(log2).toHaveLength(3);
  });

  it('12. disconnectFromHost() while looking up: nothing sync; the connection is made, written data delivered, then closed', async () => {
    const server = stopAfter(await startSinkServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('localhost', server.port);
    const log = recordSignals(socket, { bytesWritten: true });
    expect(socket.write('hello')).toBe(5);
    socket.disconnectFromHost();
    expect(log).toEqual([]);
    await nextSignal(socket.disconnected);
    expect(log).toEqual([
      'stateChanged(ConnectingState)',
      'hostFound',
      'stateChanged(ConnectedState)',
      'connected',
      'stateChanged(ClosingState)',
      'bytesWritten(5)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    await until(() => server.ended, 5000, 'the peer sees the close');
    expect(server.text).toBe('hello');
  });

  it('12b. disconnectFromHost() while connecting to a refused port: the normal failure path', async () => {
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', await closedPort());
    socket.disconnectFromHost();
    const log = recordSignals(socket);
    await nextSignal(socket.errorOccurred);
    expect(log).toEqual(['stateChanged(UnconnectedState)', 'errorOccurred(ConnectionRefusedError)']);
  });

  it('13. connectToHost while connected: errorOccurred(OperationError) sync, state unchanged, a warning', async () => {
    const warnings = captureWarnings();
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    const log = recordSignals(socket);
    socket.connectToHost('127.0.0.1', echo.port);
    expect(log).toEqual(['errorOccurred(OperationError)']);
    expect(socket.errorString()).toBe('Trying to connect while connection is in progress');
    expect(socket.state()).toBe(ConnectedState);
    expect(warnings).toEqual(['QAbstractSocket::connectToHost() called when already looking up or connecting/connected to "127.0.0.1"']);
  });

  it('14. close() from the RemoteHostClosedError handler: aboutToClose while Connected, then one close sequence; buffer dropped', async () => {
    const server = stopAfter(await startServer((peer) => peer.end('bye')));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.connected);
    const log = recordSignals(socket, { readyRead: false });
    socket.errorOccurred.connect(() => socket.close());
    await nextSignal(socket.disconnected);
    await sleep(50);
    expect(log).toEqual([
      'errorOccurred(RemoteHostClosedError)',
      'aboutToClose',
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect(socket.bytesAvailable()).toBe(0);
  });

  it('15. reconnect after a remote close discards unread data and resets the error', async () => {
    const server = stopAfter(await startServer((peer) => peer.end('old data')));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.disconnected);
    expect(socket.bytesAvailable()).toBe(8);
    expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
    socket.connectToHost('127.0.0.1', server.port);
    expect(socket.bytesAvailable()).toBe(0);
    expect(socket.error()).toBe(QAbstractSocket.UnknownSocketError);
    expect(socket.errorString()).toBe('Unknown error');
  });
});

describe('§7.4 supplementary checks', () => {
  it('S6 waitForConnected timeout: stateChanged(Unconnected) only, SocketTimeoutError "Socket operation timed out", no errorOccurred', async () => {
    const blackhole = stopAfter(await startBlackhole());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', blackhole.port);
    const log = recordSignals(socket);
    expect(await socket.waitForConnected(300)).toBe(false);
    expect(log).toEqual(['stateChanged(UnconnectedState)']);
    expect(socket.error()).toBe(QAbstractSocket.SocketTimeoutError);
    expect(socket.errorString()).toBe('Socket operation timed out');
    await until(() => gw.app.socketgate.stats().streams === 0, 5000, 'the gateway abandons the attempt');
  });

  it('S7 waitForReadyRead timeout: errorOccurred(SocketTimeoutError) "Network operation timed out", still Connected, false despite buffered data', async () => {
    const server = stopAfter(await startServer((peer) => peer.write('old')));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.readyRead);
    const log = recordSignals(socket);
    expect(await socket.waitForReadyRead(200)).toBe(false);
    expect(log).toEqual(['errorOccurred(SocketTimeoutError)']);
    expect(socket.errorString()).toBe('Network operation timed out');
    expect(socket.state()).toBe(ConnectedState);
    expect(socket.bytesAvailable()).toBe(3);
  });

  it('S8 flow control: a partial read keeps reading paused; draining resumes; a FIN behind a full buffer is seen only after draining', async () => {
    const server = stopAfter(await startServer((peer) => peer.end(Buffer.alloc(1000, 0x41))));
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.setReadBufferSize(256);
    socket.connectToHost('127.0.0.1', server.port);
    await nextSignal(socket.readyRead);
    await sleep(100);
    expect(socket.bytesAvailable()).toBe(256);
    expect(socket.state()).toBe(ConnectedState);
    expect(socket.read(100).byteLength).toBe(100);
    await sleep(100);
    expect(socket.bytesAvailable()).toBe(156);
    expect(socket.state()).toBe(ConnectedState);
    let total = 100;
    while (socket.state() === ConnectedState) {
      total += socket.readAll().byteLength;
      await sleep(20);
    }
    total += socket.readAll().byteLength;
    expect(total).toBe(1000);
    expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
  });

  it('S9 (adapted): a bytesWritten handler that awaits has returned, so the next acknowledgement emits again (README, differences #10)', async () => {
    const echo = stopAfter(await startEchoServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    const sizes: number[] = [];
    const channel: number[] = [];
    socket.channelBytesWritten.connect((_channel, n) => channel.push(n));
    socket.bytesWritten.connect(async (n) => {
      sizes.push(n);
      if (sizes.length === 1) {
        socket.write('more');
        socket.flush();
        // Qt's nested event loop: while this handler runs, the next acknowledgement arrives.
        await until(() => socket.bytesToWrite() === 0, 5000, 'the second write acknowledged');
      }
    });
    socket.write('first');
    await until(() => channel.length === 2, 5000, 'two acknowledgements');
    expect(channel).toEqual([5, 4]);
    expect(sizes).toEqual([5, 4]);
  });

  it('S10 the gateway connect timer: Unconnected then errorOccurred(SocketTimeoutError) "Connection timed out"', async () => {
    const blackhole = stopAfter(await startBlackhole());
    const gw = await gatewayForTest({ connectTimeoutMs: 300 });
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', blackhole.port);
    const log = recordSignals(socket);
    await nextSignal(socket.errorOccurred);
    expect(log).toEqual(['stateChanged(UnconnectedState)', 'errorOccurred(SocketTimeoutError)']);
    expect(socket.errorString()).toBe('Connection timed out');
  });
});

import net from 'node:net';
import { QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { recordSignals, startBlackhole, startEchoServer, startGateway, startServer, text, until } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

it('carries 250 sockets at once on one session, each with its own echo and no cross-talk', async () => {
  const COUNT = 250;
  const echo = await startEchoServer();
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  onTestFinished(() => echo.close());
  const gateway = gw.client();
  const sockets = Array.from({ length: COUNT }, () => new QTcpSocket({ gateway }));
  const received = sockets.map(() => '');
  sockets.forEach((socket, i) => {
    socket.readyRead.connect(() => {
      received[i] += text(socket.readAll());
    });
    socket.connected.connect(() => socket.write(`socket ${i} says ${'x'.repeat(i)}\n`));
    socket.connectToHost('127.0.0.1', echo.port);
  });
  await until(() => sockets.every((socket) => socket.state() === QAbstractSocket.ConnectedState), 20_000, 'every socket connected');
  expect(gw.app.socketgate.stats()).toMatchObject({ sessions: 1, streams: COUNT });
  await until(() => echo.sockets.size === COUNT, 10_000, 'every connection accepted by the target');
  await until(() => received.every((got, i) => got.endsWith('\n') && got.length >= `socket ${i} says `.length), 20_000, 'every echo');
  received.forEach((got, i) => {
    expect(got).toBe(`socket ${i} says ${'x'.repeat(i)}\n`);
  });
  for (const socket of sockets) socket.disconnectFromHost();
  await until(() => gw.app.socketgate.stats().streams === 0, 10_000, 'every stream closed on the gateway');
  await until(() => echo.sockets.size === 0, 10_000, 'every real socket closed');
});

/** A TCP relay between the SDK and the gateway, so a test can cut the WebSocket's connection. */
async function startRelay(port: number) {
  const pairs = new Set<net.Socket>();
  const relay = await startServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    pairs.add(client).add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  return {
    port: relay.port,
    cut: () => {
      for (const socket of pairs) socket.resetAndDestroy();
    },
    close: () => {
      for (const socket of pairs) socket.destroy();
      return relay.close();
    },
  };
}

const activeTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

it('ends every socket with ProxyConnectionClosedError when the WebSocket drops, closes their real sockets, and leaves no timer', async () => {
  const echo = await startEchoServer();
  const blackhole = await startBlackhole();
  const gw = await startGateway();
  const relay = await startRelay(Number(new URL(gw.url).port));
  onTestFinished(() => gw.close());
  onTestFinished(() => echo.close());
  onTestFinished(() => blackhole.close());
  onTestFinished(() => relay.close());
  const gateway = gw.client();
  Object.defineProperty(gateway, 'url', { value: gw.url.replace(/:\d+\//, `:${relay.port}/`) });
  const timersBefore = activeTimers();

  const connectedSockets = Array.from({ length: 5 }, () => new QTcpSocket({ gateway }));
  for (const socket of connectedSockets) socket.connectToHost('127.0.0.1', echo.port);
  const connecting = new QTcpSocket({ gateway });
  connecting.connectToHost('127.0.0.1', blackhole.port);
  await until(() => connectedSockets.every((s) => s.state() === QAbstractSocket.ConnectedState), 5000, 'connected');
  connectedSockets[0]?.write('kept\n');
  await until(() => (connectedSockets[0]?.bytesAvailable() ?? 0) === 5, 5000, 'echo of the kept bytes');
  const logs = connectedSockets.map((socket) => recordSignals(socket));
  const connectingLog = recordSignals(connecting);
  const waits = [connecting.waitForConnected(60_000), connectedSockets[1]?.waitForReadyRead(60_000)];
  expect(activeTimers()).toBeGreaterThan(timersBefore);

  relay.cut();
  expect(await Promise.all(waits)).toEqual([false, false]);
  await until(
    () => [...connectedSockets, connecting].every((s) => s.state() === QAbstractSocket.UnconnectedState),
    5000,
    'all Unconnected',
  );
  for (const log of logs) {
    expect(log).toEqual([
      'errorOccurred(ProxyConnectionClosedError)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
  }
  expect(connectingLog).toEqual(['stateChanged(UnconnectedState)', 'errorOccurred(ProxyConnectionClosedError)']);
  expect(connecting.errorString()).toBe('Connection to proxy closed prematurely (gateway closed the session with 1006)');
  // Data that had arrived stays readable, as after a remote close.
  expect(text(connectedSockets[0]?.readAll() ?? new Uint8Array())).toBe('kept\n');
  expect(activeTimers()).toBeLessThanOrEqual(timersBefore);
  // The gateway notices the drop and closes every real socket of the session.
  await until(() => gw.app.socketgate.stats().sessions === 0, 10_000, 'the session gone');
  await until(() => echo.sockets.size === 0, 10_000, 'the real sockets closed');

  // A socket opened afterwards gets a new WebSocket.
  const again = new QTcpSocket({ gateway });
  again.connectToHost('127.0.0.1', echo.port);
  expect(await again.waitForConnected(5000)).toBe(true);
  again.abort();
});

it('reports a refused credential on every socket as ProxyAuthenticationRequiredError naming the close code', async () => {
  const echo = await startEchoServer();
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  onTestFinished(() => echo.close());
  const gateway = gw.client({ token: 'not-the-token' });
  const socket = new QTcpSocket({ gateway });
  const log = recordSignals(socket);
  socket.connectToHost('127.0.0.1', echo.port);
  expect(await socket.waitForConnected(5000)).toBe(false);
  expect(log).toEqual([
    'stateChanged(HostLookupState)',
    'stateChanged(ConnectingState)',
    'hostFound',
    'stateChanged(UnconnectedState)',
    'errorOccurred(ProxyAuthenticationRequiredError)',
  ]);
  expect(socket.errorString()).toBe('Proxy authentication failed (gateway closed the session with 4401: the token is not accepted)');
  expect(echo.sockets.size).toBe(0);
});

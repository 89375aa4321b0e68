import { createGateway } from '@socketgate/gateway';
import { Gateway, QAbstractSocket, QTcpSocket, type WebSocketConstructor } from '@socketgate/sdk';
import { closedPort, startEchoServer, TEST_TOKEN } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';

it('opens a new WebSocket for sockets made after a loss, backing off while the gateway is down', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const port = await closedPort();
  let opened = 0;
  const Counting = class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      opened++;
    }
  };
  const session = new Gateway(`ws://127.0.0.1:${port}/v1/socket`, {
    token: TEST_TOKEN,
    WebSocket: Counting as unknown as WebSocketConstructor,
    reconnectDelayMs: 200,
  });
  onTestFinished(() => session.close());
  const attempt = () => {
    const socket = new QTcpSocket({ gateway: session });
    socket.connectToHost('127.0.0.1', echo.port);
    return socket;
  };

  // The gateway is down: sockets made together share one attempt and fail with NetworkError.
  const first = [attempt(), attempt(), attempt()];
  expect(opened).toBe(1);
  expect(await Promise.all(first.map((s) => s.waitForConnected(5000)))).toEqual([false, false, false]);
  expect(first.map((s) => s.error())).toEqual([QAbstractSocket.NetworkError, QAbstractSocket.NetworkError, QAbstractSocket.NetworkError]);

  // Right after the loss, a new socket waits out the backoff instead of opening a WebSocket at once.
  const waiting = attempt();
  expect(opened).toBe(1);
  expect(waiting.state()).toBe(QAbstractSocket.ConnectingState);

  // The gateway comes back on its port: the waiting socket connects on the next attempt(s).
  const app = await createGateway({ tokens: [TEST_TOKEN], allow: ['127.0.0.1/32'] });
  await app.listen({ host: '127.0.0.1', port });
  onTestFinished(() => app.close());
  const connected = (await waiting.waitForConnected(10_000)) || (await attempt().waitForConnected(10_000));
  expect(connected).toBe(true);
  expect(opened).toBeGreaterThanOrEqual(2);
});

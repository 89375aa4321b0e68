import { createGateway } from '@socketgate/gateway';
import { Gateway, QAbstractSocket, QTcpSocket, type WebSocketConstructor } from '@socketgate/sdk';
import { closedPort, startEchoServer, TEST_TOKEN } from '@socketgate/testkit';
import { SignJWT } from 'jose';
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

  // The gateway is down: sockets made together share one attempt and fail with ProxyConnectionRefusedError.
  const first = [attempt(), attempt(), attempt()];
  expect(opened).toBe(1);
  expect(await Promise.all(first.map((s) => s.waitForConnected(5000)))).toEqual([false, false, false]);
  expect(first.map((s) => s.error())).toEqual([
    QAbstractSocket.ProxyConnectionRefusedError,
    QAbstractSocket.ProxyConnectionRefusedError,
    QAbstractSocket.ProxyConnectionRefusedError,
  ]);

  // Right after the loss, a new socket waits out the backoff instead of opening a WebSocket at once.
  const waiting = attempt();
  expect(opened).toBe(1);
  expect(waiting.state()).toBe(QAbstractSocket.ConnectingState);

  // The gateway comes back on its port: the waiting socket connects on the next attempt(s).
  const app = await createGateway({ tokens: [TEST_TOKEN], allow: ['127.0.0.1/32'], metricsPort: 0 });
  await app.listen({ host: '127.0.0.1', port });
  onTestFinished(() => app.close());
  const connected = (await waiting.waitForConnected(10_000)) || (await attempt().waitForConnected(10_000));
  expect(connected).toBe(true);
  expect(opened).toBeGreaterThanOrEqual(2);
});

it('asks a token function for a fresh single-use ticket on every connect and reconnect', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const SECRET = 'a-shared-secret-of-at-least-32-characters!';
  const app = await createGateway({
    metricsPort: 0,
    allow: ['127.0.0.1/32'],
    jwt: { secret: SECRET, algorithms: ['HS256'], audience: 'reconnect-test', requireJti: true },
  });
  onTestFinished(() => app.close());
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  let minted = 0;
  // What an app's backend would do per page load or reconnect: a ticket valid for one session.
  const token = async () =>
    new SignJWT({ sub: 'user:reconnect' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('reconnect-test')
      .setJti(`ticket-${++minted}`)
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(SECRET));
  const session = new Gateway(`${address.replace(/^http/, 'ws')}/v1/socket`, { token, WebSocket, reconnectDelayMs: 10 });
  onTestFinished(() => session.close());
  const connect = async () => {
    const socket = new QTcpSocket({ gateway: session });
    socket.connectToHost('127.0.0.1', echo.port);
    return [await socket.waitForConnected(10_000), socket] as const;
  };
  expect((await connect())[0]).toBe(true);
  expect(minted).toBe(1);
  // The gateway ends the session; the next socket opens a new one with a new ticket (a replay of
  // the first would be refused).
  for (const open of app.socketgate.sessions) open.close(4410, 'ended by the test');
  const [afterLoss, socket] = await connect();
  if (!afterLoss) expect((await connect())[0]).toBe(true);
  else expect(socket.state()).toBe(QAbstractSocket.ConnectedState);
  expect(minted).toBeGreaterThanOrEqual(2);
});

it('fails the sockets of an attempt whose token function fails, saying so, and asks it again next time', async () => {
  const app = await createGateway({ tokens: [TEST_TOKEN], allow: ['127.0.0.1/32'], metricsPort: 0 });
  onTestFinished(() => app.close());
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  let calls = 0;
  const session = new Gateway(`${address.replace(/^http/, 'ws')}/v1/socket`, {
    token: () => {
      calls++;
      if (calls === 1) throw new Error('the backend is down');
      return TEST_TOKEN;
    },
    WebSocket,
    reconnectDelayMs: 10,
  });
  onTestFinished(() => session.close());
  const first = new QTcpSocket({ gateway: session });
  first.connectToHost('127.0.0.1', echo.port);
  expect(await first.waitForConnected(5000)).toBe(false);
  expect([first.error(), first.errorString()]).toEqual([
    QAbstractSocket.ProxyAuthenticationRequiredError,
    'Proxy authentication failed (the token function failed: the backend is down)',
  ]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = new QTcpSocket({ gateway: session });
  second.connectToHost('127.0.0.1', echo.port);
  expect(await second.waitForConnected(5000)).toBe(true);
  expect(calls).toBe(2);
});

it('says what to check when no session can be opened: a gateway that is not there, a wrong path, a refused Origin', async () => {
  const lines: string[] = [];
  const app = await createGateway({
    metricsPort: 0,
    tokens: [TEST_TOKEN],
    origins: ['https://app.example.test'],
    logger: {
      level: 'info',
      stream: {
        write: (line: string) => {
          lines.push(line);
        },
      },
    },
  });
  onTestFinished(() => app.close());
  const address = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  const FromForeignPage = class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { origin: 'https://elsewhere.example.test' });
    }
  };
  const cases: Array<[string, WebSocketConstructor]> = [
    [`ws://127.0.0.1:${await closedPort()}/v1/socket`, WebSocket],
    [`${address}/wrong/path`, WebSocket],
    [`${address}/v1/socket`, FromForeignPage],
  ];
  for (const [url, Constructor] of cases) {
    const session = new Gateway(url, { token: TEST_TOKEN, WebSocket: Constructor });
    onTestFinished(() => session.close());
    const socket = new QTcpSocket({ gateway: session });
    socket.connectToHost('127.0.0.1', 7000);
    expect(await socket.waitForConnected(5000)).toBe(false);
    expect([socket.error(), socket.errorString()]).toEqual([
      QAbstractSocket.ProxyConnectionRefusedError,
      `Connection to proxy refused (no session with the gateway at ${url}: check the URL and its path, that the gateway runs, and that it accepts this page's Origin)`,
    ]);
  }
  // The gateway's side of the refused Origin names it and the setting that would accept it.
  expect(lines.join('')).toContain(
    'refused a WebSocket from the origin https://elsewhere.example.test: add it to origins (--origin https://elsewhere.example.test)',
  );
});

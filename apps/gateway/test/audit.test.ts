import { Writable } from 'node:stream';
import { createGateway } from '@socketgate/gateway';
import { Gateway, QAbstractSocket, QTcpSocket, QUdpSocket } from '@socketgate/sdk';
import { closedPort, rawSession, startEchoServer, startUdpEcho, text, until } from '@socketgate/testkit';
import { SignJWT } from 'jose';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';

const TOKEN = 'canary-static-token-0123456789';
const SECRET = 'canary-jwt-secret-of-at-least-32-characters';

/** A gateway on loopback whose every log line, at every level, the test keeps. */
async function loggedGateway(options: Parameters<typeof createGateway>[0] = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  const app = await createGateway({ tokens: [TOKEN], metricsPort: 0, logger: { level: 'trace', stream }, ...options });
  onTestFinished(() => app.close());
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `${address.replace(/^http/, 'ws')}/v1/socket`, lines, raw };
}

it('logs one audit line when a stream opens and one when it ends: who, what, where it went, how it ended, bytes, duration', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const udpEcho = await startUdpEcho();
  onTestFinished(() => udpEcho.close());
  const closed = await closedPort();
  const gw = await loggedGateway({ allow: [`127.0.0.1/32:${echo.port}`, `127.0.0.1/32:${udpEcho.port}`, `127.0.0.1/32:${closed}`] });
  const session = new Gateway(gw.url, { token: TOKEN, WebSocket });
  onTestFinished(() => session.close());

  const socket = new QTcpSocket({ gateway: session });
  socket.connectToHost('localhost', echo.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  socket.write('twelve bytes');
  await until(() => socket.bytesAvailable() === 12, 5000, 'the echo');
  expect(text(socket.readAll())).toBe('twelve bytes');
  socket.disconnectFromHost();
  await until(() => socket.state() === QAbstractSocket.UnconnectedState, 5000, 'the close');

  const refused = new QTcpSocket({ gateway: session });
  refused.connectToHost('127.0.0.1', closed);
  expect(await refused.waitForConnected(5000)).toBe(false);

  const udp = new QUdpSocket({ gateway: session });
  udp.writeDatagram('ping', '127.0.0.1', udpEcho.port);
  await until(() => udp.hasPendingDatagrams(), 5000, 'the datagram');
  udp.close();

  await until(() => gw.lines.filter((line) => line.msg === 'stream ended').length === 3, 5000, 'three audit lines');
  const opened = gw.lines.filter((line) => line.msg === 'stream opened');
  // In the order the streams were opened (they may end in another).
  const ended = [1, 2, 3].map((id) => gw.lines.find((line) => line.msg === 'stream ended' && line.stream === id));
  expect(opened.every((line) => line.level === 30)).toBe(true);
  expect(ended.every((line) => line?.level === 30)).toBe(true);
  expect(opened[0]).toMatchObject({ client: '127.0.0.1', transport: 'tcp', host: 'localhost', port: echo.port, kind: 'open' });
  expect(opened[0]?.principal).toMatch(/^token:[0-9a-f]{16}$/);
  expect(typeof opened[0]?.session).toBe('string');
  expect(ended[0]).toMatchObject({
    client: '127.0.0.1',
    transport: 'tcp',
    host: 'localhost',
    port: echo.port,
    outcome: 'closed by the client',
    bytesUp: 12,
    bytesDown: 12,
  });
  expect(ended[0]?.peer).toMatch(new RegExp(`^(127\\.0\\.0\\.1|::1):${echo.port}$`));
  expect(ended[0]?.durationMs).toBeGreaterThanOrEqual(0);
  expect(ended[1]).toMatchObject({ transport: 'tcp', outcome: 'ConnectionRefusedError: Connection refused', bytesUp: 0, bytesDown: 0 });
  expect(ended[2]).toMatchObject({ transport: 'udp', outcome: 'closed by the client', bytesUp: 4, bytesDown: 4 });

  // A refusal names the rule that refused.
  const forbidden = new QTcpSocket({ gateway: session });
  forbidden.connectToHost('127.0.0.1', 9);
  expect(await forbidden.waitForConnected(5000)).toBe(false);
  await until(() => gw.lines.filter((line) => line.msg === 'stream ended').length === 4, 5000, 'the refusal');
  expect(gw.lines.filter((line) => line.msg === 'stream ended').at(-1)?.outcome).toMatch(
    /^SocketAccessError: Permission denied: port 9 is one browsers block/,
  );
});

it('never writes a token, a ticket or a JWT into any log line at any level, accepted or refused', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const gw = await loggedGateway({
    allow: [`127.0.0.1/32:${echo.port}`],
    jwt: { secret: SECRET, algorithms: ['HS256'], audience: 'canary', requireJti: true },
  });
  const ticket = await new SignJWT({ sub: 'user:canary' })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('canary')
    .setJti('canary-ticket-id')
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode(SECRET));
  const wrongAudience = await new SignJWT({ sub: 'user:canary' })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('elsewhere')
    .setJti('canary-other-id')
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode(SECRET));

  // Accepted: a static token and a ticket, each with a stream.
  for (const credential of [TOKEN, ticket]) {
    const session = new Gateway(gw.url, { token: credential, WebSocket });
    onTestFinished(() => session.close());
    const socket = new QTcpSocket({ gateway: session });
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    session.close();
  }
  // Refused: the ticket again (a replay), a JWT for another audience, an unknown token, and a
  // credential in the URL query.
  for (const credential of [ticket, wrongAudience, `${TOKEN}-unknown`]) {
    const session = await rawSession(gw.url, credential, { hello: false });
    session.send({ type: 'hello', version: 1, token: credential });
    expect((await session.closed).code).toBe(4401);
  }
  const inUrl = await rawSession(`${gw.url}?token=${TOKEN}&ticket=${ticket}`, TOKEN);
  inUrl.close();
  await until(() => gw.app.socketgate.stats().sessions === 0, 5000, 'every session gone');

  const everything = gw.raw.join('\n');
  expect(gw.lines.some((line) => line.msg === 'hello refused')).toBe(true);
  expect(gw.lines.some((line) => line.level === 10 || line.level === 20)).toBe(true);
  for (const secret of [TOKEN, ticket, wrongAudience, SECRET, ticket.split('.')[2] as string]) expect(everything).not.toContain(secret);
});

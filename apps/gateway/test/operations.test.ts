import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Gateway, QAbstractSocket, QTcpSocket, QUdpSocket } from '@socketgate/sdk';
import { closedPort, rawSession, startEchoServer, startGateway, startServer, startUdpEcho, TEST_TOKEN, until } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { run } from './cli-helpers.js';

/** A metric's value from Prometheus text, or undefined. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      (match[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => pair.split('=').map((part) => part.replace(/"/g, ''))),
    );
    if (Object.entries(labels).every(([key, value]) => have[key] === value)) return Number(match[3]);
  }
  return undefined;
}

const MiB = 1024 * 1024;

/** A target that sends `bytes` random bytes to each client, honouring back-pressure, then closes. */
async function downloadServer(bytes: number) {
  const data = randomBytes(bytes);
  const server = await startServer((socket) => {
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        const chunk = data.subarray(sent, sent + 64 * 1024);
        sent += chunk.byteLength;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  onTestFinished(() => server.close());
  return { server, sha256: createHash('sha256').update(data).digest('hex') };
}

/** Reads a socket to its end at a modest pace; resolves with the SHA-256 of everything. */
function readAll(socket: QTcpSocket): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve) => {
    socket.readyRead.connect(() => {
      const chunk = socket.readAll();
      bytes += chunk.byteLength;
      hash.update(chunk);
    });
    socket.disconnected.connect(() => {
      const rest = socket.readAll();
      bytes += rest.byteLength;
      hash.update(rest);
      resolve({ bytes, sha256: hash.digest('hex') });
    });
  });
}

describe('metrics', () => {
  it('counts sessions, streams, bytes each way, datagrams, connect latency, errors by Qt name, refusals and auth failures', async () => {
    const echo = await startEchoServer();
    const udpEcho = await startUdpEcho();
    onTestFinished(() => echo.close());
    onTestFinished(() => udpEcho.close());
    const gw = await startGateway({ allow: ['127.0.0.1/32'] });
    onTestFinished(() => gw.close());
    const client = gw.client();
    const socket = new QTcpSocket({ gateway: client });
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write(new Uint8Array(1000));
    await until(() => socket.bytesAvailable() === 1000, 5000, 'the echo');
    const udp = new QUdpSocket({ gateway: client });
    udp.writeDatagram('ping', '127.0.0.1', udpEcho.port);
    await until(() => udp.hasPendingDatagrams(), 5000, 'the datagram echo');
    const refused = new QTcpSocket({ gateway: client });
    refused.connectToHost('127.0.0.1', await closedPort());
    expect(await refused.waitForConnected(5000)).toBe(false);
    const forbidden = new QTcpSocket({ gateway: client });
    forbidden.connectToHost('::1', echo.port);
    expect(await forbidden.waitForConnected(5000)).toBe(false);
    const bad = await rawSession(gw.url, 'wrong-token', { hello: false });
    bad.send({ type: 'hello', version: 1, token: 'wrong-token' });
    await bad.closed;
    await until(() => gw.app.socketgate.stats().sessions === 1, 5000, 'the refused session gone');

    const text = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metric(text, 'socketgate_sessions')).toBe(1);
    expect(metric(text, 'socketgate_streams', { transport: 'tcp', state: 'connected' })).toBe(1);
    expect(metric(text, 'socketgate_streams', { transport: 'udp', state: 'bound' })).toBe(1);
    expect(metric(text, 'socketgate_buffered_bytes')).toBe(gw.app.socketgate.stats().bufferedBytes);
    expect(metric(text, 'socketgate_bytes_total', { direction: 'up', transport: 'tcp' })).toBe(1000);
    expect(metric(text, 'socketgate_bytes_total', { direction: 'down', transport: 'tcp' })).toBe(1000);
    expect(metric(text, 'socketgate_datagrams_total', { direction: 'up' })).toBe(1);
    expect(metric(text, 'socketgate_datagrams_total', { direction: 'down' })).toBe(1);
    expect(metric(text, 'socketgate_connect_duration_seconds_count')).toBe(1);
    expect(metric(text, 'socketgate_stream_errors_total', { error: 'ConnectionRefusedError' })).toBe(1);
    expect(metric(text, 'socketgate_stream_errors_total', { error: 'SocketAccessError' })).toBe(1);
    expect(metric(text, 'socketgate_policy_refusals_total')).toBe(1);
    expect(metric(text, 'socketgate_auth_failures_total')).toBe(1);
    expect(metric(text, 'socketgate_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);

    // The byte and datagram counts are handed to the counters when they are read: a second read
    // shows what moved since added to what the first showed, and a read with nothing moved the same.
    socket.write(new Uint8Array(24));
    await until(() => socket.bytesAvailable() === 1024, 5000, 'the second echo');
    expect(udp.readDatagram(4)[0].byteLength).toBe(4);
    udp.writeDatagram('ping', '127.0.0.1', udpEcho.port);
    await until(() => udp.hasPendingDatagrams(), 5000, 'the second datagram echo');
    for (let read = 0; read < 2; read++) {
      const again = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metric(again, 'socketgate_bytes_total', { direction: 'up', transport: 'tcp' })).toBe(1024);
      expect(metric(again, 'socketgate_bytes_total', { direction: 'down', transport: 'tcp' })).toBe(1024);
      expect(metric(again, 'socketgate_bytes_total', { direction: 'up', transport: 'udp' })).toBe(8);
      expect(metric(again, 'socketgate_datagrams_total', { direction: 'up' })).toBe(2);
      expect(metric(again, 'socketgate_datagrams_total', { direction: 'down' })).toBe(2);
    }
  });

  it('fails to start, saying why, when its metrics port is taken', async () => {
    const taken = await startEchoServer();
    onTestFinished(() => taken.close());
    await expect(startGateway({ metricsPort: taken.port })).rejects.toThrow(
      new RegExp(`metrics listener on 127\\.0\\.0\\.1:${taken.port}: listen EADDRINUSE`),
    );
  });

  it('serves /metrics on a port of its own when metricsPort is set, and not on the main one', async () => {
    const metricsPort = await closedPort();
    const gw = await startGateway({ metricsPort });
    onTestFinished(() => gw.close());
    const separate = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(separate.status).toBe(200);
    expect(await separate.text()).toContain('socketgate_sessions 0');
    expect((await gw.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
  });

  it('by default keeps metrics off the public port: a loopback listener on 9464 of its own; metricsPublic puts them on the main port', async () => {
    // The default, as the CLI reads it (the tests' environment sets SOCKETGATE_METRICS_PORT=0).
    const printed = run(['--print-config'], { SOCKETGATE_METRICS_PORT: undefined });
    await once(printed.child, 'exit');
    expect(JSON.parse(printed.lines.join('\n'))).toMatchObject({ metricsHost: '127.0.0.1', metricsPort: 9464, metricsPublic: false });

    // A real process with a separate metrics port: served there, not on the main port, even to loopback.
    const metricsPort = await closedPort();
    const cli = run(['--port', '0', '--token', 'a-token-0123456789'], { SOCKETGATE_METRICS_PORT: String(metricsPort) });
    const [, port] = (await cli.line(/listening on ws:\/\/127\.0\.0\.1:(\d+)/)) as RegExpMatchArray;
    await cli.line(new RegExp(`metrics on http://127\\.0\\.0\\.1:${metricsPort}/metrics`));
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toContain('socketgate_sessions 0');
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);

    // metricsPublic: on the main port to any peer, and no listener of its own (the process above still
    // holds metricsPort, so a gateway that tried to listen there would fail to start).
    const open = await startGateway({ metricsPort, metricsPublic: true });
    onTestFinished(() => open.close());
    expect((await open.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9' })).statusCode).toBe(200);
  });
});

describe('health and drain', () => {
  it('flips readiness while draining, refuses new sessions and streams, and lets a 32 MiB download finish', async () => {
    const { server, sha256 } = await downloadServer(32 * MiB);
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const client = gw.client();
    const socket = new QTcpSocket({ gateway: client });
    socket.setReadBufferSize(256 * 1024);
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    const done = readAll(socket);
    const drained = gw.app.socketgate.drain(30_000);
    expect(gw.app.socketgate.ready).toBe(false);
    expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await expect(rawSession(gw.url, TEST_TOKEN, { hello: false })).rejects.toThrow(/503/);
    const late = new QTcpSocket({ gateway: client });
    late.connectToHost('127.0.0.1', server.port);
    expect(await late.waitForConnected(5000)).toBe(false);
    expect(late.errorString()).toBe('Out of resources: the gateway is shutting down and takes no new streams');
    expect(client.draining).toBe(true);
    expect(await done).toEqual({ bytes: 32 * MiB, sha256 });
    expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
    await drained;
    expect(gw.app.socketgate.stats().sessions).toBe(0);
  });

  it('on SIGTERM the CLI drains: a 32 MiB download a client keeps reading completes, then it exits 0', async () => {
    const { server, sha256 } = await downloadServer(32 * MiB);
    const cli = run(['--port', '0', '--token', TEST_TOKEN, '--allow', `127.0.0.1/32:${server.port}`, '--drain-grace-ms', '20000']);
    const [, url = ''] = await cli.line(/^socketgate listening on (ws:\/\/\S+)$/);
    const session = new Gateway(url, { token: TEST_TOKEN, WebSocket: WebSocket });
    onTestFinished(() => session.close());
    const socket = new QTcpSocket({ gateway: session });
    socket.setReadBufferSize(128 * 1024);
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    let arrived = 0;
    socket.readyRead.connect(() => {
      arrived += socket.bytesAvailable();
    });
    const done = readAll(socket);
    await until(() => arrived > 0, 5000, 'the download under way');
    cli.child.kill('SIGTERM');
    const exited = once(cli.child, 'exit');
    expect(await done).toEqual({ bytes: 32 * MiB, sha256 });
    const [code] = await exited;
    expect(code).toBe(0);
  });
});

describe('embedding', () => {
  it("mounts on an existing Fastify app as a plugin, beside the app's own routes", async () => {
    const { default: Fastify } = await import('fastify');
    const { socketgate } = await import('@socketgate/gateway');
    const echo = await startEchoServer();
    onTestFinished(() => echo.close());
    const app = Fastify();
    app.get('/app', async () => ({ mine: true }));
    await app.register(socketgate, { tokens: [TEST_TOKEN], allow: ['127.0.0.1/32'] });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    onTestFinished(() => app.close());
    expect((await app.inject({ method: 'GET', url: '/app' })).json()).toEqual({ mine: true });
    const session = new Gateway(`${address.replace('http', 'ws')}/v1/socket`, {
      token: TEST_TOKEN,
      WebSocket: WebSocket,
    });
    onTestFinished(() => session.close());
    const socket = new QTcpSocket({ gateway: session });
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(app.socketgate.stats().streams).toBe(1);
  });
});

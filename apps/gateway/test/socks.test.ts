import { QAbstractSocket, QNetworkProxy, QTcpSocket } from '@socketgate/sdk';
import { closedPort, startBlackhole, startEchoServer, startFakeProxy, startGateway, startMicrosocks, text } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';

function stopAfter<T extends { close(): Promise<void> }>(server: T): T {
  onTestFinished(() => server.close());
  return server;
}

async function gateway(options: Parameters<typeof startGateway>[0]) {
  const gw = await startGateway(options);
  onTestFinished(() => gw.close());
  return gw;
}

/** Connects a socket through `gw` and returns it once it settled. */
async function connect(gw: Awaited<ReturnType<typeof gateway>>, port: number, proxy?: QNetworkProxy) {
  const socket = new QTcpSocket({ gateway: gw.client() });
  if (proxy) socket.setProxy(proxy);
  socket.connectToHost('127.0.0.1', port);
  await socket.waitForConnected(10_000);
  return socket;
}

async function echoes(socket: QTcpSocket): Promise<string> {
  socket.write('through the proxy\n');
  await socket.waitForReadyRead(5000);
  return text(socket.readAll());
}

describe('upstream SOCKS5 proxy (Debian microsocks on loopback)', () => {
  it('carries every TCP connection of the gateway through the proxy, without and with a password', async () => {
    const echo = stopAfter(await startEchoServer());
    const open = stopAfter(await startMicrosocks());
    const plain = await gateway({ upstreamProxy: `socks5://127.0.0.1:${open.port}` });
    const socket = await connect(plain, echo.port);
    expect(socket.state()).toBe(QAbstractSocket.ConnectedState);
    expect(await echoes(socket)).toBe('through the proxy\n');

    const secured = stopAfter(await startMicrosocks({ user: 'alice', password: 's3cret' }));
    const withAuth = await gateway({ upstreamProxy: `socks5://alice:s3cret@127.0.0.1:${secured.port}` });
    expect(await echoes(await connect(withAuth, echo.port))).toBe('through the proxy\n');
    const wrong = await gateway({ upstreamProxy: `socks5://alice:wrong@127.0.0.1:${secured.port}` });
    const refused = await connect(wrong, echo.port);
    expect([refused.error(), refused.errorString()]).toEqual([
      QAbstractSocket.ProxyAuthenticationRequiredError,
      'Proxy authentication failed',
    ]);
    const none = await gateway({ upstreamProxy: `socks5://127.0.0.1:${secured.port}` });
    expect((await connect(none, echo.port)).error()).toBe(QAbstractSocket.ProxyAuthenticationRequiredError);
  });

  it('reports each proxy failure by its Qt name', async () => {
    const echo = stopAfter(await startEchoServer());
    const cases: Array<[string, Parameters<typeof gateway>[0], number, string]> = [];
    cases.push([
      'refused',
      { upstreamProxy: `socks5://127.0.0.1:${await closedPort()}` },
      QAbstractSocket.ProxyConnectionRefusedError,
      'Connection to proxy refused',
    ]);
    const blackhole = stopAfter(await startBlackhole());
    cases.push([
      'timeout',
      { upstreamProxy: `socks5://127.0.0.1:${blackhole.port}`, connectTimeoutMs: 300 },
      QAbstractSocket.ProxyConnectionTimeoutError,
      'Proxy connection timed out',
    ]);
    const closer = stopAfter(await startFakeProxy(new Uint8Array(0)));
    cases.push([
      'closed',
      { upstreamProxy: `socks5://127.0.0.1:${closer.port}` },
      QAbstractSocket.ProxyConnectionClosedError,
      'Connection to proxy closed prematurely',
    ]);
    const garbage = stopAfter(await startFakeProxy(Uint8Array.of(0x48, 0x54, 0x54, 0x50)));
    cases.push([
      'protocol',
      { upstreamProxy: `socks5://127.0.0.1:${garbage.port}` },
      QAbstractSocket.ProxyProtocolError,
      'Proxy protocol error',
    ]);
    for (const [name, options, error, message] of cases) {
      const socket = await connect(await gateway(options), echo.port);
      expect(socket.error(), name).toBe(error);
      expect(socket.errorString(), name).toContain(message);
    }
    // The proxy's report about the destination is the error a direct connect would give.
    const proxy = stopAfter(await startMicrosocks());
    const viaProxy = await connect(await gateway({ upstreamProxy: `socks5://127.0.0.1:${proxy.port}` }), await closedPort());
    expect([viaProxy.error(), viaProxy.errorString()]).toEqual([QAbstractSocket.ConnectionRefusedError, 'Connection refused']);
  });

  it('still applies the egress policy to the final destination', async () => {
    const echo = stopAfter(await startEchoServer());
    const other = stopAfter(await startEchoServer());
    const proxy = stopAfter(await startMicrosocks());
    const gw = await gateway({ upstreamProxy: `socks5://127.0.0.1:${proxy.port}`, allow: [`127.0.0.1/32:${echo.port}`] });
    expect(await echoes(await connect(gw, echo.port))).toBe('through the proxy\n');
    const refused = await connect(gw, other.port);
    expect(refused.error()).toBe(QAbstractSocket.SocketAccessError);
    expect(other.sockets.size).toBe(0);
  });
});

describe("a socket's own proxy (QNetworkProxy)", () => {
  it('connects through a client-named SOCKS5 proxy where the gateway allows it, and the proxy must pass the policy', async () => {
    const echo = stopAfter(await startEchoServer());
    const proxy = stopAfter(await startMicrosocks({ user: 'bob', password: 'pw' }));
    const socks = new QNetworkProxy(QNetworkProxy.Socks5Proxy, '127.0.0.1', proxy.port, 'bob', 'pw');
    const allowing = await gateway({ clientProxies: true, allow: [`127.0.0.1/32:${echo.port}`, `127.0.0.1/32:${proxy.port}`] });
    expect(await echoes(await connect(allowing, echo.port, socks))).toBe('through the proxy\n');

    const notAllowed = await gateway({ allow: [`127.0.0.1/32:${echo.port}`, `127.0.0.1/32:${proxy.port}`] });
    const refused = await connect(notAllowed, echo.port, socks);
    expect([refused.error(), refused.errorString()]).toEqual([
      QAbstractSocket.SocketAccessError,
      'Permission denied: the gateway does not allow client proxies',
    ]);

    const proxyOutsidePolicy = await gateway({ clientProxies: true, allow: [`127.0.0.1/32:${echo.port}`] });
    expect((await connect(proxyOutsidePolicy, echo.port, socks)).errorString()).toBe(
      `Permission denied: the egress policy does not allow the proxy 127.0.0.1 port ${proxy.port}`,
    );
    const missing = await connect(allowing, echo.port, new QNetworkProxy(QNetworkProxy.Socks5Proxy, 'proxy.invalid', 1080));
    expect([missing.error(), missing.errorString()]).toEqual([QAbstractSocket.ProxyNotFoundError, 'Proxy host not found']);

    QNetworkProxy.setApplicationProxy(socks);
    onTestFinished(() => QNetworkProxy.setApplicationProxy(null));
    expect(await echoes(await connect(allowing, echo.port))).toBe('through the proxy\n');
    const http = new QTcpSocket({ gateway: allowing.client() });
    http.setProxy(new QNetworkProxy(QNetworkProxy.HttpProxy, '127.0.0.1', 3128));
    http.connectToHost('127.0.0.1', echo.port);
    expect(http.error()).toBe(QAbstractSocket.UnsupportedSocketOperationError);
  });
});

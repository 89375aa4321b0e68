/**
 * Hosts the gateway would refuse as malformed (a NUL or another control character, a space,
 * Unicode, a zone id, an over-long label) never leave the SDK: connectToHost fails as Qt fails a
 * name that does not resolve, writeDatagram returns -1, and nothing naming the host is sent.
 * Through a real gateway and real loopback servers.
 */
import { QAbstractSocket, QHostAddress, QNetworkProxy, QTcpSocket, QUdpSocket } from '@socketgate/sdk';
import { nextSignal, recordSignals, startEchoServer, startUdpEcho, text } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { gatewayForTest, HostLookupState, sleep, stopAfter, UnconnectedState } from './helpers.js';

const MALFORMED: ReadonlyArray<[string, string]> = [
  ['a NUL before an allowed suffix', 'evil.test\u0000.example.org'],
  ['an IPv4 literal and a NUL', '93.184.216.34\u0000x'],
  ['a tab', 'evil.test\t.example.org'],
  ['DEL', 'evil\u007f.test'],
  ['the C1 control NEL', 'evil.test\u0085.example.org'],
  ['U+2028', 'evil.test\u2028.example.org'],
  ['fullwidth digits', '\uff11\uff12\uff17.0.0.1'],
  ['a lone surrogate', '\ud800.example.org'],
  ['a space', 'example.org 8.8.8.8'],
  ['a zone id', 'fe80::1%lo'],
  ['a 64-character label', `${'a'.repeat(64)}.test`],
  ['nothing', ''],
];

/** A gateway, and an SDK session whose WebSocket records every frame the SDK sends. */
async function recordingGateway() {
  const gw = await gatewayForTest({ udpInbound: 'any' });
  const sent: string[] = [];
  class RecordingWebSocket extends WebSocket {
    override send(data: Parameters<WebSocket['send']>[0], ...rest: unknown[]): void {
      sent.push(typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString('latin1'));
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  const session = gw.client({ WebSocket: RecordingWebSocket });
  return { gw, sent, session, tcp: () => new QTcpSocket({ gateway: session }), udp: () => new QUdpSocket({ gateway: session }) };
}

describe('connectToHost with a malformed host', () => {
  it.each(MALFORMED)(
    'fails with %s as Qt fails an unknown name: HostLookup, then Unconnected and HostNotFoundError',
    async (_name, host) => {
      const { sent, tcp } = await recordingGateway();
      const socket = tcp();
      const log = recordSignals(socket);
      socket.connectToHost(host, 80);
      expect(log).toEqual(['stateChanged(HostLookupState)']);
      expect(socket.state()).toBe(HostLookupState);
      expect(await socket.waitForConnected(5000)).toBe(false);
      expect(log).toEqual(['stateChanged(HostLookupState)', 'stateChanged(UnconnectedState)', 'errorOccurred(HostNotFoundError)']);
      expect(socket.error()).toBe(QAbstractSocket.HostNotFoundError);
      expect(socket.errorString()).toBe('Host not found');
      expect(socket.isOpen()).toBe(true);
      expect(socket.peerName()).toBe(host);
      expect(sent.filter((frame) => frame.includes('"open"'))).toEqual([]);
    },
  );

  it('fails for a zoned QHostAddress too, and the same socket then connects to a good host', async () => {
    const echo = stopAfter(await startEchoServer());
    const { sent, tcp } = await recordingGateway();
    const socket = tcp();
    socket.connectToHost(new QHostAddress('fe80::1%lo'), 80);
    expect(await socket.waitForConnected(5000)).toBe(false);
    expect(socket.error()).toBe(QAbstractSocket.HostNotFoundError);
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('ping');
    await nextSignal(socket.readyRead);
    expect(text(socket.readAll())).toBe('ping');
    expect(sent.filter((frame) => frame.includes('"open"'))).toHaveLength(1);
    socket.abort();
  });

  it('reports nothing after an abort during the lookup', async () => {
    const { tcp } = await recordingGateway();
    const socket = tcp();
    const log = recordSignals(socket);
    socket.connectToHost('evil.test\u0000.example.org', 80);
    socket.abort();
    await sleep(50);
    expect(log).toEqual(['stateChanged(HostLookupState)', 'aboutToClose', 'stateChanged(UnconnectedState)', 'readChannelFinished']);
    expect(socket.error()).toBe(QAbstractSocket.UnknownSocketError);
  });

  it('fails a SOCKS5 proxy with a malformed host name as a proxy not found, sending nothing', async () => {
    const echo = stopAfter(await startEchoServer());
    const { sent, tcp } = await recordingGateway();
    const socket = tcp();
    socket.setProxy(new QNetworkProxy(QNetworkProxy.Socks5Proxy, 'proxy.test\u0000.example.org', 1080));
    const log = recordSignals(socket);
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(false);
    expect(log).toEqual(['stateChanged(HostLookupState)', 'stateChanged(UnconnectedState)', 'errorOccurred(ProxyNotFoundError)']);
    expect(socket.errorString()).toBe('Proxy host not found');
    expect(sent.filter((frame) => frame.includes('"open"'))).toEqual([]);
  });

  it('fails a bound UDP socket connecting to a malformed host like a name the gateway cannot resolve', async () => {
    const { udp, session } = await recordingGateway();
    const socket = udp();
    expect(socket.bind('127.0.0.1', 0)).toBe(true);
    expect(socket.state()).toBe(QAbstractSocket.BoundState);
    // Bound at once, as in Qt; the session with the gateway is open once it has said welcome.
    while (session.sessionId === undefined) await sleep(10);
    const log = recordSignals(socket);
    socket.connectToHost('evil.test\u0000.example.org', 53);
    expect(log).toEqual(['stateChanged(HostLookupState)']);
    await nextSignal(socket.errorOccurred);
    expect(log).toEqual(['stateChanged(HostLookupState)', 'stateChanged(UnconnectedState)', 'errorOccurred(HostNotFoundError)']);
    expect(socket.state()).toBe(UnconnectedState);
  });
});

describe('writeDatagram to a malformed host', () => {
  it.each(MALFORMED.filter(([, host]) => host !== ''))(
    'returns -1 with %s: HostNotFoundError at once, no bind, nothing sent',
    async (_name, host) => {
      const { sent, udp } = await recordingGateway();
      const socket = udp();
      const log = recordSignals(socket, { bytesWritten: true });
      expect(socket.writeDatagram('x', host, 53)).toBe(-1);
      expect(log).toEqual(['errorOccurred(HostNotFoundError)']);
      expect(socket.error()).toBe(QAbstractSocket.HostNotFoundError);
      expect(socket.errorString()).toBe('Host not found');
      expect(socket.state()).toBe(UnconnectedState);
      await sleep(20);
      expect(sent.filter((frame) => frame.includes('"bind"') || frame.startsWith('\u0004'))).toEqual([]);
    },
  );

  it('keeps a bound socket usable: the next datagram to a good address is echoed', async () => {
    const echo = await startUdpEcho();
    onTestFinished(() => echo.close());
    const { udp } = await recordingGateway();
    const socket = udp();
    expect(socket.writeDatagram('bad', 'evil.test\u0000.example.org', echo.port)).toBe(-1);
    expect(socket.writeDatagram('good', '127.0.0.1', echo.port)).toBe(4);
    await nextSignal(socket.readyRead);
    const [data] = socket.readDatagram();
    expect(text(data)).toBe('good');
  });
});

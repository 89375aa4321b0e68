import dgram from 'node:dgram';
import { QAbstractSocket, QUdpSocket } from '@socketgate/sdk';
import { nextSignal, startDnsServer, startGateway, startUdpEcho, startUdpServer, text, until } from '@socketgate/testkit';
import dnsPacket from 'dns-packet';
import { describe, expect, it, onTestFinished } from 'vitest';

async function gateway(options: Parameters<typeof startGateway>[0] = {}) {
  const gw = await startGateway(options);
  onTestFinished(() => gw.close());
  const session = gw.client();
  return Object.assign(gw, { udp: () => new QUdpSocket({ gateway: session }) });
}

function stopAfter<T extends { close(): Promise<void> }>(server: T): T {
  onTestFinished(() => server.close());
  return server;
}

describe('UDP through the gateway', () => {
  it.each(['127.0.0.1', '::1'])('echoes unconnected and connected over %s, with the real sender address and port', async (host) => {
    const echo = stopAfter(await startUdpEcho(host));
    const gw = await gateway();
    const unconnected = gw.udp();
    expect(unconnected.writeDatagram('unconnected', host, echo.port)).toBe(11);
    await nextSignal(unconnected.readyRead);
    const [data, sender, port] = unconnected.readDatagram();
    // The implicit bind is dual-stack, as Qt's: an IPv4 sender reads IPv4-mapped.
    expect([text(data), sender.toString(), port]).toEqual(['unconnected', host === '::1' ? host : `::ffff:${host}`, echo.port]);
    // The echo server saw the gateway socket's real port, which the SDK reports as its local port.
    expect(echo.received[0]?.port).toBe(unconnected.localPort());

    const connected = gw.udp();
    connected.connectToHost(host, echo.port);
    expect(await connected.waitForConnected(5000)).toBe(true);
    expect(connected.peerAddress().toString()).toBe(host);
    expect(connected.write('connected')).toBe(9);
    expect(await connected.waitForReadyRead(5000)).toBe(true);
    expect(text(connected.read(100))).toBe('connected');
    expect(echo.received[1]?.port).toBe(connected.localPort());
  });

  it('keeps datagram boundaries for 0, 1, 1400, 8192 and 65507 bytes; refuses 65508 and stays usable', async () => {
    const echo = stopAfter(await startUdpEcho());
    const gw = await gateway();
    const socket = gw.udp();
    const sizes = [0, 1, 1400, 8192, 65507];
    for (const size of sizes) {
      const payload = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
      expect(socket.writeDatagram(payload, '127.0.0.1', echo.port)).toBe(size);
    }
    await until(() => echo.received.length === sizes.length, 5000, 'every datagram at the target');
    expect(echo.received.map((d) => d.data.byteLength)).toEqual(sizes);
    const got: number[] = [];
    await until(
      () => {
        while (socket.hasPendingDatagrams()) {
          const [data] = socket.readDatagram();
          expect(data.every((byte, i) => byte === ((i * 7 + data.byteLength) & 0xff))).toBe(true);
          got.push(data.byteLength);
        }
        return got.length === sizes.length;
      },
      5000,
      'every echo',
    );
    expect(got).toEqual(sizes);

    expect(socket.writeDatagram(new Uint8Array(65508), '127.0.0.1', echo.port)).toBe(-1);
    expect(socket.error()).toBe(QAbstractSocket.DatagramTooLargeError);
    expect(socket.writeDatagram('still usable', '127.0.0.1', echo.port)).toBe(12);
    await nextSignal(socket.readyRead);
    expect(text(socket.readDatagram()[0])).toBe('still usable');
  });

  it('asks a real DNS server (Debian dnsmasq on loopback, in CI) for an A record and parses the answer', async () => {
    const dns = stopAfter(await startDnsServer({ 'socketgate.test': '192.0.2.7' }));
    if (process.env.SOCKETGATE_REQUIRE_DNSMASQ === '1') expect(dns.kind).toBe('dnsmasq');
    const gw = await gateway();
    const socket = gw.udp();
    const query = dnsPacket.encode({
      type: 'query',
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'www.socketgate.test' }],
    });
    socket.connectToHost('127.0.0.1', dns.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.write(query)).toBe(query.byteLength);
    expect(await socket.waitForReadyRead(5000)).toBe(true);
    const answer = dnsPacket.decode(Buffer.from(socket.read(socket.pendingDatagramSize())));
    expect(answer.id).toBe(4242);
    expect(answer.type).toBe('response');
    expect(answer.answers).toEqual([expect.objectContaining({ type: 'A', name: 'www.socketgate.test', data: '192.0.2.7' })]);
  });

  it('bounds a stalled reader under a flood of 100,000 datagrams: drops are counted, memory stays bounded, reading resumes', async () => {
    const TOTAL = 100_000;
    const flooder = stopAfter(await startUdpServer());
    const gw = await startGateway({ udpQueueBytes: 64 * 1024 });
    onTestFinished(() => gw.close());
    const WINDOW = 64 * 1024;
    const socket = new QUdpSocket({ gateway: gw.client({ receiveWindowBytes: WINDOW }) });
    // The socket sends first, so the flooder's datagrams are replies the gateway may deliver.
    socket.writeDatagram('start', '127.0.0.1', flooder.port);
    await until(() => flooder.received.length === 1, 5000, 'the first datagram');
    const client = flooder.received[0] as { address: string; port: number };
    const payload = Buffer.alloc(1000, 0x46);
    let peakBuffered = 0;
    for (let sent = 0; sent < TOTAL; ) {
      const batch = Math.min(200, TOTAL - sent);
      await Promise.all(
        Array.from(
          { length: batch },
          () => new Promise<void>((resolve) => flooder.socket.send(payload, client.port, client.address, () => resolve())),
        ),
      );
      sent += batch;
      peakBuffered = Math.max(peakBuffered, gw.app.socketgate.stats().bufferedBytes);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => gw.app.socketgate.stats().droppedDatagrams > 0, 5000, 'drops counted');
    expect(peakBuffered).toBeLessThanOrEqual(64 * 1024);
    const pendingInSdk = (() => {
      let n = 0;
      const held: number[] = [];
      while (socket.hasPendingDatagrams()) {
        held.push(socket.readDatagram()[0].byteLength);
        n++;
      }
      return n;
    })();
    // The SDK held at most its receive window of 1000-byte datagrams.
    expect(pendingInSdk).toBeGreaterThan(0);
    expect(pendingInSdk).toBeLessThanOrEqual(WINDOW / 1000);
    const { droppedDatagrams } = gw.app.socketgate.stats();
    expect(droppedDatagrams).toBeGreaterThan(0);
    // Reading resumes the flow: what the gateway had queued arrives, then a new datagram does too.
    let after = false;
    socket.readyRead.connect(() => {
      while (socket.hasPendingDatagrams()) if (text(socket.readDatagram()[0]) === 'after') after = true;
    });
    await until(() => gw.app.socketgate.stats().bufferedBytes === 0 && !socket.hasPendingDatagrams(), 5000, 'the gateway queue drained');
    flooder.socket.send(Buffer.from('after'), client.port, client.address);
    await until(() => after, 5000, 'a datagram after the flood');
  });

  it("refuses each datagram to a destination outside the policy, and never delivers a stranger's datagram", async () => {
    const allowed = stopAfter(await startUdpEcho());
    const forbidden = stopAfter(await startUdpServer());
    const stranger = dgram.createSocket('udp4');
    onTestFinished(() => {
      stranger.close();
    });
    const gw = await gateway({ allow: [`127.0.0.1/32:${allowed.port}`] });
    const socket = gw.udp();
    expect(socket.writeDatagram('nope', '127.0.0.1', forbidden.port)).toBe(4);
    await nextSignal(socket.errorOccurred);
    expect(socket.error()).toBe(QAbstractSocket.SocketAccessError);
    expect(socket.errorString()).toBe(`Permission denied: no rule of the gateway's egress policy allows 127.0.0.1 port ${forbidden.port}`);
    expect(socket.state()).toBe(QAbstractSocket.BoundState);
    expect(socket.writeDatagram('yes', '127.0.0.1', allowed.port)).toBe(3);
    await nextSignal(socket.readyRead);
    expect(text(socket.readDatagram()[0])).toBe('yes');
    expect(forbidden.received).toHaveLength(0);

    stranger.send('unsolicited', socket.localPort(), '127.0.0.1');
    await until(() => gw.app.socketgate.stats().refusedDatagrams === 1, 5000, 'the stranger refused');
    expect(socket.hasPendingDatagrams()).toBe(false);
  });

  it("reports Qt's errors by name: unresolvable names, a non-local bind; an ICMP port-unreachable when connected is a readyRead", async () => {
    const gw = await gateway();
    const socket = gw.udp();
    socket.writeDatagram('x', 'nosuchhost.invalid', 53);
    await nextSignal(socket.errorOccurred);
    expect([socket.error(), socket.errorString()]).toEqual([QAbstractSocket.HostNotFoundError, 'Host not found']);

    const closed = await startUdpServer();
    const port = closed.port;
    await closed.close();
    const connected = gw.udp();
    connected.connectToHost('127.0.0.1', port);
    expect(await connected.waitForConnected(5000)).toBe(true);
    connected.write('anyone?');
    // The gateway reports the ICMP port-unreachable; the SDK makes it Qt 6.11's readyRead with nothing to read.
    await nextSignal(connected.readyRead);
    expect([connected.error(), connected.hasPendingDatagrams()]).toEqual([QAbstractSocket.UnknownSocketError, false]);
    expect(connected.state()).toBe(QAbstractSocket.ConnectedState);

    const nonLocal = gw.udp();
    expect(nonLocal.bind('198.51.100.1', 0)).toBe(true);
    await nextSignal(nonLocal.errorOccurred);
    expect([nonLocal.error(), nonLocal.errorString()]).toEqual([
      QAbstractSocket.SocketAddressNotAvailableError,
      'The address is not available',
    ]);
    expect(nonLocal.state()).toBe(QAbstractSocket.UnconnectedState);
    expect(nonLocal.localPort()).toBe(0);

    const privileged = gw.udp();
    expect(privileged.bind('127.0.0.1', 53)).toBe(true);
    await nextSignal(privileged.errorOccurred);
    expect([privileged.error(), privileged.errorString()]).toEqual([QAbstractSocket.SocketAccessError, 'The address is protected']);
  });
});

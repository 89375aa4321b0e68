/**
 * Qt's tst_qudpsocket (QT-SOCKETS.md §7.2) and the UDP probe checks of §7.4, written afresh as SDK
 * tests through a real gateway and real UDP sockets on loopback. Each test names its Qt case.
 */
import { QAbstractSocket, QHostAddress, QNetworkDatagram, QUdpSocket, SocketOption } from '@socketgate/sdk';
import { freeUdpPort, nextSignal, recordSignals, startGateway, startUdpEcho, text, until } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';
import { captureWarnings, sleep, stopAfter } from './helpers.js';

const { BoundState, UnconnectedState, ConnectedState, HostLookupState } = QAbstractSocket.SocketState;

/** A gateway for one test (servers may receive from any peer) and a factory of UDP sockets on one session. */
async function udpGateway(options: Parameters<typeof startGateway>[0] = {}) {
  const gw = await startGateway({ udpInbound: 'any', ...options });
  onTestFinished(() => gw.close());
  const session = gw.client();
  return Object.assign(gw, { udp: () => new QUdpSocket({ gateway: session }) });
}

/** Binds and waits for BoundState. */
async function bound(socket: QUdpSocket, address: QHostAddress | string = '127.0.0.1', port = 0, mode = 0): Promise<QUdpSocket> {
  const state = nextSignal(socket.stateChanged);
  expect(socket.bind(address, port, mode)).toBe(true);
  expect(await state).toEqual([BoundState]);
  return socket;
}

describe('tst_qudpsocket', () => {
  it('#58 constructing: a fresh UDP socket is sequential, not open, typed UdpSocket, with no error', () => {
    const socket = new QUdpSocket();
    expect(socket.isSequential()).toBe(true);
    expect(socket.isOpen()).toBe(false);
    expect(socket.socketType()).toBe(QAbstractSocket.UdpSocket);
    expect(socket.bytesAvailable()).toBe(0);
    expect(socket.canReadLine()).toBe(false);
    expect(socket.readLine().byteLength).toBe(0);
    expect(socket.socketDescriptor()).toBe(-1);
    expect(socket.error()).toBe(QAbstractSocket.UnknownSocketError);
    expect(socket.errorString()).toBe('Unknown error');
  });

  it('#59 unconnectedServerAndClientTest: one stateChanged on bind; unbound clients send; the server sees each sender port', async () => {
    const gw = await udpGateway();
    const server = gw.udp();
    const states = recordSignals(server);
    await bound(server);
    expect(states).toEqual(['stateChanged(BoundState)']);
    for (const message of ['Testing', 'Testing2', 'Testing3']) {
      const client = gw.udp();
      expect(client.writeDatagram(message, server.localAddress(), server.localPort())).toBe(message.length);
      await nextSignal(server.readyRead);
      const [data, , port] = server.readDatagram();
      expect(text(data)).toBe(message);
      await until(() => client.state() === BoundState, 5000, 'the client bound');
      expect(port).toBe(client.localPort());
    }
  });

  it.each([
    ['127.0.0.1', '#60 loop'],
    ['::1', '#60 ipv6Loop'],
  ])('%s: two bound sockets exchange empty, binary and 600-byte datagrams with sender and destination (%s)', async (address) => {
    const gw = await udpGateway();
    const a = await bound(gw.udp(), address);
    const b = await bound(gw.udp(), address);
    for (const payload of [new Uint8Array(0), Uint8Array.of(0, 1, 0, 255, 0), new Uint8Array(600).fill(0x61)]) {
      expect(a.writeDatagram(payload, b.localAddress(), b.localPort())).toBe(payload.byteLength);
      await until(() => b.hasPendingDatagrams(), 5000, 'the datagram');
      const datagram = b.receiveDatagram();
      expect(datagram.isValid()).toBe(true);
      expect([...datagram.data()]).toEqual([...payload]);
      expect(datagram.senderAddress().toString()).toBe(address);
      expect(datagram.senderPort()).toBe(a.localPort());
      expect(datagram.destinationAddress().toString()).toBe(address);
      expect(datagram.destinationPort()).toBe(b.localPort());
    }
  });

  it('#61 dualStack (gateway host): Any receives IPv4 and IPv6, AnyIPv4 only IPv4, AnyIPv6 only IPv6', async () => {
    const gw = await udpGateway();
    const senders = { v4: await bound(gw.udp(), '127.0.0.1'), v6: await bound(gw.udp(), '::1') };
    const cases = [
      [new QHostAddress(QHostAddress.Any), ['v4', 'v6']],
      [new QHostAddress(QHostAddress.AnyIPv4), ['v4']],
      [new QHostAddress(QHostAddress.AnyIPv6), ['v6']],
    ] as const;
    for (const [address, expected] of cases) {
      const server = await bound(gw.udp(), address);
      senders.v4.writeDatagram('v4', '127.0.0.1', server.localPort());
      senders.v6.writeDatagram('v6', '::1', server.localPort());
      await sleep(150);
      const got: string[] = [];
      while (server.hasPendingDatagrams()) got.push(text(server.readDatagram()[0]));
      expect(got.sort()).toEqual([...expected]);
      server.abort();
    }
  });

  it('#62 connectToHost, bindAndConnectToHost: a UDP socket connects to a bound peer; a bound socket keeps its port', async () => {
    const gw = await udpGateway();
    const peer = await bound(gw.udp());
    const plain = gw.udp();
    plain.connectToHost(peer.localAddress(), peer.localPort());
    expect(await plain.waitForConnected(5000)).toBe(true);
    const socket = await bound(gw.udp());
    const port = socket.localPort();
    socket.connectToHost('127.0.0.1', peer.localPort());
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.localPort()).toBe(port);
    expect(socket.peerPort()).toBe(peer.localPort());
  });

  it('#63 pendingDatagramSize: 7, 0, 10 in turn; readDatagram(1) gives "t", then 0, then "3"', async () => {
    const gw = await udpGateway();
    const server = await bound(gw.udp());
    const client = await bound(gw.udp());
    for (const message of ['this is', '', 'a test 3 !']) client.writeDatagram(message, '127.0.0.1', server.localPort());
    await until(() => server.hasPendingDatagrams(), 5000, 'datagrams');
    await sleep(100);
    expect(server.pendingDatagramSize()).toBe(7);
    expect(text(server.readDatagram(1)[0])).toBe('t');
    expect(server.pendingDatagramSize()).toBe(0);
    expect(server.readDatagram(1)[0].byteLength).toBe(0);
    expect(server.pendingDatagramSize()).toBe(10);
    const [last] = server.readDatagram(1);
    expect(text(last)).toBe('a');
    expect(server.pendingDatagramSize()).toBe(-1);
    expect(server.hasPendingDatagrams()).toBe(false);
  });

  it('#64 writeDatagram: each success one bytesWritten(size); the first too large is -1, no bytesWritten, one DatagramTooLargeError', async () => {
    const gw = await udpGateway();
    const server = await bound(gw.udp());
    const client = await bound(gw.udp());
    const log = recordSignals(client, { bytesWritten: true });
    const sizes: number[] = [];
    for (let size = 0; ; size = size === 0 ? 1024 : size * 2) {
      const result = client.writeDatagram(new Uint8Array(size), '127.0.0.1', server.localPort());
      if (result !== size) {
        expect(result).toBe(-1);
        expect(size).toBeGreaterThan(65507);
        break;
      }
      sizes.push(size);
      await until(() => server.hasPendingDatagrams(), 5000, `the ${size}-byte datagram`);
      expect(server.pendingDatagramSize()).toBe(size);
      server.readDatagram();
    }
    expect(log).toEqual([...sizes.map((size) => `bytesWritten(${size})`), 'errorOccurred(DatagramTooLargeError)']);
    expect(client.errorString()).toBe('Datagram was too large to send');
  });

  it('#65 bindMode: a second default bind fails with AddressInUseError; ShareAddress on both lets both bind', async () => {
    const gw = await udpGateway();
    const first = await bound(gw.udp());
    const second = gw.udp();
    const log = recordSignals(second);
    expect(second.bind('127.0.0.1', first.localPort())).toBe(true);
    await nextSignal(second.errorOccurred);
    // Bound at once, as in Qt; the gateway's refusal undoes it.
    expect(log).toEqual(['stateChanged(BoundState)', 'stateChanged(UnconnectedState)', 'errorOccurred(AddressInUseError)']);
    expect(second.state()).toBe(UnconnectedState);
    expect(second.errorString()).toBe('The bound address is already in use');
    const port = await freeUdpPort();
    await bound(gw.udp(), '127.0.0.1', port, QAbstractSocket.ShareAddress);
    const shared = await bound(gw.udp(), '127.0.0.1', port, QAbstractSocket.ShareAddress);
    expect(shared.localPort()).toBe(port);
  });

  it('#66 writeDatagramToNonExistingPeer: one byte to a closed port returns 1 and brings no readyRead', async () => {
    const gw = await udpGateway();
    const socket = gw.udp();
    let readyReads = 0;
    socket.readyRead.connect(() => readyReads++);
    expect(socket.writeDatagram('x', '127.0.0.1', await freeUdpPort())).toBe(1);
    await sleep(200);
    expect(readyReads).toBe(0);
  });

  it('#68 zeroLengthDatagram: an empty datagram sends 0, triggers readyRead, and reads as 0 bytes', async () => {
    const gw = await udpGateway();
    const receiver = await bound(gw.udp());
    const sender = gw.udp();
    expect(sender.writeDatagram(new Uint8Array(0), '127.0.0.1', receiver.localPort())).toBe(0);
    await nextSignal(receiver.readyRead);
    expect(receiver.hasPendingDatagrams()).toBe(true);
    expect(receiver.pendingDatagramSize()).toBe(0);
    expect(receiver.readDatagram()[0].byteLength).toBe(0);
  });

  it('#69 multicastTtlOption, multicastLoopbackOption: values read back, clamped to 0..255; loopback 0 or 1', async () => {
    const gw = await udpGateway();
    const socket = await bound(gw.udp(), new QHostAddress(QHostAddress.AnyIPv4));
    for (const [set, expected] of [
      [0, 0],
      [1, 1],
      [2, 2],
      [128, 128],
      [255, 255],
      [1024, 255],
    ]) {
      socket.setSocketOption(SocketOption.MulticastTtlOption, set as number);
      expect(socket.socketOption(SocketOption.MulticastTtlOption)).toBe(expected);
    }
    for (const [set, expected] of [
      [0, 0],
      [1, 1],
      [2, 1],
    ]) {
      socket.setSocketOption(SocketOption.MulticastLoopbackOption, set as number);
      expect(socket.socketOption(SocketOption.MulticastLoopbackOption)).toBe(expected);
    }
    // The gateway's answers agree.
    socket.setSocketOption(SocketOption.ReceiveBufferSizeSocketOption, 65536);
    await until(() => (socket.socketOption(SocketOption.ReceiveBufferSizeSocketOption) ?? 0) >= 65536, 5000, 'the buffer size');
    expect(socket.socketOption(SocketOption.MulticastTtlOption)).toBe(255);
    expect(socket.socketOption(SocketOption.MulticastLoopbackOption)).toBe(1);
  });

  it('#70 multicastJoinBeforeBind, multicastLeaveAfterClose: false with the BoundState warning', async () => {
    const warnings = captureWarnings();
    const gw = await udpGateway();
    const socket = gw.udp();
    expect(socket.joinMulticastGroup('239.255.0.1')).toBe(false);
    await bound(socket, new QHostAddress(QHostAddress.AnyIPv4));
    socket.close();
    expect(socket.leaveMulticastGroup('239.255.0.1')).toBe(false);
    expect(warnings).toEqual([
      'QUdpSocket::joinMulticastGroup() called on a QUdpSocket when not in QUdpSocket::BoundState',
      'QUdpSocket::leaveMulticastGroup() called on a QUdpSocket when not in QUdpSocket::BoundState',
    ]);
  });

  it("multicast is refused by the gateway's default policy with SocketAccessError", async () => {
    const gw = await udpGateway();
    const socket = await bound(gw.udp(), new QHostAddress(QHostAddress.AnyIPv4));
    expect(socket.joinMulticastGroup('239.255.0.1')).toBe(true);
    await nextSignal(socket.errorOccurred);
    expect(socket.error()).toBe(QAbstractSocket.SocketAccessError);
    expect(socket.errorString()).toBe("Permission denied: the gateway's policy does not allow multicast");
    expect(socket.state()).toBe(BoundState);
  });

  it('#72 echo: ten 30-byte datagrams, unconnected and connected, come back intact', async () => {
    const echo = stopAfter(await startUdpEcho());
    const gw = await udpGateway();
    const unconnected = gw.udp();
    const connected = gw.udp();
    connected.connectToHost('127.0.0.1', echo.port);
    expect(await connected.waitForConnected(5000)).toBe(true);
    for (let i = 0; i < 10; i++) {
      const message = `datagram number ${i}`.padEnd(30, '.');
      unconnected.writeDatagram(message, '127.0.0.1', echo.port);
      expect(await unconnected.waitForReadyRead(5000)).toBe(true);
      const [data, host, port] = unconnected.readDatagram();
      // Implicitly bound, dual-stack as in Qt: the IPv4 sender reads IPv4-mapped.
      expect([text(data), host.toString(), port]).toEqual([message, '::ffff:127.0.0.1', echo.port]);
      expect(connected.write(message)).toBe(30);
      expect(await connected.waitForReadyRead(5000)).toBe(true);
      expect(text(connected.read(connected.pendingDatagramSize()))).toBe(message);
    }
    expect(unconnected.isValid()).toBe(true);
    expect(connected.isValid()).toBe(true);
  });

  it('#73 readyRead: one for the first datagram, none for a second while the first is unread, one after draining', async () => {
    const gw = await udpGateway();
    const receiver = await bound(gw.udp());
    const sender = await bound(gw.udp());
    let readyReads = 0;
    receiver.readyRead.connect(() => readyReads++);
    sender.writeDatagram('first', '127.0.0.1', receiver.localPort());
    await until(() => readyReads === 1, 5000, 'readyRead');
    sender.writeDatagram('second!', '127.0.0.1', receiver.localPort());
    await until(() => receiver.bytesAvailable() === 5 && readyReads === 1, 5000, 'quiet');
    await sleep(100);
    expect(readyReads).toBe(1);
    expect(receiver.pendingDatagramSize()).toBe(5);
    receiver.readDatagram();
    receiver.readDatagram();
    await sleep(50);
    sender.writeDatagram('third', '127.0.0.1', receiver.localPort());
    await until(() => readyReads >= 2, 5000, 'the second readyRead');
    await sleep(50);
    expect(readyReads).toBe(2);
  });

  it('#74 asyncReadDatagram: reading in the readyRead handler and sending from there yields exactly two readyRead', async () => {
    const echo = stopAfter(await startUdpEcho());
    const gw = await udpGateway();
    const socket = gw.udp();
    let readyReads = 0;
    socket.readyRead.connect(() => {
      readyReads++;
      socket.readDatagram();
      if (readyReads === 1) socket.writeDatagram('again', '127.0.0.1', echo.port);
    });
    socket.writeDatagram('once', '127.0.0.1', echo.port);
    await until(() => readyReads === 2, 5000, 'two readyRead');
    await sleep(100);
    expect(readyReads).toBe(2);
  });

  it('#75 writeInHostLookupState: connectToHost(name) leaves the socket in HostLookup and putChar fails', async () => {
    const echo = stopAfter(await startUdpEcho());
    const gw = await udpGateway();
    const socket = gw.udp();
    socket.connectToHost('localhost', echo.port);
    expect(socket.state()).toBe(HostLookupState);
    expect(socket.putChar('0')).toBe(false);
  });

  it('#76 readyReadConnectionThrottling: a handler that drains with readDatagram(0) keeps being called under a flood', async () => {
    const gw = await udpGateway();
    const receiver = await bound(gw.udp());
    const sender = await bound(gw.udp());
    let received = 0;
    receiver.readyRead.connect(() => {
      while (receiver.hasPendingDatagrams()) {
        receiver.readDatagram(0);
        received++;
      }
    });
    for (let sent = 0; sent < 2000 && received < 500; sent++) {
      if (sender.writeDatagram('flood', '127.0.0.1', receiver.localPort()) < 0) await sleep(5);
      if (sent % 50 === 0) await sleep(1);
    }
    await until(() => received >= 500, 10_000, '500 datagrams');
  });
});

describe('§7.4 UDP probe checks', () => {
  it('S11 writeDatagram on an unbound socket binds it (stateChanged(Bound)) and emits bytesWritten, both inside the call; 65508 bytes is DatagramTooLargeError', async () => {
    const echo = stopAfter(await startUdpEcho());
    const gw = await udpGateway();
    const socket = gw.udp();
    const log = recordSignals(socket, { bytesWritten: true, readyRead: false });
    expect(socket.writeDatagram('hello', '127.0.0.1', echo.port)).toBe(5);
    expect(log).toEqual(['stateChanged(BoundState)', 'bytesWritten(5)']);
    expect(socket.state()).toBe(BoundState);
    expect(socket.localPort()).toBeGreaterThan(0);
    expect(socket.writeDatagram(new Uint8Array(65508), '127.0.0.1', echo.port)).toBe(-1);
    expect(log.at(-1)).toBe('errorOccurred(DatagramTooLargeError)');
  });

  it('S12 connected UDP read(5) of an 11-byte datagram returns 5 and drops the rest', async () => {
    const echo = stopAfter(await startUdpEcho());
    const gw = await udpGateway();
    const socket = gw.udp();
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.openMode()).toBe(QAbstractSocket.OpenModeFlag.ReadWrite | QAbstractSocket.OpenModeFlag.Unbuffered);
    socket.write('hello world');
    socket.write('next');
    await until(() => socket.hasPendingDatagrams(), 5000, 'the echo');
    expect(text(socket.read(5))).toBe('hello');
    await until(() => socket.hasPendingDatagrams(), 5000, 'the second echo');
    expect(text(socket.read(100))).toBe('next');
  });

  it('S13 close()/disconnectFromHost() on a Bound socket: Closing, Unconnected, readChannelFinished, disconnected; abort(): Unconnected, readChannelFinished', async () => {
    const gw = await udpGateway();
    for (const how of ['close', 'disconnectFromHost'] as const) {
      const socket = await bound(gw.udp());
      const log = recordSignals(socket);
      socket[how]();
      expect(log).toEqual(['stateChanged(ClosingState)', 'stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected']);
    }
    const socket = await bound(gw.udp());
    const log = recordSignals(socket);
    socket.abort();
    expect(log).toEqual(['stateChanged(UnconnectedState)', 'readChannelFinished']);
    await until(() => gw.app.socketgate.stats().streams === 0, 5000, 'every UDP socket closed on the gateway');
  });

  it('S14 connectToHost("localhost") returns in HostLookup; connected follows the lookup', async () => {
    const echo = stopAfter(await startUdpEcho());
    const gw = await udpGateway();
    const socket = gw.udp();
    const log = recordSignals(socket);
    socket.connectToHost('localhost', echo.port);
    expect(socket.state()).toBe(HostLookupState);
    expect(await socket.waitForConnected(5000)).toBe(true);
    expect(socket.state()).toBe(ConnectedState);
    expect(log).toEqual([
      'stateChanged(HostLookupState)',
      'stateChanged(ConnectingState)',
      'hostFound',
      'stateChanged(ConnectedState)',
      'connected',
    ]);
  });
});

describe('QNetworkDatagram', () => {
  it('makes a reply with sender and destination swapped', () => {
    const datagram = new QNetworkDatagram('question');
    datagram.setSender('192.0.2.1', 5000);
    datagram.setDestination('127.0.0.1', 53);
    const reply = datagram.makeReply('answer');
    expect(text(reply.data())).toBe('answer');
    expect([reply.destinationAddress().toString(), reply.destinationPort()]).toEqual(['192.0.2.1', 5000]);
    expect([reply.senderAddress().toString(), reply.senderPort()]).toEqual(['127.0.0.1', 53]);
    expect(new QNetworkDatagram().isValid()).toBe(false);
    expect(new QNetworkDatagram('', '127.0.0.1', 1).isValid()).toBe(true);
  });
});

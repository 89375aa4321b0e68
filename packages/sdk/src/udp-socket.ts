import { QAbstractSocket, type SocketOptions } from './abstract-socket.js';
import type { DatagramChannel } from './datagram-channel.js';
import { type BindFlag, SocketType } from './enums.js';
import { checkPort, QHostAddress } from './host-address.js';
import { QNetworkDatagram } from './network-datagram.js';
import { toBytes } from './outgoing.js';
import { channelOf } from './socket-device.js';

/**
 * Qt's `QUdpSocket`: datagrams through the gateway's real UDP socket. `bind()` reaches BoundState
 * inside the call, as Qt's does, and the gateway's answer brings the port it picked (or undoes the
 * bind); `writeDatagram()` binds to any address first, as Qt.
 * Its calls go to the socket's DatagramChannel, which holds the received datagrams.
 */
export class QUdpSocket extends QAbstractSocket {
  readonly #datagrams: DatagramChannel;
  #multicastInterface: unknown = undefined;

  constructor(options: SocketOptions = {}) {
    super(SocketType.UdpSocket, options);
    // A UDP socket's channel is a DatagramChannel: the socket type chose it.
    this.#datagrams = channelOf(this) as DatagramChannel;
  }

  /**
   * Qt's bind. `bind(port?, mode?)` binds any address; `bind(address, port?, mode?)` a given one
   * (a QHostAddress, its text, or `new QHostAddress(QHostAddress.LocalHost)` for a special address).
   * True, in BoundState, when the request went to the gateway; a bind it refuses then ends in
   * Unconnected and errorOccurred.
   */
  bind(address?: QHostAddress | string | number, port?: number, mode?: BindFlag | number): boolean {
    if (typeof address === 'number' || address === undefined) return this.#datagrams.bind('', address ?? 0, port ?? 0);
    const text = address.toString();
    if (text !== '' && !QHostAddress.isAddress(text)) throw new TypeError(`bind() takes an IP address, got ${JSON.stringify(text)}`);
    const any = address instanceof QHostAddress && address.protocol() === QAbstractSocket.AnyIPProtocol;
    return this.#datagrams.bind(any ? '' : new QHostAddress(text).toString(), port ?? 0, mode ?? 0);
  }

  /**
   * Sends one datagram to `address` (a QHostAddress, an address or a host name) and `port`; its size,
   * or -1 (HostNotFoundError at once for a host outside the protocol's host grammar, which is not sent).
   */
  writeDatagram(data: Uint8Array | ArrayBuffer | string, address: QHostAddress | string, port: number): number;
  /** Sends a QNetworkDatagram to its destination, or to the connected peer when it has none. */
  writeDatagram(datagram: QNetworkDatagram): number;
  writeDatagram(data: Uint8Array | ArrayBuffer | string | QNetworkDatagram, address?: QHostAddress | string, port?: number): number {
    if (data instanceof QNetworkDatagram) {
      const destination = data.destinationAddress();
      return destination.isNull()
        ? this.#send(data.data(), '', 0)
        : this.#send(data.data(), destination.toString(), data.destinationPort());
    }
    if (address === undefined || port === undefined) throw new TypeError('writeDatagram() needs data, an address and a port');
    return this.#send(data, address.toString(), port);
  }

  #send(data: Uint8Array | ArrayBuffer | string, host: string, port: number): number {
    const bytes = toBytes(data);
    if (bytes === undefined) throw new TypeError('writeDatagram() takes a Uint8Array, an ArrayBuffer or a string');
    checkPort(port, 'writeDatagram');
    // An IPv4-mapped address (a dual-stack socket's sender) goes to the gateway as the IPv4 address it is.
    return this.#datagrams.sendTo(bytes, host.replace(/^::ffff:(?=\d+\.)/i, ''), port);
  }

  hasPendingDatagrams(): boolean {
    return this.#datagrams.peek('hasPendingDatagrams') !== undefined;
  }

  /** Size of the next datagram, 0 for an empty one, -1 when none is pending. */
  pendingDatagramSize(): number {
    return this.#datagrams.peek('pendingDatagramSize')?.data.byteLength ?? -1;
  }

  /**
   * Qt's readDatagram as PySide returns it: `[data, senderAddress, senderPort]`. At most `maxSize`
   * bytes (the rest of the datagram is lost); with nothing pending, empty data and TemporaryError.
   */
  readDatagram(maxSize = Infinity): [Uint8Array, QHostAddress, number] {
    const datagram = this.#datagrams.take(maxSize, 'readDatagram');
    if (datagram === undefined) return [new Uint8Array(0), new QHostAddress(), 0];
    return [datagram.data, this.#sender(datagram.host), datagram.port];
  }

  /** The next datagram with its sender and destination; `maxSize` -1 takes it whole. Invalid when none. */
  receiveDatagram(maxSize = -1): QNetworkDatagram {
    const datagram = this.#datagrams.take(maxSize, 'receiveDatagram');
    const result = new QNetworkDatagram();
    if (datagram === undefined) return result;
    result.setData(datagram.data);
    result.setSender(this.#sender(datagram.host), datagram.port);
    const local = this.localAddress();
    const any = local.toString() === '::' || local.toString() === '0.0.0.0';
    result.setDestination(any ? new QHostAddress() : local, this.localPort());
    return result;
  }

  /** A datagram's sender as Qt's dual-stack socket (bound to Any) reads it: an IPv4 sender IPv4-mapped. */
  #sender(host: string): QHostAddress {
    const dualStack = this.localAddress().protocol() === QAbstractSocket.AnyIPProtocol;
    return new QHostAddress(dualStack && !host.includes(':') ? `::ffff:${host}` : host);
  }

  /** Joins a multicast group on the gateway host, where its policy allows multicast. */
  joinMulticastGroup(group: QHostAddress | string, _iface?: unknown): boolean {
    return this.#datagrams.multicast('join', group, 'joinMulticastGroup');
  }

  leaveMulticastGroup(group: QHostAddress | string, _iface?: unknown): boolean {
    return this.#datagrams.multicast('leave', group, 'leaveMulticastGroup');
  }

  /** Stored only: interfaces are the gateway host's. */
  multicastInterface(): unknown {
    return this.#multicastInterface;
  }
  setMulticastInterface(iface: unknown): void {
    this.#multicastInterface = iface;
  }
}

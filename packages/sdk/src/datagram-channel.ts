import { type Bound, type Connected, datagramCost, isHost } from '@socketgate/protocol';
import { SocketOption } from './enums.js';
import { checkPort, QHostAddress } from './host-address.js';
import { BoundState, ConnectedState, UnconnectedState } from './socket-state.js';
import { type ChannelHost, credit, deferOnce, nextTask, type TransportChannel } from './transport-channel.js';

/** A datagram as the gateway delivered it. */
export interface ReceivedDatagram {
  data: Uint8Array;
  host: string;
  port: number;
}

/** The upload window a UDP socket assumes until the gateway names its own (the gateway's minimum). */
const ASSUMED_WINDOW = 128 * 1024;

/**
 * A UDP socket's transport, Qt's unbuffered socket engine: the queue of received datagrams (each
 * costs `datagramCost` of the download window until it is read), Qt's readyRead once per batch,
 * datagrams out within the gateway's upload window, bind and multicast. QUdpSocket's own calls
 * (bind, writeDatagram, readDatagram, ...) come here directly.
 */
export class DatagramChannel implements TransportChannel {
  readonly transport = 'udp';
  readonly buffered = false;
  readonly proxied = false;
  readonly #host: ChannelHost;

  readonly #queue: ReceivedDatagram[] = [];
  /** Window cost of the datagrams held. */
  #queueCost = 0;
  /** Credit granted to the gateway and not yet used. */
  #outstanding = 0;
  readonly #scheduleGrant = deferOnce(() => this.#grantCredit());
  /** readyRead was emitted for the pending datagrams and no datagram was read since. */
  #notified = false;
  #window = ASSUMED_WINDOW;
  /** Cost of the datagrams sent and not yet acknowledged. */
  #inFlight = 0;
  #maxDatagramBytes = 65507;

  constructor(host: ChannelHost) {
    this.#host = host;
  }

  open(): number {
    this.#outstanding = this.#host.gateway().receiveWindowBytes;
    return this.#outstanding;
  }

  opened(message: Connected | Bound): void {
    this.#window = message.window;
    if ('maxDatagramBytes' in message) this.#maxDatagramBytes = message.maxDatagramBytes;
  }

  start(): void {
    this.#scheduleGrant();
  }

  reset(): void {
    this.#queue.length = 0;
    this.#queueCost = 0;
    this.#notified = false;
    this.#inFlight = 0;
    this.#window = ASSUMED_WINDOW;
    this.#outstanding = 0;
  }

  // ---- receiving ----------------------------------------------------------------------------------
  onDatagram(host: string, port: number, payload: Uint8Array): void {
    if (!this.#usable()) return;
    const cost = datagramCost(payload.byteLength);
    this.#outstanding = Math.max(0, this.#outstanding - cost);
    this.#queue.push({ data: payload, host, port });
    this.#queueCost += cost;
    this.#notify();
  }

  /** Qt's UDP readyRead: once for pending datagrams, again only after one was read. */
  #notify(): void {
    if (this.#notified || this.#queue.length === 0) return;
    this.#notified = true;
    this.#host.readyRead();
  }

  /** The connected peer refused a datagram (ICMP port unreachable): Qt reads nothing, and says readyRead. */
  refused(): void {
    this.#host.readyRead();
  }

  /** One datagram per read; what does not fit is dropped, as Qt's connected UDP read does. */
  read(maxSize: number): Uint8Array | undefined {
    return this.#next(maxSize)?.data;
  }

  available(): number {
    return this.#queue[0]?.data.byteLength ?? 0;
  }

  freed(): void {}

  /** Takes the next datagram, truncated to `maxSize` (the rest is lost, as in Qt). */
  #next(maxSize = Infinity): ReceivedDatagram | undefined {
    const datagram = this.#queue.shift();
    if (datagram === undefined) return undefined;
    this.#queueCost -= datagramCost(datagram.data.byteLength);
    this.#notified = false;
    if (this.#queue.length > 0) nextTask(() => this.#notify());
    this.#scheduleGrant();
    return maxSize < datagram.data.byteLength ? { ...datagram, data: datagram.data.subarray(0, Math.max(0, maxSize)) } : datagram;
  }

  /** The next datagram without taking it (QUdpSocket's hasPendingDatagrams, pendingDatagramSize); when not bound, Qt's warning. */
  peek(caller: string): ReceivedDatagram | undefined {
    return this.#ready(caller) ? this.#queue[0] : undefined;
  }

  /** QUdpSocket's readDatagram/receiveDatagram: the next datagram; with none pending, Qt's TemporaryError (but for maxSize -1). */
  take(maxSize: number, caller: string): ReceivedDatagram | undefined {
    if (!this.#ready(caller)) return undefined;
    const datagram = this.#next(maxSize < 0 ? Infinity : maxSize);
    // receiveDatagram() for a whole datagram finds no size and returns an invalid one silently, as Qt's does.
    if (datagram === undefined && maxSize >= 0) this.#host.setError('TemporaryError', 'No datagram available for reading', true);
    return datagram;
  }

  /** Credit goes back once half the window is free again: what is neither in flight nor held here. */
  #grantCredit(): void {
    if (!this.#usable()) return;
    const window = this.#host.gateway().receiveWindowBytes;
    const room = window - this.#outstanding - this.#queueCost;
    if (room >= window / 2) this.#outstanding += credit(this.#host, room);
  }

  // ---- sending ------------------------------------------------------------------------------------
  /** Qt's connected UDP write(): one datagram to the peer; a failure's error is set, not emitted. */
  write(bytes: Uint8Array): number {
    if (this.#host.state() !== ConnectedState) {
      this.#host.setError('UnknownSocketError', 'Socket is not connected');
      return -1;
    }
    return this.#send(bytes, '', 0, false);
  }

  /** Datagrams are never buffered: bytesWritten is emitted as each one leaves. */
  bytesToWrite(): number {
    return 0;
  }
  flush(): boolean {
    return false;
  }

  /** The gateway's socket has sent a datagram (or failed to): only its window cost comes back. */
  onAck(bytes: number): boolean {
    this.#inFlight = Math.max(0, this.#inFlight - bytes);
    return false;
  }

  /**
   * QUdpSocket's writeDatagram: one datagram to `host` (a name or an address) and `port`, or to the
   * connected peer when `host` is empty. Its size, or -1 with errorOccurred.
   */
  sendTo(bytes: Uint8Array, host: string, port: number): number {
    if (host === '' && this.#host.state() !== ConnectedState) {
      this.#host.setError('UnknownSocketError', 'Socket is not connected', true);
      return -1;
    }
    if (host !== '' && !isHost(host)) {
      // Not sent (nor bound for): the error a name the gateway cannot resolve gets, reported at once.
      this.#host.setError('HostNotFoundError', undefined, true);
      return -1;
    }
    return this.#send(bytes, host, port, true);
  }

  /** Sends one datagram; its size, or -1 with error() set (`emit`: Qt's writeDatagram emits, write does not). */
  #send(bytes: Uint8Array, host: string, port: number, emit: boolean): number {
    if (bytes.byteLength > this.#maxDatagramBytes) {
      this.#host.setError('DatagramTooLargeError', undefined, emit);
      return -1;
    }
    const cost = datagramCost(bytes.byteLength);
    if (this.#inFlight + cost > this.#window) {
      this.#host.setError('TemporaryError', 'Unable to send a datagram', emit);
      return -1;
    }
    // Qt binds an unbound socket to any address before its first datagram.
    if (this.#host.stream() === undefined && host !== '' && !this.bind('', 0, 0)) return -1;
    const stream = this.#host.stream();
    if (stream === undefined) {
      this.#host.setError('UnknownSocketError', 'Socket is not connected', emit);
      return -1;
    }
    this.#inFlight += cost;
    this.#host.gateway().sendDatagram(stream, host, port, bytes);
    this.#host.written(bytes.byteLength, !emit);
    return bytes.byteLength;
  }

  // ---- bind and multicast -------------------------------------------------------------------------
  /**
   * Binds on the gateway host: BoundState at once, as in Qt; the gateway's answer brings the port
   * it picked, or undoes the bind (Unconnected, then errorOccurred).
   */
  bind(address: string, port: number, mode: number): boolean {
    checkPort(port, 'bind');
    if (this.#host.state() !== UnconnectedState) {
      this.#host.warn('QNativeSocketEngine::bind() was not called in QAbstractSocket::UnconnectedState');
      this.#host.setError('UnknownSocketError', 'Unknown error', true);
      return false;
    }
    this.#host.bind({ address, port, flags: mode & 0x7 });
    return true;
  }

  multicast(action: 'join' | 'leave', group: QHostAddress | string, caller: string): boolean {
    const stream = this.#host.stream();
    if (this.#host.state() !== BoundState || stream === undefined) {
      this.#warnNotBound(caller);
      return false;
    }
    const text = group.toString();
    if (!QHostAddress.isAddress(text)) return false;
    this.#host.gateway().sendMessage({ type: 'multicast', stream, action, group: text });
    return true;
  }

  /** Bound or connected: where datagrams flow. */
  #usable(): boolean {
    const state = this.#host.state();
    return state === BoundState || state === ConnectedState;
  }

  /** Qt's check for the datagram calls: bound or connected, else a warning. */
  #ready(caller: string): boolean {
    if (this.#usable()) return true;
    this.#warnNotBound(caller);
    return false;
  }

  #warnNotBound(caller: string): void {
    this.#host.warn(`QUdpSocket::${caller}() called on a QUdpSocket when not in QUdpSocket::BoundState`);
  }

  /** Qt reads the multicast options back at once (the gateway's answer confirms or clears them). */
  option(option: SocketOption, value: number): number | undefined {
    if (option === SocketOption.MulticastTtlOption) return Math.min(255, Math.max(0, value));
    if (option === SocketOption.MulticastLoopbackOption) return value ? 1 : 0;
    return undefined;
  }
}

import { datagramCost, HEADER_BYTES, isHost, type ServerMessage, type SocketErrorName, type SocketOptionName } from '@socketgate/protocol';
import { ByteQueue } from './byte-queue.js';
import {
  NetworkLayerProtocol,
  nameOf,
  type OpenMode,
  OpenModeFlag,
  PauseMode,
  SocketError,
  SocketOption,
  SocketState,
  SocketType,
  withSocketEnums,
} from './enums.js';
import { DEFAULT_RECEIVE_WINDOW, Gateway, type StreamEndpoint } from './gateway-session.js';
import { checkPort, QHostAddress } from './host-address.js';
import { connectionProxy, proxySpec, QNetworkProxy } from './network-proxy.js';
import { OutgoingData, toBytes } from './outgoing.js';
import { type ReadonlySignal, Signal } from './signal.js';
import { ERROR_TEXT, PEER_RESET_TEXT, socketErrorFromName } from './socket-error.js';
import {
  BoundState,
  ClosingState,
  ConnectedState,
  ConnectingState,
  HostLookupState,
  hasSocket,
  isConnecting,
  isLive,
  socketStateMoves,
  UnconnectedState,
} from './socket-state.js';
import { type WaitKind, Waits } from './waits.js';

export { socketErrorFromName, socketStateMoves };

const OPTION_NAMES = Object.keys(SocketOption) as SocketOptionName[];
const optionName = (option: SocketOption): SocketOptionName | undefined => OPTION_NAMES[option];

const NEWLINE = 0x0a;

/** A datagram as the gateway delivered it. */
export interface ReceivedDatagram {
  data: Uint8Array;
  host: string;
  port: number;
}

/** The upload window a UDP socket assumes until the gateway names its own (the gateway's minimum). */
const ASSUMED_DATAGRAM_WINDOW = 128 * 1024;

export interface SocketOptions {
  /** The gateway session to use; `Gateway.default()` when omitted. */
  gateway?: Gateway;
}

/**
 * Qt's `QAbstractSocket` over a socketgate gateway: the states, signals, buffers and errors of
 * QT-SOCKETS.md. Network errors never throw: they set `error()`/`errorString()` and emit
 * `errorOccurred`. Misuse (a bad port, no gateway) throws a TypeError or RangeError.
 */
class QAbstractSocketBase implements StreamEndpoint {
  // ---- signals ------------------------------------------------------------------------------------
  readonly #hostFound = new Signal<[]>();
  readonly #connected = new Signal<[]>();
  readonly #disconnected = new Signal<[]>();
  readonly #stateChanged = new Signal<[SocketState]>();
  readonly #errorOccurred = new Signal<[SocketError]>();
  readonly #readyRead = new Signal<[]>();
  readonly #channelReadyRead = new Signal<[number]>();
  readonly #bytesWritten = new Signal<[number]>();
  readonly #channelBytesWritten = new Signal<[number, number]>();
  readonly #aboutToClose = new Signal<[]>();
  readonly #readChannelFinished = new Signal<[]>();
  readonly #proxyAuthenticationRequired = new Signal<[unknown, unknown]>();
  readonly hostFound: ReadonlySignal<[]> = this.#hostFound;
  readonly connected: ReadonlySignal<[]> = this.#connected;
  readonly disconnected: ReadonlySignal<[]> = this.#disconnected;
  readonly stateChanged: ReadonlySignal<[SocketState]> = this.#stateChanged;
  readonly errorOccurred: ReadonlySignal<[SocketError]> = this.#errorOccurred;
  readonly readyRead: ReadonlySignal<[]> = this.#readyRead;
  readonly channelReadyRead: ReadonlySignal<[number]> = this.#channelReadyRead;
  readonly bytesWritten: ReadonlySignal<[number]> = this.#bytesWritten;
  readonly channelBytesWritten: ReadonlySignal<[number, number]> = this.#channelBytesWritten;
  readonly aboutToClose: ReadonlySignal<[]> = this.#aboutToClose;
  readonly readChannelFinished: ReadonlySignal<[]> = this.#readChannelFinished;
  /** Never emitted: proxies are the gateway's business. */
  readonly proxyAuthenticationRequired: ReadonlySignal<[unknown, unknown]> = this.#proxyAuthenticationRequired;

  // ---- state --------------------------------------------------------------------------------------
  readonly #type: SocketType;
  readonly #gatewayOption: Gateway | undefined;
  #gateway: Gateway | undefined;
  #state: SocketState = UnconnectedState;
  #openMode: OpenMode = OpenModeFlag.NotOpen;
  #error: SocketError = SocketError.UnknownSocketError;
  #errorString = '';
  #peerName = '';
  #peerAddress = new QHostAddress();
  #peerPort = 0;
  #localAddress = new QHostAddress();
  #localPort = 0;
  /** The gateway stream of the current connection, while the gateway holds it. */
  #stream: number | undefined;
  /** disconnectFromHost()/close() asked for while looking up or connecting. */
  #closeWhenConnected = false;
  #closeSent = false;
  /** The current connection reached Connected (its data stays readable after it ends). */
  #wasConnected = false;
  readonly #options = new Map<SocketOption, number>();
  #proxy: QNetworkProxy = new QNetworkProxy(QNetworkProxy.DefaultProxy);
  #pauseMode: number = PauseMode.PauseNever;

  // read side
  readonly #readBuffer = new ByteQueue();
  /** Received beyond `readBufferSize`: held back, invisible, until Qt would have read it. */
  readonly #staged = new ByteQueue();
  #readBufferSize = 0;
  /** Qt stopped reading because the buffer reached `readBufferSize` (only a resume restarts it). */
  #readPaused = false;
  /** Credit granted to the gateway and not yet used. */
  #outstanding = 0;
  #grantScheduled = false;
  /** The gateway reported the peer's close (or reset) behind data still staged. */
  #endPending: 'close' | 'reset' | undefined;
  #inReadyRead = false;
  #transaction: Uint8Array[] | undefined;

  // write side
  readonly #writeBuffer = new OutgoingData();
  /** Sent to the gateway, not yet acknowledged as written. */
  #inFlight = 0;
  #sendWindow = 0;
  #pumpScheduled = false;
  #inBytesWritten = false;

  readonly #waits = new Waits((kind) => this.#waitTimedOut(kind));

  // UDP
  readonly #datagrams: ReceivedDatagram[] = [];
  /** Window cost of the datagrams held. */
  #datagramCost = 0;
  /** readyRead was emitted for the pending datagrams and no datagram was read since. */
  #datagramNotified = false;
  /** bind() was asked of the gateway and not answered yet. */
  #bindPending = false;
  #maxDatagramBytes = 65507;

  constructor(socketType: SocketType, options: SocketOptions = {}) {
    this.#type = socketType;
    this.#gatewayOption = options.gateway;
  }

  // ---- identity and state -------------------------------------------------------------------------
  socketType(): SocketType {
    return this.#type;
  }
  state(): SocketState {
    return this.#state;
  }
  error(): SocketError {
    return this.#error;
  }
  errorString(): string {
    return this.#errorString || 'Unknown error';
  }
  /** True while the socket can be used: open, or bound (Qt falls back to isOpen() after a disconnect). */
  isValid(): boolean {
    return this.isOpen() || this.#state === BoundState;
  }
  peerName(): string {
    return this.#peerName;
  }
  peerAddress(): QHostAddress {
    return new QHostAddress(this.#peerAddress);
  }
  peerPort(): number {
    return this.#peerPort;
  }
  /** The gateway's end of the real connection. */
  localAddress(): QHostAddress {
    return new QHostAddress(this.#localAddress);
  }
  localPort(): number {
    return this.#localPort;
  }
  /** Qt's protected setters: they change only the cached value, for subclasses. */
  protected setLocalPort(port: number): void {
    this.#localPort = port;
  }
  protected setLocalAddress(address: QHostAddress): void {
    this.#localAddress = new QHostAddress(address);
  }
  protected setPeerPort(port: number): void {
    this.#peerPort = port;
  }
  protected setPeerAddress(address: QHostAddress): void {
    this.#peerAddress = new QHostAddress(address);
  }
  protected setPeerName(name: string): void {
    this.#peerName = name;
  }

  /** An opaque positive id while connected, -1 otherwise (browsers have no descriptors). */
  socketDescriptor(): number {
    return isLive(this.#state) && this.#stream !== undefined ? this.#stream : -1;
  }
  /** Unsupported: there are no native descriptors in a browser. Sets UnsupportedSocketOperationError. */
  setSocketDescriptor(_descriptor: number, _state: SocketState = ConnectedState, _mode: OpenMode = OpenModeFlag.ReadWrite): boolean {
    this.#setError('UnsupportedSocketOperationError', 'The socket descriptor is invalid');
    return false;
  }

  // ---- QIODevice ----------------------------------------------------------------------------------
  openMode(): OpenMode {
    return this.#openMode;
  }
  isOpen(): boolean {
    return this.#openMode !== OpenModeFlag.NotOpen;
  }
  isReadable(): boolean {
    return (this.#openMode & OpenModeFlag.ReadOnly) !== 0;
  }
  isWritable(): boolean {
    return (this.#openMode & OpenModeFlag.WriteOnly) !== 0;
  }
  isSequential(): boolean {
    return true;
  }
  pos(): number {
    return 0;
  }
  size(): number {
    return this.bytesAvailable();
  }
  /** 1 while connected, and after a disconnect while buffered data stays readable; else 0. */
  readChannelCount(): number {
    return this.isReadable() && (isLive(this.#state) || (this.#state === UnconnectedState && this.#wasConnected)) ? 1 : 0;
  }
  writeChannelCount(): number {
    return isLive(this.#state) && this.isWritable() ? 1 : 0;
  }
  currentReadChannel(): number {
    return 0;
  }
  currentWriteChannel(): number {
    return 0;
  }

  /** Buffered bytes; for UDP, the size of the next datagram (0 when none). */
  bytesAvailable(): number {
    if (this.#type === SocketType.UdpSocket) return this.#datagrams[0]?.data.byteLength ?? 0;
    return this.#readBuffer.size;
  }
  bytesToWrite(): number {
    return this.#writeBuffer.size + this.#inFlight;
  }
  atEnd(): boolean {
    return !this.isOpen() || this.#readBuffer.size === 0;
  }
  canReadLine(): boolean {
    return this.isOpen() && this.#readBuffer.indexOf(NEWLINE) >= 0;
  }

  readBufferSize(): number {
    return this.#readBufferSize;
  }

  /**
   * Qt's read buffer limit: 0 is unlimited. With a limit, the SDK grants the gateway only that much
   * credit, so the gateway stops reading the real socket and TCP pushes back on the peer.
   */
  setReadBufferSize(size: number): void {
    if (typeof size !== 'number' || Number.isNaN(size)) throw new TypeError('setReadBufferSize() takes a number of bytes (0 = unlimited)');
    this.#readBufferSize = size;
    if (size <= 0 || size > this.#readBuffer.size) this.#resumeReading();
  }

  #limit(): number {
    return this.#readBufferSize > 0 ? this.#readBufferSize : Number.POSITIVE_INFINITY;
  }

  #checkReadable(what: string): boolean {
    if (!this.isOpen()) {
      this.#warn(`QIODevice::${what} (${this.#className()}): device not open`);
      return false;
    }
    if (!this.isReadable()) {
      this.#warn(`QIODevice::${what} (${this.#className()}): WriteOnly device`);
      return false;
    }
    return true;
  }

  /** After a read: Qt reads the OS again when the buffer emptied, or when more was asked than it had. */
  #afterRead(asked: number, had: number): void {
    if (this.#readBuffer.size === 0 || asked > had) this.#resumeReading();
    else this.#scheduleGrant();
  }

  #consume(max: number, what: string): Uint8Array | undefined {
    if (!this.#checkReadable(what)) return undefined;
    const had = this.#readBuffer.size;
    const out = this.#readBuffer.read(max);
    this.#transaction?.push(out);
    this.#afterRead(max, had);
    return out;
  }

  /** Reads up to `maxSize` bytes (all that is buffered when omitted). Empty when none or at end. */
  read(maxSize = Number.POSITIVE_INFINITY): Uint8Array {
    if (maxSize < 0) {
      this.#warn(`QIODevice::read (${this.#className()}): Called with maxSize < 0`);
      return new Uint8Array(0);
    }
    if (this.#type === SocketType.UdpSocket)
      return this.#checkReadable('read') ? (this.#nextDatagram(maxSize)?.data ?? new Uint8Array(0)) : new Uint8Array(0);
    return this.#consume(maxSize, 'read') ?? new Uint8Array(0);
  }

  /**
   * Qt's `read(char *data, qint64 maxSize)`: copies into `target`; returns the count, 0 when nothing
   * is buffered on a live connection, -1 at end of stream or when the device is not open.
   */
  readInto(target: Uint8Array, maxSize = target.byteLength): number {
    if (maxSize < 0) return -1;
    if (!this.#checkReadable('read')) return -1;
    if (this.#type === SocketType.UdpSocket) {
      // One datagram per read; what does not fit is dropped, as Qt's connected UDP read does.
      const datagram = this.#nextDatagram(Math.min(maxSize, target.byteLength));
      if (datagram === undefined) return this.#state === ConnectedState ? 0 : -1;
      target.set(datagram.data);
      return datagram.data.byteLength;
    }
    if (this.#readBuffer.size === 0 && maxSize > 0) {
      this.#afterRead(maxSize, 0);
      return this.#state === ConnectedState ? 0 : -1;
    }
    const out = this.#consume(Math.min(maxSize, target.byteLength), 'read') ?? new Uint8Array(0);
    target.set(out);
    return out.byteLength;
  }

  readAll(): Uint8Array {
    if (this.#type === SocketType.UdpSocket) {
      // Not datagram-aware, as in Qt: every pending datagram, boundaries lost.
      if (!this.#checkReadable('readAll')) return new Uint8Array(0);
      const all = new ByteQueue();
      for (let datagram = this.#nextDatagram(); datagram; datagram = this.#nextDatagram()) all.push(datagram.data);
      return all.read(all.size);
    }
    return this.#consume(Number.POSITIVE_INFINITY, 'readAll') ?? new Uint8Array(0);
  }

  /** Qt's QByteArray `readLine(maxSize = 0)`: a line with its `\n`, or what is buffered; 0 = no limit. */
  readLine(maxSize = 0): Uint8Array {
    if (!this.#checkReadable('readLine')) return new Uint8Array(0);
    const limit = maxSize > 0 ? maxSize : this.#readBuffer.size;
    const newline = this.#readBuffer.indexOf(NEWLINE, limit);
    return this.#consume(newline >= 0 ? newline + 1 : limit, 'readLine') ?? new Uint8Array(0);
  }

  /**
   * Qt's `readLine(char *data, qint64 maxSize)`: at most maxSize - 1 bytes, stopping after `\n`,
   * then a NUL. Returns the count, 0 when nothing is buffered on a live connection, -1 at end.
   */
  readLineInto(target: Uint8Array, maxSize = target.byteLength): number {
    if (maxSize < 2) {
      this.#warn(`QIODevice::readLine (${this.#className()}): Called with maxSize < 2`);
      return -1;
    }
    if (!this.#checkReadable('readLine')) return -1;
    if (this.#readBuffer.size === 0) {
      this.#afterRead(1, 0);
      return this.#state === ConnectedState ? 0 : -1;
    }
    const room = Math.min(maxSize, target.byteLength) - 1;
    const newline = this.#readBuffer.indexOf(NEWLINE, room);
    const out = this.#consume(newline >= 0 ? newline + 1 : room, 'readLine') ?? new Uint8Array(0);
    target.set(out);
    if (out.byteLength < target.byteLength) target[out.byteLength] = 0;
    return out.byteLength;
  }

  peek(maxSize: number): Uint8Array {
    if (!this.#checkReadable('peek')) return new Uint8Array(0);
    return this.#readBuffer.peek(maxSize);
  }

  /** Discards up to `maxSize` buffered bytes; -1 when there is nothing and the connection has ended. */
  skip(maxSize: number): number {
    if (!this.#checkReadable('skip')) return -1;
    if (this.#readBuffer.size === 0 && this.#state !== ConnectedState) return -1;
    const had = this.#readBuffer.size;
    const skipped = this.#readBuffer.skip(maxSize);
    this.#afterRead(maxSize, had);
    return skipped;
  }

  /** One byte, or undefined where Qt's getChar returns false. */
  getChar(): number | undefined {
    if (this.#type === SocketType.UdpSocket) return this.#checkReadable('getChar') ? this.#nextDatagram(1)?.data[0] : undefined;
    if (!this.#checkReadable('getChar') || this.#readBuffer.size === 0) return undefined;
    return this.#consume(1, 'getChar')?.[0];
  }

  /** Qt's putChar: writes one byte; true when it was accepted. */
  putChar(char: number | string): boolean {
    const byte = typeof char === 'string' ? char.charCodeAt(0) : char;
    return this.write(Uint8Array.of(byte & 0xff)) === 1;
  }

  /** Pushes one byte back to the front of the read buffer. */
  ungetChar(char: number | string): void {
    if (this.#transaction) {
      this.#warn(`QIODevice::ungetChar (${this.#className()}): Called while transaction is in progress`);
      return;
    }
    if (!this.isOpen()) return;
    const byte = typeof char === 'string' ? char.charCodeAt(0) : char;
    this.#readBuffer.unshift(Uint8Array.of(byte & 0xff));
  }

  startTransaction(): void {
    if (this.#transaction) {
      this.#warn(`QIODevice::startTransaction (${this.#className()}): Called while transaction already in progress`);
      return;
    }
    this.#transaction = [];
  }
  commitTransaction(): void {
    this.#transaction = undefined;
  }
  /** Puts back everything read since startTransaction(). */
  rollbackTransaction(): void {
    const read = this.#transaction;
    this.#transaction = undefined;
    if (!read) return;
    for (let i = read.length - 1; i >= 0; i--) this.#readBuffer.unshift(read[i] as Uint8Array);
  }
  isTransactionStarted(): boolean {
    return this.#transaction !== undefined;
  }

  /**
   * Appends to the write buffer; returns the byte count (never partial), 0 for nothing, -1 when the
   * socket cannot write. Strings are sent as UTF-8. The bytes leave once control returns to the
   * event loop, or on flush().
   */
  write(data: Uint8Array | ArrayBuffer | string): number {
    if (!this.isOpen()) {
      this.#warn(`QIODevice::write (${this.#className()}): device not open`);
      return -1;
    }
    if (!this.isWritable()) {
      this.#warn(`QIODevice::write (${this.#className()}): ReadOnly device`);
      return -1;
    }
    if (this.#state === UnconnectedState || this.#state === BoundState) {
      this.#setError('UnknownSocketError', 'Socket is not connected');
      return -1;
    }
    const bytes = toBytes(data);
    if (bytes === undefined) throw new TypeError('write() takes a Uint8Array, an ArrayBuffer or a string');
    if (this.#type === SocketType.UdpSocket) {
      // One datagram to the connected peer; Qt sets a failure's error without emitting it.
      if (this.#state !== ConnectedState) {
        this.#setError('UnknownSocketError', 'Socket is not connected');
        return -1;
      }
      return this.#sendDatagramChecked(bytes, '', 0, false);
    }
    if (bytes.byteLength === 0) return 0;
    this.#writeBuffer.push(bytes, this.#gateway?.maxFrameBytes ?? bytes.byteLength);
    this.#schedulePump();
    return bytes.byteLength;
  }

  /** Sends buffered output to the gateway now; true when anything was sent. */
  flush(): boolean {
    return this.#pump();
  }

  // ---- options ------------------------------------------------------------------------------------
  /**
   * Sets an option on the gateway's real socket. Like Qt, it only takes effect while a socket
   * exists (connecting or connected); options the gateway cannot set read back as undefined.
   */
  setSocketOption(option: SocketOption, value: number | boolean): void {
    const name = optionName(option);
    if (name === undefined) throw new RangeError(`unknown socket option ${option}`);
    if (this.#stream === undefined || !hasSocket(this.#state) || this.#state === ClosingState) return;
    const number = typeof value === 'boolean' ? (value ? 1 : 0) : Math.trunc(value);
    // The values Qt reads back at once; the gateway's answer confirms or clears them.
    if (this.#type === SocketType.TcpSocket && (option === SocketOption.LowDelayOption || option === SocketOption.KeepAliveOption)) {
      this.#options.set(option, number ? 1 : 0);
    }
    if (this.#type === SocketType.UdpSocket && option === SocketOption.MulticastTtlOption)
      this.#options.set(option, Math.min(255, Math.max(0, number)));
    if (this.#type === SocketType.UdpSocket && option === SocketOption.MulticastLoopbackOption) this.#options.set(option, number ? 1 : 0);
    this.#gateway?.sendMessage({ type: 'set-option', stream: this.#stream, option: name, value: number });
  }

  /** The option's value on the real socket, or undefined (Qt's invalid QVariant). */
  socketOption(option: SocketOption): number | undefined {
    return hasSocket(this.#state) ? this.#options.get(option) : undefined;
  }

  /**
   * Qt's setProxy: a SOCKS5 proxy the gateway connects a TCP socket through (where its policy allows
   * client proxies); DefaultProxy uses `QNetworkProxy.applicationProxy()`.
   */
  setProxy(proxy: QNetworkProxy): void {
    if (!(proxy instanceof QNetworkProxy)) throw new TypeError('setProxy() takes a QNetworkProxy');
    this.#proxy = proxy;
  }
  proxy(): QNetworkProxy {
    return this.#proxy;
  }

  pauseMode(): number {
    return this.#pauseMode;
  }
  setPauseMode(mode: number): void {
    this.#pauseMode = mode;
  }
  resume(): void {}

  // ---- connection control -------------------------------------------------------------------------
  /**
   * Qt's connectToHost: looks the name up on the gateway, which checks its policy and connects.
   * HostLookup, Connecting and hostFound are emitted before this returns for an IP literal. A host
   * outside the protocol's host grammar (a control character, a space, Unicode not in punycode, a
   * zone id) is never sent: it fails as a name that does not resolve (HostNotFoundError).
   */
  connectToHost(
    host: string | QHostAddress,
    port: number,
    openMode: OpenMode = OpenModeFlag.ReadWrite,
    protocol: NetworkLayerProtocol = NetworkLayerProtocol.AnyIPProtocol,
  ): void {
    checkPort(port, 'connectToHost');
    const hostName = host instanceof QHostAddress ? host.toString() : host;
    if (typeof hostName !== 'string') throw new TypeError('connectToHost() takes a host name string or a QHostAddress');
    if (isConnecting(this.#state) || isLive(this.#state)) {
      this.#warn(`QAbstractSocket::connectToHost() called when already looking up or connecting/connected to "${this.#peerName}"`);
      this.#setError('OperationError', ERROR_TEXT.OperationError as string);
      this.#errorOccurred.emit(this.#error);
      return;
    }
    const gateway = this.#gatewayOption ?? Gateway.default();
    if (gateway === null) {
      throw new TypeError('No gateway: pass { gateway } to the socket or call Gateway.setDefault(gateway) first');
    }
    const proxy = connectionProxy(this.#proxy);
    if (proxy !== undefined && (proxy.type() !== QNetworkProxy.Socks5Proxy || this.#type !== SocketType.TcpSocket)) {
      this.#setError('UnsupportedSocketOperationError', 'Unsupported proxy type: the gateway connects through SOCKS5 proxies, for TCP');
      this.#errorOccurred.emit(this.#error);
      return;
    }
    const udp = this.#type === SocketType.UdpSocket;
    const boundStream = udp && this.#state === BoundState ? this.#stream : undefined;
    this.#gateway = gateway;
    if (boundStream === undefined) this.#resetConnection();
    this.#readBuffer.clear();
    this.#staged.clear();
    this.#transaction = undefined;
    this.#writeBuffer.clear();
    this.#openMode = udp ? openMode | OpenModeFlag.Unbuffered : openMode & ~OpenModeFlag.Unbuffered;
    this.#error = SocketError.UnknownSocketError;
    this.#errorString = '';
    this.#peerName = hostName;
    this.#wasConnected = false;
    this.#setState(HostLookupState);
    if (this.state() !== HostLookupState) return;

    const family =
      protocol === NetworkLayerProtocol.IPv4Protocol ? 'ipv4' : protocol === NetworkLayerProtocol.IPv6Protocol ? 'ipv6' : 'any';
    const literal = QHostAddress.isAddress(hostName);
    const target = hostName.replace(/^\[(.*)\]$/, '$1');
    // A host the gateway would refuse as malformed (a NUL, a space, Unicode, a zone id…) is not sent.
    if (!isHost(target)) {
      this.#failLookupLater(hostName, 'HostNotFoundError');
      return;
    }
    if (proxy !== undefined && !isHost(proxy.hostName())) {
      this.#failLookupLater(hostName, 'ProxyNotFoundError');
      return;
    }
    if (boundStream !== undefined) {
      gateway.sendMessage({ type: 'connect', stream: boundStream, host: target, port, family });
    } else {
      this.#outstanding = this.#initialWindow();
      this.#stream = gateway.openStream(this, {
        transport: udp ? 'udp' : 'tcp',
        host: target,
        port,
        family,
        window: this.#outstanding,
        ...(proxy === undefined ? {} : { proxy: proxySpec(proxy) }),
      });
    }
    if (literal) this.#hostWasFound();
  }

  /** Qt's failed lookup of a name that cannot resolve: Unconnected, then errorOccurred, from the event loop. */
  #failLookupLater(hostName: string, error: 'HostNotFoundError' | 'ProxyNotFoundError'): void {
    setTimeout(() => {
      if (this.#state !== HostLookupState || this.#peerName !== hostName) return; // aborted, or another attempt
      this.#failed(error, error === 'HostNotFoundError' ? (ERROR_TEXT.HostNotFoundError as string) : 'Proxy host not found');
    }, 0);
  }

  #initialWindow(): number {
    const size = this.#type === SocketType.UdpSocket ? 0 : this.#readBufferSize;
    return size > 0 ? Math.min(size, 0xffff_ffff) : (this.#gateway?.receiveWindowBytes ?? DEFAULT_RECEIVE_WINDOW);
  }

  #hostWasFound(): void {
    if (this.#state !== HostLookupState) return;
    this.#setState(ConnectingState);
    if (this.state() === ConnectingState) this.#hostFound.emit();
  }

  /** Qt's graceful close: Closing until every buffered byte is written, then Unconnected. */
  disconnectFromHost(): void {
    switch (this.#state) {
      case HostLookupState:
      case ConnectingState:
        this.#closeWhenConnected = true;
        return;
      case BoundState:
        this.#setState(ClosingState);
        this.#finishClose();
        return;
      case ConnectedState:
        this.#setState(ClosingState);
        if (this.state() !== ClosingState) return;
        if (this.bytesToWrite() === 0) {
          this.#sendClose();
          this.#finishClose();
        } else {
          this.#pump();
        }
        return;
      default:
        return;
    }
  }

  /** Qt's close(): aboutToClose, the device closes (read buffer dropped), then disconnectFromHost(). */
  close(): void {
    if (this.isOpen()) {
      this.#aboutToClose.emit();
      this.#openMode = OpenModeFlag.NotOpen;
      this.#readBuffer.clear();
      this.#staged.clear();
      this.#transaction = undefined;
      this.#waits.cancel('disconnected');
    }
    if (this.#state !== UnconnectedState) this.disconnectFromHost();
  }

  /** Qt's abort(): closes at once, dropping pending output. */
  abort(): void {
    this.#waits.cancel();
    if (this.isOpen()) {
      this.#aboutToClose.emit();
      this.#openMode = OpenModeFlag.NotOpen;
    }
    this.#readBuffer.clear();
    this.#staged.clear();
    this.#writeBuffer.clear();
    this.#transaction = undefined;
    const stream = this.#stream;
    if (stream !== undefined) {
      this.#gateway?.sendMessage({ type: 'abort', stream });
      this.#gateway?.releaseStream(stream);
    }
    const was = this.#state;
    this.#resetConnection();
    if (was === UnconnectedState) return;
    this.#setState(UnconnectedState);
    this.#readChannelFinished.emit();
    if (isLive(was)) this.#disconnected.emit();
  }

  // ---- waits --------------------------------------------------------------------------------------
  /** Qt's waitForConnected as a Promise: true once connected; on timeout the attempt is abandoned. */
  waitForConnected(msecs = 30000): Promise<boolean> {
    if (this.#state === ConnectedState) return Promise.resolve(true);
    if (!isConnecting(this.#state)) return Promise.resolve(false);
    return this.#waits.wait('connected', msecs);
  }

  /** Qt's waitForReadyRead as a Promise: true when new data arrives (not data already buffered). */
  waitForReadyRead(msecs = 30000): Promise<boolean> {
    // A UDP socket whose bind the gateway has not confirmed yet is, for Qt, already bound.
    const binding = this.#state === UnconnectedState && this.#bindPending;
    if ((this.#state === UnconnectedState && !binding) || this.#state === ClosingState) return Promise.resolve(false);
    return this.#waits.wait('readyRead', msecs);
  }

  /** Qt's waitForBytesWritten as a Promise: true at the next acknowledgement of written bytes. */
  waitForBytesWritten(msecs = 30000): Promise<boolean> {
    if (this.#state === UnconnectedState) {
      this.#warn('QAbstractSocket::waitForBytesWritten() is not allowed in UnconnectedState');
      return Promise.resolve(false);
    }
    if (this.bytesToWrite() === 0) return Promise.resolve(false);
    return this.#waits.wait('bytesWritten', msecs);
  }

  /** Qt's waitForDisconnected as a Promise: true once the socket is Unconnected. */
  waitForDisconnected(msecs = 30000): Promise<boolean> {
    if (this.#state === UnconnectedState) {
      this.#warn('QAbstractSocket::waitForDisconnected() is not allowed in UnconnectedState');
      return Promise.resolve(false);
    }
    return this.#waits.wait('disconnected', msecs);
  }

  #waitTimedOut(kind: WaitKind): void {
    if (isConnecting(this.#state)) {
      // Qt abandons the attempt: Unconnected, SocketTimeoutError, and no errorOccurred.
      this.#setError('SocketTimeoutError', 'Socket operation timed out');
      this.#dropConnection();
      this.#setState(UnconnectedState);
      this.#waits.cancel();
      return;
    }
    if (kind === 'connected') return;
    this.#setError('SocketTimeoutError', 'Network operation timed out');
    this.#errorOccurred.emit(this.#error);
  }

  // ---- from the gateway ---------------------------------------------------------------------------
  /** @internal */
  onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'resolved':
        this.#hostWasFound();
        return;
      case 'bound':
        this.#onBound(message);
        return;
      case 'datagram-error':
        this.#setError(message.error, message.message);
        this.#errorOccurred.emit(this.#error);
        return;
      case 'connected':
        this.#onConnected(message);
        return;
      case 'option':
        if (message.value === null) this.#options.delete(SocketOption[message.option]);
        else this.#options.set(SocketOption[message.option], message.value);
        return;
      case 'end': {
        const how = message.reset === true ? 'reset' : 'close';
        this.#gateway?.releaseStream(message.stream);
        this.#stream = undefined;
        // A reset while closing cut what was still to be written: Qt's failed write, not a close.
        if (this.#state === ClosingState && how === 'reset') this.#failed('RemoteHostClosedError', PEER_RESET_TEXT);
        else if (this.#state === ClosingState) this.#finishClose();
        else if (this.#staged.size > 0) this.#endPending = how;
        else this.#remoteClosed(how);
        return;
      }
      case 'closed':
        this.#gateway?.releaseStream(message.stream);
        this.#stream = undefined;
        if (this.#state === ClosingState) this.#finishClose();
        return;
      case 'error':
        this.#gateway?.releaseStream(message.stream);
        this.#stream = undefined;
        if (this.#bindPending) {
          // Qt's failed bind: errorOccurred, state unchanged.
          this.#bindPending = false;
          this.#setError(message.error, message.message);
          this.#errorOccurred.emit(this.#error);
          this.#waits.cancel();
          return;
        }
        this.#failed(message.error, message.message);
        return;
      case 'protocol-error':
        if (message.stream === undefined) return;
        this.#gateway?.releaseStream(message.stream);
        this.#stream = undefined;
        this.#failed('UnknownSocketError', `Protocol error: ${message.message}`);
        return;
      default:
        return;
    }
  }

  #onConnected(message: ServerMessage & { type: 'connected' }): void {
    if (this.#state === HostLookupState) this.#hostWasFound();
    if (this.#state !== ConnectingState) return;
    this.#peerAddress = new QHostAddress(message.peerAddress);
    this.#peerPort = message.peerPort;
    this.#localAddress = new QHostAddress(message.localAddress);
    this.#localPort = message.localPort;
    this.#sendWindow = message.window;
    this.#datagramWindow = message.window;
    for (const [name, value] of Object.entries(message.options)) {
      if (value !== undefined) this.#options.set(SocketOption[name as SocketOptionName], value);
    }
    this.#wasConnected = true;
    this.#setState(ConnectedState);
    if (this.state() !== ConnectedState) return;
    this.#connected.emit();
    this.#waits.done('connected');
    if (this.state() !== ConnectedState) return;
    this.#scheduleGrant();
    if (this.#closeWhenConnected) {
      this.#closeWhenConnected = false;
      this.disconnectFromHost();
    } else {
      this.#schedulePump();
    }
  }

  #onBound(message: ServerMessage & { type: 'bound' }): void {
    this.#localAddress = new QHostAddress(message.localAddress);
    this.#localPort = message.localPort;
    this.#datagramWindow = message.window;
    this.#maxDatagramBytes = message.maxDatagramBytes;
    if (!this.#bindPending) return; // the implicit bind of a connecting socket
    this.#bindPending = false;
    if (this.#state === UnconnectedState) this.#setState(BoundState);
    this.#scheduleGrant();
  }

  /** @internal */
  onDatagram(host: string, port: number, payload: Uint8Array): void {
    if (this.#state !== BoundState && this.#state !== ConnectedState) return;
    const cost = datagramCost(payload.byteLength);
    this.#outstanding = Math.max(0, this.#outstanding - cost);
    this.#datagrams.push({ data: payload, host, port });
    this.#datagramCost += cost;
    this.#notifyDatagrams();
  }

  /** Qt's UDP readyRead: once for pending datagrams, again only after one was read. */
  #notifyDatagrams(): void {
    if (this.#datagramNotified || this.#datagrams.length === 0) return;
    this.#datagramNotified = true;
    this.#emitReadyRead();
  }

  /** Takes the next datagram, truncated to `maxSize` (the rest is lost, as in Qt). */
  #nextDatagram(maxSize = Number.POSITIVE_INFINITY): ReceivedDatagram | undefined {
    const datagram = this.#datagrams.shift();
    if (datagram === undefined) return undefined;
    this.#datagramCost -= datagramCost(datagram.data.byteLength);
    this.#datagramNotified = false;
    if (this.#datagrams.length > 0) {
      setTimeout(() => this.#notifyDatagrams(), 0);
    }
    this.#scheduleGrant();
    return maxSize < datagram.data.byteLength ? { ...datagram, data: datagram.data.subarray(0, Math.max(0, maxSize)) } : datagram;
  }

  /** @internal */
  onData(payload: Uint8Array): void {
    if (this.#state !== ConnectedState) return;
    this.#outstanding = Math.max(0, this.#outstanding - payload.byteLength);
    if (!this.isReadable()) {
      // WriteOnly: Qt reads and discards; keep the flow going.
      this.#grant(payload.byteLength);
      return;
    }
    this.#staged.push(payload);
    if (!this.#readPaused) this.#fill();
    this.#scheduleGrant();
  }

  /** Moves staged bytes into the visible buffer up to the limit; readyRead when any moved. */
  #fill(): void {
    const room = this.#limit() - this.#readBuffer.size;
    const moved = room > 0 ? this.#staged.moveTo(this.#readBuffer, room) : 0;
    if (this.#readBufferSize > 0 && this.#readBuffer.size >= this.#readBufferSize) this.#readPaused = true;
    if (moved > 0) this.#emitReadyRead();
    const how = this.#endPending;
    if (how !== undefined && this.#staged.size === 0 && this.#state === ConnectedState) {
      this.#endPending = undefined;
      this.#remoteClosed(how);
    }
  }

  #emitReadyRead(): void {
    this.#channelReadyRead.emit(0);
    if (!this.#inReadyRead) {
      this.#inReadyRead = true;
      try {
        this.#readyRead.emit();
      } finally {
        this.#inReadyRead = false;
      }
    }
    this.#waits.done('readyRead');
  }

  /** Qt re-enables reading: staged bytes become visible (asynchronously, as Qt's next read) and credit flows again. */
  #resumeReading(): void {
    if (!this.#readPaused && this.#staged.size === 0) {
      this.#scheduleGrant();
      return;
    }
    this.#readPaused = false;
    queueMicrotask(() => {
      if (this.#state !== ConnectedState || this.#readPaused) return;
      this.#fill();
      this.#scheduleGrant();
    });
  }

  #scheduleGrant(): void {
    if (this.#grantScheduled) return;
    this.#grantScheduled = true;
    queueMicrotask(() => {
      this.#grantScheduled = false;
      this.#grantCredit();
    });
  }

  /** Grants the gateway what the buffer can take: up to the limit, or keeps the window full when unlimited. */
  #grantCredit(): void {
    if (this.#type === SocketType.UdpSocket) {
      if ((this.#state !== BoundState && this.#state !== ConnectedState) || this.#stream === undefined) return;
      const window = this.#gateway?.receiveWindowBytes ?? DEFAULT_RECEIVE_WINDOW;
      const room = window - this.#outstanding - this.#datagramCost;
      if (room >= window / 2) this.#grant(room);
      return;
    }
    if (this.#state !== ConnectedState || this.#stream === undefined || this.#readPaused) return;
    if (this.#readBufferSize > 0) {
      const room = this.#readBufferSize - this.#readBuffer.size - this.#staged.size - this.#outstanding;
      if (room > 0) this.#grant(room);
      return;
    }
    // Credit goes back in quarters of the window: early enough that the gateway rarely waits for it,
    // few enough that credit frames cost nothing (the benchmark's download was fastest at quarters).
    const window = this.#gateway?.receiveWindowBytes ?? DEFAULT_RECEIVE_WINDOW;
    const room = window - this.#outstanding - this.#staged.size;
    if (room >= window / 4) this.#grant(room);
  }

  #grant(bytes: number): void {
    if (this.#stream === undefined || bytes <= 0) return;
    const n = Math.min(bytes, 0xffff_ffff);
    this.#outstanding += n;
    this.#gateway?.sendCredit(this.#stream, n);
  }

  /** @internal */
  onAck(bytes: number): void {
    if (this.#type === SocketType.UdpSocket) {
      // UDP's bytesWritten was emitted when the datagram was sent; the ack only frees the window.
      this.#datagramsInFlight = Math.max(0, this.#datagramsInFlight - bytes);
      return;
    }
    this.#inFlight = Math.max(0, this.#inFlight - bytes);
    this.#sendWindow += bytes;
    this.#channelBytesWritten.emit(0, bytes);
    if (!this.#inBytesWritten) {
      this.#inBytesWritten = true;
      try {
        this.#bytesWritten.emit(bytes);
      } finally {
        this.#inBytesWritten = false;
      }
    }
    this.#waits.done('bytesWritten');
    if (isLive(this.#state)) this.#pump();
  }

  /** @internal */
  onTransportLost(error: SocketErrorName, message: string): void {
    this.#stream = undefined;
    this.#failed(error, message);
  }

  // ---- UDP, for QUdpSocket -------------------------------------------------------------------------
  #datagramWindow = ASSUMED_DATAGRAM_WINDOW;
  #datagramsInFlight = 0;

  /**
   * Binds a UDP socket on the gateway host. Returns true when the request is on its way; BoundState
   * follows when the gateway has bound (a failure is errorOccurred, the state unchanged).
   */
  protected bindSocket(address: string, port: number, mode: number): boolean {
    if (this.#type !== SocketType.UdpSocket) {
      this.#setError(
        'UnsupportedSocketOperationError',
        'Unsupported socket operation: bind() before connectToHost() is not available for TCP sockets',
      );
      this.#errorOccurred.emit(this.#error);
      return false;
    }
    checkPort(port, 'bind');
    if (this.#state !== UnconnectedState || this.#bindPending) {
      this.#warn('QAbstractSocket::bind() called when already bound');
      this.#setError('UnknownSocketError', 'Unknown error');
      this.#errorOccurred.emit(this.#error);
      return false;
    }
    const gateway = this.#gatewayOption ?? Gateway.default();
    if (gateway === null) throw new TypeError('No gateway: pass { gateway } to the socket or call Gateway.setDefault(gateway) first');
    this.#gateway = gateway;
    this.#resetConnection();
    this.#bindPending = true;
    this.#outstanding = gateway.receiveWindowBytes;
    this.#stream = gateway.bindStream(this, { address, port, flags: mode & 0x7, window: this.#outstanding });
    return true;
  }

  /**
   * Sends one datagram (UDP): to `host`:`port`, or to the connected peer when `host` is empty.
   * Returns its size, or -1 with error() set; `emitErrors` follows Qt (writeDatagram emits, write does not).
   */
  #sendDatagramChecked(bytes: Uint8Array, host: string, port: number, emitErrors: boolean): number {
    const fail = (name: SocketErrorName, text: string): number => {
      this.#setError(name, text);
      if (emitErrors) this.#errorOccurred.emit(this.#error);
      return -1;
    };
    if (bytes.byteLength > this.#maxDatagramBytes) return fail('DatagramTooLargeError', ERROR_TEXT.DatagramTooLargeError as string);
    const cost = datagramCost(bytes.byteLength);
    if (this.#datagramsInFlight + cost > this.#datagramWindow) return fail('TemporaryError', 'Unable to send a datagram');
    if (this.#stream === undefined && host !== '') {
      // Qt binds an unbound socket to any address before its first datagram.
      if (!this.bindSocket('', 0, 0)) return -1;
    }
    const stream = this.#stream;
    if (stream === undefined) return fail('UnknownSocketError', 'Socket is not connected');
    this.#datagramsInFlight += cost;
    this.#gateway?.sendDatagram(stream, host, port, bytes);
    this.#channelBytesWritten.emit(0, bytes.byteLength);
    this.#bytesWritten.emit(bytes.byteLength);
    return bytes.byteLength;
  }

  /** Qt's writeDatagram: one datagram to `host` (a name or an address) and `port`. */
  protected sendDatagram(data: Uint8Array | ArrayBuffer | string, host: string, port: number): number {
    const bytes = toBytes(data);
    if (bytes === undefined) throw new TypeError('writeDatagram() takes a Uint8Array, an ArrayBuffer or a string');
    checkPort(port, 'writeDatagram');
    if (host === '' && this.#state !== ConnectedState) {
      this.#setError('UnknownSocketError', 'Socket is not connected');
      this.#errorOccurred.emit(this.#error);
      return -1;
    }
    if (host !== '' && !isHost(host)) {
      // Not sent (nor bound for): the error a name the gateway cannot resolve gets, reported at once.
      this.#setError('HostNotFoundError', ERROR_TEXT.HostNotFoundError as string);
      this.#errorOccurred.emit(this.#error);
      return -1;
    }
    return this.#sendDatagramChecked(bytes, host, port, true);
  }

  /** The next datagram without taking it. */
  protected peekDatagram(): ReceivedDatagram | undefined {
    return this.#datagrams[0];
  }

  /** Takes the next datagram; with none pending, Qt's TemporaryError. */
  protected takeDatagram(maxSize: number, caller: string): ReceivedDatagram | undefined {
    if (!this.#datagramReady(caller)) return undefined;
    const datagram = this.#nextDatagram(maxSize < 0 ? Number.POSITIVE_INFINITY : maxSize);
    if (datagram === undefined) {
      this.#setError('TemporaryError', 'No datagram available for reading');
      this.#errorOccurred.emit(this.#error);
    }
    return datagram;
  }

  /** Qt's check for the datagram calls: bound or connected, else a warning. */
  #datagramReady(caller: string): boolean {
    if (this.#state === BoundState || this.#state === ConnectedState) return true;
    this.#warn(`QUdpSocket::${caller}() called on a QUdpSocket when not in QUdpSocket::BoundState`);
    return false;
  }

  protected changeMulticast(action: 'join' | 'leave', group: QHostAddress | string, caller: string): boolean {
    if (this.#state !== BoundState || this.#stream === undefined) {
      this.#warn(`QUdpSocket::${caller}() called on a QUdpSocket when not in QUdpSocket::BoundState`);
      return false;
    }
    const text = group.toString();
    if (!QHostAddress.isAddress(text)) return false;
    this.#gateway?.sendMessage({ type: 'multicast', stream: this.#stream, action, group: text });
    return true;
  }

  // ---- internals ----------------------------------------------------------------------------------
  #schedulePump(): void {
    if (this.#pumpScheduled || !isLive(this.#state)) return;
    this.#pumpScheduled = true;
    // After the caller's synchronous code, as Qt writes when control returns to the event loop; a
    // microtask, since a timer would add a millisecond to every round trip.
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Sends buffered output within the gateway's window; in Closing, asks for the close once all is sent. */
  #pump(): boolean {
    const stream = this.#stream;
    const gateway = this.#gateway;
    if (!isLive(this.#state) || stream === undefined || gateway === undefined) return false;
    let sent = false;
    while (this.#sendWindow > 0 && this.#writeBuffer.size > 0) {
      const frame = this.#writeBuffer.takeFrame(stream, Math.min(this.#sendWindow, gateway.maxFrameBytes));
      gateway.sendFrame(frame);
      const bytes = frame.byteLength - HEADER_BYTES;
      this.#sendWindow -= bytes;
      this.#inFlight += bytes;
      sent = true;
    }
    if (this.#state === ClosingState && this.#writeBuffer.size === 0) this.#sendClose();
    return sent;
  }

  #sendClose(): void {
    if (this.#closeSent || this.#stream === undefined) return;
    this.#closeSent = true;
    this.#gateway?.sendMessage({ type: 'close', stream: this.#stream });
    if (this.bytesToWrite() === 0) {
      // Nothing left to acknowledge: the close is complete from Qt's point of view.
      this.#gateway?.releaseStream(this.#stream);
      this.#stream = undefined;
    }
  }

  /** Closing -> Unconnected, readChannelFinished, disconnected: Qt's end of a graceful close. */
  #finishClose(): void {
    if (this.#state !== ClosingState) return;
    this.#dropConnection();
    this.#setState(UnconnectedState);
    this.#readChannelFinished.emit();
    this.#disconnected.emit();
    this.#waits.done('disconnected');
    this.#waits.cancel();
  }

  /**
   * The peer closed (Qt §2.1 #10): errorOccurred while Connected, then Closing, Unconnected, ...
   * A reset takes the same path (Qt reads ECONNRESET as an end), with its own errorString.
   */
  #remoteClosed(how: 'close' | 'reset'): void {
    if (this.#state !== ConnectedState) return;
    this.#setError('RemoteHostClosedError', how === 'reset' ? PEER_RESET_TEXT : (ERROR_TEXT.RemoteHostClosedError as string));
    this.#waits.cancel('disconnected');
    this.#errorOccurred.emit(this.#error);
    if (this.#state !== ConnectedState) return; // the handler closed or aborted the socket
    this.#writeBuffer.clear();
    this.#inFlight = 0;
    this.#setState(ClosingState);
    this.#finishClose();
  }

  /** The gateway reported a stream error, or the session was lost. */
  #failed(error: SocketErrorName, message: string): void {
    const was = this.#state;
    if (isConnecting(was)) {
      // Qt's failure order: stateChanged(Unconnected), then errorOccurred.
      this.#setError(error, message);
      this.#dropConnection();
      this.#setState(UnconnectedState);
      this.#errorOccurred.emit(this.#error);
      this.#waits.cancel();
      return;
    }
    if (!isLive(was)) return;
    if (error === 'RemoteHostClosedError') {
      // A write failed (Qt §2.1 #17): errorOccurred, then the abort path.
      this.#setError(error, message);
      this.#errorOccurred.emit(this.#error);
      if (this.#state === was) this.abort();
      return;
    }
    // Any other loss while connected: buffered data stays readable, as after a remote close.
    this.#setError(error, message);
    this.#waits.cancel('disconnected');
    this.#errorOccurred.emit(this.#error);
    if (this.#state !== was) return;
    this.#dropConnection();
    this.#setState(UnconnectedState);
    this.#readChannelFinished.emit();
    this.#disconnected.emit();
    this.#waits.cancel();
  }

  /** Forgets the gateway stream and the connection's transient values; buffers are the caller's call. */
  #dropConnection(): void {
    const stream = this.#stream;
    if (stream !== undefined) {
      this.#gateway?.sendMessage({ type: 'abort', stream });
      this.#gateway?.releaseStream(stream);
    }
    this.#resetConnection();
  }

  #resetConnection(): void {
    this.#stream = undefined;
    this.#bindPending = false;
    this.#datagrams.length = 0;
    this.#datagramCost = 0;
    this.#datagramNotified = false;
    this.#datagramsInFlight = 0;
    this.#datagramWindow = ASSUMED_DATAGRAM_WINDOW;
    this.#closeWhenConnected = false;
    this.#closeSent = false;
    this.#writeBuffer.clear();
    this.#inFlight = 0;
    this.#sendWindow = 0;
    this.#outstanding = 0;
    this.#readPaused = false;
    this.#endPending = undefined;
    this.#options.clear();
    this.#peerAddress = new QHostAddress();
    this.#peerPort = 0;
    this.#localAddress = new QHostAddress();
    this.#localPort = 0;
  }

  #setState(to: SocketState): void {
    if (to === this.#state) return;
    if (!socketStateMoves[this.#state].includes(to)) {
      throw new Error(`bug: ${nameOf(SocketState, this.#state)} -> ${nameOf(SocketState, to)}`);
    }
    this.#state = to;
    this.#stateChanged.emit(to);
  }

  #setError(name: SocketErrorName, text: string): void {
    this.#error = socketErrorFromName(name);
    this.#errorString = text;
  }

  #className(): string {
    return this.#type === SocketType.UdpSocket ? 'QUdpSocket' : 'QTcpSocket';
  }

  #warn(message: string): void {
    if (QAbstractSocket.warnings) console.warn(message);
  }

  /** Qt prints warnings for misuse (a read on a closed device, ...); set false to silence them. */
  static warnings = true;
}

/**
 * Qt's `QAbstractSocket`. PySide also exposes every enum value on the class itself, so both
 * `QAbstractSocket.SocketState.ConnectedState` and `QAbstractSocket.ConnectedState` work.
 */
export const QAbstractSocket = withSocketEnums(QAbstractSocketBase);
export type QAbstractSocket = QAbstractSocketBase;

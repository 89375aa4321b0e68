import type { SocketOptionName } from '@socketgate/protocol';
import { ByteQueue } from './byte-queue.js';
import { nameOf, type OpenMode, OpenModeFlag, PauseMode, SocketOption, type SocketState, SocketType } from './enums.js';
import { QHostAddress } from './host-address.js';
import { QNetworkProxy } from './network-proxy.js';
import { toBytes } from './outgoing.js';
import { type ReadonlySignal, Signal } from './signal.js';
import { BoundState, ClosingState, ConnectedState, hasSocket, isConnecting, isLive, UnconnectedState } from './socket-state.js';
import type { ChannelHost, TransportChannel } from './transport-channel.js';
import type { Waits } from './waits.js';

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);

const OPTION_NAMES = Object.keys(SocketOption) as SocketOptionName[];

/**
 * What the device asks of the socket above it: the socket's half of a ChannelHost (the device adds
 * the data path's), the option values the gateway reported, and the socket's waits.
 */
export interface SocketHost extends Omit<ChannelHost, 'readBuffer' | 'readBufferSize' | 'isReadable' | 'readyRead' | 'written'> {
  readonly options: Map<SocketOption, number>;
  /** The socket's pending waits: the device starts them, and ends those for data. */
  readonly waits: Waits;
}

/** The transport channel under a socket, for the socket classes of this package (Qt's d-pointer). */
export let channelOf: (device: SocketDevice) => TransportChannel;
/** What the state machine above a device lets it do, for the socket classes of this package (QSslSocket). */
export let hostOf: (device: SocketDevice) => SocketHost;
/** Sets a socket's open mode, its read buffer starting afresh (as Qt's QIODevice::open and close do), for QAbstractSocket. */
export let openDevice: (device: SocketDevice, mode: OpenMode) => void;

/**
 * A socket as a device: what it holds and answers, without the state machine that drives its
 * connection (QAbstractSocket, which extends this). Qt's `QIODevice` part: the open mode, the read
 * buffer with `readBufferSize`, read transactions, the read and write API, readyRead and
 * bytesWritten; and QAbstractSocket's queries and settings: the two ends' addresses, the
 * descriptor, options, proxy, pause mode and the waitFor* Promises. Under it lies the transport
 * channel the socket type chose: reads take from the buffer (TCP) or one datagram at a time from the
 * channel (UDP), writes go to the channel, and the gateway's data frames and acknowledgements
 * arrive here.
 */
export abstract class SocketDevice {
  static {
    channelOf = (device) => device.#channel;
    hostOf = (device) => device.#host;
    openDevice = (device, mode) => {
      device.#openMode = mode;
      device.#readBuffer.clear();
      device.#transaction = undefined;
    };
  }

  readonly #readyRead = new Signal<[]>();
  readonly #channelReadyRead = new Signal<[number]>();
  readonly #bytesWritten = new Signal<[number]>();
  readonly #channelBytesWritten = new Signal<[number, number]>();
  readonly readyRead: ReadonlySignal<[]> = this.#readyRead;
  readonly channelReadyRead: ReadonlySignal<[number]> = this.#channelReadyRead;
  readonly bytesWritten: ReadonlySignal<[number]> = this.#bytesWritten;
  readonly channelBytesWritten: ReadonlySignal<[number, number]> = this.#channelBytesWritten;
  /** Qt's guards: readyRead and bytesWritten are never emitted from inside their own slots. */
  #inReadyRead = false;
  #inBytesWritten = false;

  readonly #host: SocketHost;
  readonly #channel: TransportChannel;
  #openMode: OpenMode = OpenModeFlag.NotOpen;
  readonly #readBuffer = new ByteQueue();
  #readBufferSize = 0;
  #transaction: Uint8Array[] | undefined;
  #peerName = '';
  #peerAddress = new QHostAddress();
  #peerPort = 0;
  #localAddress = new QHostAddress();
  #localPort = 0;
  #proxy: QNetworkProxy = new QNetworkProxy(QNetworkProxy.DefaultProxy);
  #pauseMode: number = PauseMode.PauseNever;

  /** `channel` makes the transport, given what a channel may ask of the socket. */
  constructor(host: SocketHost, channel: (host: ChannelHost) => TransportChannel) {
    this.#host = host;
    this.#channel = channel({
      ...host,
      readBuffer: this.#readBuffer,
      readBufferSize: () => this.#readBufferSize,
      isReadable: () => this.isReadable(),
      readyRead: () => this.#emitReadyRead(),
      written: (bytes, channel) => {
        this.#bytesWritten.emit(bytes);
        if (channel) this.#channelBytesWritten.emit(0, bytes);
      },
    });
  }

  abstract socketType(): SocketType;
  abstract state(): SocketState;

  // ---- the two ends -------------------------------------------------------------------------------
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
    const stream = this.#host.stream();
    return isLive(this.state()) && stream !== undefined ? stream : -1;
  }
  /** Unsupported: there are no native descriptors in a browser. Sets UnsupportedSocketOperationError. */
  setSocketDescriptor(_descriptor: number, _state: SocketState = ConnectedState, _mode: OpenMode = OpenModeFlag.ReadWrite): boolean {
    this.#host.setError('UnsupportedSocketOperationError', 'The socket descriptor is invalid');
    return false;
  }

  // ---- waits --------------------------------------------------------------------------------------
  /** Qt's waitForConnected as a Promise: true once connected; on timeout the attempt is abandoned. */
  waitForConnected(msecs = 30000): Promise<boolean> {
    const state = this.state();
    if (state === ConnectedState) return Promise.resolve(true);
    if (!isConnecting(state)) return Promise.resolve(false);
    return this.#host.waits.wait('connected', msecs);
  }

  /** Qt's waitForReadyRead as a Promise: true when new data arrives (not data already buffered). */
  waitForReadyRead(msecs = 30000): Promise<boolean> {
    const state = this.state();
    if (state === UnconnectedState || state === ClosingState) return Promise.resolve(false);
    return this.#host.waits.wait('readyRead', msecs);
  }

  /** Qt's waitForBytesWritten as a Promise: true at the next acknowledgement of written bytes. */
  waitForBytesWritten(msecs = 30000): Promise<boolean> {
    if (this.state() === UnconnectedState) {
      this.#host.warn('QAbstractSocket::waitForBytesWritten() is not allowed in UnconnectedState');
      return Promise.resolve(false);
    }
    if (this.bytesToWrite() === 0) return Promise.resolve(false);
    return this.#host.waits.wait('bytesWritten', msecs);
  }

  /** Qt's waitForDisconnected as a Promise: true once the socket is Unconnected. */
  waitForDisconnected(msecs = 30000): Promise<boolean> {
    if (this.state() === UnconnectedState) {
      this.#host.warn('QAbstractSocket::waitForDisconnected() is not allowed in UnconnectedState');
      return Promise.resolve(false);
    }
    return this.#host.waits.wait('disconnected', msecs);
  }

  // ---- options, proxy -----------------------------------------------------------------------------
  /**
   * Sets an option on the gateway's real socket. Like Qt, it only takes effect while a socket
   * exists (connecting or connected); options the gateway cannot set read back as undefined.
   */
  setSocketOption(option: SocketOption, value: number | boolean): void {
    const name = OPTION_NAMES[option];
    if (name === undefined) throw new RangeError(`unknown socket option ${option}`);
    const stream = this.#host.stream();
    if (stream === undefined || !hasSocket(this.state()) || this.state() === ClosingState) return;
    const number = typeof value === 'boolean' ? (value ? 1 : 0) : Math.trunc(value);
    // The value Qt reads back at once; the gateway's answer confirms or clears it.
    const readBack = this.#channel.option(option, number);
    if (readBack !== undefined) this.#host.options.set(option, readBack);
    this.#host.gateway().sendMessage({ type: 'set-option', stream, option: name, value: number });
  }

  /** The option's value on the real socket, or undefined (Qt's invalid QVariant). */
  socketOption(option: SocketOption): number | undefined {
    return hasSocket(this.state()) ? this.#host.options.get(option) : undefined;
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

  // ---- the device ---------------------------------------------------------------------------------
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
  currentReadChannel(): number {
    return 0;
  }
  currentWriteChannel(): number {
    return 0;
  }

  /** Buffered bytes; for UDP, the size of the next datagram (0 when none). */
  bytesAvailable(): number {
    return this.#readBuffer.size + this.#channel.available();
  }
  bytesToWrite(): number {
    return this.#channel.bytesToWrite();
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
    this.#channel.freed(size <= 0 || size > this.#readBuffer.size);
  }

  /** Reads up to `maxSize` bytes (all that is buffered when omitted); for UDP, one datagram. Empty when none or at end. */
  read(maxSize = Infinity): Uint8Array {
    if (!this.#readable(maxSize)) return EMPTY;
    return this.#channel.read(maxSize) ?? this.#consume(maxSize);
  }

  /**
   * Qt's `read(char *data, qint64 maxSize)`: copies into `target`; returns the count, 0 when nothing
   * is buffered on a live connection, -1 at end of stream or when the device is not open.
   */
  readInto(target: Uint8Array, maxSize = target.byteLength): number {
    if (!this.#readable(maxSize)) return -1;
    const max = Math.min(maxSize, target.byteLength);
    const datagram = this.#channel.read(max);
    if (datagram === undefined && this.#readBuffer.size === 0 && maxSize > 0) {
      this.#afterRead(maxSize, 0);
      return this.#endOfData();
    }
    const out = datagram ?? this.#consume(max);
    target.set(out);
    return out.byteLength;
  }

  readAll(): Uint8Array {
    if (!this.#checkReadable('read')) return EMPTY;
    // An unbuffered transport is read on, as Qt does: every pending datagram, boundaries lost.
    const datagrams = new ByteQueue();
    for (let next = this.#channel.read(Infinity); next; next = this.#channel.read(Infinity)) {
      datagrams.push(next);
    }
    return datagrams.size > 0 ? datagrams.read(datagrams.size) : this.#consume(Infinity);
  }

  /** Qt's QByteArray `readLine(maxSize = 0)`: a line with its `\n`, or what is buffered, at most maxSize - 1 bytes; 0 = no limit. */
  readLine(maxSize = 0): Uint8Array {
    if (maxSize === 1) this.#warn('readLineInto', 'Called with maxSize < 2');
    if (maxSize === 1 || !this.#checkReadable('readLineInto')) return EMPTY;
    // Qt's limit counts the NUL it would write: at most maxSize - 1 bytes.
    const limit = maxSize > 0 ? maxSize - 1 : this.#readBuffer.size;
    const newline = this.#readBuffer.indexOf(NEWLINE, limit);
    return this.#consume(newline >= 0 ? newline + 1 : limit);
  }

  /**
   * Qt's `readLine(char *data, qint64 maxSize)`: at most maxSize - 1 bytes, stopping after `\n`,
   * then a NUL. Returns the count, 0 when nothing is buffered on a live connection, -1 at end.
   */
  readLineInto(target: Uint8Array, maxSize = target.byteLength): number {
    if (maxSize < 2) {
      this.#warn('readLine', 'Called with maxSize < 2');
      return -1;
    }
    if (!this.#checkReadable('readLine')) return -1;
    if (this.#readBuffer.size === 0) {
      this.#afterRead(1, 0);
      return this.#endOfData();
    }
    const room = Math.min(maxSize, target.byteLength) - 1;
    const newline = this.#readBuffer.indexOf(NEWLINE, room);
    const out = this.#consume(newline >= 0 ? newline + 1 : room);
    target.set(out);
    if (out.byteLength < target.byteLength) target[out.byteLength] = 0;
    return out.byteLength;
  }

  peek(maxSize: number): Uint8Array {
    if (!this.#checkReadable('peek')) return EMPTY;
    return this.#readBuffer.peek(maxSize);
  }

  /** Discards up to `maxSize` buffered bytes (a rollback puts them back); -1 when there is nothing and the connection has ended. */
  skip(maxSize: number): number {
    if (!this.#checkReadable('skip')) return -1;
    if (this.#readBuffer.size === 0 && this.#endOfData() < 0) return -1;
    return this.#consume(maxSize).byteLength;
  }

  /** One byte, or undefined where Qt's getChar returns false. */
  getChar(): number | undefined {
    if (!this.#checkReadable('read')) return undefined;
    const datagram = this.#channel.read(1);
    if (datagram !== undefined) return datagram[0];
    return this.#readBuffer.size > 0 ? this.#consume(1)[0] : undefined;
  }

  /** Qt's putChar: writes one byte; true when it was accepted. */
  putChar(char: number | string): boolean {
    const byte = typeof char === 'string' ? char.charCodeAt(0) : char;
    return this.write(Uint8Array.of(byte & 0xff)) === 1;
  }

  /** Pushes one byte back to the front of the read buffer. */
  ungetChar(char: number | string): void {
    if (this.#transaction) {
      this.#warn('ungetChar', 'Called while transaction is in progress');
      return;
    }
    if (!this.#checkReadable('read')) return;
    const byte = typeof char === 'string' ? char.charCodeAt(0) : char;
    this.#readBuffer.unshift(Uint8Array.of(byte & 0xff));
  }

  startTransaction(): void {
    if (this.#transaction) {
      this.#warn('startTransaction', 'Called while transaction already in progress');
      return;
    }
    this.#transaction = [];
  }
  commitTransaction(): void {
    this.#endTransaction('commitTransaction');
  }
  /** Puts back everything read since startTransaction(). */
  rollbackTransaction(): void {
    for (const bytes of this.#endTransaction('rollbackTransaction').reverse()) this.#readBuffer.unshift(bytes);
  }
  /** Ends the transaction; what it read. Without one, Qt's warning. */
  #endTransaction(what: string): Uint8Array[] {
    const read = this.#transaction;
    if (!read) this.#warn(what, 'Called while no transaction in progress');
    this.#transaction = undefined;
    return read ?? [];
  }
  isTransactionStarted(): boolean {
    return this.#transaction !== undefined;
  }

  /**
   * Appends to the write buffer; returns the byte count (never partial), 0 for nothing, -1 when the
   * socket cannot write. Strings are sent as UTF-8. The bytes leave once control returns to the
   * event loop, or on flush(). A UDP socket sends one datagram to its connected peer.
   */
  write(data: Uint8Array | ArrayBuffer | string): number {
    if (!this.isOpen()) {
      this.#warn('write', 'device not open');
      return -1;
    }
    if (!this.isWritable()) {
      this.#warn('write', 'ReadOnly device');
      return -1;
    }
    const state = this.state();
    if (state === UnconnectedState || state === BoundState) {
      this.#host.setError('UnknownSocketError', 'Socket is not connected');
      return -1;
    }
    const bytes = toBytes(data);
    if (bytes === undefined) throw new TypeError('write() takes a Uint8Array, an ArrayBuffer or a string');
    return this.#channel.write(bytes);
  }

  /** Sends buffered output to the gateway now; true when anything was sent. */
  flush(): boolean {
    return this.#channel.flush();
  }

  // ---- from the gateway: the data half of a StreamEndpoint -----------------------------------------
  /** @internal */
  onData(payload: Uint8Array): void {
    this.#channel.onData?.(payload);
  }

  /** @internal */
  onDatagram(host: string, port: number, payload: Uint8Array): void {
    this.#channel.onDatagram?.(host, port, payload);
  }

  /** @internal */
  onAck(bytes: number): void {
    // A stream's acknowledged bytes are bytesWritten (a datagram's were, as it left).
    if (!this.#channel.onAck(bytes)) return;
    // Qt's order: bytesWritten (never from inside its own slot), then channelBytesWritten.
    if (!this.#inBytesWritten) {
      this.#inBytesWritten = true;
      try {
        this.#bytesWritten.emit(bytes);
      } finally {
        this.#inBytesWritten = false;
      }
    }
    this.#channelBytesWritten.emit(0, bytes);
    this.#host.waits.done('bytesWritten');
    this.#channel.flush();
  }

  #emitReadyRead(): void {
    if (!this.#inReadyRead) {
      this.#inReadyRead = true;
      try {
        this.#readyRead.emit();
      } finally {
        this.#inReadyRead = false;
      }
    }
    this.#channelReadyRead.emit(0);
    this.#host.waits.done('readyRead');
  }

  /** Qt's read() checks: maxSize, then the open mode. */
  #readable(maxSize: number): boolean {
    if (maxSize >= 0) return this.#checkReadable('read');
    this.#warn('read', 'Called with maxSize < 0');
    return false;
  }

  #checkReadable(what: string): boolean {
    if (this.isReadable()) return true;
    this.#warn(what, this.isOpen() ? 'WriteOnly device' : 'device not open');
    return false;
  }

  /** Qt's count for a read that found nothing: 0 while connected (more may come), -1 at the end. */
  #endOfData(): number {
    return this.state() === ConnectedState ? 0 : -1;
  }

  /** After a read: Qt reads the network again when the buffer emptied, or when more was asked than it had. */
  #afterRead(asked: number, had: number): void {
    this.#channel.freed(this.#readBuffer.size === 0 || asked > had);
  }

  /** Takes up to `max` bytes from the read buffer (the caller checked that the device is readable). */
  #consume(max: number): Uint8Array {
    const had = this.#readBuffer.size;
    const out = this.#readBuffer.read(max);
    this.#transaction?.push(out);
    this.#afterRead(max, had);
    return out;
  }

  /** Qt's QIODevice warning: `QIODevice::read (QTcpSocket): device not open`. */
  #warn(what: string, problem: string): void {
    this.#host.warn(`QIODevice::${what} (Q${nameOf(SocketType, this.socketType())}): ${problem}`);
  }
}

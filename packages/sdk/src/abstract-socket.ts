import { type Bind, isHost, type Open, type ServerMessage, type SocketErrorName, type SocketOptionName } from '@socketgate/protocol';
import { DatagramChannel } from './datagram-channel.js';
import {
  NetworkLayerProtocol,
  nameOf,
  type OpenMode,
  OpenModeFlag,
  SocketError,
  SocketOption,
  SocketState,
  SocketType,
  withSocketEnums,
} from './enums.js';
import { Gateway, type StreamEndpoint } from './gateway-session.js';
import { checkPort, QHostAddress } from './host-address.js';
import { connectionProxy, proxySpec, QNetworkProxy } from './network-proxy.js';
import { type ReadonlySignal, Signal } from './signal.js';
import { channelOf, openDevice, SocketDevice } from './socket-device.js';
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
import { StreamChannel } from './stream-channel.js';
import { nextTask, type TransportChannel } from './transport-channel.js';
import { type WaitKind, Waits } from './waits.js';

export { socketErrorFromName, socketStateMoves };

/**
 * Ports a bind to port 0 picks from: the top of the dynamic range (IANA), 61000 to 65535, above
 * Linux's ephemeral ports (to 60999), which the gateway host's kernel gives its other sockets.
 */
const DYNAMIC_PORTS = 61000;
const DYNAMIC_PORT_COUNT = 4536;
/** Ports a bind to port 0 tries, the last one picked by the gateway. */
const PORT_PICKS = 8;

/** The transport each socket type gets, chosen once (Qt's QAbstractSocketEngine::createSocketEngine); any other type is a stream. */
const CHANNELS: Partial<Record<SocketType, typeof StreamChannel | typeof DatagramChannel>> = { [SocketType.UdpSocket]: DatagramChannel };

export interface SocketOptions {
  /** The gateway session to use; `Gateway.default()` when omitted. */
  gateway?: Gateway;
}

/**
 * Qt's `QAbstractSocket` over a socketgate gateway: the states, signals, buffers and errors of
 * QT-SOCKETS.md. Network errors never throw: they set `error()`/`errorString()` and emit
 * `errorOccurred`. Misuse (a bad port, no gateway) throws a TypeError or RangeError.
 *
 * This class is the state machine that drives a connection: the states and their signals, errors,
 * connection control, the end of every wait, and the gateway's control messages. The device it
 * extends holds the read and write API and what a socket answers (socket-device.ts); what differs
 * between TCP and UDP is the transport channel the socket type chose (stream-channel.ts,
 * datagram-channel.ts), through transport-channel.ts's two interfaces.
 */
class QAbstractSocketBase extends SocketDevice {
  readonly #hostFound = new Signal<[]>();
  readonly #connected = new Signal<[]>();
  readonly #disconnected = new Signal<[]>();
  readonly #stateChanged = new Signal<[SocketState]>();
  readonly #errorOccurred = new Signal<[SocketError]>();
  readonly #aboutToClose = new Signal<[]>();
  readonly #readChannelFinished = new Signal<[]>();
  readonly #proxyAuthenticationRequired = new Signal<[unknown, unknown]>();
  readonly hostFound: ReadonlySignal<[]> = this.#hostFound;
  readonly connected: ReadonlySignal<[]> = this.#connected;
  readonly disconnected: ReadonlySignal<[]> = this.#disconnected;
  readonly stateChanged: ReadonlySignal<[SocketState]> = this.#stateChanged;
  readonly errorOccurred: ReadonlySignal<[SocketError]> = this.#errorOccurred;
  readonly aboutToClose: ReadonlySignal<[]> = this.#aboutToClose;
  readonly readChannelFinished: ReadonlySignal<[]> = this.#readChannelFinished;
  /** Never emitted: the gateway speaks to a proxy, with the credentials its QNetworkProxy carries. */
  readonly proxyAuthenticationRequired: ReadonlySignal<[unknown, unknown]> = this.#proxyAuthenticationRequired;

  readonly #type: SocketType;
  readonly #channel: TransportChannel;
  readonly #gatewayOption: Gateway | undefined;
  #gateway: Gateway | undefined;
  #state: SocketState = UnconnectedState;
  #error: SocketError = SocketError.UnknownSocketError;
  #errorString = '';
  /** The gateway stream of the current connection (or bind), while the gateway holds it. */
  #stream: number | undefined;
  /** disconnectFromHost()/close() asked for while looking up or connecting (Qt's pendingClose). */
  #closeWhenConnected = false;
  /** The socket reached BoundState (or, UDP, ConnectedState) at once, as in Qt; the gateway has not yet said `bound` (`connected`). */
  #unconfirmed = false;
  /** The bind the socket asked for, and how many more ports it may pick for it (a bind to port 0). */
  #bindRequest: Pick<Bind, 'address' | 'port' | 'flags'> | undefined;
  #picks = 0;
  /** A failed connect or bind left its socket (Qt keeps its socket engine until the next attempt). */
  #socketLeft = false;
  /** The current connection reached Connected (its data stays readable after it ends). */
  #wasConnected = false;
  /** The option values the gateway reported for the real socket (the device reads them). */
  readonly #options: Map<SocketOption, number>;
  readonly #waits: Waits;
  /** The socket as its streams' endpoint: each gateway event runs through the waits (Waits.run). */
  readonly #endpoint: StreamEndpoint;
  /** What a subclass adds to a new connection's `open` (QSslSocket: the TLS spec). @internal */
  openFields?(): Pick<Open, 'tls'>;

  constructor(socketType: SocketType, options: SocketOptions = {}) {
    const optionValues = new Map<SocketOption, number>();
    const waits = new Waits((kind) => this.#waitTimedOut(kind));
    super(
      {
        state: () => this.#state,
        gateway: () => this.#gateway as Gateway,
        stream: () => this.#stream,
        options: optionValues,
        setError: (name, text, emit) => this.#setError(name, text, emit),
        warn: (message) => this.#warn(message),
        waits,
        remoteClosed: (how) => this.#remoteClosed(how),
        sendClose: () => this.#sendClose(),
        bind: (request) => {
          this.#resetConnection();
          this.#socketLeft = false;
          this.#picks = request.port === 0 ? PORT_PICKS : 0;
          this.#bind(request);
          this.#setState(BoundState);
        },
      },
      (host) => new (CHANNELS[socketType] ?? StreamChannel)(host),
    );
    this.#type = socketType;
    this.#gatewayOption = options.gateway;
    this.#options = optionValues;
    this.#waits = waits;
    this.#channel = channelOf(this);
    this.#endpoint = {
      onMessage: (message) => waits.run(() => this.onMessage(message)),
      onData: (payload) => waits.run(() => this.onData(payload)),
      onAck: (bytes) => waits.run(() => this.onAck(bytes)),
      onDatagram: (host, port, payload) => waits.run(() => this.onDatagram(host, port, payload)),
      onTransportLost: (error, message) => waits.run(() => this.onTransportLost(error, message)),
    };
  }

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
  /**
   * Qt's isValid: true while the socket has its native socket (connecting, connected, closing or
   * bound, and after a failed connect or bind until the next attempt), else while the device is open.
   */
  isValid(): boolean {
    return this.#socketLeft || hasSocket(this.#state) || this.isOpen();
  }
  /** Qt's bytesAvailable; on a UDP socket whose bind failed, Qt asks the unbound socket it kept, which answers -1 with a warning. */
  override bytesAvailable(): number {
    if (!this.#socketLeft || this.#channel.buffered) return super.bytesAvailable();
    this.#warn('QNativeSocketEngine::bytesAvailable() was called in QAbstractSocket::UnconnectedState');
    return -1;
  }
  /** 1 while connected, and after a disconnect while buffered data stays readable; else 0. */
  readChannelCount(): number {
    return this.isReadable() && (isLive(this.#state) || (this.#state === UnconnectedState && this.#wasConnected)) ? 1 : 0;
  }
  writeChannelCount(): number {
    return isLive(this.#state) && this.isWritable() ? 1 : 0;
  }

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
      this.#warn(`QAbstractSocket::connectToHost() called when already looking up or connecting/connected to "${hostName}"`);
      this.#setError('OperationError', undefined, true);
      return;
    }
    const gateway = this.#session();
    const proxy = connectionProxy(this.proxy());
    if (proxy !== undefined && (proxy.type() !== QNetworkProxy.Socks5Proxy || !this.#channel.proxied)) {
      this.#setError(
        'UnsupportedSocketOperationError',
        'Unsupported proxy type: the gateway connects through SOCKS5 proxies, for TCP',
        true,
      );
      return;
    }
    // A bound socket connects the stream it has, keeping its local port (only UDP sockets bind).
    const boundStream = this.#state === BoundState ? this.#stream : undefined;
    this.#gateway = gateway;
    if (boundStream === undefined) this.#resetConnection();
    openDevice(this, this.#channel.buffered ? openMode & ~OpenModeFlag.Unbuffered : openMode | OpenModeFlag.Unbuffered);
    this.#error = SocketError.UnknownSocketError;
    this.#errorString = '';
    this.setPeerName(hostName);
    this.#wasConnected = false;
    this.#socketLeft = false;
    this.#setState(HostLookupState);
    if (this.state() !== HostLookupState) return;

    const target = hostName.replace(/^\[(.*)\]$/, '$1');
    const family =
      protocol === NetworkLayerProtocol.IPv4Protocol ? 'ipv4' : protocol === NetworkLayerProtocol.IPv6Protocol ? 'ipv6' : 'any';
    // A host the gateway would refuse as malformed (a NUL, a space, Unicode, a zone id…) is not sent.
    const unreachable = !isHost(target)
      ? 'HostNotFoundError'
      : proxy !== undefined && !isHost(proxy.hostName())
        ? 'ProxyNotFoundError'
        : undefined;
    if (unreachable !== undefined) {
      this.#failLookupLater(hostName, unreachable);
      return;
    }
    if (boundStream === undefined && !this.#channel.buffered) {
      // Qt binds a UDP socket it connects, inside the call: the SDK too, so that its port is known at once.
      this.#picks = PORT_PICKS;
      this.#bind({ address: family === 'ipv4' ? '0.0.0.0' : '', port: 0, flags: 0 });
    }
    if (this.#stream !== undefined) {
      gateway.sendMessage({ type: 'connect', stream: this.#stream, host: target, port, family });
    } else {
      this.#stream = gateway.openStream(this.#endpoint, {
        transport: this.#channel.transport,
        host: target,
        port,
        family,
        window: this.#channel.open(),
        ...(proxy === undefined ? {} : { proxy: proxySpec(proxy) }),
        ...this.openFields?.(),
      });
    }
    if (!QHostAddress.isAddress(hostName)) return;
    this.#hostWasFound();
    // A UDP socket connecting to an address is connected inside the call, as in Qt (only a peer is set):
    // the gateway's `connected` then brings the local end.
    if (this.#channel.buffered || this.#state !== ConnectingState) return;
    this.setPeerAddress(new QHostAddress(target));
    this.setPeerPort(port);
    this.#unconfirmed = true;
    this.#reachConnected();
  }

  /**
   * Asks the gateway for the bind, the socket's local end being what it asked for at once (as Qt's,
   * whose bind returns bound). A bind to port 0 takes a port the SDK picks from the dynamic range,
   * so that `localPort()` is known at once, as in Qt; when the gateway host has it in use, another
   * (the last try leaves the pick to the gateway).
   */
  #bind(request: Pick<Bind, 'address' | 'port' | 'flags'>): void {
    const port = this.#picks > 0 ? DYNAMIC_PORTS + Math.floor(Math.random() * DYNAMIC_PORT_COUNT) : request.port;
    this.#gateway = this.#session();
    this.#bindRequest = request;
    this.#stream = this.#gateway.bindStream(this.#endpoint, { ...request, port, window: this.#channel.open() });
    this.setLocalAddress(new QHostAddress(request.address || QHostAddress.Any));
    this.setLocalPort(port);
    this.#unconfirmed = true;
  }

  /** The gateway session for a new stream: the socket's own, or the default one. */
  #session(): Gateway {
    const gateway = this.#gatewayOption ?? Gateway.default();
    if (gateway === null) throw new TypeError('No gateway: pass { gateway } to the socket or call Gateway.setDefault(gateway) first');
    return gateway;
  }

  /** Qt's failed lookup of a name that cannot resolve: Unconnected, then errorOccurred, from the event loop. */
  #failLookupLater(hostName: string, error: 'HostNotFoundError' | 'ProxyNotFoundError'): void {
    nextTask(() => {
      if (this.#state !== HostLookupState || this.peerName() !== hostName) return; // aborted, or another attempt
      this.#failed(error, error === 'HostNotFoundError' ? (ERROR_TEXT.HostNotFoundError as string) : 'Proxy host not found');
    });
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
        // Else the channel sends the rest within the gateway's window and, once all is written, the close.
        if (this.bytesToWrite() === 0) this.#sendClose();
        else this.flush();
        return;
      default:
        return;
    }
  }

  /** Qt's close(): aboutToClose, the device closes (read buffer dropped), then disconnectFromHost(). */
  close(): void {
    if (this.isOpen()) {
      this.#aboutToClose.emit();
      openDevice(this, OpenModeFlag.NotOpen);
      this.#waits.cancel('disconnected');
    }
    if (this.#state !== UnconnectedState) this.disconnectFromHost();
  }

  /** Qt's abort(): closes at once, dropping pending output. */
  abort(): void {
    this.#waits.cancel();
    if (this.isOpen()) {
      this.#aboutToClose.emit();
      openDevice(this, OpenModeFlag.NotOpen);
    }
    const was = this.#state;
    if (was === UnconnectedState) this.#dropConnection();
    else this.#ended(isLive(was));
  }

  /** A wait ran out: a connect attempt is abandoned (Qt's waitFor* timeout), any other wait reports it. */
  #waitTimedOut(kind: WaitKind): void {
    if (isConnecting(this.#state)) {
      // Qt abandons the attempt: Unconnected, SocketTimeoutError, and no errorOccurred.
      this.#setError('SocketTimeoutError');
      this.#dropConnection();
      this.#setState(UnconnectedState);
      this.#waits.cancel();
      return;
    }
    if (kind !== 'connected') this.#setError('SocketTimeoutError', 'Network operation timed out', true);
  }

  // ---- from the gateway ---------------------------------------------------------------------------
  /** @internal */
  onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'resolved':
        this.#hostWasFound();
        return;
      case 'bound':
        // The dual-stack any address stays Qt's Any (0.0.0.0 in Qt's text; `::` in the gateway's).
        if (this.localAddress().protocol() !== NetworkLayerProtocol.AnyIPProtocol)
          this.setLocalAddress(new QHostAddress(message.localAddress));
        this.setLocalPort(message.localPort);
        this.#channel.opened(message);
        // Datagrams flow once a bind is confirmed (a connecting socket's implicit bind waits for `connected`).
        if (this.#unconfirmed && this.#state === BoundState) {
          this.#channel.start();
          this.#unconfirmed = false;
        }
        return;
      case 'datagram-error':
        // An ICMP port unreachable on a connected socket is, in Qt 6.11, a readyRead with nothing to read.
        if (message.error === 'ConnectionRefusedError' && this.#state === ConnectedState) (this.#channel as DatagramChannel).refused();
        else this.#setError(message.error, message.message, true);
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
        this.#release();
        // A reset while closing cut what was still to be written: Qt's failed write, not a close.
        if (this.#state === ClosingState && how === 'reset') this.#failed('RemoteHostClosedError', PEER_RESET_TEXT);
        else if (this.#state === ClosingState) this.#finishClose();
        else if (!this.#channel.holdEnd?.(how)) this.#remoteClosed(how);
        return;
      }
      case 'closed':
        this.#release();
        if (this.#state === ClosingState) this.#finishClose();
        return;
      case 'error':
        this.#release();
        if (message.error === 'AddressInUseError' && this.#unconfirmed && this.#state === BoundState && this.#picks-- > 0)
          this.#bind(this.#bindRequest as Bind);
        else this.#failed(message.error, message.message);
        return;
      case 'protocol-error':
        if (message.stream === undefined) return;
        this.#release();
        this.#failed('UnknownSocketError', `Protocol error: ${message.message}`);
        return;
      default:
        return;
    }
  }

  #onConnected(message: ServerMessage & { type: 'connected' }): void {
    if (this.#state === HostLookupState) this.#hostWasFound();
    const confirming = this.#state === ConnectedState && this.#unconfirmed;
    if (this.#state !== ConnectingState && !confirming) return;
    this.#unconfirmed = false;
    this.setPeerAddress(new QHostAddress(message.peerAddress));
    this.setPeerPort(message.peerPort);
    this.setLocalAddress(new QHostAddress(message.localAddress));
    this.setLocalPort(message.localPort);
    this.#channel.opened(message);
    for (const [name, value] of Object.entries(message.options)) {
      if (value !== undefined) this.#options.set(SocketOption[name as SocketOptionName], value);
    }
    if (!confirming) this.#reachConnected();
    if (this.state() !== ConnectedState) return;
    this.#channel.start();
    if (this.#closeWhenConnected) {
      this.#closeWhenConnected = false;
      this.disconnectFromHost();
    }
  }

  /** Connected, and `connected`: Qt's end of a connect. */
  #reachConnected(): void {
    this.#wasConnected = true;
    this.#setState(ConnectedState);
    if (this.state() !== ConnectedState) return;
    this.#connected.emit();
    this.#waits.done('connected');
  }

  /** @internal */
  onTransportLost(error: SocketErrorName, message: string): void {
    this.#stream = undefined;
    this.#failed(error, message);
  }

  // ---- internals ----------------------------------------------------------------------------------

  /** The close, once every byte is written: the stream is done, and so is Closing. */
  #sendClose(): void {
    if (this.#stream !== undefined) this.#gateway?.sendMessage({ type: 'close', stream: this.#stream });
    this.#release();
    this.#finishClose();
  }

  /** The gateway is done with the stream: later messages for it are dropped. */
  #release(): void {
    if (this.#stream !== undefined) this.#gateway?.releaseStream(this.#stream);
    this.#stream = undefined;
  }

  /** Closing -> Unconnected, readChannelFinished, disconnected: Qt's end of a graceful close. */
  #finishClose(): void {
    if (this.#state !== ClosingState) return;
    this.#ended(true);
    this.#waits.done('disconnected');
    this.#waits.cancel();
  }

  /**
   * The peer closed (Qt §2.1 #10): errorOccurred while Connected, then Closing, Unconnected, ...
   * A reset takes the same path (Qt reads ECONNRESET as an end), with its own errorString.
   */
  #remoteClosed(how: 'close' | 'reset'): void {
    if (this.#state !== ConnectedState) return;
    this.#setError('RemoteHostClosedError', how === 'reset' ? PEER_RESET_TEXT : undefined);
    this.#waits.cancel('disconnected');
    this.#errorOccurred.emit(this.#error);
    if (this.#state !== ConnectedState) return; // the handler closed or aborted the socket
    this.#channel.reset(); // pending output is dropped
    this.#setState(ClosingState);
    this.#finishClose();
  }

  /** The gateway reported a stream error, or the session was lost. */
  #failed(error: SocketErrorName, message: string): void {
    const was = this.#state;
    // A bind the gateway refused is undone as a failed connect is.
    if (isConnecting(was) || (was === BoundState && this.#unconfirmed)) {
      // Qt's failure order: stateChanged(Unconnected), then errorOccurred.
      this.#setError(error, message);
      this.#dropConnection();
      this.#socketLeft = was !== HostLookupState;
      this.#setState(UnconnectedState);
      this.#errorOccurred.emit(this.#error);
      this.#waits.cancel();
      return;
    }
    if (!isLive(was)) return;
    // A failed write (Qt §2.1 #17) takes the abort path; any other loss keeps buffered data
    // readable, as after a remote close.
    const writeFailed = error === 'RemoteHostClosedError';
    this.#setError(error, message);
    if (!writeFailed) this.#waits.cancel('disconnected');
    this.#errorOccurred.emit(this.#error);
    if (this.#state !== was) return;
    if (writeFailed) {
      this.abort();
      return;
    }
    this.#ended(true);
    this.#waits.cancel();
  }

  /** The connection is over: Unconnected, readChannelFinished, and disconnected if it had connected. */
  #ended(disconnected: boolean): void {
    this.#dropConnection();
    this.#setState(UnconnectedState);
    this.#readChannelFinished.emit();
    if (disconnected) this.#disconnected.emit();
  }

  /** Ends the gateway stream and forgets the connection's transient values; the read buffer is the caller's call. */
  #dropConnection(): void {
    if (this.#stream !== undefined) this.#gateway?.sendMessage({ type: 'abort', stream: this.#stream });
    this.#release();
    this.#resetConnection();
  }

  #resetConnection(): void {
    this.#waits.forget();
    this.#unconfirmed = false;
    this.#stream = undefined;
    this.#closeWhenConnected = false;
    this.#channel.reset();
    this.#options.clear();
    this.setPeerAddress(new QHostAddress());
    this.setPeerPort(0);
    this.setLocalAddress(new QHostAddress());
    this.setLocalPort(0);
  }

  #setState(to: SocketState): void {
    if (to === this.#state) return;
    if (!socketStateMoves[this.#state].includes(to)) {
      throw new Error(`bug: ${nameOf(SocketState, this.#state)} -> ${nameOf(SocketState, to)}`);
    }
    this.#state = to;
    this.#stateChanged.emit(to);
  }

  /** Records Qt's error (with Qt's text for it unless `text` is given); `emit` also emits errorOccurred. */
  #setError(name: SocketErrorName, text = ERROR_TEXT[name] ?? '', emit = false): void {
    this.#error = socketErrorFromName(name);
    this.#errorString = text;
    if (emit) this.#errorOccurred.emit(this.#error);
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

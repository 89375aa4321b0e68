import {
  acceptTlsMessages,
  type Encrypted,
  type Open,
  type ServerMessage,
  TLS_PROTOCOL_NAMES,
  type TlsErrors,
  type TlsProtocolName,
  type TlsSpec,
} from '@socketgate/protocol';
import type { SocketOptions } from '../abstract-socket.js';
import { NetworkLayerProtocol, nameOf, type OpenMode, OpenModeFlag, PauseMode, type SocketState } from '../enums.js';
import type { QHostAddress } from '../host-address.js';
import { toBytes } from '../outgoing.js';
import { type ReadonlySignal, Signal } from '../signal.js';
import { hostOf, openDevice, type SocketHost } from '../socket-device.js';
import { ConnectedState, ConnectingState, isConnecting, isLive, UnconnectedState } from '../socket-state.js';
import { QTcpSocket } from '../tcp-socket.js';
import { QSslCertificate } from './ssl-certificate.js';
import { QSslCipher } from './ssl-cipher.js';
import { QSslConfiguration, setSession } from './ssl-configuration.js';
import { AlertLevel, AlertType, PeerVerifyMode, SslError, SslMode, SslProtocol } from './ssl-enums.js';
import { QSslError } from './ssl-error.js';

const { UnencryptedMode, SslClientMode } = SslMode;
const WIRE_PROTOCOLS: ReadonlySet<string> = new Set(TLS_PROTOCOL_NAMES);
const ALERT_TYPES: ReadonlySet<number> = new Set(Object.values(AlertType));
const DTLS: ReadonlySet<SslProtocol> = new Set([
  SslProtocol.DtlsV1_0,
  SslProtocol.DtlsV1_0OrLater,
  SslProtocol.DtlsV1_2,
  SslProtocol.DtlsV1_2OrLater,
]);

/**
 * The wire's name for the lowest protocol a configuration accepts. The gateway never speaks below
 * TLS 1.2, so "1.0 or later" and "1.1 or later" are any it speaks; TLS 1.0 or 1.1 alone, DTLS and
 * UnknownProtocol have none.
 */
function wireProtocol(protocol: SslProtocol): TlsProtocolName | undefined {
  if (protocol === SslProtocol.TlsV1_0OrLater || protocol === SslProtocol.TlsV1_1OrLater) return 'AnyProtocol';
  const name = nameOf(SslProtocol, protocol);
  return protocol !== SslProtocol.UnknownProtocol && WIRE_PROTOCOLS.has(name) ? (name as TlsProtocolName) : undefined;
}

type SessionInfo = Pick<Encrypted, 'protocol' | 'cipher' | 'alpn'>;

/**
 * Qt's `QSslSocket` (a client) over a socketgate gateway, which does the TLS: the SDK sends the
 * socket's configuration with the connection, the gateway reports the peer's certificate errors and
 * waits for the socket's verdict, then reports the session.
 *
 * ```
 *   SDK                               gateway                         peer
 *   open {tls} ---------------------> connect ----------------------> (TCP)
 *   <------------- resolved, connected                                 stateChanged(Connected), modeChanged, connected
 *                                     handshake <-------------------> (TLS)
 *   <------------- tls-errors         (only if the chain did not verify; it waits)
 *   peerVerifyError…, sslErrors
 *   tls-verdict {proceed} ----------> goes on, or closes (closed)
 *   <------------- encrypted                                           encrypted; held writes go out
 *   DATA <-------------------------> plaintext each way
 * ```
 *
 * Writes made before `encrypted` wait in the socket's buffer, as in Qt. `startClientEncryption()`
 * sends `start-tls` on a connected plaintext socket once what was written before it has gone.
 */
class QSslSocketBase extends QTcpSocket {
  readonly #encrypted = new Signal<[]>();
  readonly #modeChanged = new Signal<[SslMode]>();
  readonly #sslErrors = new Signal<[QSslError[]]>();
  readonly #peerVerifyError = new Signal<[QSslError]>();
  readonly #encryptedBytesWritten = new Signal<[number]>();
  readonly #alertReceived = new Signal<[AlertLevel, AlertType, string]>();
  readonly #alertSent = new Signal<[AlertLevel, AlertType, string]>();
  readonly #preSharedKeyAuthenticationRequired = new Signal<[unknown]>();
  readonly #newSessionTicketReceived = new Signal<[]>();
  readonly #handshakeInterruptedOnError = new Signal<[QSslError]>();
  readonly encrypted: ReadonlySignal<[]> = this.#encrypted;
  readonly modeChanged: ReadonlySignal<[SslMode]> = this.#modeChanged;
  readonly sslErrors: ReadonlySignal<[QSslError[]]> = this.#sslErrors;
  readonly peerVerifyError: ReadonlySignal<[QSslError]> = this.#peerVerifyError;
  /** After each bytesWritten of an encrypted socket, with the same count (the gateway does not report TLS record sizes). */
  readonly encryptedBytesWritten: ReadonlySignal<[number]> = this.#encryptedBytesWritten;
  readonly alertReceived: ReadonlySignal<[AlertLevel, AlertType, string]> = this.#alertReceived;
  /** Never emitted: the alerts the gateway's TLS sends are not reported. */
  readonly alertSent: ReadonlySignal<[AlertLevel, AlertType, string]> = this.#alertSent;
  /** Never emitted: the gateway does not do pre-shared keys. */
  readonly preSharedKeyAuthenticationRequired: ReadonlySignal<[unknown]> = this.#preSharedKeyAuthenticationRequired;
  /** Never emitted: the gateway does not report session tickets. */
  readonly newSessionTicketReceived: ReadonlySignal<[]> = this.#newSessionTicketReceived;
  /** Never emitted: the gateway has no interrupted handshakes (Qt's HandshakeMustInterruptOnError). */
  readonly handshakeInterruptedOnError: ReadonlySignal<[QSslError]> = this.#handshakeInterruptedOnError;

  readonly #host: SocketHost;
  #configuration = QSslConfiguration.defaultConfiguration();
  #verifyName = '';
  #mode: SslMode = UnencryptedMode;
  #isEncrypted = false;
  /** connectToHostEncrypted: TLS starts once connected (Qt's autoStartHandshake). */
  #autoStart = false;
  /** Qt's `initialized`: connectToHostEncrypted has just set up the connection that connectToHost starts. */
  #initialized = false;
  #ignoreAll = false;
  #ignoreList: QSslError[] = [];
  #handshakeErrors: QSslError[] = [];
  #peerChain: QSslCertificate[] = [];
  #session: SessionInfo | undefined;
  /** The stream whose certificate errors wait for resume() (PauseOnSslErrors). */
  #paused: number | undefined;
  /** Writes held until `encrypted` (Qt's QSslSocket write buffer, while it handshakes). */
  #held: Uint8Array[] | undefined;
  #heldBytes = 0;
  /** The stream whose start-tls waits for the plaintext written before startClientEncryption to be taken. */
  #startTls: number | undefined;

  constructor(options: SocketOptions = {}) {
    super(options);
    acceptTlsMessages();
    this.#host = hostOf(this);
    // These slots are connected first, so they run before any of the app's.
    // Qt enters SslClientMode after stateChanged(Connected), before `connected`.
    this.connected.connect(() => {
      if (this.#autoStart) this.#setMode(SslClientMode);
    });
    // Qt's socket is no longer encrypted by the time anyone hears `disconnected`.
    this.disconnected.connect(() => {
      this.#isEncrypted = false;
      this.#session = undefined;
    });
    this.stateChanged.connect((state: SocketState) => {
      if (state === UnconnectedState) this.#unhold();
    });
  }

  /** True: the gateway does the TLS (whether a gateway does is known once its session is up; see connectToHostEncrypted). */
  static supportsSsl(): boolean {
    return true;
  }

  static sslLibraryVersionString(): string {
    return 'socketgate gateway TLS (Node.js, OpenSSL)';
  }

  static sslLibraryBuildVersionString(): string {
    return QSslSocketBase.sslLibraryVersionString();
  }

  // ---- connection control -------------------------------------------------------------------------
  /**
   * Qt's connectToHostEncrypted: connects, then does the TLS handshake as a client. `sslPeerName`
   * (the overload that takes it third) is the name to send and verify instead of the host. Through a
   * gateway that does no TLS it fails as Qt without a TLS library does: SslInternalError "TLS
   * initialization failed" (once the gateway has answered).
   */
  connectToHostEncrypted(
    host: string | QHostAddress,
    port: number,
    ...rest: [OpenMode?, NetworkLayerProtocol?] | [string, OpenMode?, NetworkLayerProtocol?]
  ): void {
    const [peerName, openMode = OpenModeFlag.ReadWrite, protocol = NetworkLayerProtocol.AnyIPProtocol]: [
      string | undefined,
      OpenMode?,
      NetworkLayerProtocol?,
    ] =
      typeof rest[0] === 'string'
        ? (rest as [string, OpenMode?, NetworkLayerProtocol?])
        : [undefined, ...(rest as [OpenMode?, NetworkLayerProtocol?])];
    if (peerName !== undefined) this.#verifyName = peerName;
    const state = this.state();
    if (state === ConnectedState || state === ConnectingState) {
      this.#host.warn('QSslSocket::connectToHostEncrypted() called when already connecting/connected');
      return;
    }
    if (!this.#canEncrypt('QSslSocket::connectToHostEncrypted:')) return;
    this.#init();
    this.#autoStart = true;
    this.#initialized = true;
    this.connectToHost(host, port, openMode, protocol);
  }

  override connectToHost(
    host: string | QHostAddress,
    port: number,
    openMode: OpenMode = OpenModeFlag.ReadWrite,
    protocol: NetworkLayerProtocol = NetworkLayerProtocol.AnyIPProtocol,
  ): void {
    if (!this.#initialized && this.state() === UnconnectedState) this.#init();
    this.#initialized = false;
    super.connectToHost(host, port, openMode, protocol);
  }

  /** Qt's startClientEncryption: the TLS handshake on a connected plaintext socket (STARTTLS). */
  startClientEncryption(): void {
    if (this.#mode !== UnencryptedMode) {
      this.#host.warn('QSslSocket::startClientEncryption: cannot start handshake on non-plain connection');
      return;
    }
    if (this.state() !== ConnectedState) {
      this.#host.warn('QSslSocket::startClientEncryption: cannot start handshake when not connected');
      return;
    }
    if (!this.#canEncrypt('QSslSocket::startClientEncryption:')) return;
    const stream = this.#host.stream();
    this.#setMode(SslClientMode);
    if (stream === undefined || this.#host.stream() !== stream || this.state() !== ConnectedState) return;
    // What was written before goes first, in plaintext; all after waits for `encrypted`.
    this.#held = [];
    this.#startTls = stream;
    this.flush();
    this.#sendStartTls();
  }

  /** start-tls, once the plaintext written before it has been taken (no DATA may follow it before `encrypted`). */
  #sendStartTls(): void {
    const stream = this.#startTls;
    if (stream === undefined || super.bytesToWrite() > 0) return;
    this.#startTls = undefined;
    if (this.#host.stream() === stream) this.#host.gateway().sendMessage({ type: 'start-tls', stream, tls: this.#spec() });
  }

  /** Qt's QSslSocket::close: the connection closes first (Closing…), then the device (aboutToClose). */
  override close(): void {
    if (this.state() !== UnconnectedState) this.disconnectFromHost();
    super.close();
    // Qt drops what waits for the handshake once the device is closed; the close then goes at once.
    if (this.#heldBytes > 0) {
      this.#unhold();
      super.flush();
    }
  }

  /** Qt's QSslSocket::abort: the connection ends at once (Unconnected, readChannelFinished, disconnected), then the device closes (aboutToClose). */
  override abort(): void {
    const open = this.isOpen();
    // The device is closed after the connection ends (the read buffer goes a little earlier than in Qt).
    if (open) openDevice(this, OpenModeFlag.NotOpen);
    super.abort();
    if (open) (this.aboutToClose as Signal<[]>).emit();
  }

  // ---- writes wait for `encrypted` ----------------------------------------------------------------
  /** Qt's write: while the handshake runs, the bytes wait in the socket's buffer (bytesToWrite counts them). */
  override write(data: Uint8Array | ArrayBuffer | string): number {
    const held = this.#held;
    if (held === undefined || !this.isWritable() || this.state() === UnconnectedState) return super.write(data);
    const bytes = toBytes(data);
    if (bytes === undefined) throw new TypeError('write() takes a Uint8Array, an ArrayBuffer or a string');
    held.push(bytes.slice());
    this.#heldBytes += bytes.byteLength;
    return bytes.byteLength;
  }

  /** Held writes count once the socket is in SslClientMode: until then Qt's counts its plain socket's only. */
  override bytesToWrite(): number {
    return super.bytesToWrite() + (this.#mode === UnencryptedMode ? 0 : this.#heldBytes);
  }

  /** Qt's flush: nothing goes while writes are held (a disconnectFromHost then waits for `encrypted` to send them). */
  override flush(): boolean {
    return this.#heldBytes === 0 && super.flush();
  }

  /** The held writes go out (encrypted), or are dropped with the connection. */
  #unhold(send = false): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#heldBytes = 0;
    if (send) for (const bytes of held) super.write(bytes);
  }

  /** Qt's resume(): after sslErrors in PauseOnSslErrors mode, the handshake goes on if the errors were ignored meanwhile, else fails. */
  override resume(): void {
    const stream = this.#paused;
    if (stream === undefined) return;
    // Qt goes on from the event loop.
    setTimeout(() => {
      if (this.#paused !== stream) return;
      this.#paused = undefined;
      if (this.#host.stream() !== stream || !isLive(this.state())) return;
      if (this.#errorsIgnored()) this.#verdict(stream, true);
      else this.#refuse(stream);
    }, 0);
  }

  /** Qt's waitForEncrypted as a Promise: true once encrypted; false at once if not connecting or connected encrypted, or already encrypted. */
  waitForEncrypted(msecs = 30000): Promise<boolean> {
    const state = this.state();
    if (this.#isEncrypted || !(isConnecting(state) || isLive(state))) return Promise.resolve(false);
    if (this.#mode === UnencryptedMode && !this.#autoStart) return Promise.resolve(false);
    return this.#host.waits.wait('encrypted', msecs);
  }

  // ---- certificate errors -------------------------------------------------------------------------
  /**
   * Qt's ignoreSslErrors: with no list, every error of this handshake (call it in the sslErrors slot,
   * or after connectToHostEncrypted; a new connection forgets it). With a list, kept across
   * connections: the handshake goes on only if every error is in it (QSslError equality, the
   * certificate included), and the list then decides instead of the call without one.
   */
  ignoreSslErrors(errors?: QSslError[]): void {
    if (errors === undefined) this.#ignoreAll = true;
    else this.#ignoreList = [...errors];
  }

  /** The certificate errors of the last handshake, in sslErrors order. */
  sslHandshakeErrors(): QSslError[] {
    return [...this.#handshakeErrors];
  }

  // ---- what the handshake settled -----------------------------------------------------------------
  isEncrypted(): boolean {
    return this.#isEncrypted;
  }
  mode(): SslMode {
    return this.#mode;
  }
  peerCertificate(): QSslCertificate {
    return this.#peerChain[0] ?? new QSslCertificate();
  }
  peerCertificateChain(): QSslCertificate[] {
    return [...this.#peerChain];
  }
  sessionCipher(): QSslCipher {
    const cipher = this.#session?.cipher;
    return cipher ? new QSslCipher(cipher.name, SslProtocol[cipher.protocol], cipher.bits, cipher.supportedBits) : new QSslCipher();
  }
  /**
   * The session's protocol; while the handshake runs, the highest one the configuration offers, as
   * Qt's OpenSSL backend reports it once its ClientHello is out.
   */
  sessionProtocol(): SslProtocol {
    if (this.#session) return SslProtocol[this.#session.protocol];
    if (this.#mode !== SslClientMode || !isLive(this.state())) return SslProtocol.UnknownProtocol;
    return this.#configuration.protocol() === SslProtocol.TlsV1_2 ? SslProtocol.TlsV1_2 : SslProtocol.TlsV1_3;
  }
  /** 0: the gateway's TLS records are not visible here. */
  encryptedBytesAvailable(): number {
    return 0;
  }
  /** 0: the gateway's TLS records are not visible here. */
  encryptedBytesToWrite(): number {
    return 0;
  }

  // ---- configuration ------------------------------------------------------------------------------
  /** A copy of the socket's configuration, with what the handshake settled (peer chain, cipher, protocol, ALPN). */
  sslConfiguration(): QSslConfiguration {
    const configuration = this.#configuration.clone();
    setSession(configuration, {
      peerCertificateChain: this.peerCertificateChain(),
      cipher: this.sessionCipher(),
      protocol: this.sessionProtocol(),
      nextNegotiatedProtocol: this.#session?.alpn ?? '',
    });
    return configuration;
  }
  setSslConfiguration(configuration: QSslConfiguration): void {
    if (!(configuration instanceof QSslConfiguration)) throw new TypeError('setSslConfiguration() takes a QSslConfiguration');
    this.#configuration = configuration.clone();
  }
  peerVerifyMode(): PeerVerifyMode {
    return this.#configuration.peerVerifyMode();
  }
  setPeerVerifyMode(mode: PeerVerifyMode): void {
    this.#configuration.setPeerVerifyMode(mode);
  }
  peerVerifyDepth(): number {
    return this.#configuration.peerVerifyDepth();
  }
  setPeerVerifyDepth(depth: number): void {
    if (depth < 0) {
      this.#host.warn(`QSslSocket::setPeerVerifyDepth: cannot set negative depth of ${depth}`);
      return;
    }
    this.#configuration.setPeerVerifyDepth(depth);
  }
  /** The name the certificate is verified against (and sent as SNI); empty: the host connected to. */
  peerVerifyName(): string {
    return this.#verifyName;
  }
  setPeerVerifyName(name: string): void {
    this.#verifyName = name;
  }
  protocol(): SslProtocol {
    return this.#configuration.protocol();
  }
  setProtocol(protocol: SslProtocol): void {
    this.#configuration.setProtocol(protocol);
  }
  localCertificate(): QSslCertificate {
    return this.#configuration.localCertificate();
  }
  localCertificateChain(): QSslCertificate[] {
    return this.#configuration.localCertificateChain();
  }
  /** A client certificate (a QSslCertificate, or PEM text), sent to the gateway with the connection; the gateway may refuse client certificates. */
  setLocalCertificate(certificate: QSslCertificate | string): void {
    this.#configuration.setLocalCertificate(typeof certificate === 'string' ? new QSslCertificate(certificate) : certificate);
  }
  setLocalCertificateChain(chain: QSslCertificate[]): void {
    this.#configuration.setLocalCertificateChain(chain);
  }
  /** The client certificate's private key in PEM (Qt's QSslKey, as text). */
  privateKey(): string {
    return this.#configuration.privateKey();
  }
  /** Sets the private key (PEM); it is sent to the gateway, which does the TLS. */
  setPrivateKey(pem: string): void {
    this.#configuration.setPrivateKey(pem);
  }

  // ---- from the gateway ---------------------------------------------------------------------------
  #onMessage(message: ServerMessage): boolean {
    switch (message.type) {
      case 'tls-errors':
        this.#onTlsErrors(message);
        return true;
      case 'encrypted':
        this.#onEncrypted(message);
        return true;
      case 'error': {
        if (!this.#tls()) return false;
        const alert = message.alert as unknown;
        if (isAlert(alert)) {
          this.#alertReceived.emit(
            AlertLevel[alert.level],
            ALERT_TYPES.has(alert.type) ? (alert.type as AlertType) : AlertType.UnknownAlertMessage,
            alert.description,
          );
        }
        // A peer that closes mid-handshake: Qt's remote close (errorOccurred while Connected, Closing, …).
        if (message.error === 'RemoteHostClosedError' && !this.#isEncrypted && this.state() === ConnectedState) {
          super.onMessage({ type: 'end', stream: message.stream });
          return true;
        }
        if (message.error !== 'SslHandshakeFailedError' && message.error !== 'SslInternalError') return false;
        // Qt aborts a socket whose TLS failed: Unconnected, readChannelFinished, disconnected, then aboutToClose.
        super.onMessage(message);
        if (this.state() === UnconnectedState && this.isOpen()) super.close();
        return true;
      }
      case 'protocol-error':
        // A gateway that does no TLS refuses it: Qt's error when it has no TLS library.
        if (!this.#tls() || message.code !== 'UNSUPPORTED' || message.stream === undefined) return false;
        super.onMessage({ type: 'error', stream: message.stream, error: 'SslInternalError', message: 'TLS initialization failed' });
        return true;
      default:
        return false;
    }
  }

  /**
   * Qt's verification outcome: peerVerifyError for each error as found (a host name mismatch last),
   * then sslErrors (a mismatch first), then on, paused or refused by the verify mode and what was ignored.
   */
  #onTlsErrors(message: TlsErrors): void {
    const stream = this.#host.stream();
    if (stream === undefined || !isLive(this.state())) return;
    const chain = message.chain.map((info) => new QSslCertificate(info));
    const errors = message.errors.map(
      ({ error, certificate }) => new QSslError(SslError[error], chain[certificate] ?? new QSslCertificate()),
    );
    this.#peerChain = chain;
    // What was negotiated is known by now, as in Qt's sslErrors slot.
    if (message.protocol !== undefined && message.cipher !== undefined) {
      this.#session = { protocol: message.protocol, cipher: message.cipher, alpn: message.alpn ?? '' };
    }
    const mode = this.peerVerifyMode();
    // With VerifyNone Qt does not verify at all.
    if (mode === PeerVerifyMode.VerifyNone || errors.length === 0) {
      this.#verdict(stream, true);
      return;
    }
    this.#handshakeErrors = errors;
    const mismatch = (error: QSslError) => error.error() === SslError.HostNameMismatch;
    for (const error of [...errors.filter((e) => !mismatch(e)), ...errors.filter(mismatch)]) {
      this.#peerVerifyError.emit(error);
      if (this.#host.stream() !== stream) return;
    }
    this.#sslErrors.emit(this.sslHandshakeErrors());
    const now = this.#host.stream();
    if (now !== undefined && now !== stream) return; // the slot started another connection
    if (mode === PeerVerifyMode.QueryPeer || this.#errorsIgnored()) {
      this.#verdict(stream, true);
      return;
    }
    if (this.pauseMode() & PauseMode.PauseOnSslErrors) {
      this.#paused = stream;
      return;
    }
    this.#refuse(stream);
  }

  /**
   * Qt's refusal: errorOccurred(SslHandshakeFailedError) with the first error's text (even when the
   * sslErrors slot aborted the socket, as Qt), then Closing, Unconnected, readChannelFinished, disconnected.
   */
  #refuse(stream: number): void {
    this.#host.setError('SslHandshakeFailedError', this.#handshakeErrors[0]?.errorString(), true);
    if (this.#host.stream() !== stream || !isLive(this.state())) return;
    this.#verdict(stream, false);
    // The gateway closes the connection on a refusal: the socket forgets the stream (as at the gateway's
    // `closed`, which ends a socket already Closing) and closes as Qt's does: Closing, Unconnected,
    // readChannelFinished, disconnected.
    this.#unhold();
    super.onMessage({ type: 'closed', stream });
    if (this.state() === ConnectedState) super.disconnectFromHost();
  }

  #verdict(stream: number, proceed: boolean): void {
    if (this.#host.stream() === stream) this.#host.gateway()?.sendMessage({ type: 'tls-verdict', stream, proceed });
  }

  #onEncrypted(message: Encrypted): void {
    const stream = this.#host.stream();
    if (!isLive(this.state()) || stream === undefined) return;
    this.#peerChain = message.chain.map((info) => new QSslCertificate(info));
    this.#session = { protocol: message.protocol, cipher: message.cipher, alpn: message.alpn };
    this.#isEncrypted = true;
    this.#encrypted.emit();
    this.#host.waits.done('encrypted');
    if (this.#host.stream() === stream) this.#unhold(true);
  }

  /** An acknowledgement: bytesWritten, then (encrypted) encryptedBytesWritten with the same count. @internal */
  override onAck(bytes: number): void {
    super.onAck(bytes);
    if (this.#isEncrypted) this.#encryptedBytesWritten.emit(bytes);
    this.#sendStartTls();
  }

  /** @internal */
  override onMessage(message: ServerMessage): void {
    if (!this.#onMessage(message)) super.onMessage(message);
  }

  /** The open of a connectToHostEncrypted carries the TLS spec; its writes wait for `encrypted`. @internal */
  override openFields(): Pick<Open, 'tls'> {
    if (!this.#autoStart) return {};
    this.#held = [];
    return { tls: this.#spec() };
  }

  // ---- internals ----------------------------------------------------------------------------------
  /** The connection is (to be) TLS. */
  #tls(): boolean {
    return this.#autoStart || this.#mode !== UnencryptedMode;
  }

  /** Qt's QSslSocketPrivate::init, at each new connection (the ignore list and the verify name survive it). */
  #init(): void {
    this.#mode = UnencryptedMode;
    this.#isEncrypted = false;
    this.#autoStart = false;
    this.#ignoreAll = false;
    this.#handshakeErrors = [];
    this.#peerChain = [];
    this.#session = undefined;
    this.#paused = undefined;
    this.#startTls = undefined;
    this.#unhold();
  }

  #setMode(mode: SslMode): void {
    this.#mode = mode;
    this.#modeChanged.emit(mode);
  }

  /** Qt's check before a handshake: a protocol the gateway can speak. (Whether it does TLS at all shows at its answer.) */
  #canEncrypt(where: string): boolean {
    const protocol = this.#configuration.protocol();
    if (wireProtocol(protocol) === undefined) {
      const name = DTLS.has(protocol) ? 'DTLS' : nameOf(SslProtocol, protocol);
      this.#host.warn(`${where} QSslConfiguration with unexpected protocol "${name}"`);
      this.#host.setError('SslInvalidUserDataError', 'Attempted to use an unsupported protocol.', true);
      return false;
    }
    return true;
  }

  /** The socket's configuration as the gateway takes it. */
  #spec(): TlsSpec {
    const configuration = this.#configuration;
    const depth = configuration.peerVerifyDepth();
    const name = this.#verifyName.replace(/^\[(.*)\]$/, '$1');
    const alpn = configuration.allowedNextProtocols();
    const certificate = configuration
      .localCertificateChain()
      .map((c) => c.toPem())
      .join('');
    const key = configuration.privateKey();
    return {
      ...(name ? { peerName: name } : {}),
      verifyMode: nameOf(PeerVerifyMode, configuration.peerVerifyMode()) as NonNullable<TlsSpec['verifyMode']>,
      // The wire takes depths up to 64; a longer limit is no limit for any real chain.
      verifyDepth: depth > 64 ? 0 : depth,
      ca: {
        system: configuration.usesSystemCaCertificates(),
        certificates: configuration
          .caCertificates()
          .map((c) => c.toPem())
          .filter((pem) => pem !== ''),
      },
      protocol: wireProtocol(configuration.protocol()) ?? 'SecureProtocols',
      ...(alpn.length > 0 ? { alpn } : {}),
      ...(certificate ? { certificate } : {}),
      ...(key ? { privateKey: key } : {}),
    };
  }

  #errorsIgnored(): boolean {
    const list = this.#ignoreList;
    if (list.length > 0) return this.#handshakeErrors.every((error) => list.some((ignored) => ignored.equals(error)));
    return this.#ignoreAll;
  }
}

function isAlert(value: unknown): value is { level: 'Warning' | 'Fatal'; type: number; description: string } {
  const alert = value as { level?: unknown; type?: unknown; description?: unknown } | undefined;
  return (
    typeof alert === 'object' &&
    alert !== null &&
    (alert.level === 'Warning' || alert.level === 'Fatal') &&
    typeof alert.type === 'number' &&
    typeof alert.description === 'string'
  );
}

/**
 * Qt's `QSslSocket`. As PySide, the class carries its enums and their values:
 * `QSslSocket.SslMode.SslClientMode`, `QSslSocket.VerifyPeer`.
 */
export const QSslSocket = Object.assign(QSslSocketBase, { SslMode, PeerVerifyMode }, SslMode, PeerVerifyMode);
export type QSslSocket = QSslSocketBase;

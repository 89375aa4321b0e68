/**
 * @module
 * The shape of a differential scenario: plain data (JSON as it is) that two runners play, one on
 * real Qt (qt-runner.py, PySide6) and one on the SDK through a real gateway (sdk-runner.ts). A
 * scenario names the loopback servers it needs, the sockets it uses, and its steps: calls with their
 * arguments (each return value is recorded), runs of the event loop, and checkpoints of accessor
 * values. Both runners write the same canonical trace (trace.ts).
 */

/** The servers a scenario can ask for; each is scripted and deterministic, on loopback only. */
export type ServerSpec =
  /** TCP: echoes every byte back. */
  | { tcp: 'echo'; host?: Loopback }
  /**
   * TCP: sends `data` `sendAfterMs` after accepting (default 0), then, `delayMs` later (default 0),
   * does `after`: `echo` (echoes what it gets), `idle` (keeps the connection open, reading), `close`
   * (FIN) or `reset` (RST).
   */
  | { tcp: 'send'; data: string; after: 'echo' | 'idle' | 'close' | 'reset'; sendAfterMs?: number; delayMs?: number }
  /** TCP: closes each connection at once (FIN, nothing sent). */
  | { tcp: 'close-at-once' }
  /** TCP: resets each connection at once (RST). */
  | { tcp: 'reset-on-connect' }
  /** TCP: accepts and never sends or closes; reads what comes. */
  | { tcp: 'silent' }
  /** TCP: takes every byte; `delayMs` reading nothing first (a slow reader). */
  | { tcp: 'sink'; delayMs?: number }
  /**
   * TCP: obeys one command per line: `send TEXT` (sends TEXT and a newline), `close` (FIN),
   * `reset` (RST), `sendclose TEXT` (sends TEXT and a newline, then FIN).
   */
  | { tcp: 'command' }
  /** TCP: a listener whose accept queue is full, so connects never complete. */
  | { tcp: 'blackhole' }
  /** TCP: a port where nothing listens (refused). */
  | { tcp: 'refused' }
  /** UDP: echoes every datagram to its sender. */
  | { udp: 'echo'; host?: Loopback }
  /** UDP: answers each datagram with these datagrams, in order. */
  | { udp: 'reply'; datagrams: string[] }
  /** UDP: a port where nothing listens (ICMP port unreachable). */
  | { udp: 'closed' }
  /**
   * TLS on 127.0.0.1: presents `certificate` (of the run's test PKI, testkit's makeTestPki), speaks
   * up to `maxVersion`, offers `alpn`; echoes what it decrypts. With `delayMs`, it reads nothing of
   * the handshake for that long after accepting (so that `connected` and the handshake's outcome
   * never reach a runner together).
   */
  | { tls: 'echo'; certificate: CertificateName; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; alpn?: string[]; delayMs?: number }
  /**
   * TCP, then TLS: greets with `READY`, echoes each line, answers the line `STARTTLS` with `OK` and
   * then does TLS as a server (presenting `certificate`), echoing what it decrypts.
   */
  | { tcp: 'starttls'; certificate: CertificateName };

/** The certificates of the test PKI a TLS server can present (testkit's TestPki). */
export type CertificateName =
  | 'valid'
  | 'expired'
  | 'notYetValid'
  | 'wrongName'
  | 'expiredWrongName'
  | 'selfSigned'
  | 'incompleteChain'
  | 'completeChain';

export type Loopback = '127.0.0.1' | '::1';

/** Bytes to send: ASCII text, or a text repeated `repeat` times. */
export type Data = string | { text: string; repeat: number };

/** A port: a number, a server of the scenario, or the local port a socket of the scenario has now. */
export type PortRef = number | { server: string } | { local: string };

/** An address for bind(): an IP literal, or one of Qt's special addresses. */
export type BindAddress = string | { special: 'Any' | 'AnyIPv4' | 'AnyIPv6' | 'LocalHost' | 'LocalHostIPv6' };

export type OptionName =
  | 'LowDelayOption'
  | 'KeepAliveOption'
  | 'MulticastTtlOption'
  | 'MulticastLoopbackOption'
  | 'TypeOfServiceOption'
  | 'SendBufferSizeSocketOption'
  | 'ReceiveBufferSizeSocketOption'
  | 'PathMtuSocketOption';

export type BindModeName = 'DefaultForPlatform' | 'ShareAddress' | 'DontShareAddress' | 'ReuseAddressHint';

/** Every call a step can make, with its arguments (PySide's signatures; open modes as numbers). */
export interface Calls {
  connectToHost: [host: string, port: PortRef] | [host: string, port: PortRef, openMode: number];
  disconnectFromHost: [];
  abort: [];
  close: [];
  write: [data: Data];
  putChar: [char: string];
  flush: [];
  read: [maxSize: number];
  readAll: [];
  /** Qt's `read(char *data, qint64 maxSize)` (PySide: `read(bytearray, maxlen)`; SDK: `readInto`). */
  readInto: [maxSize: number];
  /** Qt's `readLine(char *data, qint64 maxSize)` (PySide: `readLine(bytearray, maxlen)`; SDK: `readLineInto`). */
  readLineInto: [maxSize: number];
  readLine: [] | [maxSize: number];
  peek: [maxSize: number];
  skip: [maxSize: number];
  getChar: [];
  ungetChar: [char: string];
  canReadLine: [];
  bytesAvailable: [];
  atEnd: [];
  startTransaction: [];
  commitTransaction: [];
  rollbackTransaction: [];
  setReadBufferSize: [size: number];
  setSocketOption: [option: OptionName, value: number];
  bind: [] | [address: BindAddress, port: PortRef] | [address: BindAddress, port: PortRef, mode: BindModeName];
  writeDatagram: [data: Data, address: string, port: PortRef];
  readDatagram: [maxSize: number];
  receiveDatagram: [] | [maxSize: number];
  hasPendingDatagrams: [];
  pendingDatagramSize: [];
  waitForConnected: [msecs: number];
  waitForReadyRead: [msecs: number];
  waitForBytesWritten: [msecs: number];
  waitForDisconnected: [msecs: number];
  /** QSslSocket: with a third argument, the overload that takes the sslPeerName. */
  connectToHostEncrypted: [host: string, port: PortRef] | [host: string, port: PortRef, sslPeerName: string];
  startClientEncryption: [];
  /** QSslSocket: with no list, every error; with names, a list of QSslError(name, peerCertificate()). */
  ignoreSslErrors: [] | [errors: SslErrorName[]];
  setPeerVerifyMode: [mode: 'VerifyNone' | 'QueryPeer' | 'VerifyPeer' | 'AutoVerifyPeer'];
  /** Adds the run's test CA to the socket's configuration (sslConfiguration, addCaCertificates, setSslConfiguration). */
  addCaCertificate: [];
  setProtocol: [protocol: SslProtocolName];
  /** Sets the configuration's allowed ALPN protocols (sslConfiguration, setAllowedNextProtocols, setSslConfiguration). */
  setAllowedNextProtocols: [protocols: string[]];
  setPeerVerifyName: [name: string];
  setPauseMode: [mode: 'PauseNever' | 'PauseOnSslErrors'];
  resume: [];
  waitForEncrypted: [msecs: number];
}

export type SslErrorName =
  | 'CertificateExpired'
  | 'CertificateNotYetValid'
  | 'HostNameMismatch'
  | 'SelfSignedCertificate'
  | 'UnableToGetLocalIssuerCertificate'
  | 'UnableToVerifyFirstCertificate';

export type SslProtocolName = 'TlsV1_2' | 'TlsV1_3' | 'TlsV1_2OrLater' | 'TlsV1_3OrLater' | 'SecureProtocols' | 'AnyProtocol';
export type Method = keyof Calls;

/** The waits: Qt blocks in them; the SDK returns a Promise the runner awaits. */
export const WAITS: readonly Method[] = [
  'waitForConnected',
  'waitForReadyRead',
  'waitForBytesWritten',
  'waitForDisconnected',
  'waitForEncrypted',
];

/** Accessors a checkpoint can read. */
export type Accessor =
  | 'state'
  | 'error'
  | 'errorString'
  | 'isValid'
  | 'isOpen'
  | 'openMode'
  | 'isReadable'
  | 'isWritable'
  | 'bytesAvailable'
  | 'bytesToWrite'
  | 'atEnd'
  | 'canReadLine'
  | 'readBufferSize'
  | 'isTransactionStarted'
  | 'localPort>0'
  | 'localAddress'
  | 'peerPort'
  | 'peerAddress'
  | 'peerName'
  | 'socketDescriptor'
  | 'readChannelCount'
  | 'writeChannelCount'
  | 'hasPendingDatagrams'
  | 'pendingDatagramSize'
  | `socketOption:${OptionName}`
  // QSslSocket's: names for enums and errors, subject common names for certificates.
  | 'isEncrypted'
  | 'mode'
  | 'sslHandshakeErrors'
  | 'peerCertificate'
  | 'peerCertificateChain'
  | 'sessionProtocol'
  | 'sessionCipher'
  | 'nextNegotiatedProtocol'
  | 'peerVerifyName';

export type SignalName =
  | 'hostFound'
  | 'connected'
  | 'disconnected'
  | 'stateChanged'
  | 'errorOccurred'
  | 'readyRead'
  | 'bytesWritten'
  | 'aboutToClose'
  | 'readChannelFinished'
  | 'channelReadyRead'
  | 'channelBytesWritten'
  | SslSignalName;

/** QSslSocket's signals, recorded on `ssl` sockets (encryptedBytesWritten only with `encryptedBytesWritten`). */
export type SslSignalName = 'encrypted' | 'modeChanged' | 'sslErrors' | 'peerVerifyError' | 'alertReceived' | 'encryptedBytesWritten';

/** The signals every trace records; `channelSignals` adds channelReadyRead and channelBytesWritten. */
export const SIGNALS: readonly SignalName[] = [
  'hostFound',
  'connected',
  'disconnected',
  'stateChanged',
  'errorOccurred',
  'readyRead',
  'bytesWritten',
  'aboutToClose',
  'readChannelFinished',
];
export const CHANNEL_SIGNALS: readonly SignalName[] = ['channelReadyRead', 'channelBytesWritten'];
/**
 * Recorded on `ssl` sockets: modeChanged(mode), sslErrors(error names), peerVerifyError(name),
 * alertReceived(level, type, description) by Qt's enum names.
 */
export const SSL_SIGNALS: readonly SslSignalName[] = ['encrypted', 'modeChanged', 'sslErrors', 'peerVerifyError', 'alertReceived'];

/**
 * A difference the scenario expects at one step: the id of an entry of the SDK README's list of
 * differences from Qt. With `only`, just those keys of the step's return value or checkpoint may
 * differ (and must); without it, anything the step records may (and something must).
 */
export interface Divergence {
  id: string;
  only?: string[];
}

interface StepBase {
  /** The socket the step acts on; `s` when omitted. */
  socket?: string;
  diverges?: Divergence;
}

export type CallStep = { [M in Method]: StepBase & { call: M; args: Calls[M] } }[Method] & {
  /**
   * Waits only: the runner's thread is held busy for this many milliseconds as the wait begins
   * (on the SDK once its deferred sends have gone out; in Qt, whose blocking wait has not yet
   * written anything, just before the call), so that what the network delivers meanwhile is read
   * in one go.
   */
  hold?: number;
};

export type StateName = 'UnconnectedState' | 'HostLookupState' | 'ConnectingState' | 'ConnectedState' | 'BoundState' | 'ClosingState';

/**
 * Runs the event loop for `ms`, or until `signal` (on `socket`) has been emitted `count` times, or
 * until the socket is in `state` (at once when it already is).
 */
export interface RunStep extends StepBase {
  run: number;
  until?: SignalName;
  count?: number;
  state?: StateName;
}

/** Reads accessors, in order. */
export interface CheckStep extends StepBase {
  check: Accessor[];
}

export type Step = CallStep | RunStep | CheckStep;

export interface Scenario {
  /** Unique, kebab-case. */
  name: string;
  /** What it shows, in a sentence. */
  title: string;
  /** The sockets, by name: `s` is the default. `ssl` is a QSslSocket. */
  sockets: Record<string, 'tcp' | 'udp' | 'ssl'>;
  /** The servers, by the names the steps use. */
  servers: Record<string, ServerSpec>;
  /**
   * Names the scenario looks up, with their address: the namespace's /etc/hosts has them. Each
   * name belongs to one scenario, so that Qt never answers a lookup from what it cached for an
   * earlier one.
   */
  hosts?: Record<string, string | string[]>;
  /** Record channelReadyRead and channelBytesWritten too. */
  channelSignals?: boolean;
  /** Record encryptedBytesWritten(bytes) too, on `ssl` sockets. */
  encryptedBytesWritten?: boolean;
  /**
   * `ssl` sockets, by name: what a slot connected to sslErrors (after the runner's own) does:
   * ignoreSslErrors() (`all`), ignoreSslErrors with a list of QSslError(name, peerCertificate())
   * (names), or abort().
   */
  onSslErrors?: Record<string, 'all' | 'abort' | SslErrorName[]>;
  steps: Step[];
}

/** A scenario as the runners get it: every server's port filled in. */
export interface PlannedScenario extends Scenario {
  ports: Record<string, number>;
  /** The run's test CA (PEM), for addCaCertificate. */
  caPem: string;
}

export const isCall = (step: Step): step is CallStep => 'call' in step;
export const isRun = (step: Step): step is RunStep => 'run' in step;
export const isCheck = (step: Step): step is CheckStep => 'check' in step;

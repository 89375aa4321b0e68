import * as z from 'zod/mini';
import { ProtocolErrorCode, SocketErrorName } from './codes.js';
import { hostProblem } from './host.js';
import { PEER_VERIFY_MODES, SOCKET_OPTION_NAMES, SSL_ERROR_NAMES, TLS_PROTOCOL_NAMES } from './names.js';

/** A stream id: chosen by the client, unsigned 32-bit, strictly increasing within a session. */
export const StreamId = z.number().check(z.int(), z.gte(0), z.lte(0xffff_ffff));
/** A byte count that fits the binary frames' unsigned 32-bit fields. */
export const ByteCount = z.number().check(z.int(), z.gte(0), z.lte(0xffff_ffff));
export const Port = z.number().check(z.int(), z.gte(0), z.lte(65535));
/** A destination host: an IP literal (IPv6 with or without brackets) or an ASCII DNS name (see host.ts). */
export const Host = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = hostProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
);

/** Qt's `QAbstractSocket::SocketOption` names that travel on the wire. */
export const SocketOptionName = z.enum(SOCKET_OPTION_NAMES);
export type SocketOptionName = z.infer<typeof SocketOptionName>;

/** Qt's `NetworkLayerProtocol` as a filter on resolved addresses. */
export const AddressFamily = z.enum(['any', 'ipv4', 'ipv6']);
export type AddressFamily = z.infer<typeof AddressFamily>;

const OptionValues = z.partialRecord(SocketOptionName, z.number().check(z.int()));

// ---- client -> gateway -------------------------------------------------------------------------

/** First message of every session. */
export const Hello = z.strictObject({
  type: z.literal('hello'),
  version: z.number().check(z.int(), z.gte(1)),
  token: z.string().check(z.minLength(1), z.maxLength(8192)),
});
export type Hello = z.infer<typeof Hello>;

export const Transport = z.enum(['tcp', 'udp']);
export type Transport = z.infer<typeof Transport>;

/** A SOCKS5 proxy a client asks the gateway to connect through (Qt's QNetworkProxy::Socks5Proxy). */
export const ProxySpec = z.strictObject({
  type: z.literal('socks5'),
  host: Host,
  port: Port,
  user: z.optional(z.string().check(z.maxLength(255))),
  password: z.optional(z.string().check(z.maxLength(255))),
});
export type ProxySpec = z.infer<typeof ProxySpec>;

/** Qt's `QSslError::SslError` names. */
export const SslErrorName = z.enum(SSL_ERROR_NAMES);
export type SslErrorName = z.infer<typeof SslErrorName>;

/** Qt's `QSsl::SslProtocol` names used on the wire. */
export const TlsProtocolName = z.enum(TLS_PROTOCOL_NAMES);
export type TlsProtocolName = z.infer<typeof TlsProtocolName>;

/** A certificate or key in PEM (one or more blocks). */
const Pem = z.string().check(z.minLength(1), z.maxLength(64 * 1024));

/**
 * How to encrypt a TCP stream (Qt's QSslConfiguration and the peer verification settings of
 * QSslSocket). The gateway does the TLS; the client decides about certificate errors.
 */
export const TlsSpec = z.strictObject({
  /** The name to send (SNI) and to verify the certificate against; by default the host connected to. */
  peerName: z.optional(Host),
  verifyMode: z.optional(z.enum(PEER_VERIFY_MODES)),
  /** Longest chain accepted, 0 for no limit (Qt's peerVerifyDepth). */
  verifyDepth: z.optional(z.number().check(z.int(), z.gte(0), z.lte(64))),
  /**
   * Trusted CAs: the gateway's own (its system store and the operator's CA files) when `system`,
   * plus these PEM certificates (Qt's default configuration, or setCaCertificates/addCaCertificates).
   */
  ca: z.optional(z.strictObject({ system: z.boolean(), certificates: z.array(Pem).check(z.maxLength(256)) })),
  /** The lowest protocol to accept (the gateway never goes below TLS 1.2). */
  protocol: z.optional(TlsProtocolName),
  /** ALPN protocols to offer, in order of preference. */
  alpn: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(255))).check(z.maxLength(32))),
  /** A client certificate (chain) and its private key, where the gateway accepts them. */
  certificate: z.optional(Pem),
  privateKey: z.optional(Pem),
});
export type TlsSpec = z.infer<typeof TlsSpec>;

/** Open a stream: resolve `host`, check policy, connect (a UDP stream binds to any address first). */
export const Open = z.strictObject({
  type: z.literal('open'),
  stream: StreamId,
  transport: Transport,
  host: Host,
  port: Port,
  family: z.optional(AddressFamily),
  /** Initial download credit in bytes: how much the gateway may send before more is granted. */
  window: ByteCount,
  /** Options set while connecting, applied as soon as the real socket exists. */
  options: z.optional(OptionValues),
  /** Connect through this SOCKS5 proxy (TCP only), where the gateway allows client proxies. */
  proxy: z.optional(ProxySpec),
  /** Encrypt the connection as soon as it is made (Qt's connectToHostEncrypted; TCP only). */
  tls: z.optional(TlsSpec),
});
export type Open = z.infer<typeof Open>;

/**
 * Start TLS on a connected TCP stream (Qt's startClientEncryption, for STARTTLS): DATA sent after
 * it is encrypted, DATA received after `encrypted` was decrypted.
 */
export const StartTls = z.strictObject({ type: z.literal('start-tls'), stream: StreamId, tls: TlsSpec });
export type StartTls = z.infer<typeof StartTls>;

/** The client's answer to `tls-errors`: go on despite them (Qt's ignoreSslErrors), or not. */
export const TlsVerdict = z.strictObject({ type: z.literal('tls-verdict'), stream: StreamId, proceed: z.boolean() });
export type TlsVerdict = z.infer<typeof TlsVerdict>;

/** Graceful close: write everything already sent on this stream, then close the real socket. */
export const Close = z.strictObject({ type: z.literal('close'), stream: StreamId });
export type Close = z.infer<typeof Close>;

/** Immediate close: drop pending output, close the real socket now. */
export const Abort = z.strictObject({ type: z.literal('abort'), stream: StreamId });
export type Abort = z.infer<typeof Abort>;

/** Set a socket option on the real socket; answered by `option`. */
export const SetOption = z.strictObject({
  type: z.literal('set-option'),
  stream: StreamId,
  option: SocketOptionName,
  value: z.number().check(z.int()),
});
export type SetOption = z.infer<typeof SetOption>;

/** Qt's BindMode flags: ShareAddress 0x1, DontShareAddress 0x2, ReuseAddressHint 0x4. */
export const BindFlags = z.number().check(z.int(), z.gte(0), z.lte(0x7));

/** Open a UDP stream bound to a local address of the gateway (`""` for any) and port (0 for any). */
export const Bind = z.strictObject({
  type: z.literal('bind'),
  stream: StreamId,
  transport: z.literal('udp'),
  address: z.string().check(z.maxLength(64)),
  port: Port,
  flags: z.optional(BindFlags),
  /** Initial download credit in bytes, as for `open`. */
  window: ByteCount,
});
export type Bind = z.infer<typeof Bind>;

/** Connect a bound UDP stream to one peer (Qt's connectToHost on a bound QUdpSocket). */
export const Connect = z.strictObject({
  type: z.literal('connect'),
  stream: StreamId,
  host: Host,
  port: Port,
  family: z.optional(AddressFamily),
});
export type Connect = z.infer<typeof Connect>;

/** Join or leave a multicast group on a bound UDP stream. */
export const Multicast = z.strictObject({
  type: z.literal('multicast'),
  stream: StreamId,
  action: z.enum(['join', 'leave']),
  group: z.string().check(z.minLength(1), z.maxLength(64)),
});
export type Multicast = z.infer<typeof Multicast>;

export const ClientMessage = z.discriminatedUnion('type', [
  Hello,
  Open,
  Bind,
  Connect,
  Multicast,
  Close,
  Abort,
  SetOption,
  StartTls,
  TlsVerdict,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

// ---- gateway -> client -------------------------------------------------------------------------
// Server messages accept unknown fields, so a newer gateway can add some without breaking older SDKs.

/** Answer to a good `hello`. */
export const Welcome = z.object({
  type: z.literal('welcome'),
  version: z.number().check(z.int()),
  session: z.string(),
  /** Largest WebSocket message the gateway accepts. */
  maxMessageBytes: ByteCount,
  /** What this gateway can do beyond the base protocol: `tls`. */
  features: z.optional(z.array(z.string())),
});
export type Welcome = z.infer<typeof Welcome>;

/** The name resolved and the policy passed: Qt's `hostFound`. */
export const Resolved = z.object({ type: z.literal('resolved'), stream: StreamId });
export type Resolved = z.infer<typeof Resolved>;

/** The real socket is connected. */
export const Connected = z.object({
  type: z.literal('connected'),
  stream: StreamId,
  /** Initial upload credit in bytes; every `ack` returns its bytes to the window. */
  window: ByteCount,
  localAddress: z.string(),
  localPort: Port,
  peerAddress: z.string(),
  peerPort: Port,
  /** Effective option values on the real socket; an option that is absent is not supported. */
  options: OptionValues,
});
export type Connected = z.infer<typeof Connected>;

/** The UDP stream is bound. */
export const Bound = z.object({
  type: z.literal('bound'),
  stream: StreamId,
  localAddress: z.string(),
  localPort: Port,
  /** Upload credit in bytes; every `ack` returns its bytes to the window. */
  window: ByteCount,
  /** Largest datagram payload the gateway sends. */
  maxDatagramBytes: ByteCount,
});
export type Bound = z.infer<typeof Bound>;

/**
 * One operation of a UDP stream failed (a datagram refused or unsendable, a multicast change);
 * the stream goes on.
 */
export const DatagramError = z.object({
  type: z.literal('datagram-error'),
  stream: StreamId,
  error: SocketErrorName,
  message: z.string(),
});
export type DatagramError = z.infer<typeof DatagramError>;

/** Effective value of an option after `set-option`; `null` when the gateway cannot set or read it. */
export const OptionValue = z.object({
  type: z.literal('option'),
  stream: StreamId,
  option: SocketOptionName,
  value: z.nullable(z.number().check(z.int())),
});
export type OptionValue = z.infer<typeof OptionValue>;

/**
 * The peer closed (FIN) or reset (RST) the connection; every byte it sent before was delivered
 * first. `reset` is true after a reset (absent or false after a FIN). The stream is gone.
 */
export const End = z.object({ type: z.literal('end'), stream: StreamId, reset: z.optional(z.boolean()) });
export type End = z.infer<typeof End>;

/** A `close` or `abort` finished; for `close`, every byte sent was written first. The stream is gone. */
export const Closed = z.object({ type: z.literal('closed'), stream: StreamId });
export type Closed = z.infer<typeof Closed>;

/**
 * A TLS alert the peer sent (Qt's `alertReceived`): `level` is `Warning` or `Fatal`, `type` the alert's
 * code from the TLS standard (Qt's `QSsl::AlertType`), `description` OpenSSL's long text for it.
 */
export const TlsAlert = z.object({
  level: z.enum(['Warning', 'Fatal']),
  type: z.number().check(z.int(), z.gte(0), z.lte(255)),
  description: z.string(),
});
export type TlsAlert = z.infer<typeof TlsAlert>;

/** The stream failed with a Qt socket error and is gone; `alert` is the TLS alert the peer failed it with. */
export const StreamError = z.object({
  type: z.literal('error'),
  stream: StreamId,
  error: SocketErrorName,
  message: z.string(),
  alert: z.optional(TlsAlert),
});
export type StreamError = z.infer<typeof StreamError>;

/** A message the gateway received was wrong. With `stream`, that stream was aborted; without, the message was dropped. */
export const ProtocolError = z.object({
  type: z.literal('protocol-error'),
  stream: z.optional(StreamId),
  code: ProtocolErrorCode,
  message: z.string(),
});
export type ProtocolError = z.infer<typeof ProtocolError>;

/** A certificate as a TLS peer sent it, described for QSslCertificate. */
export const CertificateInfo = z.object({
  /** The DER encoding, in base64. */
  der: z.string(),
  /** Subject and issuer attributes by their short names (`CN`, `O`, `OU`, `C`, `L`, `ST`, `emailAddress`). */
  subject: z.record(z.string(), z.array(z.string())),
  issuer: z.record(z.string(), z.array(z.string())),
  /** Qt's form: lower-case hex bytes joined by colons. */
  serialNumber: z.string(),
  /** ISO 8601. */
  effectiveDate: z.string(),
  expiryDate: z.string(),
  /** Digests of the DER, lower-case hex. */
  md5: z.string(),
  sha1: z.string(),
  sha256: z.string(),
  /** Subject alternative names: `DNS`, `IP`, `email`, `URI`. */
  alternativeNames: z.array(z.object({ kind: z.string(), value: z.string() })),
  selfSigned: z.boolean(),
});
export type CertificateInfo = z.infer<typeof CertificateInfo>;

/** One certificate error, naming the certificate of `chain` it is about (-1 for none). */
export const TlsErrorEntry = z.object({ error: SslErrorName, certificate: z.number().check(z.int(), z.gte(-1)) });
export type TlsErrorEntry = z.infer<typeof TlsErrorEntry>;

/** What a TLS session negotiated: the protocol and the cipher (Qt's sessionProtocol and sessionCipher). */
const TlsCipher = z.object({
  name: z.string(),
  protocol: TlsProtocolName,
  bits: z.number().check(z.int()),
  supportedBits: z.number().check(z.int()),
});

/**
 * The peer's certificate did not verify: the errors in Qt's sslErrors order (a host name mismatch
 * first). The handshake waits for the client's `tls-verdict`. `protocol`, `cipher` and `alpn` are
 * what was negotiated, known by then as in Qt's sslErrors slot.
 */
export const TlsErrors = z.object({
  type: z.literal('tls-errors'),
  stream: StreamId,
  errors: z.array(TlsErrorEntry),
  chain: z.array(CertificateInfo),
  protocol: z.optional(TlsProtocolName),
  cipher: z.optional(TlsCipher),
  alpn: z.optional(z.string()),
});
export type TlsErrors = z.infer<typeof TlsErrors>;

/** The TLS handshake is done (Qt's `encrypted`): what was negotiated and the peer's chain. */
export const Encrypted = z.object({
  type: z.literal('encrypted'),
  stream: StreamId,
  protocol: TlsProtocolName,
  cipher: TlsCipher,
  /** The ALPN protocol the peer chose, or `""`. */
  alpn: z.string(),
  chain: z.array(CertificateInfo),
});
export type Encrypted = z.infer<typeof Encrypted>;

/** The gateway is shutting down: it takes no new streams; open ones may finish within `graceMs`. */
export const GoAway = z.object({ type: z.literal('goaway'), graceMs: ByteCount });
export type GoAway = z.infer<typeof GoAway>;

export const ServerMessage = z.discriminatedUnion('type', [
  Welcome,
  GoAway,
  Bound,
  DatagramError,
  Resolved,
  Connected,
  OptionValue,
  End,
  Closed,
  StreamError,
  ProtocolError,
  TlsErrors,
  Encrypted,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

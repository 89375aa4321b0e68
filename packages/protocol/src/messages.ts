import * as z from 'zod/mini';
import { ProtocolErrorCode, SocketErrorName } from './codes.js';
import { hostProblem } from './host.js';
import { SOCKET_OPTION_NAMES } from './names.js';

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
});
export type Open = z.infer<typeof Open>;

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

export const ClientMessage = z.discriminatedUnion('type', [Hello, Open, Bind, Connect, Multicast, Close, Abort, SetOption]);
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

/** The stream failed with a Qt socket error and is gone. */
export const StreamError = z.object({
  type: z.literal('error'),
  stream: StreamId,
  error: SocketErrorName,
  message: z.string(),
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
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

import * as z from 'zod/mini';

/**
 * Qt's `QAbstractSocket::SocketError` names, the only error vocabulary on the wire.
 * The SDK maps each to its numeric enum; the gateway maps Node errors to these.
 */
export const SocketErrorName = z.enum([
  'UnknownSocketError',
  'ConnectionRefusedError',
  'RemoteHostClosedError',
  'HostNotFoundError',
  'SocketAccessError',
  'SocketResourceError',
  'SocketTimeoutError',
  'DatagramTooLargeError',
  'NetworkError',
  'AddressInUseError',
  'SocketAddressNotAvailableError',
  'UnsupportedSocketOperationError',
  'UnfinishedSocketOperationError',
  'ProxyAuthenticationRequiredError',
  'SslHandshakeFailedError',
  'ProxyConnectionRefusedError',
  'ProxyConnectionClosedError',
  'ProxyConnectionTimeoutError',
  'ProxyNotFoundError',
  'ProxyProtocolError',
  'OperationError',
  'SslInternalError',
  'SslInvalidUserDataError',
  'TemporaryError',
]);
export type SocketErrorName = z.infer<typeof SocketErrorName>;

/** Codes of `protocol-error` messages: what was wrong with a message the gateway received. */
export const ProtocolErrorCode = z.enum([
  /** A text frame that is not JSON. */
  'BAD_JSON',
  /** JSON that fails the message schema; the message names the field. */
  'BAD_MESSAGE',
  /** A binary frame that is truncated, oversized or of an unknown kind. */
  'BAD_FRAME',
  /** A message for a stream id that was never opened. */
  'UNKNOWN_STREAM',
  /** `open` with a stream id not above every id the session used before. */
  'STREAM_ID_REUSED',
  /** Data for a stream that is not connected yet. */
  'NOT_CONNECTED',
  /** Data beyond the send window the gateway granted. */
  'WINDOW_EXCEEDED',
  /** A request this gateway does not support. */
  'UNSUPPORTED',
  /** More control messages than the gateway takes per second; the message was dropped. */
  'RATE_LIMITED',
]);
export type ProtocolErrorCode = z.infer<typeof ProtocolErrorCode>;

/** WebSocket close codes the gateway uses, with what each means. */
export const CloseCode = {
  /** The client closed the session normally. */
  NORMAL: 1000,
  /** The gateway is shutting down. */
  GOING_AWAY: 1001,
  /** The session broke the protocol: first message not `hello`, binary frame before `hello`, a second `hello`. */
  PROTOCOL_ERROR: 4400,
  /** The credential in `hello` was missing, unknown or invalid. */
  UNAUTHORIZED: 4401,
  /** The credential does not allow this session (for example, an origin it does not accept). */
  FORBIDDEN: 4403,
  /** No `hello` arrived in time. */
  HELLO_TIMEOUT: 4408,
  /** The client speaks a protocol version the gateway does not. */
  VERSION_MISMATCH: 4426,
  /** Too many sessions for this credential or client, or a flood of bad messages. */
  TOO_MANY_SESSIONS: 4429,
  /** The session had no streams and sent nothing for the gateway's idle timeout. */
  IDLE_TIMEOUT: 4410,
  /** The credential the session said hello with has expired. */
  CREDENTIAL_EXPIRED: 4440,
  /** The gateway failed internally; the session cannot go on. */
  INTERNAL_ERROR: 4500,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

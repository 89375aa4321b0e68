/**
 * The protocol's vocabularies as plain arrays, without zod, so that code that only reads messages
 * (the SDK's light reader) does not pull the schema library into a browser bundle.
 */

/** Qt's `QAbstractSocket::SocketError` names, the only error vocabulary on the wire. */
export const SOCKET_ERROR_NAMES = [
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
] as const;

/** Codes of `protocol-error` messages. */
export const PROTOCOL_ERROR_CODES = [
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
] as const;

/** Qt's `QAbstractSocket::SocketOption` names that travel on the wire. */
export const SOCKET_OPTION_NAMES = [
  'LowDelayOption',
  'KeepAliveOption',
  'MulticastTtlOption',
  'MulticastLoopbackOption',
  'TypeOfServiceOption',
  'SendBufferSizeSocketOption',
  'ReceiveBufferSizeSocketOption',
  'PathMtuSocketOption',
] as const;

/** Qt's `QSslError::SslError` names (all but NoError), the vocabulary of certificate errors. */
export const SSL_ERROR_NAMES = [
  'UnableToGetIssuerCertificate',
  'UnableToDecryptCertificateSignature',
  'UnableToDecodeIssuerPublicKey',
  'CertificateSignatureFailed',
  'CertificateNotYetValid',
  'CertificateExpired',
  'InvalidNotBeforeField',
  'InvalidNotAfterField',
  'SelfSignedCertificate',
  'SelfSignedCertificateInChain',
  'UnableToGetLocalIssuerCertificate',
  'UnableToVerifyFirstCertificate',
  'CertificateRevoked',
  'InvalidCaCertificate',
  'PathLengthExceeded',
  'InvalidPurpose',
  'CertificateUntrusted',
  'CertificateRejected',
  'SubjectIssuerMismatch',
  'AuthorityIssuerSerialNumberMismatch',
  'NoPeerCertificate',
  'HostNameMismatch',
  'NoSslSupport',
  'CertificateBlacklisted',
  'CertificateStatusUnknown',
  'UnspecifiedError',
] as const;

/** Qt's `QSsl::SslProtocol` values a TLS stream may ask for as its minimum, and a session may use. */
export const TLS_PROTOCOL_NAMES = [
  'TlsV1_2',
  'TlsV1_3',
  'TlsV1_2OrLater',
  'TlsV1_3OrLater',
  'SecureProtocols',
  'AnyProtocol',
  'UnknownProtocol',
] as const;

/** Qt's `QSslSocket::PeerVerifyMode`. */
export const PEER_VERIFY_MODES = ['VerifyNone', 'QueryPeer', 'VerifyPeer', 'AutoVerifyPeer'] as const;

import type { SocketErrorName } from '@socketgate/protocol';

/** Wisp's CLOSE reasons (the spec's names). */
export const WispCloseReason = {
  UNKNOWN: 0x01,
  VOLUNTARY: 0x02,
  NETWORK_ERROR: 0x03,
  INCOMPATIBLE_EXTENSIONS: 0x04,
  INVALID_INFO: 0x41,
  UNREACHABLE: 0x42,
  NO_RESPONSE: 0x43,
  REFUSED: 0x44,
  TRANSFER_TIMEOUT: 0x47,
  BLOCKED: 0x48,
  THROTTLED: 0x49,
  CLIENT_ERROR: 0x81,
  AUTH_BAD_PASSWORD: 0xc0,
  AUTH_BAD_SIGNATURE: 0xc1,
  AUTH_MISSING_CREDENTIALS: 0xc2,
} as const;
export type WispCloseReason = (typeof WispCloseReason)[keyof typeof WispCloseReason];

/** Qt's texts that tell a NetworkError's cause (errno-table.ts). */
const UNREACHABLE_TEXTS = new Set(['Host unreachable', 'Network unreachable']);

/**
 * The one map from the errors the native protocol reports (Qt's SocketError and its text) to
 * Wisp's CLOSE reasons. `opened` says whether the stream had connected: a timeout before is the
 * target not answering (0x43), after it an idle transfer (0x47).
 */
export function wispCloseReason(error: SocketErrorName, message: string, opened: boolean): WispCloseReason {
  switch (error) {
    case 'ConnectionRefusedError':
    case 'ProxyConnectionRefusedError':
      return WispCloseReason.REFUSED;
    case 'HostNotFoundError':
    case 'ProxyNotFoundError':
      return WispCloseReason.UNREACHABLE;
    case 'SocketAccessError':
      return WispCloseReason.BLOCKED;
    case 'SocketResourceError':
    case 'TemporaryError':
      return WispCloseReason.THROTTLED;
    case 'SocketTimeoutError':
    case 'ProxyConnectionTimeoutError':
      return opened ? WispCloseReason.TRANSFER_TIMEOUT : WispCloseReason.NO_RESPONSE;
    case 'NetworkError':
      if (UNREACHABLE_TEXTS.has(message)) return WispCloseReason.UNREACHABLE;
      if (message === 'Connection timed out') return opened ? WispCloseReason.TRANSFER_TIMEOUT : WispCloseReason.NO_RESPONSE;
      return WispCloseReason.NETWORK_ERROR;
    case 'UnsupportedSocketOperationError':
    case 'SocketAddressNotAvailableError':
    case 'DatagramTooLargeError':
    case 'AddressInUseError':
      return opened ? WispCloseReason.NETWORK_ERROR : WispCloseReason.INVALID_INFO;
    case 'RemoteHostClosedError':
    case 'ProxyConnectionClosedError':
    case 'ProxyProtocolError':
    case 'ProxyAuthenticationRequiredError':
    case 'SslHandshakeFailedError':
    case 'SslInternalError':
    case 'SslInvalidUserDataError':
    case 'OperationError':
    case 'UnfinishedSocketOperationError':
      return WispCloseReason.NETWORK_ERROR;
    case 'UnknownSocketError':
      return WispCloseReason.UNKNOWN;
  }
}

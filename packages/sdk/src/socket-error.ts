import type { SocketErrorName } from '@socketgate/protocol';
import { SocketError } from './enums.js';

/** Qt's text for each error the SDK raises itself without a text of its own. */
export const ERROR_TEXT: Partial<Record<SocketErrorName, string>> = {
  RemoteHostClosedError: 'The remote host closed the connection',
  HostNotFoundError: 'Host not found',
  SocketTimeoutError: 'Socket operation timed out',
  DatagramTooLargeError: 'Datagram was too large to send',
  OperationError: 'Trying to connect while connection is in progress',
};

/** RemoteHostClosedError's text after a reset: Qt's error, with words that keep the reset visible. */
export const PEER_RESET_TEXT = 'The remote host closed the connection (connection reset by peer)';

/** Maps a wire error name to Qt's SocketError; every name has a value (tested). */
export function socketErrorFromName(name: SocketErrorName): SocketError {
  return SocketError[name];
}

/**
 * A TLS socket's failure as Qt reports it. Qt words an OpenSSL error as OpenSSL's
 * `ERR_error_string_n` does ("error:0A00042E:SSL routines::tlsv1 alert protocol version"), after
 * "Error during SSL handshake: " while handshaking and "Error while reading: " after.
 */
import type { SocketErrorName } from '@socketgate/protocol';

export interface TlsFailure {
  error: SocketErrorName;
  message: string;
}

/** OpenSSL's error code and reason from a Node TLS error's message, in OpenSSL's own short form. */
function openSslText(error: Error & { library?: string; reason?: string }): string | undefined {
  const match = /error:([0-9A-F]{8}):([^:]*):[^:]*:([^:\n]*)/.exec(error.message);
  if (match) return `error:${match[1]}:${match[2]}::${match[3]}`;
  if (error.library !== undefined && error.reason !== undefined) return `${error.library}::${error.reason}`;
  return undefined;
}

/** The failure of a TLS socket: during the handshake (before `secureConnect`) or after it. */
export function tlsFailure(error: Error & { code?: string | undefined }, handshaking: boolean): TlsFailure {
  const text = openSslText(error);
  if (text === undefined) {
    // Not OpenSSL's: the connection itself ended (the peer closed or reset it mid-handshake).
    if (error.code === 'ECONNRESET' || /disconnected before secure TLS connection/.test(error.message)) {
      return { error: 'RemoteHostClosedError', message: 'The remote host closed the connection' };
    }
    return { error: handshaking ? 'SslHandshakeFailedError' : 'SslInternalError', message: `Error during SSL handshake: ${error.message}` };
  }
  return handshaking
    ? { error: 'SslHandshakeFailedError', message: `Error during SSL handshake: ${text}` }
    : { error: 'SslInternalError', message: `Error while reading: ${text}` };
}

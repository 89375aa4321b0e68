import createError from '@fastify/error';
import type { SocketErrorName } from '@socketgate/protocol';

/** A Qt socket error with the text Qt would show for it. */
export interface SocketFailure {
  error: SocketErrorName;
  message: string;
}

/** An error that already knows how Qt reports it, such as a name lookup that timed out. */
export class SocketFailureError extends Error {
  readonly failure: SocketFailure;

  constructor(failure: SocketFailure, options?: ErrorOptions) {
    super(failure.message, options);
    this.name = 'SocketFailureError';
    this.failure = failure;
  }
}

/**
 * Maps a Node.js socket or DNS error to Qt's SocketError name and text (QT-SOCKETS.md §4.3).
 */
export function socketFailure(err: unknown): SocketFailure {
  if (err instanceof SocketFailureError) return err.failure;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return { error: 'ConnectionRefusedError', message: 'Connection refused' };
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'ENODATA':
    case 'ESERVFAIL':
    case 'ENONAME':
      return { error: 'HostNotFoundError', message: 'Host not found' };
    case 'ECONNRESET':
      // Qt's text for a reset is a close's; the added words keep the reset visible.
      return { error: 'RemoteHostClosedError', message: 'The remote host closed the connection (connection reset by peer)' };
    case 'EPIPE':
      return { error: 'RemoteHostClosedError', message: 'The remote host closed the connection' };
    case 'ETIMEDOUT':
      return { error: 'NetworkError', message: 'Connection timed out' };
    case 'EHOSTUNREACH':
      return { error: 'NetworkError', message: 'Host unreachable' };
    case 'ENETUNREACH':
      return { error: 'NetworkError', message: 'Network unreachable' };
    case 'EADDRINUSE':
      return { error: 'NetworkError', message: 'The bound address is already in use' };
    case 'EACCES':
    case 'EPERM':
      return { error: 'SocketAccessError', message: 'Permission denied' };
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOBUFS':
    case 'ENOMEM':
      return { error: 'SocketResourceError', message: 'Out of resources' };
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      return { error: 'UnsupportedSocketOperationError', message: 'Protocol type not supported' };
    default: {
      const text = (err as Error | undefined)?.message;
      return { error: 'NetworkError', message: text ? `Network error: ${text}` : 'Network error' };
    }
  }
}

/** The error codes the gateway throws for programmer or operator mistakes. */
export const GW_ERR_CONFIG_INVALID = createError<[string]>('GW_ERR_CONFIG_INVALID', 'Invalid gateway configuration: %s');
export const GW_ERR_ALLOW_RULE = createError<[string, string]>(
  'GW_ERR_ALLOW_RULE',
  'Invalid --allow rule "%s": %s. Use CIDR[:ports] or host[:ports], for example 127.0.0.1/32:7,8000-8100 or *.example.org:443',
);
/** The session store (Redis, or the memory store when full) could not answer: hellos are refused until it can. */
export const GW_ERR_STORE_UNAVAILABLE = createError<[string, { cause: unknown }?]>(
  'GW_ERR_STORE_UNAVAILABLE',
  'The session store is unavailable: %s',
);

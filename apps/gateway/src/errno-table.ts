import type { SocketErrorName, TlsAlert } from '@socketgate/protocol';

/** A Qt socket error with the text Qt would show for it (and, on a TLS stream, the alert the peer sent). */
export interface SocketFailure {
  error: SocketErrorName;
  message: string;
  alert?: TlsAlert;
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
 * What the gateway was doing when the system refused. Qt's socket engine maps some errnos by
 * operation: EADDRINUSE is AddressInUseError from bind(2) and NetworkError from connect(2).
 *
 * - `connect`: a name lookup, connect(2), and reads and writes on a TCP connection
 * - `bind`: binding a UDP socket (anything bind does not name reads as `connect`)
 * - `multicast`: joining or leaving a multicast group
 * - `send`: sending one datagram
 * - `receive`: an error a bound UDP socket reports, such as an ICMP error for an earlier datagram
 * - `proxy`: reaching a SOCKS5 proxy, before it answers for the destination
 */
export type SocketOperation = 'connect' | 'bind' | 'multicast' | 'send' | 'receive' | 'proxy';

const failure = (error: SocketErrorName, message: string): SocketFailure => Object.freeze({ error, message });

// Qt's texts (qnativesocketengine.cpp and qsocks5socketengine.cpp), one constant each.
const refused = failure('ConnectionRefusedError', 'Connection refused');
const hostNotFound = failure('HostNotFoundError', 'Host not found');
const remoteClosed = failure('RemoteHostClosedError', 'The remote host closed the connection');
// Qt's text for a reset is a close's; the added words keep the reset visible.
const remoteReset = failure('RemoteHostClosedError', 'The remote host closed the connection (connection reset by peer)');
const timedOut = failure('NetworkError', 'Connection timed out');
const hostUnreachable = failure('NetworkError', 'Host unreachable');
const networkUnreachable = failure('NetworkError', 'Network unreachable');
const addressInUseText = 'The bound address is already in use';
const permissionDenied = failure('SocketAccessError', 'Permission denied');
const addressProtected = failure('SocketAccessError', 'The address is protected');
const addressNotAvailable = failure('SocketAddressNotAvailableError', 'The address is not available');
const outOfResources = failure('SocketResourceError', 'Out of resources');
const protocolUnsupported = failure('UnsupportedSocketOperationError', 'Protocol type not supported');
const operationUnsupported = failure('UnsupportedSocketOperationError', 'Operation on socket is not supported');
const datagramTooLarge = failure('DatagramTooLargeError', 'Datagram was too large to send');
const proxyRefused = failure('ProxyConnectionRefusedError', 'Connection to proxy refused');
const proxyNotFound = failure('ProxyNotFoundError', 'Proxy host not found');
const proxyClosed = failure('ProxyConnectionClosedError', 'Connection to proxy closed prematurely');
const proxyTimedOut = failure('ProxyConnectionTimeoutError', 'Proxy connection timed out');

type Row = Readonly<Partial<Record<SocketOperation, SocketFailure>>>;

/** A name that does not resolve, in the codes of getaddrinfo and of c-ares. */
const lookupFailed = { connect: hostNotFound, proxy: proxyNotFound };
const resources = { connect: outOfResources };
const protocol = { connect: protocolUnsupported };

/**
 * The one errno → wire-error table: for each errno the gateway knows, Qt's name and text by
 * operation (QT-SOCKETS.md §4). An operation an errno does not name falls back as `fallback` says.
 */
export const ERRNO_TABLE = {
  // A connected UDP socket learns of an ICMP port-unreachable as ECONNREFUSED; sending goes on.
  ECONNREFUSED: { connect: refused, receive: refused, proxy: proxyRefused },
  // Qt reads EINVAL from connect(2) as a refusal. From bind(2) it is an IPv4-mapped address on an
  // IPv6-only socket: an address this socket cannot have (Qt would say the operation is unsupported).
  EINVAL: { connect: refused, bind: addressNotAvailable },
  ENOTFOUND: lookupFailed,
  EAI_NONAME: lookupFailed,
  EAI_AGAIN: lookupFailed,
  EAI_FAIL: lookupFailed,
  ENODATA: lookupFailed,
  ESERVFAIL: lookupFailed,
  ENONAME: lookupFailed,
  ECONNRESET: { connect: remoteReset, send: remoteClosed, proxy: proxyClosed },
  EPIPE: { connect: remoteClosed, proxy: proxyClosed },
  ETIMEDOUT: { connect: timedOut, proxy: proxyTimedOut },
  EHOSTUNREACH: { connect: hostUnreachable },
  ENETUNREACH: { connect: networkUnreachable },
  EADDRINUSE: { connect: failure('NetworkError', addressInUseText), bind: failure('AddressInUseError', addressInUseText) },
  EADDRNOTAVAIL: { bind: addressNotAvailable, multicast: addressNotAvailable },
  EACCES: { connect: permissionDenied, bind: addressProtected },
  EPERM: { connect: permissionDenied, bind: addressProtected },
  EMFILE: resources,
  ENFILE: resources,
  ENOBUFS: resources,
  ENOMEM: resources,
  EAFNOSUPPORT: protocol,
  EPROTONOSUPPORT: protocol,
  ENOPROTOOPT: { multicast: operationUnsupported },
  EMSGSIZE: { send: datagramTooLarge },
} as const satisfies Record<string, Row>;

/** An errno the table names. */
export type Errno = keyof typeof ERRNO_TABLE;

const rowOf = (code: string): Row | undefined => (ERRNO_TABLE as Record<string, Row>)[code];

/** What an operation answers for an errno the table does not name for it. */
function fallback(operation: SocketOperation, code: string, text: string | undefined): SocketFailure {
  switch (operation) {
    case 'bind': {
      const general = rowOf(code)?.connect;
      if (general !== undefined) return general;
      return fallback('connect', code, text);
    }
    case 'multicast':
      return failure('UnknownSocketError', 'Unknown error');
    case 'send':
      return failure('NetworkError', 'Unable to send a message');
    case 'receive':
      return failure('NetworkError', 'Unable to receive a message');
    case 'proxy':
      return failure('ProxyProtocolError', text ? `Proxy protocol error: ${text}` : 'Proxy protocol error');
    case 'connect':
      return failure('NetworkError', text ? `Network error: ${text}` : 'Network error');
  }
}

const codeOf = (error: unknown): string => (error as NodeJS.ErrnoException | undefined)?.code ?? '';

/**
 * Maps a Node.js socket or DNS error to Qt's SocketError name and text for what the gateway was
 * doing (QT-SOCKETS.md §4.3); an error that already knows its Qt failure keeps it.
 */
export function socketFailure(error: unknown, operation: SocketOperation = 'connect'): SocketFailure {
  if (error instanceof SocketFailureError) return error.failure;
  const code = codeOf(error);
  return rowOf(code)?.[operation] ?? fallback(operation, code, (error as Error | undefined)?.message);
}

/** The failure the system gives for `code` in `operation`, for a refusal the gateway makes in its place. */
export const errnoFailure = (code: Errno, operation: SocketOperation): SocketFailure => socketFailure({ code }, operation);

/** Whether `operation` names `code` in the table (rather than falling back). */
export const tabled = (code: string, operation: SocketOperation): boolean => rowOf(code)?.[operation] !== undefined;

/**
 * Whether an error on a TCP connection is the peer's reset (RST). Qt reads a reset as the peer's
 * close, with the bytes received before it still readable (QT-SOCKETS.md §4.3).
 */
export const peerReset = (error: unknown): boolean => codeOf(error) === 'ECONNRESET';

/** Qt's connect timer ran out for an address (the gateway's `connectTimeoutMs`). */
export const connectTimedOut = failure('SocketTimeoutError', 'Connection timed out');

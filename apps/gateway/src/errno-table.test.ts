import { SocketErrorName } from '@socketgate/protocol';
import { describe, expect, it } from 'vitest';
import {
  ERRNO_TABLE,
  errnoFailure,
  peerReset,
  type SocketFailure,
  SocketFailureError,
  type SocketOperation,
  socketFailure,
  tabled,
} from './errno-table.js';
import { proxyFailure } from './socks.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code} (from the test)`), { code });
const qt = (error: string, message: string): SocketFailure => ({ error, message }) as SocketFailure;

const OPERATIONS: readonly SocketOperation[] = ['connect', 'bind', 'multicast', 'send', 'receive', 'proxy'];

const refused = qt('ConnectionRefusedError', 'Connection refused');
const notFound = { connect: qt('HostNotFoundError', 'Host not found'), proxy: qt('ProxyNotFoundError', 'Proxy host not found') };
const denied = { connect: qt('SocketAccessError', 'Permission denied'), bind: qt('SocketAccessError', 'The address is protected') };
const resources = { connect: qt('SocketResourceError', 'Out of resources') };
const protocol = { connect: qt('UnsupportedSocketOperationError', 'Protocol type not supported') };
const notAvailable = qt('SocketAddressNotAvailableError', 'The address is not available');
const proxyClosed = qt('ProxyConnectionClosedError', 'Connection to proxy closed prematurely');

/**
 * What Qt answers for each errno, by operation (QT-SOCKETS.md §4, Qt's qnativesocketengine_unix.cpp
 * and qsocks5socketengine.cpp), written out apart from the table so that a change to either shows.
 */
const EXPECTED: Record<string, Partial<Record<SocketOperation, SocketFailure>>> = {
  ECONNREFUSED: { connect: refused, receive: refused, proxy: qt('ProxyConnectionRefusedError', 'Connection to proxy refused') },
  EINVAL: { connect: refused, bind: notAvailable },
  ENOTFOUND: notFound,
  EAI_NONAME: notFound,
  EAI_AGAIN: notFound,
  EAI_FAIL: notFound,
  ENODATA: notFound,
  ESERVFAIL: notFound,
  ENONAME: notFound,
  ECONNRESET: {
    connect: qt('RemoteHostClosedError', 'The remote host closed the connection (connection reset by peer)'),
    send: qt('RemoteHostClosedError', 'The remote host closed the connection'),
    proxy: proxyClosed,
  },
  EPIPE: { connect: qt('RemoteHostClosedError', 'The remote host closed the connection'), proxy: proxyClosed },
  ETIMEDOUT: {
    connect: qt('NetworkError', 'Connection timed out'),
    proxy: qt('ProxyConnectionTimeoutError', 'Proxy connection timed out'),
  },
  EHOSTUNREACH: { connect: qt('NetworkError', 'Host unreachable') },
  ENETUNREACH: { connect: qt('NetworkError', 'Network unreachable') },
  EADDRINUSE: {
    connect: qt('NetworkError', 'The bound address is already in use'),
    bind: qt('AddressInUseError', 'The bound address is already in use'),
  },
  EADDRNOTAVAIL: { bind: notAvailable, multicast: notAvailable },
  EACCES: denied,
  EPERM: denied,
  EMFILE: resources,
  ENFILE: resources,
  ENOBUFS: resources,
  ENOMEM: resources,
  EAFNOSUPPORT: protocol,
  EPROTONOSUPPORT: protocol,
  ENOPROTOOPT: { multicast: qt('UnsupportedSocketOperationError', 'Operation on socket is not supported') },
  EMSGSIZE: { send: qt('DatagramTooLargeError', 'Datagram was too large to send') },
};

/** What each operation but bind answers for an errno it does not name, given the error's text. */
const FALLBACK: Record<Exclude<SocketOperation, 'bind'>, (text: string | undefined) => SocketFailure> = {
  connect: (text) => qt('NetworkError', text === undefined ? 'Network error' : `Network error: ${text}`),
  multicast: () => qt('UnknownSocketError', 'Unknown error'),
  send: () => qt('NetworkError', 'Unable to send a message'),
  receive: () => qt('NetworkError', 'Unable to receive a message'),
  proxy: (text) => qt('ProxyProtocolError', text === undefined ? 'Proxy protocol error' : `Proxy protocol error: ${text}`),
};

/** The expected answer: the operation's own, else (bind) what connect answers, else the operation's fallback. */
const expectedFor = (code: string, operation: SocketOperation, text: string | undefined): SocketFailure =>
  EXPECTED[code]?.[operation] ?? (operation === 'bind' ? expectedFor(code, 'connect', text) : FALLBACK[operation](text));

const cells = Object.keys(EXPECTED).flatMap((code) =>
  OPERATIONS.map((operation) => [code, operation, expectedFor(code, operation, `${code} (from the test)`)] as const),
);

describe('the errno table', () => {
  it('names exactly the errnos this test expects, no more and no fewer', () => {
    expect(Object.keys(ERRNO_TABLE).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(cells)('maps %s during %s to %j', (code, operation, failure) => {
    expect(socketFailure(errno(code), operation)).toEqual(failure);
    expect(tabled(code, operation)).toBe(EXPECTED[code]?.[operation] !== undefined);
  });

  it.each(OPERATIONS)('falls back for an errno it does not name during %s, with and without a text', (operation) => {
    expect(socketFailure(errno('EWHATEVER'), operation)).toEqual(expectedFor('EWHATEVER', operation, 'EWHATEVER (from the test)'));
    expect(socketFailure(undefined, operation)).toEqual(expectedFor('', operation, undefined));
    expect(socketFailure({ code: 'EWHATEVER' }, operation)).toEqual(expectedFor('EWHATEVER', operation, undefined));
    expect(tabled('EWHATEVER', operation)).toBe(false);
  });

  it('reads an error as a connect error unless told otherwise', () => {
    for (const code of Object.keys(EXPECTED)) expect(socketFailure(errno(code))).toEqual(socketFailure(errno(code), 'connect'));
  });

  it('keeps the failure of an error that already knows it, whatever the operation', () => {
    const known = new SocketFailureError({ error: 'HostNotFoundError', message: 'Host not found: no answer within 5000 ms' });
    for (const operation of OPERATIONS) expect(socketFailure(known, operation)).toEqual(known.failure);
  });

  it('answers with the same failure for a code alone (errnoFailure)', () => {
    for (const [code, operation, failure] of cells) {
      if (EXPECTED[code]?.[operation] !== undefined) expect(errnoFailure(code as keyof typeof ERRNO_TABLE, operation)).toEqual(failure);
    }
  });

  it('only ever answers with names of the wire protocol', () => {
    for (const [code, operation] of cells) expect(SocketErrorName.options).toContain(socketFailure(errno(code), operation).error);
  });

  it('takes only ECONNRESET for a reset by the peer', () => {
    expect(Object.keys(EXPECTED).filter((code) => peerReset(errno(code)))).toEqual(['ECONNRESET']);
    expect(peerReset(undefined)).toBe(false);
  });
});

describe('proxyFailure', () => {
  it.each([
    ['connect ECONNREFUSED 127.0.0.1:1080', qt('ProxyConnectionRefusedError', 'Connection to proxy refused')],
    ['getaddrinfo ENOTFOUND proxy.invalid', qt('ProxyNotFoundError', 'Proxy host not found')],
    ['getaddrinfo EAI_AGAIN proxy.example', qt('ProxyNotFoundError', 'Proxy host not found')],
    ['connect ETIMEDOUT 192.0.2.1:1080', qt('ProxyConnectionTimeoutError', 'Proxy connection timed out')],
    ['read ECONNRESET', proxyClosed],
    ['write EPIPE', proxyClosed],
    ['Proxy connection timed out', qt('ProxyConnectionTimeoutError', 'Proxy connection timed out')],
    ['Socket closed', proxyClosed],
    ['Socks5 Authentication failed', qt('ProxyAuthenticationRequiredError', 'Proxy authentication failed')],
    [
      'Received invalid Socks5 initial handshake (no accepted authentication type)',
      qt('ProxyAuthenticationRequiredError', 'Proxy authentication failed'),
    ],
    ['Socks5 proxy rejected connection - ConnectionRefused', refused],
    ['Socks5 proxy rejected connection - HostUnreachable', qt('NetworkError', 'Host unreachable')],
    ['Socks5 proxy rejected connection - NetworkUnreachable', qt('NetworkError', 'Network unreachable')],
    ['Socks5 proxy rejected connection - NotAllowed', qt('SocketAccessError', 'Permission denied: the proxy refused the connection')],
    ['Socks5 proxy rejected connection - TTLExpired', qt('SocketTimeoutError', 'Connection timed out')],
    ['connect EHOSTUNREACH 192.0.2.1:1080', qt('ProxyProtocolError', 'Proxy protocol error: connect EHOSTUNREACH 192.0.2.1:1080')],
    [
      'Received invalid Socks5 final handshake response',
      qt('ProxyProtocolError', 'Proxy protocol error: Received invalid Socks5 final handshake response'),
    ],
  ])('maps the socks library\'s "%s" to %j', (message, failure) => {
    expect(proxyFailure(new Error(message))).toEqual(failure);
  });

  it('maps an error without a text to a bare protocol error', () => {
    expect(proxyFailure(undefined)).toEqual(qt('ProxyProtocolError', 'Proxy protocol error'));
  });
});

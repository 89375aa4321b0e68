import { SocketErrorName } from '@socketgate/protocol';
import { describe, expect, it } from 'vitest';
import { socketFailure } from './errors.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

describe('socketFailure', () => {
  it.each([
    ['ECONNREFUSED', 'ConnectionRefusedError', 'Connection refused'],
    ['ENOTFOUND', 'HostNotFoundError', 'Host not found'],
    ['EAI_AGAIN', 'HostNotFoundError', 'Host not found'],
    ['EAI_FAIL', 'HostNotFoundError', 'Host not found'],
    ['ENODATA', 'HostNotFoundError', 'Host not found'],
    ['ECONNRESET', 'RemoteHostClosedError', 'The remote host closed the connection (connection reset by peer)'],
    ['EPIPE', 'RemoteHostClosedError', 'The remote host closed the connection'],
    ['ETIMEDOUT', 'NetworkError', 'Connection timed out'],
    ['EHOSTUNREACH', 'NetworkError', 'Host unreachable'],
    ['ENETUNREACH', 'NetworkError', 'Network unreachable'],
    ['EACCES', 'SocketAccessError', 'Permission denied'],
    ['EPERM', 'SocketAccessError', 'Permission denied'],
    ['EMFILE', 'SocketResourceError', 'Out of resources'],
    ['ENOBUFS', 'SocketResourceError', 'Out of resources'],
    ['EAFNOSUPPORT', 'UnsupportedSocketOperationError', 'Protocol type not supported'],
  ])('maps %s to %s (QT-SOCKETS.md §4.3)', (code, error, message) => {
    expect(socketFailure(errno(code))).toEqual({ error, message });
  });

  it('maps anything else to NetworkError with the system text', () => {
    expect(socketFailure(errno('EWHATEVER'))).toEqual({ error: 'NetworkError', message: 'Network error: EWHATEVER' });
    expect(socketFailure(undefined)).toEqual({ error: 'NetworkError', message: 'Network error' });
  });

  it('only ever answers with names of the wire protocol', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EPIPE', 'ETIMEDOUT', 'EACCES', 'EMFILE', 'X']) {
      expect(SocketErrorName.options).toContain(socketFailure(errno(code)).error);
    }
  });
});

import { SOCKET_ERROR_NAMES } from '@socketgate/protocol';
import { describe, expect, it } from 'vitest';
import { WispCloseReason, wispCloseReason } from './wisp-close-reason.js';

const REASONS = new Set<number>(Object.values(WispCloseReason));

describe('wispCloseReason', () => {
  it.each(SOCKET_ERROR_NAMES)('maps %s to a reason a server may send, before and after the stream opened', (name) => {
    for (const opened of [false, true]) {
      const reason = wispCloseReason(name, '', opened);
      expect(REASONS.has(reason)).toBe(true);
      // 0x81 and above are the client's and the authentication's.
      expect(reason).toBeLessThan(0x81);
    }
  });

  it('says what the spec names for the errors a client can act on', () => {
    expect(wispCloseReason('ConnectionRefusedError', 'Connection refused', false)).toBe(0x44);
    expect(wispCloseReason('HostNotFoundError', 'Host not found', false)).toBe(0x42);
    expect(wispCloseReason('NetworkError', 'Host unreachable', false)).toBe(0x42);
    expect(wispCloseReason('NetworkError', 'Network unreachable', false)).toBe(0x42);
    expect(wispCloseReason('SocketTimeoutError', 'Connection timed out', false)).toBe(0x43);
    expect(wispCloseReason('NetworkError', 'Connection timed out', false)).toBe(0x43);
    expect(wispCloseReason('SocketTimeoutError', 'Idle timeout: no traffic for 1000 ms', true)).toBe(0x47);
    expect(wispCloseReason('SocketAccessError', 'Permission denied: 127.0.0.2 is loopback', false)).toBe(0x48);
    expect(wispCloseReason('SocketResourceError', 'Out of resources: more than 200 new streams per second', false)).toBe(0x49);
    expect(wispCloseReason('RemoteHostClosedError', 'The remote host closed the connection', true)).toBe(0x03);
    expect(wispCloseReason('UnknownSocketError', 'Unknown error', true)).toBe(0x01);
  });
});

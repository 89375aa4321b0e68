import type { ServerMessage, SocketOptionName } from '@socketgate/protocol';
import { describe, expect, it } from 'vitest';
import type { ResolvedAddress } from './resolve.js';
import type { Stream, StreamHost, StreamState } from './stream.js';
import { MOVES, StreamLifecycle } from './stream-lifecycle.js';

const STATES = Object.keys(MOVES) as StreamState[];

/** A session of the test's own: it records what its streams say and what they hold against it. */
function fakeSession(resolve: (name: string) => Promise<ResolvedAddress[]> = async () => [{ address: '192.0.2.1', family: 4 }]) {
  const session = { sent: [] as ServerMessage[], acks: [] as number[], released: [] as Stream[], held: 0 };
  const host = {
    config: { uploadWindowBytes: 100 },
    policy: {
      check: (_host: string, address: string) =>
        address.startsWith('192.0.2.') ? { allowed: true } : { allowed: false, reason: `${address} is refused by the test` },
    },
    names: { resolve },
    flow: {
      holdUpload: (bytes: number) => {
        session.held += bytes;
      },
      queueAck: (stream: Stream) => session.acks.push(stream.takeAck()),
      flushAck: (stream: Stream) => session.acks.push(stream.takeAck()),
    },
    send: (message: ServerMessage) => session.sent.push(message),
    released: (stream: Stream) => session.released.push(stream),
  };
  return Object.assign(session, { host: host as unknown as StreamHost });
}

/** The lifecycle with a transport that does nothing but record what it is asked. */
class TestStream extends StreamLifecycle {
  readonly transport = 'tcp';
  readonly bufferedBytes = 0;
  socketReleases: boolean[] = [];
  connectedTo: readonly ResolvedAddress[] | undefined;

  addCredit(): void {}
  resume(): void {}
  close(): void {
    this.abort();
  }
  setOption(_option: SocketOptionName): void {}
  protected releaseSocket(reset: boolean): void {
    this.socketReleases.push(reset);
  }
  to(state: StreamState): void {
    this.move(state);
  }
  failWith(): void {
    this.fail({ error: 'NetworkError', message: 'Network error' });
  }
  take(cost: number, bytes: number) {
    return this.beyondWindow(cost, 'data') ?? this.hold(cost, bytes);
  }
  written(cost: number, bytes: number, acknowledge = true): boolean {
    return this.handedOn(cost, bytes, acknowledge);
  }
  lookup(name: string) {
    return this.reach(name, 443, 'any', { connect: (addresses) => (this.connectedTo = addresses) });
  }
}

/** The moves from a start state to each state. */
const PATH: Record<StreamState, readonly StreamState[]> = {
  binding: [],
  bound: ['bound'],
  resolving: [],
  connecting: ['connecting'],
  connected: ['connecting', 'connected'],
  closing: ['connecting', 'connected', 'closing'],
  closed: ['closed'],
};

function streamIn(state: StreamState, session = fakeSession()): TestStream {
  const stream = new TestStream(session.host, 7, state === 'binding' || state === 'bound' ? 'binding' : 'resolving');
  for (const step of PATH[state]) stream.to(step);
  return stream;
}

describe('the stream lifecycle', () => {
  it.each(STATES.flatMap((from) => STATES.map((to) => [from, to] as const)))('moves from %s to %s only as MOVES allows', (from, to) => {
    const stream = streamIn(from);
    expect(stream.state).toBe(from);
    if (from === to || MOVES[from].includes(to)) {
      stream.to(to);
      expect(stream.state).toBe(to);
    } else {
      expect(() => stream.to(to)).toThrow(`bug: tcp stream 7 state ${from} -> ${to}`);
      expect(stream.state).toBe(from);
    }
  });

  it("is Qt's state machine as the gateway keeps it: lookup and connect for TCP, bind first for UDP, a graceful close for TCP only", () => {
    const moves = STATES.flatMap((from) => MOVES[from].map((to) => `${from} -> ${to}`));
    expect(moves).toEqual([
      'binding -> bound',
      'binding -> closed',
      'bound -> resolving',
      'bound -> closed',
      'resolving -> connecting',
      'resolving -> closed',
      'connecting -> connected',
      'connecting -> closed',
      'connected -> closing',
      'connected -> closed',
      'closing -> closed',
    ]);
  });

  it('lets every state end in closed, and closed go nowhere', () => {
    for (const state of STATES) if (state !== 'closed') expect(MOVES[state]).toContain('closed');
    expect(MOVES.closed).toEqual([]);
  });

  it('aborts once: closed to the client, the socket let go, the session told, the held upload given back', () => {
    const host = fakeSession();
    const stream = streamIn('connected', host);
    stream.take(30, 30);
    expect(host.held).toBe(30);
    stream.abort();
    stream.abort();
    stream.failWith();
    expect(host.sent).toEqual([{ type: 'closed', stream: 7 }]);
    expect(stream.socketReleases).toEqual([false]);
    expect(host.released).toEqual([stream]);
    expect(host.held).toBe(0);
    expect(stream.written(30, 30)).toBe(false);
    expect(host.held).toBe(0);
  });

  it('fails with the error to the client, and disposes silently with a reset', () => {
    const host = fakeSession();
    const failing = streamIn('connecting', host);
    failing.failWith();
    expect(host.sent).toEqual([{ type: 'error', stream: 7, error: 'NetworkError', message: 'Network error' }]);
    expect(failing.state).toBe('closed');
    const disposed = streamIn('connected', host);
    disposed.dispose();
    expect(disposed.socketReleases).toEqual([true]);
    expect(host.sent).toHaveLength(1);
  });

  it('keeps the client within its send window and acknowledges what the socket took', () => {
    const host = fakeSession();
    const stream = streamIn('connected', host);
    expect(stream.take(60, 60)).toBeUndefined();
    expect(stream.take(41, 41)).toEqual({
      code: 'WINDOW_EXCEEDED',
      message: 'stream 7: data beyond the 100-byte send window (60 bytes not yet acknowledged)',
    });
    expect(stream.written(60, 60)).toBe(true);
    expect(host.acks).toEqual([60]);
    expect(host.held).toBe(0);
    expect(stream.take(100, 100)).toBeUndefined();
    expect(stream.written(100, 100, false)).toBe(true);
    expect(stream.takeAck()).toBe(0);
  });

  it('connects to exactly the addresses the policy allows, after telling the client resolved', async () => {
    const host = fakeSession(async () => [
      { address: '198.51.100.1', family: 4 },
      { address: '192.0.2.1', family: 4 },
      { address: '192.0.2.2', family: 4 },
    ]);
    const stream = streamIn('resolving', host);
    await stream.lookup('example.test');
    expect(stream.state).toBe('connecting');
    expect(host.sent).toEqual([{ type: 'resolved', stream: 7 }]);
    expect(stream.connectedTo?.map(({ address }) => address)).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('fails with the first refusal when the policy allows no address, and with HostNotFoundError when the name does not resolve', async () => {
    const refusing = fakeSession(async () => [
      { address: '198.51.100.1', family: 4 },
      { address: '198.51.100.2', family: 4 },
    ]);
    const refused = streamIn('resolving', refusing);
    await refused.lookup('example.test');
    expect(refusing.sent).toEqual([
      { type: 'error', stream: 7, error: 'SocketAccessError', message: 'Permission denied: 198.51.100.1 is refused by the test' },
    ]);
    expect(refused.connectedTo).toBeUndefined();
    const missing = fakeSession(async () => Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })));
    await streamIn('resolving', missing).lookup('missing.test');
    expect(missing.sent).toEqual([{ type: 'error', stream: 7, error: 'HostNotFoundError', message: 'Host not found' }]);
  });

  it('does nothing more for a stream that ended while its name resolved', async () => {
    let answer: (addresses: ResolvedAddress[]) => void = () => {};
    const host = fakeSession(() => new Promise((resolve) => (answer = resolve)));
    const stream = streamIn('resolving', host);
    const reaching = stream.lookup('example.test');
    stream.abort();
    answer([{ address: '192.0.2.1', family: 4 }]);
    await reaching;
    expect(host.sent).toEqual([{ type: 'closed', stream: 7 }]);
    expect(stream.connectedTo).toBeUndefined();
  });
});

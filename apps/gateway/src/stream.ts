import type { Connect, Multicast, ProtocolErrorCode, ServerMessage, SocketOptionName } from '@socketgate/protocol';
import type { SessionLookups } from './lookups.js';
import type { DestinationPolicy } from './policy.js';
import type { Socks5Proxy } from './socks.js';

/** A protocol violation by the client, reported as `protocol-error`. */
export interface Violation {
  code: ProtocolErrorCode;
  message: string;
}

/** What every stream (TCP or UDP) offers its session. */
export interface Stream {
  readonly id: number;
  readonly transport: 'tcp' | 'udp';
  readonly state: string;
  /** Bytes the gateway holds for this stream. */
  readonly bufferedBytes: number;
  addCredit(bytes: number): void;
  /** Reads or sends again after the session's send buffer drained. */
  resume(): void;
  /** A DATA frame from the client. */
  write(payload: Uint8Array): Violation | undefined;
  /** A DATAGRAM frame from the client. */
  datagram(host: string, port: number, payload: Uint8Array): Violation | undefined;
  connect(message: Connect): Violation | undefined;
  multicast(message: Multicast): Violation | undefined;
  close(): void;
  abort(): void;
  setOption(option: SocketOptionName, value: number): void;
  /** Bytes written since the last acknowledgement; taking them returns them to the window. */
  takeAck(): number;
  /** Ends the stream silently because its session is gone. */
  dispose(): void;
}

/** What a stream needs from the session that owns it. */
export interface StreamHost {
  readonly policy: DestinationPolicy;
  /** The session's name lookups: bounded in time and number, cached; every stream resolves through it. */
  readonly names: SessionLookups;
  readonly connectTimeoutMs: number;
  readonly uploadWindowBytes: number;
  readonly maxDatagramBytes: number;
  readonly udpQueueBytes: number;
  readonly udpInbound: 'replies' | 'any';
  readonly allowMulticast: boolean;
  /** The gateway-wide SOCKS5 proxy for outgoing TCP, if any. */
  readonly upstreamProxy: Socks5Proxy | undefined;
  /** Whether clients may name their own SOCKS5 proxy. */
  readonly clientProxies: boolean;
  send(message: ServerMessage): void;
  sendData(stream: number, payload: Uint8Array): void;
  sendDatagram(stream: number, host: string, port: number, payload: Uint8Array): void;
  /** Schedules this stream's written bytes to be acknowledged (coalesced per tick). */
  queueAck(stream: Stream): void;
  /** Flushes this stream's pending acknowledgement now. */
  flushAck(stream: Stream): void;
  /** False while the session's WebSocket send buffer is over its limit. */
  canSend(): boolean;
  /** Parks a stream until the WebSocket send buffer drains. */
  block(stream: Stream): void;
  /** The stream is gone; the session forgets it. */
  released(stream: Stream): void;
  /** Counts a datagram the gateway did not deliver: the client's queue was full, or a stranger sent it. */
  countDatagram(outcome: 'dropped' | 'refused'): void;
  /** Records how long a TCP connect took. */
  observeConnect(seconds: number): void;
}

export const unsupported = (stream: number, what: string): Violation => ({
  code: 'UNSUPPORTED',
  message: `stream ${stream}: ${what}`,
});

import type { ProtocolErrorCode, ServerMessage, SocketOptionName } from '@socketgate/protocol';
import type { GatewayConfig } from './config.js';
import type { SessionLookups } from './lookups.js';
import type { DestinationPolicy } from './policy.js';
import type { ResolvedAddress } from './resolve.js';
import type { Socks5Proxy } from './socks.js';
import type { TlsOutcome } from './tls-handshake.js';
import type { TrustStore } from './tls-trust.js';

/** A protocol violation by the client, reported as `protocol-error`. */
export interface Violation {
  code: ProtocolErrorCode;
  message: string;
}

/** A stream's state: TCP and UDP streams move through one table (stream-lifecycle.ts). */
export type StreamState = 'binding' | 'bound' | 'resolving' | 'connecting' | 'connected' | 'closing' | 'closed';

/**
 * What every stream (TCP or UDP) offers its session. What only one transport takes (DATA for TCP;
 * DATAGRAM, connect and multicast for UDP) is on that transport's class.
 */
export interface Stream {
  readonly id: number;
  readonly transport: 'tcp' | 'udp';
  readonly state: StreamState;
  /** Bytes the gateway holds for this stream. */
  readonly bufferedBytes: number;
  addCredit(bytes: number): void;
  /** Reads or sends again after the session's send buffer drained. */
  resume(): void;
  close(): void;
  abort(): void;
  setOption(option: SocketOptionName, value: number): void;
  /** Bytes written since the last acknowledgement; taking them returns them to the window. */
  takeAck(): number;
  /**
   * Ends the stream silently because the client did not close it: its session is gone, it idled
   * out or broke the protocol. A TCP stream resets its connection (RST), so the target never takes
   * a cut stream for a complete one.
   */
  dispose(): void;
}

/** The session's binary frames and the budgets every stream counts against (session-flow.ts). */
export interface StreamFlow {
  sendData(stream: number, payload: Uint8Array): void;
  sendDatagram(stream: number, host: string, port: number, payload: Uint8Array): void;
  /** Schedules this stream's written bytes to be acknowledged (coalesced per tick). */
  queueAck(stream: Stream): void;
  /** Flushes this stream's pending acknowledgement now. */
  flushAck(stream: Stream): void;
  /** False while the session's download buffers are at their limit. */
  canSend(): boolean;
  /** Download bytes the session may still take (may be zero or less). */
  downloadRoom(): number;
  /** Download bytes a stream queued (positive) or passed on or dropped (negative), counted against the session. */
  queueDownload(bytes: number): void;
  /** Upload bytes a stream took from the client (positive) or wrote or dropped (negative), counted against the session. */
  holdUpload(bytes: number): void;
  /** Parks a stream until the WebSocket send buffer drains. */
  block(stream: Stream): void;
}

/** What a stream needs from the session that owns it. */
export interface StreamHost {
  /** The gateway's settings in force: a reload changes them in place, for the streams' next use. */
  readonly config: Readonly<GatewayConfig>;
  /** The gateway's egress rules in force and the credential's own. */
  readonly policy: DestinationPolicy;
  /** The session's name lookups: bounded in time and number, cached; every stream resolves through it. */
  readonly names: SessionLookups;
  /** The certificates TLS streams trust. */
  readonly tlsTrust: TrustStore;
  /** Why a plaintext connection to these addresses is refused (`tls.required`), or undefined. */
  tlsRequired(host: string, addresses: readonly ResolvedAddress[], port: number): string | undefined;
  /** The gateway-wide SOCKS5 proxy for outgoing TCP, if any. */
  readonly upstreamProxy: Socks5Proxy | undefined;
  /** Whether the gateway and the credential allow multicast. */
  readonly allowMulticast: boolean;
  /** Local `address|port`s that this session's UDP sockets bound with ShareAddress, with how many share each. */
  readonly sharedPorts: Map<string, number>;
  readonly flow: StreamFlow;
  send(message: ServerMessage): void;
  /** A fault of the gateway's own in a stream's asynchronous work: the stream ends with an error, and it is logged. */
  fault(stream: Stream, error: unknown): void;
  /** The stream is gone; the session forgets it. */
  released(stream: Stream): void;
  /** Counts a datagram the gateway did not deliver: the client's queue was full, or a stranger sent it. */
  countDatagram(outcome: 'dropped' | 'refused'): void;
  /** Records how long a TCP connect took. */
  observeConnect(seconds: number): void;
  countTlsHandshake(outcome: TlsOutcome): void;
}

import type { AddressFamily, ServerMessage, SocketOptionName } from '@socketgate/protocol';
import { errnoFailure, type SocketFailure, socketFailure } from './errno-table.js';
import type { ResolvedAddress } from './resolve.js';
import type { Stream, StreamHost, StreamState, Violation } from './stream.js';

/**
 * The allowed moves of every stream, TCP and UDP alike, as Qt keeps one state machine for both
 * kinds of socket. A TCP stream starts resolving; a UDP stream starts binding and resolves only
 * when asked to connect. Only a TCP stream closes gracefully (closing).
 */
export const MOVES: Readonly<Record<StreamState, readonly StreamState[]>> = {
  binding: ['bound', 'closed'],
  bound: ['resolving', 'closed'],
  resolving: ['connecting', 'closed'],
  connecting: ['connected', 'closed'],
  connected: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** Why a destination cannot be reached: its name, or the egress policy. */
export interface Refusal {
  by: 'lookup' | 'policy';
  failure: SocketFailure;
}

/** Both ends of a connected socket, as the client is told them. */
export interface Ends {
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
}

/** How a transport reaches a destination once the policy allowed it. */
export interface Reach {
  /** Which resolved address families the socket can use (all, unless said). */
  usable?: (family: 4 | 6) => boolean;
  /** A last step before connecting (a TCP stream's own proxy); a failure ends the stream. */
  prepare?: () => Promise<SocketFailure | undefined>;
  /** Connects the real socket to the allowed addresses, in order. */
  connect(addresses: readonly ResolvedAddress[]): void;
}

/**
 * The lifecycle every stream shares, whatever its transport: one state with one table of moves,
 * the upload window and its acknowledgements, Qt's lookup → policy → connect, and the ways a
 * stream ends (abort, failure, release). TCP and UDP streams extend it with their real sockets,
 * as Qt's socket engines do under one QAbstractSocket.
 */
export abstract class StreamLifecycle implements Stream {
  readonly id: number;
  abstract readonly transport: 'tcp' | 'udp';
  protected readonly host: StreamHost;
  #state: StreamState;
  /** Upload bytes (a datagram's cost) the client sent and the gateway has not acknowledged. */
  #unacked = 0;
  /** Upload bytes written, to acknowledge with the next ACK. */
  #ackDue = 0;
  /** Upload bytes taken from the client and not yet handed to the socket. */
  #held = 0;

  constructor(host: StreamHost, id: number, initial: 'resolving' | 'binding') {
    this.host = host;
    this.id = id;
    this.#state = initial;
  }

  get state(): StreamState {
    return this.#state;
  }

  abstract readonly bufferedBytes: number;
  abstract addCredit(bytes: number): void;
  abstract resume(): void;
  abstract close(): void;
  abstract setOption(option: SocketOptionName, value: number): void;

  /** Every state change goes through here, and only the moves of the table are made. */
  protected move(to: StreamState): void {
    if (to === this.#state) return;
    if (!MOVES[this.#state].includes(to)) throw new Error(`bug: ${this.transport} stream ${this.id} state ${this.#state} -> ${to}`);
    this.#state = to;
  }

  // ---- resolve → policy → connect -----------------------------------------------------------------

  /**
   * Resolves `host` and keeps, in the resolver's order, the addresses of a usable family that the
   * egress policy allows for `port`: the stream connects to exactly those, never to the name again.
   */
  protected async allowedAddresses(
    host: string,
    port: number,
    family: AddressFamily,
    usable: (family: 4 | 6) => boolean = () => true,
  ): Promise<ResolvedAddress[] | Refusal> {
    let addresses: ResolvedAddress[];
    try {
      addresses = (await this.host.names.resolve(host, family)).filter((entry) => usable(entry.family));
    } catch (error) {
      return { by: 'lookup', failure: socketFailure(error) };
    }
    if (addresses.length === 0) return { by: 'lookup', failure: errnoFailure('ENOTFOUND', 'connect') };
    let refusal: string | undefined;
    const allowed = addresses.filter(({ address }) => {
      const verdict = this.host.policy.check(host, address, port);
      if (!verdict.allowed) refusal ??= verdict.reason;
      return verdict.allowed;
    });
    if (allowed.length > 0) return allowed;
    return { by: 'policy', failure: { error: 'SocketAccessError', message: `Permission denied: ${refusal}` } };
  }

  /**
   * Qt's lookup and connect, from resolving: the allowed addresses, then (once `prepare` agrees)
   * `resolved` to the client (Qt's hostFound), connecting, and the transport's own connect. A stream
   * that ended meanwhile does nothing more.
   */
  protected async reach(host: string, port: number, family: AddressFamily, how: Reach): Promise<void> {
    const found = await this.allowedAddresses(host, port, family, how.usable);
    if (this.#state !== 'resolving') return;
    if (!Array.isArray(found)) {
      this.fail(found.failure);
      return;
    }
    const refusal = how.prepare === undefined ? undefined : await how.prepare();
    if (this.#state !== 'resolving') return;
    if (refusal !== undefined) {
      this.fail(refusal);
      return;
    }
    this.move('connecting');
    this.host.send({ type: 'resolved', stream: this.id });
    how.connect(found);
  }

  /** The real socket is connected: the client is told both ends, its upload window and the options in force. */
  protected connected(ends: Ends, options: Partial<Record<SocketOptionName, number>>): void {
    this.move('connected');
    this.host.send({ type: 'connected', stream: this.id, window: this.host.config.uploadWindowBytes, ...ends, options });
  }

  // ---- upload window and acknowledgements ---------------------------------------------------------

  /** A DATA or DATAGRAM frame costing `cost` that would overrun the send window granted to the client. */
  protected beyondWindow(cost: number, what: 'data' | 'datagram'): Violation | undefined {
    const window = this.host.config.uploadWindowBytes;
    if (this.#unacked + cost <= window) return undefined;
    return {
      code: 'WINDOW_EXCEEDED',
      message: `stream ${this.id}: ${what} beyond the ${window}-byte send window (${this.#unacked} bytes not yet acknowledged)`,
    };
  }

  /** Takes `bytes` of upload from the client, costing `cost` of its window until acknowledged. */
  protected hold(cost: number, bytes: number): void {
    this.#unacked += cost;
    this.#held += bytes;
    this.host.flow.holdUpload(bytes);
  }

  /**
   * The socket took (or dropped) `bytes` held for the client; `acknowledge` returns their `cost`
   * to the client's window with the next ACK. False when the stream ended meanwhile (its release
   * gave every held byte back already).
   */
  protected handedOn(cost: number, bytes: number, acknowledge: boolean): boolean {
    if (this.#state === 'closed') return false;
    this.#held -= bytes;
    this.host.flow.holdUpload(-bytes);
    if (acknowledge) {
      this.#ackDue += cost;
      this.host.flow.queueAck(this);
    }
    return true;
  }

  /** Bytes written since the last acknowledgement; taking them returns them to the window. */
  takeAck(): number {
    const bytes = this.#ackDue;
    this.#ackDue = 0;
    this.#unacked -= bytes;
    return bytes;
  }

  // ---- the ends of a stream -----------------------------------------------------------------------

  /** Qt's abort: the real socket goes now, and the client is told the stream is closed. */
  abort(): void {
    if (this.#state === 'closed') return;
    this.host.send({ type: 'closed', stream: this.id });
    this.release();
  }

  /** The stream failed: the client is told Qt's error, and the stream is gone. */
  protected fail(failure: SocketFailure): void {
    if (this.#state === 'closed') return;
    const { error, message, alert } = failure;
    this.host.send({ type: 'error', stream: this.id, error, message, ...(alert === undefined ? {} : { alert }) });
    this.release();
  }

  /** The stream ends with `last` (`end` or `closed`), after the acknowledgement of every byte written. */
  protected finish(last: ServerMessage): void {
    this.host.flow.flushAck(this);
    this.host.send(last);
    this.release();
  }

  /**
   * Ends the stream silently because the client did not close it: its session is gone, it idled
   * out or broke the protocol. A TCP stream resets its connection (RST), so the target never takes
   * a cut stream for a complete one.
   */
  dispose(): void {
    this.release(true);
  }

  /** Closes the real socket (with a reset where the transport has one) and forgets the stream, without telling the client. */
  protected release(reset = false): void {
    if (this.#state === 'closed') return;
    this.move('closed');
    this.releaseSocket(reset);
    this.host.flow.holdUpload(-this.#held);
    this.#held = 0;
    this.host.released(this);
  }

  /** Lets go of the real socket and what the transport holds for it; `reset` asks for an RST. */
  protected abstract releaseSocket(reset: boolean): void;
}

import { type ClientMessage, decodeFrame, type ProtocolErrorCode, parseClientMessage } from '@socketgate/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { Principal } from './auth.js';
import type { GatewayMetrics } from './metrics.js';
import type { SessionLimits } from './session-limits.js';
import type { Stream, StreamHost, Violation } from './stream.js';
import type { StreamAudit } from './stream-audit.js';
import { TcpStream } from './tcp-stream.js';
import { UdpStream } from './udp-stream.js';

/** Why a TCP stream does not take a message for UDP streams. */
const UDP_ONLY = {
  connect: 'connect is for bound UDP streams; a TCP stream connects with open',
  multicast: 'multicast is for UDP streams only',
} as const;

const byteLength = (pieces: readonly Uint8Array[]): number => pieces.reduce((sum, piece) => sum + piece.byteLength, 0);

/** A message for the other transport: each stream takes only what its own transport has. */
const unsupported = (stream: number, what: string): Violation => ({ code: 'UNSUPPORTED', message: `stream ${stream}: ${what}` });

/** What dispatch needs of its session: the host of the streams it opens, and the session's limits and record. */
export interface DispatchingSession extends StreamHost {
  readonly log: FastifyBaseLogger;
  readonly principal: Principal | undefined;
  readonly limits: SessionLimits;
  readonly audit: StreamAudit;
}

/**
 * The messages of a welcomed session, to its streams: control messages (JSON text frames, each
 * through its schema) and binary frames, each for the live stream it names, strictly in arrival
 * order (nothing here awaits between two messages). It opens new streams within the session's
 * limits, and answers what is wrong with a `protocol-error` that ends the stream it names only.
 */
export class Dispatcher {
  readonly #session: DispatchingSession;
  readonly #metrics: GatewayMetrics;
  readonly #streams = new Map<number, TcpStream | UdpStream>();
  #lastStreamId = -1;

  constructor(session: DispatchingSession, metrics: GatewayMetrics) {
    this.#session = session;
    this.#metrics = metrics;
  }

  get streams(): ReadonlyMap<number, Stream> {
    return this.#streams;
  }

  /**
   * One message of the client, after `welcome`: a text message as one Buffer, a binary one as the
   * fragments it arrived in (the WebSocket's binaryType is `fragments`; most arrive whole, as one).
   */
  receive(data: Buffer | readonly Buffer[], isBinary: boolean): void {
    if (isBinary) {
      this.#onFrame(Array.isArray(data) ? data : [data as Buffer]);
      return;
    }
    data = data as Buffer;
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      // A bad message naming a stream id never used (a malformed open, say) still answers for that
      // id, so that no client waits on it; the id is spent.
      const fresh = parsed.stream !== undefined && parsed.stream > this.#lastStreamId;
      if (fresh) this.#lastStreamId = parsed.stream as number;
      this.#protocolError(parsed.code, parsed.message, parsed.stream, fresh);
      return;
    }
    const tooMany = this.#session.limits.overControlRate();
    if (tooMany !== undefined) {
      // A dropped message must not leave a socket waiting: an open is answered with an error, and a
      // message for a live stream ends that stream.
      const message = parsed.value;
      if ((message.type === 'open' || message.type === 'bind') && message.stream > this.#lastStreamId) {
        this.#lastStreamId = message.stream;
        this.#session.send({
          type: 'error',
          stream: message.stream,
          error: 'SocketResourceError',
          message: `Out of resources: ${tooMany}`,
        });
        return;
      }
      this.#protocolError('RATE_LIMITED', `${tooMany}; message dropped`, 'stream' in message ? message.stream : undefined);
      return;
    }
    this.#onControl(parsed.value);
  }

  /**
   * One binary message, in the fragments it arrived in. A DATA frame's payload stays in them: its
   * header is in the first, and each fragment is written to the target as it is. Browsers send
   * large messages in pieces (Chromium in fragments of up to about 128 KiB), and joining them cost
   * a copy and a fresh buffer per message, the garbage that drove V8 into full collections. Any
   * other frame is small, and is joined when it came in pieces.
   */
  #onFrame(fragments: readonly Buffer[]): void {
    const [first = Buffer.alloc(0), ...rest] = fragments;
    let decoded = decodeFrame(first);
    // Kept in pieces: a DATA frame whose header came whole in the first fragment.
    const inPieces = rest.length > 0 && decoded.ok && decoded.value.kind === 'data';
    if (rest.length > 0 && !inPieces) decoded = decodeFrame(Buffer.concat(fragments));
    if (!decoded.ok) {
      this.#protocolError(decoded.code, decoded.message, decoded.stream);
      return;
    }
    const frame = decoded.value;
    const pieces = inPieces && frame.kind === 'data' ? [frame.payload, ...rest] : undefined;
    const payloadBytes =
      frame.kind === 'datagram' ? frame.payload.byteLength : frame.kind === 'data' ? byteLength(pieces ?? [frame.payload]) : 0;
    this.#session.audit.touch(frame.stream, payloadBytes);
    switch (frame.kind) {
      case 'data': {
        this.#metrics.moved('up', 'tcp', payloadBytes);
        const stream = this.#stream(frame.stream, 'data');
        const problem =
          stream?.transport === 'udp'
            ? unsupported(stream.id, 'a UDP stream takes DATAGRAM frames, not DATA')
            : stream?.write(pieces ?? frame.payload);
        if (problem !== undefined) this.#protocolError(problem.code, problem.message, frame.stream);
        return;
      }
      case 'datagram': {
        this.#metrics.moved('up', 'udp', frame.payload.byteLength);
        const stream = this.#stream(frame.stream, 'datagram');
        const problem =
          stream?.transport === 'tcp'
            ? unsupported(stream.id, 'datagrams travel on UDP streams only')
            : stream?.datagram(frame.host, frame.port, frame.payload);
        if (problem !== undefined) this.#protocolError(problem.code, problem.message, frame.stream);
        return;
      }
      case 'credit':
        this.#stream(frame.stream, 'credit')?.addCredit(frame.bytes);
        return;
      case 'ack':
        this.#protocolError('BAD_FRAME', 'ack frames travel from the gateway to the client only');
        return;
    }
  }

  #onControl(message: ClientMessage): void {
    switch (message.type) {
      case 'hello':
        this.#protocolError('BAD_MESSAGE', 'type: this session already said hello');
        return;
      case 'open':
      case 'bind':
        // TLS is for TCP: a UDP stream asking for it is refused, never opened in plaintext.
        if (message.type === 'open' && message.tls !== undefined && message.transport !== 'tcp') {
          this.#protocolError('UNSUPPORTED', 'tls: TLS is for TCP streams only', message.stream, message.stream > this.#lastStreamId);
          return;
        }
        this.#open(message);
        return;
      case 'start-tls':
      case 'tls-verdict': {
        const stream = this.#stream(message.stream, message.type);
        const problem =
          stream?.transport === 'udp'
            ? unsupported(stream.id, 'TLS is for TCP streams only')
            : message.type === 'start-tls'
              ? stream?.startTls(message.tls)
              : stream?.verdict(message.proceed);
        if (problem !== undefined) this.#protocolError(problem.code, problem.message, message.stream);
        return;
      }
      case 'connect':
      case 'multicast': {
        const stream = this.#stream(message.stream, message.type);
        const problem =
          stream?.transport === 'tcp'
            ? unsupported(stream.id, UDP_ONLY[message.type])
            : message.type === 'connect'
              ? stream?.connect(message)
              : stream?.multicast(message);
        if (problem !== undefined) this.#protocolError(problem.code, problem.message, message.stream);
        return;
      }
      case 'close':
        this.#stream(message.stream, 'close')?.close();
        return;
      case 'abort':
        this.#stream(message.stream, 'abort')?.abort();
        return;
      case 'set-option':
        this.#stream(message.stream, 'set-option')?.setOption(message.option, message.value);
        return;
    }
  }

  #open(message: ClientMessage & { type: 'open' | 'bind' }): void {
    const session = this.#session;
    if (message.stream <= this.#lastStreamId) {
      this.#protocolError(
        'STREAM_ID_REUSED',
        `stream: ${message.stream} is not above ${this.#lastStreamId}, the last stream id this session used`,
      );
      return;
    }
    this.#lastStreamId = message.stream;
    const transport = message.type === 'bind' ? 'udp' : message.transport;
    const refusal = session.limits.refuseStream(transport);
    if (refusal !== undefined) {
      session.send({ type: 'error', stream: message.stream, error: refusal.error, message: refusal.message });
      return;
    }
    const host = message.type === 'open' ? message.host : message.address;
    session.audit.opened({ stream: message.stream, transport, host, port: message.port, kind: message.type }, session.principal?.subject);
    const stream =
      message.type === 'open' && message.transport === 'tcp' ? new TcpStream(session, message) : new UdpStream(session, message);
    // A stream that failed at once (a bind refused, say) has already been released: it is not kept.
    if (stream.state !== 'closed') this.#streams.set(message.stream, stream);
  }

  /**
   * The live stream with this id. A message for a stream that has already ended crossed our end
   * on the wire and is dropped; a stream id that was never opened is a protocol error.
   */
  #stream(id: number, what: string): TcpStream | UdpStream | undefined {
    const stream = this.#streams.get(id);
    if (stream !== undefined || id <= this.#lastStreamId) return stream;
    this.#protocolError('UNKNOWN_STREAM', `${what}: stream ${id} was never opened`);
    return undefined;
  }

  /** Reports a bad message; a fault that names a live stream ends that stream only. */
  #protocolError(code: ProtocolErrorCode, message: string, streamId?: number, fresh = false): void {
    if (!this.#session.limits.takeProtocolError()) return;
    const stream = streamId === undefined ? undefined : this.#streams.get(streamId);
    this.#session.log.debug({ code, stream: streamId }, `protocol error: ${message}`);
    const named = stream?.id ?? (fresh ? streamId : undefined);
    this.#session.send(
      named === undefined ? { type: 'protocol-error', code, message } : { type: 'protocol-error', stream: named, code, message },
    );
    stream?.dispose();
  }

  /** The stream is gone: messages for it are dropped from now on. */
  forget(stream: Stream): void {
    this.#streams.delete(stream.id);
  }

  /** The session is gone: every stream ends without a word (a TCP stream with a reset). */
  disposeAll(): void {
    for (const stream of [...this.#streams.values()]) stream.dispose();
    this.#streams.clear();
  }
}

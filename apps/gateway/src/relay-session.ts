import { randomUUID } from 'node:crypto';
import { type Allocate, datagramCost, type ServerMessage } from '@socketgate/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Principal } from './auth.js';
import { closeWebSocket } from './close-reason.js';
import type { GatewayConfig } from './config.js';
import type { SocketFailure } from './errno-table.js';
import { Handshake } from './handshake.js';
import type { SessionLookups } from './lookups.js';
import { bothPolicies, type DestinationPolicy, matchingRule } from './policy.js';
import type { ResolvedAddress } from './resolve.js';
import type { GatewayRuntime, GatewaySession } from './runtime.js';
import { type FrameCodec, SessionFlow } from './session-flow.js';
import { SessionLimits } from './session-limits.js';
import type { Socks5Proxy } from './socks.js';
import type { Stream, StreamHost } from './stream.js';
import { StreamAudit } from './stream-audit.js';
import { TcpStream } from './tcp-stream.js';
import type { TlsOutcome } from './tls-handshake.js';
import type { TrustStore } from './tls-trust.js';
import { UdpStream } from './udp-stream.js';

/**
 * Download credit a relayed stream starts with. Wisp and websockify grant none, so what bounds a
 * stream's download is the session's send buffer (`sessionBufferBytes`), as for native sessions.
 */
const UNBOUNDED_CREDIT = Number.MAX_SAFE_INTEGER;

/** A stream's upload as the relay holds it: bytes the client sent that the stream has not taken yet. */
interface Upload {
  chunks: Uint8Array[];
  /** Bytes in `chunks`. */
  queued: number;
  /** Bytes (a datagram's cost) handed to the stream and not yet acknowledged: at most its window. */
  inFlight: number;
  /** The client closed the stream: it hears nothing more of it. */
  clientClosed: boolean;
  /** Close gracefully once every queued byte is written (a TCP stream). */
  closing: boolean;
  closeSent: boolean;
}

export type RelayStream = TcpStream | UdpStream;

/**
 * A session of a front door that speaks another protocol than socketgate's (Wisp, websockify):
 * the same streams (tcp-stream.ts, udp-stream.ts), egress policy, name lookups, credentials
 * (handshake.ts), limits (session-limits.ts), budgets (session-flow.ts), audit lines and metrics as
 * a native session, with a framing of its own. A subclass turns its protocol's packets into calls
 * of `openStream`, `upload` and `closeStream`, and the streams' messages (`deliver`) into its
 * protocol's packets.
 *
 *   client --packets--> subclass.receive --> openStream / upload / closeStream --> streams
 *   streams --ServerMessage--> send --> subclass.deliver --> packets --> client
 *   streams --DATA/DATAGRAM/ACK--> SessionFlow with the subclass's frames --> client
 *
 * Upload: the client's bytes wait here until the stream is connected and has room in its window
 * (`uploadWindowBytes`); what waits counts against `sessionUploadBytes`, past which the WebSocket is
 * not read, so a client that sends without bound is pushed back by TCP. Download: the session's
 * send buffer bounds every stream, past `sessionBufferBytes` they stop reading their sockets.
 */
export abstract class RelaySession implements StreamHost, GatewaySession {
  readonly id = randomUUID();
  protected readonly ws: WebSocket;
  protected readonly runtime: GatewayRuntime;
  readonly log: FastifyBaseLogger;
  readonly address: string;
  readonly sharedPorts = new Map<string, number>();
  readonly names: SessionLookups;
  readonly audit: StreamAudit;
  readonly flow: SessionFlow;
  readonly limits: SessionLimits;
  protected readonly handshake: Handshake;
  readonly #streams = new Map<number, RelayStream>();
  readonly #uploads = new Map<number, Upload>();
  #disposed = false;
  #alive = true;
  #lastMessageAt = Date.now();
  /** Whether a credential was handed to the handshake (messages then wait for its verdict). */
  #presented = false;
  /** After the client's close, until its streams have written what they hold. */
  #lingerTimer: NodeJS.Timeout | undefined;
  #closedCode: number | undefined;
  /** The session is over: its places in the limits are given back. */
  #over = false;

  constructor(ws: WebSocket, runtime: GatewayRuntime, address: string, kind: 'wisp' | 'websockify') {
    this.ws = ws;
    this.runtime = runtime;
    this.address = address;
    this.names = runtime.lookups.session();
    this.log = runtime.log.child({ session: this.id, client: address, endpoint: kind });
    this.audit = new StreamAudit(this.log);
    const frames: FrameCodec = {
      data: (stream, payload, allocate) => this.dataFrame(stream, payload, allocate),
      datagram: (stream, _host, _port, payload) => this.dataFrame(stream, payload),
      ack: (stream, bytes) => this.#acknowledged(stream, bytes),
    };
    this.flow = new SessionFlow(
      ws,
      runtime.config,
      runtime.metrics,
      this.audit,
      () => {
        this.#alive = true;
      },
      frames,
    );
    this.limits = new SessionLimits(runtime, this);
    this.handshake = new Handshake(runtime, this, {
      guarded: (handle) => this.guarded(handle),
      welcomed: (early) => this.#welcomed(early),
    });
    runtime.sessions.add(this);
    this.handshake.start();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.guarded(() => this.#onMessage(data, isBinary)));
    ws.on('close', (code: number) => this.#onClosed(code));
    ws.on('error', (error: Error) => this.log.debug({ err: error }, 'websocket error'));
    ws.on('pong', () => {
      this.#alive = true;
    });
  }

  // ---- what a subclass supplies ----------------------------------------------------------------------

  /** A message of the client before its credential was presented (Wisp v2's INFO). */
  protected abstract greet(data: Buffer, isBinary: boolean): void;
  /** A message of the client once the session is welcomed. */
  protected abstract receive(data: Buffer, isBinary: boolean): void;
  /** The credential was accepted: the session may go on. */
  protected abstract welcomed(): void;
  /** A stream's message (connected, end, error, …) in the subclass's protocol, if it has a word for it. */
  protected abstract deliver(message: ServerMessage, stream: RelayStream | undefined): void;
  /** The frame that carries `payload` of `stream` to the client. */
  protected abstract dataFrame(stream: number, payload: Uint8Array, allocate?: Allocate): Uint8Array;
  /** What tells the client that `bytes` more of `stream` were written (Wisp's CONTINUE), if anything. */
  protected written(_stream: RelayStream, _bytes: number): Uint8Array | undefined {
    return undefined;
  }
  /** The stream is gone. */
  protected forgotten(_id: number): void {}
  /** A last word before the WebSocket closes with `code`. */
  protected beforeClose(_code: number): void {}
  /** Whether the client's WebSocket close with `code` lets open streams write what they hold first. */
  protected lingersOnClose(_code: number): boolean {
    return false;
  }

  // ---- what a subclass uses --------------------------------------------------------------------------

  /** Hands the client's credential to the handshake; the session is welcomed once it is accepted. */
  protected presentCredential(token: string): void {
    this.#presented = true;
    this.handshake.present(token);
  }

  protected stream(id: number): RelayStream | undefined {
    return this.#streams.get(id);
  }

  /** Whether the client closed this stream itself (it is then told nothing more about it). */
  protected closedByClient(id: number): boolean {
    return this.#uploads.get(id)?.clientClosed === true;
  }

  /**
   * Opens a stream within the session's limits and the credential's transports, as a native `open`
   * does; the egress policy is the stream's own first step. Answers why it may not open instead.
   */
  protected openStream(id: number, transport: 'tcp' | 'udp', host: string, port: number): SocketFailure | undefined {
    const refusal = this.limits.refuseStream(transport);
    if (refusal !== undefined) {
      this.audit.opened({ stream: id, transport, host, port, kind: 'open' }, this.principal?.subject);
      this.send({ type: 'error', stream: id, error: refusal.error, message: refusal.message });
      this.audit.ended(id, this.principal?.subject, false);
      return refusal;
    }
    this.audit.opened({ stream: id, transport, host, port, kind: 'open' }, this.principal?.subject);
    this.#uploads.set(id, { chunks: [], queued: 0, inFlight: 0, clientClosed: false, closing: false, closeSent: false });
    const request = { type: 'open', stream: id, transport, host, port, window: UNBOUNDED_CREDIT } as const;
    const stream = transport === 'tcp' ? new TcpStream(this, request) : new UdpStream(this, request);
    if (stream.state !== 'closed') this.#streams.set(id, stream);
    return undefined;
  }

  /** Bytes the client sent on a stream: written in order within its window; a UDP payload is one datagram. */
  protected upload(id: number, payload: Uint8Array): void {
    const stream = this.#streams.get(id);
    const upload = this.#uploads.get(id);
    if (stream === undefined || upload === undefined || upload.clientClosed) return;
    this.audit.touch(id, payload.byteLength);
    this.runtime.metrics.moved('up', stream.transport, payload.byteLength);
    if (stream.transport === 'udp') {
      // A datagram that cannot wait (the socket is not connected yet, or its window is full) is
      // dropped beyond udpQueueBytes, as a network drops it.
      if (upload.queued + payload.byteLength > this.config.udpQueueBytes) return;
    }
    if (payload.byteLength === 0 && stream.transport === 'tcp') return;
    upload.chunks.push(payload);
    upload.queued += payload.byteLength;
    this.flow.holdUpload(payload.byteLength);
    this.#pump(stream);
  }

  /** The client closed a stream: gracefully (what it sent is written, then a FIN) or at once. */
  protected closeStream(id: number, graceful: boolean): void {
    const stream = this.#streams.get(id);
    const upload = this.#uploads.get(id);
    if (stream === undefined || upload === undefined || upload.clientClosed) return;
    upload.clientClosed = true;
    if (graceful && stream.transport === 'tcp') {
      upload.closing = true;
      this.#pump(stream);
    } else {
      stream.abort();
    }
  }

  /** Moves what waits into the stream, as far as its window lets it. */
  #pump(stream: RelayStream): void {
    const upload = this.#uploads.get(stream.id);
    if (upload === undefined || stream.state !== 'connected') return;
    const window = this.config.uploadWindowBytes;
    while (upload.chunks.length > 0) {
      const head = upload.chunks[0] as Uint8Array;
      let piece = head;
      if (stream.transport === 'udp') {
        const cost = datagramCost(head.byteLength);
        if (upload.inFlight + cost > window) break;
        upload.chunks.shift();
        upload.inFlight += cost;
        stream.datagram('', 0, head);
      } else {
        const room = window - upload.inFlight;
        if (room <= 0) break;
        if (head.byteLength <= room) upload.chunks.shift();
        else {
          piece = head.subarray(0, room);
          upload.chunks[0] = head.subarray(room);
        }
        upload.inFlight += piece.byteLength;
        const problem = stream.write(piece);
        if (problem !== undefined) {
          // The relay keeps to the stream's rules, so this is the gateway's own fault.
          this.fault(stream, new Error(problem.message));
          return;
        }
      }
      upload.queued -= piece.byteLength;
      // After the stream took its share, so the session's budget never dips below what is held.
      this.flow.holdUpload(-piece.byteLength);
    }
    if (upload.closing && !upload.closeSent && upload.chunks.length === 0 && stream.transport === 'tcp') {
      upload.closeSent = true;
      stream.close();
    }
  }

  /** The stream wrote `bytes` to its target: its window has that much more room. */
  #acknowledged(stream: Stream, bytes: number): Uint8Array | undefined {
    const relayed = this.#streams.get(stream.id);
    const upload = this.#uploads.get(stream.id);
    if (relayed === undefined || upload === undefined) return undefined;
    upload.inFlight -= bytes;
    const frame = this.written(relayed, bytes);
    this.#pump(relayed);
    return frame;
  }

  // ---- the session's life -----------------------------------------------------------------------------

  protected guarded(handle: () => void): void {
    try {
      handle();
    } catch (error) {
      this.log.error({ err: error }, 'internal error while handling a message; the session is closed');
      this.close(4500, 'internal error');
    }
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#disposed) return;
    this.#lastMessageAt = Date.now();
    this.#alive = true;
    if (this.handshake.authenticated) this.receive(data, isBinary);
    else if (this.#presented) this.handshake.receive(data, isBinary);
    else this.greet(data, isBinary);
  }

  #welcomed(early: ReadonlyArray<readonly [Buffer, boolean]>): void {
    this.limits.watchIdle();
    this.welcomed();
    for (const [data, isBinary] of early) this.#onMessage(data, isBinary);
  }

  heartbeat(): void {
    if (this.ws.readyState !== this.ws.OPEN || this.flow.uploadPaused) return;
    if (!this.#alive) {
      this.runtime.metrics.cuts.inc({ reason: 'ping' });
      this.ws.terminate();
      return;
    }
    this.#alive = false;
    try {
      this.ws.ping();
    } catch {
      this.ws.terminate();
    }
  }

  /** Neither Wisp nor websockify can tell a client the gateway is going away: its streams just get the grace to finish. */
  goAway(_graceMs: number): void {}

  close(code: number, reason: string): void {
    if (!this.#disposed && this.ws.readyState === this.ws.OPEN) this.beforeClose(code);
    closeWebSocket(this.ws, code, reason, this.config.closeTimeoutMs, () => this.runtime.metrics.cuts.inc({ reason: 'close' }));
    this.#dispose();
  }

  #onClosed(code: number): void {
    this.log.debug({ code }, 'session closed');
    this.#closedCode = code;
    if (!this.#disposed && this.#streams.size > 0 && this.lingersOnClose(code)) {
      // The client is done sending: what it sent is written before each connection ends, within
      // drainGraceMs; the last stream released ends the session.
      this.#lingerTimer = setTimeout(() => this.#ended(), this.config.drainGraceMs);
      this.#lingerTimer.unref();
      for (const id of [...this.#streams.keys()]) this.closeStream(id, true);
      return;
    }
    this.#ended();
  }

  #ended(): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#lingerTimer);
    this.#dispose();
    this.handshake.stop();
    this.runtime.store.release(this.id);
    this.runtime.sessions.delete(this);
  }

  #dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.handshake.stop();
    this.limits.stop();
    this.flow.stop();
    for (const stream of [...this.#streams.values()]) stream.dispose();
    this.#streams.clear();
    this.#uploads.clear();
    this.audit.clear();
    this.names.dispose();
    this.flow.release();
  }

  // ---- StreamHost ----------------------------------------------------------------------------------

  get config(): GatewayConfig {
    return this.runtime.config;
  }
  get policy(): DestinationPolicy {
    return bothPolicies(this.runtime.policy, this.principal?.policy);
  }
  get principal(): Principal | undefined {
    return this.handshake.principal;
  }
  get tlsTrust(): TrustStore {
    return this.runtime.tls.trust;
  }
  tlsRequired(host: string, addresses: readonly ResolvedAddress[], port: number): string | undefined {
    for (const { address } of addresses) {
      const rule = matchingRule(this.runtime.tls.required, host, address, port);
      if (rule !== undefined) return `the gateway reaches ${host} port ${port} only through TLS (its tls.required rule ${rule.text})`;
    }
    return undefined;
  }
  get upstreamProxy(): Socks5Proxy | undefined {
    return this.runtime.upstreamProxy;
  }
  /** Wisp and websockify have no multicast. */
  get allowMulticast(): boolean {
    return false;
  }
  get disposed(): boolean {
    return this.#disposed;
  }
  get lastMessageAt(): number {
    return this.#lastMessageAt;
  }
  lastActive(stream: number): number | undefined {
    return this.audit.lastActive(stream);
  }
  get streams(): ReadonlyMap<number, Stream> {
    return this.#streams;
  }
  get bufferedBytes(): number {
    let total = this.ws.bufferedAmount;
    for (const stream of this.#streams.values()) total += stream.bufferedBytes;
    for (const upload of this.#uploads.values()) total += upload.queued;
    return total;
  }

  send(message: ServerMessage): void {
    this.audit.note(message);
    if (message.type === 'error' || message.type === 'datagram-error') {
      this.runtime.metrics.errors.inc({ error: message.error });
      if (message.error === 'SocketAccessError') this.runtime.metrics.refusals.inc();
    }
    const stream = 'stream' in message && message.stream !== undefined ? this.#streams.get(message.stream) : undefined;
    if (this.ws.readyState === this.ws.OPEN) this.deliver(message, stream);
    if (message.type === 'connected' && stream !== undefined) this.#pump(stream);
  }

  fault(stream: Stream, error: unknown): void {
    this.log.error({ err: error, stream: stream.id }, 'internal error in a stream; the stream is ended');
    if (!this.#streams.has(stream.id)) return;
    this.send({ type: 'error', stream: stream.id, error: 'UnknownSocketError', message: 'Unknown error: the gateway failed internally' });
    stream.dispose();
  }

  released(stream: Stream): void {
    this.audit.ended(stream.id, this.principal?.subject, this.#disposed);
    this.#streams.delete(stream.id);
    const upload = this.#uploads.get(stream.id);
    if (upload !== undefined) {
      this.flow.holdUpload(-upload.queued);
      this.#uploads.delete(stream.id);
    }
    this.flow.forget(stream);
    this.forgotten(stream.id);
    if (this.#closedCode !== undefined && this.#streams.size === 0 && !this.#disposed) this.#ended();
  }

  countDatagram(outcome: 'dropped' | 'refused'): void {
    this.runtime.datagrams[outcome]++;
    this.runtime.metrics.datagramDrops.inc({ reason: outcome === 'dropped' ? 'queue' : 'stranger' });
  }
  countTlsHandshake(outcome: TlsOutcome): void {
    this.runtime.metrics.tlsHandshakes.inc({ outcome });
  }
  observeConnect(seconds: number): void {
    this.runtime.metrics.connectSeconds.observe(seconds);
  }
}

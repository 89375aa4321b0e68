import { randomUUID } from 'node:crypto';
import {
  type ClientMessage,
  CloseCode,
  decodeFrame,
  encodeAck,
  encodeData,
  encodeDatagram,
  PROTOCOL_VERSION,
  type ProtocolErrorCode,
  parseClientMessage,
  type ServerMessage,
  serializeMessage,
} from '@socketgate/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { AuthError, type Principal } from './auth.js';
import { closeWebSocket } from './close-reason.js';
import { GW_ERR_STORE_UNAVAILABLE } from './errors.js';
import { allocateFrame, releaseFrame } from './frame-pool.js';
import type { SessionLookups } from './lookups.js';
import { bothPolicies, type DestinationPolicy } from './policy.js';
import type { GatewayRuntime, LiveSession } from './runtime.js';
import type { Socks5Proxy } from './socks.js';
import type { Stream, StreamHost, Violation } from './stream.js';
import { TcpStream } from './tcp-stream.js';
import { UdpStream } from './udp-stream.js';

/** A token bucket: `rate` per second, bursts of twice that. */
class Bucket {
  #tokens: number;
  #at = Date.now();
  readonly #rate: number;

  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate * 2;
  }

  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.#rate * 2, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** What the gateway keeps of a stream for idle timeouts and its audit line. */
interface StreamRecord {
  transport: 'tcp' | 'udp';
  /** The host asked for (a bound UDP stream: its local address). */
  host: string;
  port: number;
  openedAt: number;
  lastActive: number;
  /** Payload bytes from the client, and to it. */
  up: number;
  down: number;
  /** The address reached (or bound). */
  peer?: string;
  /** How it ended, from the first terminal message the client was sent. */
  outcome?: string;
}

/** Why a TCP stream does not take a message for UDP streams. */
const UDP_ONLY = {
  connect: 'connect is for bound UDP streams; a TCP stream connects with open',
  multicast: 'multicast is for UDP streams only',
} as const;

/** A message for the other transport: each stream takes only what its own transport has. */
const unsupported = (stream: number, what: string): Violation => ({ code: 'UNSUPPORTED', message: `stream ${stream}: ${what}` });

/** Messages a client may send while its credential is being checked, before `welcome`. */
const MAX_EARLY_MESSAGES = 64;

/**
 * One client WebSocket: the `hello` handshake, then many streams multiplexed on it.
 *
 *   client                         gateway
 *     | ---- hello {token} ---------> |   (within helloTimeoutMs, else close 4408)
 *     | <--- welcome ---------------- |   (bad token: close 4401)
 *     | ---- open / close / ... ----> |   JSON text frames
 *     | <--> DATA / CREDIT / ACK <--> |   binary frames
 *
 * Messages are handled strictly in arrival order: nothing here awaits between two messages; a
 * stream's own asynchronous work (lookup, connect) checks its state when it resumes.
 */
export class Session implements StreamHost {
  readonly id = randomUUID();
  readonly #ws: WebSocket;
  readonly #runtime: GatewayRuntime;
  readonly log: FastifyBaseLogger;
  #authenticated = false;
  #helloTimer: NodeJS.Timeout | undefined;
  readonly #streams = new Map<number, TcpStream | UdpStream>();
  #lastStreamId = -1;
  readonly #ackQueue = new Set<Stream>();
  #ackImmediate: NodeJS.Immediate | undefined;
  readonly #blocked = new Set<Stream>();
  readonly #onSent = (): void => this.#unblock();
  /** The client's address, for the per-address limit. */
  readonly address: string;
  #principal: Principal | undefined;
  /** Messages that arrived while the credential was being checked, handled in order after it. */
  #early: Array<[Buffer, boolean]> | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #lastMessageAt = Date.now();
  /** Per stream id: its last traffic (for idle timeouts) and what the audit log says when it ends. */
  readonly #records = new Map<number, StreamRecord>();
  readonly #opens: Bucket;
  readonly #controls: Bucket;
  readonly #errors: Bucket;
  #disposed = false;
  /** Whether the client was heard from (a pong or any message) since the last ping. */
  #alive = true;
  /** Upload bytes the gateway holds for this session: received from the client, not yet written to a target. */
  #uploadHeld = 0;
  #uploadPaused = false;
  /** Download bytes held in stream queues (UDP datagrams, a TCP chunk beyond credit), besides the WebSocket's buffer. */
  #downloadQueued = 0;
  readonly sharedPorts = new Map<string, number>();
  /** This session's name lookups, capped; what is pending fails when the session closes. */
  readonly names: SessionLookups;

  constructor(ws: WebSocket, runtime: GatewayRuntime, address: string) {
    this.#ws = ws;
    this.#runtime = runtime;
    this.address = address;
    this.#opens = new Bucket(runtime.config.maxOpensPerSecond);
    this.#controls = new Bucket(runtime.config.maxControlMessagesPerSecond);
    this.#errors = new Bucket(runtime.config.maxProtocolErrorsPerSecond);
    this.names = runtime.lookups.session();
    this.log = runtime.log.child({ session: this.id, client: address });
    runtime.sessions.add(this);
    this.#awaitHello(address);
    this.#helloTimer = setTimeout(
      () => this.#closeSession(CloseCode.HELLO_TIMEOUT, `no hello within ${runtime.config.helloTimeoutMs} ms`),
      runtime.config.helloTimeoutMs,
    );
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      try {
        this.#onMessage(data, isBinary);
      } catch (error) {
        this.#internalError(error);
      }
    });
    ws.on('close', (code: number) => this.#onClosed(code));
    ws.on('error', (error: Error) => this.log.debug({ err: error }, 'websocket error'));
    ws.on('pong', () => {
      this.#alive = true;
    });
  }

  /**
   * Counts this session among its address's sessions that have not said hello. Past the limit the
   * oldest of them is closed, so that sockets that never say hello cannot lock a real client of the
   * same address out.
   */
  #awaitHello(address: string): void {
    let waiting = this.#runtime.pendingPerAddress.get(address);
    if (waiting === undefined) {
      waiting = new Set();
      this.#runtime.pendingPerAddress.set(address, waiting);
    }
    waiting.add(this);
    if (waiting.size > this.#runtime.config.maxPendingSessionsPerAddress) {
      const oldest = waiting.values().next().value as LiveSession;
      this.#runtime.metrics.cuts.inc({ reason: 'pending' });
      oldest.close(CloseCode.TOO_MANY_SESSIONS, 'too many sessions from this address are waiting to say hello');
    }
  }

  #saidHello(): void {
    const waiting = this.#runtime.pendingPerAddress.get(this.address);
    if (waiting?.delete(this) && waiting.size === 0) this.#runtime.pendingPerAddress.delete(this.address);
  }

  /**
   * Runs a handler of client input. A fault in the gateway's own code while handling one session's
   * input ends that session (4500) and is logged; it never reaches the process.
   */
  #guarded(handle: () => void): void {
    try {
      handle();
    } catch (error) {
      this.#internalError(error);
    }
  }

  #internalError(error: unknown): void {
    this.log.error({ err: error }, 'internal error while handling a message; the session is closed');
    this.#closeSession(CloseCode.INTERNAL_ERROR, 'internal error');
  }

  /**
   * Called by the gateway every ping interval: a session that answered nothing since the last ping
   * (no pong, no message) is gone and is terminated; otherwise it is pinged again. A session whose
   * reading the gateway paused cannot be heard, and is not judged.
   */
  heartbeat(): void {
    if (this.#ws.readyState !== this.#ws.OPEN || this.#uploadPaused) return;
    if (!this.#alive) {
      this.log.debug('no pong within the ping interval; the connection is terminated');
      this.#runtime.metrics.cuts.inc({ reason: 'ping' });
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    try {
      this.#ws.ping();
    } catch {
      this.#ws.terminate();
    }
  }

  // ---- StreamHost ---------------------------------------------------------------------------------
  /** The gateway's rules in force (they may be reloaded) and the credential's own. */
  get policy(): DestinationPolicy {
    return bothPolicies(this.#runtime.policy, this.#principal?.policy);
  }
  /** Who the session belongs to, once its hello was accepted. */
  get principal(): Principal | undefined {
    return this.#principal;
  }
  get connectTimeoutMs(): number {
    return this.#runtime.config.connectTimeoutMs;
  }
  get uploadWindowBytes(): number {
    return this.#runtime.config.uploadWindowBytes;
  }
  get maxDatagramBytes(): number {
    return this.#runtime.config.maxDatagramBytes;
  }
  get udpQueueBytes(): number {
    return this.#runtime.config.udpQueueBytes;
  }
  get udpInbound(): 'replies' | 'any' {
    return this.#runtime.config.udpInbound;
  }
  get upstreamProxy(): Socks5Proxy | undefined {
    return this.#runtime.upstreamProxy;
  }
  get clientProxies(): boolean {
    return this.#runtime.config.clientProxies;
  }
  get allowMulticast(): boolean {
    return this.#runtime.config.allowMulticast && this.#principal?.multicast !== false;
  }

  send(message: ServerMessage): void {
    if ('stream' in message && message.stream !== undefined) this.#note(message.stream, message);
    if (message.type === 'error' || message.type === 'datagram-error') {
      this.#runtime.metrics.errors.inc({ error: message.error });
      if (message.error === 'SocketAccessError') this.#runtime.metrics.refusals.inc();
    }
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(serializeMessage(message));
  }

  sendData(stream: number, payload: Uint8Array): void {
    this.#touch(stream, 0, payload.byteLength);
    this.#runtime.metrics.bytes.inc({ direction: 'down', transport: 'tcp' }, payload.byteLength);
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    const frame = encodeData(stream, payload, allocateFrame);
    this.#ws.send(frame, () => {
      releaseFrame(frame);
      this.#unblock();
    });
  }

  sendDatagram(stream: number, host: string, port: number, payload: Uint8Array): void {
    this.#touch(stream, 0, payload.byteLength);
    this.#runtime.metrics.bytes.inc({ direction: 'down', transport: 'udp' }, payload.byteLength);
    this.#runtime.metrics.datagrams.inc({ direction: 'down' });
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(encodeDatagram(stream, host, port, payload), this.#onSent);
  }

  queueAck(stream: Stream): void {
    this.#ackQueue.add(stream);
    this.#ackImmediate ??= setImmediate(() => this.#flushAcks());
  }

  flushAck(stream: Stream): void {
    this.#ackQueue.delete(stream);
    const bytes = stream.takeAck();
    if (bytes > 0 && this.#ws.readyState === this.#ws.OPEN) this.#ws.send(encodeAck(stream.id, bytes));
  }

  #flushAcks(): void {
    this.#ackImmediate = undefined;
    for (const stream of this.#ackQueue) this.flushAck(stream);
  }

  /**
   * Download bytes the session may still take before its streams must stop reading: the limit
   * (`sessionBufferBytes`) less the WebSocket's send buffer and what streams hold in their queues.
   */
  downloadRoom(): number {
    return this.#runtime.config.sessionBufferBytes - this.#ws.bufferedAmount - this.#downloadQueued;
  }

  canSend(): boolean {
    return this.downloadRoom() > 0;
  }

  queueDownload(bytes: number): void {
    this.#downloadQueued += bytes;
  }

  /**
   * Upload bytes a stream took from the client (positive) or wrote to its target (negative). Past
   * `sessionUploadBytes` held in all, the gateway stops reading the client's WebSocket (TCP pushes
   * back on the client) until half of that is written: per-stream windows bound one stream, this
   * bounds the session.
   */
  holdUpload(bytes: number): void {
    this.#uploadHeld += bytes;
    const limit = this.#runtime.config.sessionUploadBytes;
    if (!this.#uploadPaused && this.#uploadHeld > limit && !this.#disposed) {
      this.#uploadPaused = true;
      this.#runtime.metrics.uploadPauses.inc();
      this.#ws.pause();
    } else if (this.#uploadPaused && this.#uploadHeld <= limit / 2) {
      this.#uploadPaused = false;
      this.#alive = true;
      this.#ws.resume();
    }
  }

  block(stream: Stream): void {
    this.#blocked.add(stream);
  }

  #unblock(): void {
    // Blocked streams already hold their next read's share of the budget: only the WebSocket's own
    // buffer decides when they may go on.
    if (this.#blocked.size === 0 || this.#ws.bufferedAmount >= this.#runtime.config.sessionBufferBytes / 2) return;
    const streams = [...this.#blocked];
    this.#blocked.clear();
    for (const stream of streams) stream.resume();
  }

  countDatagram(outcome: 'dropped' | 'refused'): void {
    this.#runtime.datagrams[outcome]++;
    this.#runtime.metrics.datagramDrops.inc({ reason: outcome === 'dropped' ? 'queue' : 'stranger' });
  }

  observeConnect(seconds: number): void {
    this.#runtime.metrics.connectSeconds.observe(seconds);
  }

  /** Tells the client the gateway is going away; open streams may finish. */
  goAway(graceMs: number): void {
    if (this.#authenticated) this.send({ type: 'goaway', graceMs });
  }

  fault(stream: Stream, error: unknown): void {
    this.log.error({ err: error, stream: stream.id }, 'internal error in a stream; the stream is ended');
    if (!this.#streams.has(stream.id)) return;
    this.send({ type: 'error', stream: stream.id, error: 'UnknownSocketError', message: 'Unknown error: the gateway failed internally' });
    stream.dispose();
  }

  released(stream: Stream): void {
    this.#audit(stream.id);
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    this.#ackQueue.delete(stream);
  }

  // ---- introspection ------------------------------------------------------------------------------
  get streams(): ReadonlyMap<number, Stream> {
    return this.#streams;
  }

  /** Bytes the gateway holds for this session: every stream's buffers plus the WebSocket's send buffer. */
  get bufferedBytes(): number {
    let total = this.#ws.bufferedAmount;
    for (const stream of this.#streams.values()) total += stream.bufferedBytes;
    return total;
  }

  /** Ends the session from the gateway's side (shutdown). */
  close(code: number, reason: string): void {
    this.#closeSession(code, reason);
  }

  // ---- incoming -----------------------------------------------------------------------------------
  #touch(id: number, up = 0, down = 0): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    record.lastActive = Date.now();
    record.up += up;
    record.down += down;
  }

  /** Keeps, for the audit log, what a stream's messages to the client say: where it went, how it ended. */
  #note(id: number, message: ServerMessage): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    switch (message.type) {
      case 'connected':
        record.peer = `${message.peerAddress}:${message.peerPort}`;
        return;
      case 'bound':
        record.peer ??= `bound ${message.localAddress}:${message.localPort}`;
        return;
      case 'end':
        record.outcome ??= message.reset ? 'reset by the target' : 'closed by the target';
        return;
      case 'closed':
        record.outcome ??= 'closed by the client';
        return;
      case 'error':
        record.outcome ??= `${message.error}: ${message.message}`;
        return;
      case 'protocol-error':
        record.outcome ??= `protocol error ${message.code}`;
        return;
      default:
        return;
    }
  }

  /**
   * The audit line of a stream that ended: who (session, client address, principal), what
   * (transport, the host and port asked for, the address reached), how it ended (Qt's error name
   * and text, which for a refusal names the rule), bytes each way and how long it lived. Never a
   * credential.
   */
  #audit(id: number): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    this.#records.delete(id);
    this.log.info(
      {
        stream: id,
        principal: this.#principal?.subject,
        transport: record.transport,
        host: record.host,
        port: record.port,
        peer: record.peer,
        outcome: record.outcome ?? (this.#disposed ? 'session ended' : 'ended'),
        bytesUp: record.up,
        bytesDown: record.down,
        durationMs: Date.now() - record.openedAt,
      },
      'stream ended',
    );
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#disposed) return;
    this.#lastMessageAt = Date.now();
    this.#alive = true;
    if (this.#early !== undefined) {
      // The credential is still being checked: keep the order, within a bound.
      if (this.#early.length >= MAX_EARLY_MESSAGES) {
        this.#closeSession(CloseCode.PROTOCOL_ERROR, `more than ${MAX_EARLY_MESSAGES} messages before welcome`);
        return;
      }
      this.#early.push([data, isBinary]);
      return;
    }
    if (!this.#authenticated) {
      this.#onHello(data, isBinary);
      return;
    }
    if (isBinary) {
      this.#onFrame(data);
      return;
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      // A bad message naming a stream id never used (a malformed open, say) still answers for that
      // id, so that no client waits on it; the id is spent.
      const fresh = parsed.stream !== undefined && parsed.stream > this.#lastStreamId;
      if (fresh) this.#lastStreamId = parsed.stream as number;
      this.#protocolError(parsed.code, parsed.message, parsed.stream, fresh);
      return;
    }
    if (!this.#controls.take()) {
      // A dropped message must not leave a socket waiting: an open is answered with an error, and a
      // message for a live stream ends that stream.
      const message = parsed.value;
      const text = `more than ${this.#runtime.config.maxControlMessagesPerSecond} control messages per second`;
      if ((message.type === 'open' || message.type === 'bind') && message.stream > this.#lastStreamId) {
        this.#lastStreamId = message.stream;
        this.send({ type: 'error', stream: message.stream, error: 'SocketResourceError', message: `Out of resources: ${text}` });
        return;
      }
      this.#protocolError('RATE_LIMITED', `${text}; message dropped`, 'stream' in message ? message.stream : undefined);
      return;
    }
    this.#onControl(parsed.value);
  }

  #onHello(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#closeSession(CloseCode.PROTOCOL_ERROR, 'the first message must be a hello text frame');
      return;
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.#closeSession(CloseCode.PROTOCOL_ERROR, `bad hello: ${parsed.message}`);
      return;
    }
    const hello = parsed.value;
    if (hello.type !== 'hello') {
      this.#closeSession(CloseCode.PROTOCOL_ERROR, `the first message must be hello, got ${hello.type}`);
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      this.#closeSession(
        CloseCode.VERSION_MISMATCH,
        `protocol version ${hello.version} is not supported; this gateway speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    this.#early = [];
    this.#runtime.authenticator.authenticate(hello.token).then(
      (principal) => this.#guarded(() => this.#admit(principal)),
      (error: unknown) => this.#guarded(() => this.#refuse(error)),
    );
  }

  /** Takes the session's places in its credential's and its address's limits (across gateways), then welcomes it. */
  #admit(principal: Principal): void {
    if (this.#disposed) return;
    const { config, store } = this.#runtime;
    const credential = { key: `credential:${principal.key}`, limit: config.maxSessionsPerCredential };
    const address = { key: `address:${this.address}`, limit: config.maxSessionsPerAddress };
    store.acquire(this.id, [credential, address]).then(
      (full) =>
        this.#guarded(() => {
          if (this.#disposed) store.release(this.id);
          else if (full === credential)
            this.#closeSession(CloseCode.TOO_MANY_SESSIONS, `this credential already has ${full.limit} sessions, the gateway's limit`);
          else if (full === address)
            this.#closeSession(CloseCode.TOO_MANY_SESSIONS, `this address already has ${full.limit} sessions, the gateway's limit`);
          else this.#welcome(principal);
        }),
      (error: unknown) => this.#guarded(() => this.#refuse(error)),
    );
  }

  #refuse(error: unknown): void {
    if (this.#disposed) return;
    if (error instanceof GW_ERR_STORE_UNAVAILABLE) {
      // Fail closed: without the store, neither single use nor the limits can be checked. The
      // store itself warns once per outage.
      this.log.debug({ err: error }, 'hello refused: the session store is unavailable');
      this.#closeSession(CloseCode.INTERNAL_ERROR, 'the session store is unavailable');
      return;
    }
    const reason = error instanceof AuthError ? error.message : 'the credential could not be checked';
    this.#runtime.metrics.authFailures.inc();
    this.log.info({ reason }, 'hello refused');
    this.#closeSession(CloseCode.UNAUTHORIZED, reason);
  }

  #welcome(principal: Principal): void {
    const { config } = this.#runtime;
    this.#saidHello();
    this.#principal = principal;
    clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
    this.#authenticated = true;
    if (principal.expiresAt !== undefined) this.#armExpiry(principal.expiresAt);
    const tick = Math.max(
      50,
      Math.min(10_000, Math.min(config.streamIdleTimeoutMs || Infinity, config.sessionIdleTimeoutMs || Infinity) / 4),
    );
    if (Number.isFinite(tick)) this.#idleTimer = setInterval(() => this.#checkIdle(), tick);
    this.log.debug({ subject: principal.subject }, 'session authenticated');
    this.send({ type: 'welcome', version: PROTOCOL_VERSION, session: this.id, maxMessageBytes: config.maxMessageBytes });
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const [data, isBinary] of early) this.#onMessage(data, isBinary);
  }

  /** Closes the session when its credential expires; timers longer than setTimeout's 24.8 days are re-armed. */
  #armExpiry(expiresAt: number): void {
    const left = Math.max(0, expiresAt - Date.now());
    this.#expiryTimer = setTimeout(
      () => {
        if (Date.now() < expiresAt) this.#armExpiry(expiresAt);
        else this.#closeSession(CloseCode.CREDENTIAL_EXPIRED, 'the credential expired');
      },
      Math.min(left, 0x7fff_ffff),
    );
  }

  /** Ends idle streams (SocketTimeoutError) and an idle session with nothing open. */
  #checkIdle(): void {
    const { streamIdleTimeoutMs, sessionIdleTimeoutMs } = this.#runtime.config;
    const now = Date.now();
    if (streamIdleTimeoutMs > 0) {
      for (const stream of [...this.#streams.values()]) {
        const last = this.#records.get(stream.id)?.lastActive ?? now;
        if (now - last >= streamIdleTimeoutMs) {
          this.send({
            type: 'error',
            stream: stream.id,
            error: 'SocketTimeoutError',
            message: `Idle timeout: no traffic for ${streamIdleTimeoutMs} ms`,
          });
          stream.dispose();
        }
      }
    }
    if (sessionIdleTimeoutMs > 0 && this.#streams.size === 0 && now - this.#lastMessageAt >= sessionIdleTimeoutMs) {
      this.#closeSession(CloseCode.IDLE_TIMEOUT, `no streams and no messages for ${sessionIdleTimeoutMs} ms`);
    }
  }

  #onFrame(data: Buffer): void {
    const decoded = decodeFrame(data);
    if (!decoded.ok) {
      this.#protocolError(decoded.code, decoded.message, decoded.stream);
      return;
    }
    const frame = decoded.value;
    this.#touch(frame.stream, frame.kind === 'data' || frame.kind === 'datagram' ? frame.payload.byteLength : 0);
    switch (frame.kind) {
      case 'data': {
        this.#runtime.metrics.bytes.inc({ direction: 'up', transport: 'tcp' }, frame.payload.byteLength);
        const stream = this.#stream(frame.stream, 'data');
        const problem =
          stream?.transport === 'udp'
            ? unsupported(stream.id, 'a UDP stream takes DATAGRAM frames, not DATA')
            : stream?.write(frame.payload);
        if (problem !== undefined) this.#protocolError(problem.code, problem.message, frame.stream);
        return;
      }
      case 'datagram': {
        this.#runtime.metrics.bytes.inc({ direction: 'up', transport: 'udp' }, frame.payload.byteLength);
        this.#runtime.metrics.datagrams.inc({ direction: 'up' });
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
        // TLS is part of the protocol before this gateway does it: refused, never connected in plaintext.
        if (message.type === 'open' && message.tls !== undefined) {
          this.#protocolError(
            'UNSUPPORTED',
            'tls: this gateway does not encrypt streams',
            message.stream,
            message.stream > this.#lastStreamId,
          );
          return;
        }
        this.#open(message);
        return;
      case 'start-tls':
      case 'tls-verdict':
        this.#protocolError('UNSUPPORTED', `type: this gateway does not encrypt streams (${message.type})`, message.stream);
        return;
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
    if (message.stream <= this.#lastStreamId) {
      this.#protocolError(
        'STREAM_ID_REUSED',
        `stream: ${message.stream} is not above ${this.#lastStreamId}, the last stream id this session used`,
      );
      return;
    }
    this.#lastStreamId = message.stream;
    const refuse = (error: 'SocketResourceError' | 'SocketAccessError', text: string): void =>
      this.send({ type: 'error', stream: message.stream, error, message: text });
    const limit = Math.min(this.#runtime.config.maxStreamsPerSession, this.#principal?.maxStreams ?? Number.POSITIVE_INFINITY);
    if (this.#streams.size >= limit) {
      refuse('SocketResourceError', `Out of resources: this session already has ${this.#streams.size} streams, its limit`);
      return;
    }
    const transport = message.type === 'bind' ? 'udp' : message.transport;
    if (this.#principal?.transports !== undefined && !this.#principal.transports.has(transport)) {
      refuse('SocketAccessError', `Permission denied: the credential does not allow ${transport}`);
      return;
    }
    if (this.#runtime.draining.value) {
      refuse('SocketResourceError', 'Out of resources: the gateway is shutting down and takes no new streams');
      return;
    }
    if (!this.#opens.take()) {
      refuse('SocketResourceError', `Out of resources: more than ${this.#runtime.config.maxOpensPerSecond} new streams per second`);
      return;
    }
    const host = message.type === 'open' ? message.host : message.address;
    const now = Date.now();
    this.#records.set(message.stream, { transport, host, port: message.port, openedAt: now, lastActive: now, up: 0, down: 0 });
    this.log.info(
      { stream: message.stream, principal: this.#principal?.subject, transport, host, port: message.port, kind: message.type },
      'stream opened',
    );
    const stream = message.type === 'open' && message.transport === 'tcp' ? new TcpStream(this, message) : new UdpStream(this, message);
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
    if (!this.#errors.take()) {
      this.#closeSession(
        CloseCode.TOO_MANY_SESSIONS,
        `more than ${this.#runtime.config.maxProtocolErrorsPerSecond} protocol errors per second`,
      );
      return;
    }
    const stream = streamId === undefined ? undefined : this.#streams.get(streamId);
    this.log.debug({ code, stream: streamId }, `protocol error: ${message}`);
    const named = stream?.id ?? (fresh ? streamId : undefined);
    this.send(named === undefined ? { type: 'protocol-error', code, message } : { type: 'protocol-error', stream: named, code, message });
    stream?.dispose();
  }

  #closeSession(code: number, reason: string): void {
    closeWebSocket(this.#ws, code, reason, this.#runtime.config.closeTimeoutMs, () => this.#runtime.metrics.cuts.inc({ reason: 'close' }));
    this.#dispose();
  }

  /** The connection is really closed (its descriptor too): only now does the session stop counting against limits. */
  #onClosed(code: number): void {
    this.log.debug({ code }, 'session closed');
    this.#dispose();
    this.#saidHello();
    this.#runtime.store.release(this.id);
    this.#runtime.sessions.delete(this);
  }

  /** Closes every real socket of the session and clears its timers. */
  #dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#saidHello();
    this.#early = undefined;
    clearTimeout(this.#expiryTimer);
    clearInterval(this.#idleTimer);
    clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
    if (this.#ackImmediate) clearImmediate(this.#ackImmediate);
    this.#ackImmediate = undefined;
    for (const stream of [...this.#streams.values()]) stream.dispose();
    this.#streams.clear();
    this.#records.clear();
    this.names.dispose();
    this.#blocked.clear();
    this.#ackQueue.clear();
    this.#uploadHeld = 0;
    this.#downloadQueued = 0;
    // Read again, so that the client's close frame is seen; the session ignores everything else now.
    if (this.#uploadPaused) this.#ws.resume();
    this.#uploadPaused = false;
  }
}

import { randomUUID } from 'node:crypto';
import { CloseCode, type ServerMessage, serializeMessage } from '@socketgate/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Principal } from './auth.js';
import { closeWebSocket } from './close-reason.js';
import type { GatewayConfig } from './config.js';
import { Dispatcher } from './dispatch.js';
import { Handshake } from './handshake.js';
import type { SessionLookups } from './lookups.js';
import { bothPolicies, type DestinationPolicy, matchingRule } from './policy.js';
import type { ResolvedAddress } from './resolve.js';
import type { GatewayRuntime, LiveSession } from './runtime.js';
import { SessionFlow } from './session-flow.js';
import { SessionLimits } from './session-limits.js';
import type { Socks5Proxy } from './socks.js';
import type { Stream, StreamHost } from './stream.js';
import { StreamAudit } from './stream-audit.js';
import type { TlsOutcome } from './tls-handshake.js';
import type { TrustStore } from './tls-trust.js';
import { receiveWithoutCopies } from './ws-receive.js';

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
 *
 * The session owns the WebSocket, its fault containment and its end, and is what its streams and
 * parts share; each reason to change has a part of its own:
 *
 * - the hello, the credential and the welcome: handshake.ts
 * - messages to streams, new streams, protocol errors: dispatch.ts
 * - rates, stream limits and idle timeouts: session-limits.ts
 * - data frames, acknowledgements and back-pressure both ways: session-flow.ts
 * - each stream's traffic and audit lines: stream-audit.ts
 */
export class Session implements StreamHost, LiveSession {
  readonly id = randomUUID();
  readonly #ws: WebSocket;
  readonly #runtime: GatewayRuntime;
  readonly log: FastifyBaseLogger;
  /** The client's address, for the per-address limit. */
  readonly address: string;
  readonly sharedPorts = new Map<string, number>();
  /** This session's name lookups, capped; what is pending fails when the session closes. */
  readonly names: SessionLookups;
  readonly audit: StreamAudit;
  readonly flow: SessionFlow;
  readonly limits: SessionLimits;
  readonly #handshake: Handshake;
  readonly #dispatcher: Dispatcher;
  #disposed = false;
  /** Whether the client was heard from (a pong or any message) since the last ping. */
  #alive = true;
  #lastMessageAt = Date.now();

  constructor(ws: WebSocket, runtime: GatewayRuntime, address: string) {
    this.#ws = ws;
    this.#runtime = runtime;
    this.address = address;
    this.names = runtime.lookups.session();
    this.log = runtime.log.child({ session: this.id, client: address });
    this.audit = new StreamAudit(this.log);
    this.flow = new SessionFlow(ws, runtime.config, runtime.metrics, this.audit, () => {
      this.#alive = true;
    });
    this.limits = new SessionLimits(runtime, this);
    this.#handshake = new Handshake(runtime, this, {
      guarded: (handle) => this.#guarded(handle),
      welcomed: (early) => this.#welcomed(early),
    });
    this.#dispatcher = new Dispatcher(this, runtime.metrics);
    runtime.sessions.add(this);
    this.#handshake.start();
    // Binary messages arrive as the fragments they were sent in, never joined (dispatch.ts).
    ws.binaryType = 'fragments';
    // ...and payloads that span the socket's reads stay in those reads (ws-receive.ts).
    receiveWithoutCopies(ws);
    ws.on('message', (data: Buffer | Buffer[], isBinary: boolean) => {
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
    if (this.#ws.readyState !== this.#ws.OPEN || this.flow.uploadPaused) return;
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

  // ---- what the streams and the parts share ------------------------------------------------------
  /** The gateway's settings in force: a reload changes them in place. */
  get config(): GatewayConfig {
    return this.#runtime.config;
  }
  /** The gateway's rules in force (they may be reloaded) and the credential's own. */
  get policy(): DestinationPolicy {
    return bothPolicies(this.#runtime.policy, this.principal?.policy);
  }
  /** Who the session belongs to, once its hello was accepted. */
  get principal(): Principal | undefined {
    return this.#handshake.principal;
  }
  /** The certificates TLS streams trust (the gateway's in force). */
  get tlsTrust(): TrustStore {
    return this.#runtime.tls.trust;
  }
  /** Why a plaintext connection to these addresses is refused (`tls.required`), or undefined. */
  tlsRequired(host: string, addresses: readonly ResolvedAddress[], port: number): string | undefined {
    for (const { address } of addresses) {
      const rule = matchingRule(this.#runtime.tls.required, host, address, port);
      if (rule !== undefined) return `the gateway reaches ${host} port ${port} only through TLS (its tls.required rule ${rule.text})`;
    }
    return undefined;
  }
  get upstreamProxy(): Socks5Proxy | undefined {
    return this.#runtime.upstreamProxy;
  }
  get allowMulticast(): boolean {
    return this.#runtime.config.allowMulticast && this.principal?.multicast !== false;
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

  send(message: ServerMessage): void {
    this.audit.note(message);
    if (message.type === 'error' || message.type === 'datagram-error') {
      this.#runtime.metrics.errors.inc({ error: message.error });
      if (message.error === 'SocketAccessError') this.#runtime.metrics.refusals.inc();
    }
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(serializeMessage(message));
  }

  countDatagram(outcome: 'dropped' | 'refused'): void {
    this.#runtime.datagrams[outcome]++;
    this.#runtime.metrics.datagramDrops.inc({ reason: outcome === 'dropped' ? 'queue' : 'stranger' });
  }

  countTlsHandshake(outcome: TlsOutcome): void {
    this.#runtime.metrics.tlsHandshakes.inc({ outcome });
  }

  observeConnect(seconds: number): void {
    this.#runtime.metrics.connectSeconds.observe(seconds);
  }

  fault(stream: Stream, error: unknown): void {
    this.log.error({ err: error, stream: stream.id }, 'internal error in a stream; the stream is ended');
    if (!this.streams.has(stream.id)) return;
    this.send({ type: 'error', stream: stream.id, error: 'UnknownSocketError', message: 'Unknown error: the gateway failed internally' });
    stream.dispose();
  }

  released(stream: Stream): void {
    this.audit.ended(stream.id, this.principal?.subject, this.#disposed);
    this.#dispatcher.forget(stream);
    this.flow.forget(stream);
  }

  // ---- introspection ------------------------------------------------------------------------------
  get streams(): ReadonlyMap<number, Stream> {
    return this.#dispatcher.streams;
  }

  /** Bytes the gateway holds for this session: every stream's buffers plus the WebSocket's send buffer. */
  get bufferedBytes(): number {
    let total = this.#ws.bufferedAmount;
    for (const stream of this.streams.values()) total += stream.bufferedBytes;
    return total;
  }

  /** Tells the client the gateway is going away; open streams may finish. */
  goAway(graceMs: number): void {
    if (this.#handshake.authenticated) this.send({ type: 'goaway', graceMs });
  }

  /** Ends the session from the gateway's side (shutdown, a limit, a refused hello). */
  close(code: number, reason: string): void {
    this.#closeSession(code, reason);
  }

  // ---- incoming and the end -----------------------------------------------------------------------
  #onMessage(data: Buffer | readonly Buffer[], isBinary: boolean): void {
    if (this.#disposed) return;
    this.#lastMessageAt = Date.now();
    this.#alive = true;
    if (this.#handshake.authenticated) this.#dispatcher.receive(data, isBinary);
    else this.#handshake.receive(Array.isArray(data) ? Buffer.concat(data) : (data as Buffer), isBinary);
  }

  /** The session is welcomed: its idle timeouts start, and the messages that waited are handled in order. */
  #welcomed(early: ReadonlyArray<readonly [Buffer, boolean]>): void {
    this.limits.watchIdle();
    for (const [data, isBinary] of early) this.#onMessage(data, isBinary);
  }

  #closeSession(code: number, reason: string): void {
    closeWebSocket(this.#ws, code, reason, this.#runtime.config.closeTimeoutMs, () => this.#runtime.metrics.cuts.inc({ reason: 'close' }));
    this.#dispose();
  }

  /** The connection is really closed (its descriptor too): only now does the session stop counting against limits. */
  #onClosed(code: number): void {
    this.log.debug({ code }, 'session closed');
    this.#dispose();
    this.#handshake.stop();
    this.#runtime.store.release(this.id);
    this.#runtime.sessions.delete(this);
  }

  /** Closes every real socket of the session and clears its timers. */
  #dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#handshake.stop();
    this.limits.stop();
    this.flow.stop();
    this.#dispatcher.disposeAll();
    this.audit.clear();
    this.names.dispose();
    this.flow.release();
  }
}

import { CloseCode, type ServerMessage } from '@socketgate/protocol';
import type { Principal } from './auth.js';
import type { SocketFailure } from './errno-table.js';
import type { GatewayRuntime } from './runtime.js';
import type { Stream } from './stream.js';

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

/** What the limits read of their session, and how they end what breaks one. */
export interface LimitedSession {
  readonly streams: ReadonlyMap<number, Stream>;
  readonly principal: Principal | undefined;
  /** When the client last sent a message. */
  readonly lastMessageAt: number;
  /** When a stream last had traffic. */
  lastActive(stream: number): number | undefined;
  send(message: ServerMessage): void;
  close(code: number, reason: string): void;
}

/**
 * One session's limits: the rates of new streams, control messages and protocol errors (token
 * buckets of the rates in force when the session began), how many streams of which transports it
 * may have, and the idle timeouts of its streams and of itself. Each breach is a clear error.
 */
export class SessionLimits {
  readonly #runtime: GatewayRuntime;
  readonly #session: LimitedSession;
  readonly #opens: Bucket;
  readonly #controls: Bucket;
  readonly #errors: Bucket;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(runtime: GatewayRuntime, session: LimitedSession) {
    this.#runtime = runtime;
    this.#session = session;
    this.#opens = new Bucket(runtime.config.maxOpensPerSecond);
    this.#controls = new Bucket(runtime.config.maxControlMessagesPerSecond);
    this.#errors = new Bucket(runtime.config.maxProtocolErrorsPerSecond);
  }

  /** Why a control message must be dropped now, or undefined while the client keeps to the rate. */
  overControlRate(): string | undefined {
    if (this.#controls.take()) return undefined;
    return `more than ${this.#runtime.config.maxControlMessagesPerSecond} control messages per second`;
  }

  /** Counts a protocol error against its rate; past it the session is closed, and false is answered. */
  takeProtocolError(): boolean {
    if (this.#errors.take()) return true;
    this.#session.close(
      CloseCode.TOO_MANY_SESSIONS,
      `more than ${this.#runtime.config.maxProtocolErrorsPerSecond} protocol errors per second`,
    );
    return false;
  }

  /** Why a new stream of `transport` is refused (Qt's error and text), or undefined when it may open. */
  refuseStream(transport: 'tcp' | 'udp'): SocketFailure | undefined {
    const { config, draining } = this.#runtime;
    const { principal, streams } = this.#session;
    const limit = Math.min(config.maxStreamsPerSession, principal?.maxStreams ?? Number.POSITIVE_INFINITY);
    if (streams.size >= limit) {
      return { error: 'SocketResourceError', message: `Out of resources: this session already has ${streams.size} streams, its limit` };
    }
    if (principal?.transports !== undefined && !principal.transports.has(transport)) {
      return { error: 'SocketAccessError', message: `Permission denied: the credential does not allow ${transport}` };
    }
    if (draining.value) {
      return { error: 'SocketResourceError', message: 'Out of resources: the gateway is shutting down and takes no new streams' };
    }
    if (!this.#opens.take()) {
      return { error: 'SocketResourceError', message: `Out of resources: more than ${config.maxOpensPerSecond} new streams per second` };
    }
    return undefined;
  }

  /** Starts the idle timeouts once the session is welcomed: checked every quarter of the shorter, within 50 ms and 10 s. */
  watchIdle(): void {
    const { config } = this.#runtime;
    const tick = Math.max(
      50,
      Math.min(10_000, Math.min(config.streamIdleTimeoutMs || Infinity, config.sessionIdleTimeoutMs || Infinity) / 4),
    );
    if (Number.isFinite(tick)) this.#idleTimer = setInterval(() => this.#checkIdle(), tick);
  }

  /** Ends idle streams (SocketTimeoutError) and an idle session with nothing open. */
  #checkIdle(): void {
    const { streamIdleTimeoutMs, sessionIdleTimeoutMs } = this.#runtime.config;
    const session = this.#session;
    const now = Date.now();
    if (streamIdleTimeoutMs > 0) {
      for (const stream of [...session.streams.values()]) {
        const last = session.lastActive(stream.id) ?? now;
        if (now - last >= streamIdleTimeoutMs) {
          session.send({
            type: 'error',
            stream: stream.id,
            error: 'SocketTimeoutError',
            message: `Idle timeout: no traffic for ${streamIdleTimeoutMs} ms`,
          });
          stream.dispose();
        }
      }
    }
    if (sessionIdleTimeoutMs > 0 && session.streams.size === 0 && now - session.lastMessageAt >= sessionIdleTimeoutMs) {
      session.close(CloseCode.IDLE_TIMEOUT, `no streams and no messages for ${sessionIdleTimeoutMs} ms`);
    }
  }

  stop(): void {
    clearInterval(this.#idleTimer);
  }
}

import type { ServerMessage } from '@socketgate/protocol';
import type { FastifyBaseLogger } from 'fastify';

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

/** A stream as it was asked for, for its audit lines. */
export interface OpenedStream {
  stream: number;
  transport: 'tcp' | 'udp';
  host: string;
  port: number;
  kind: 'open' | 'bind';
}

/**
 * One session's record of its streams: their last traffic (for the idle timeouts) and their audit
 * lines, `stream opened` and `stream ended`. Who (session, client address, principal), what
 * (transport, the host and port asked for, the address reached), how it ended (Qt's error name and
 * text, which for a refusal names the rule), bytes each way and how long it lived. Never a credential.
 */
export class StreamAudit {
  readonly #log: FastifyBaseLogger;
  /** Per stream id: its last traffic and what the audit log says when it ends. */
  readonly #records = new Map<number, StreamRecord>();

  constructor(log: FastifyBaseLogger) {
    this.#log = log;
  }

  /** A stream was let in: its record starts, and the audit log says so. */
  opened({ stream, transport, host, port, kind }: OpenedStream, principal: string | undefined): void {
    const now = Date.now();
    this.#records.set(stream, { transport, host, port, openedAt: now, lastActive: now, up: 0, down: 0 });
    this.#log.info({ stream, principal, transport, host, port, kind }, 'stream opened');
  }

  /** Traffic on a stream: payload bytes from the client (`up`) and to it (`down`). */
  touch(id: number, up = 0, down = 0): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    record.lastActive = Date.now();
    record.up += up;
    record.down += down;
  }

  /** When a stream last had traffic, if it is open. */
  lastActive(id: number): number | undefined {
    return this.#records.get(id)?.lastActive;
  }

  /** Keeps what a message to the client says about its stream: where it went, how it ended. */
  note(message: ServerMessage): void {
    if (!('stream' in message) || message.stream === undefined) return;
    const record = this.#records.get(message.stream);
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

  /** The audit line of a stream that ended; one that ended with no word to the client ended with its session, or just ended. */
  ended(id: number, principal: string | undefined, sessionEnded: boolean): void {
    const record = this.#records.get(id);
    if (record === undefined) return;
    this.#records.delete(id);
    this.#log.info(
      {
        stream: id,
        principal,
        transport: record.transport,
        host: record.host,
        port: record.port,
        peer: record.peer,
        outcome: record.outcome ?? (sessionEnded ? 'session ended' : 'ended'),
        bytesUp: record.up,
        bytesDown: record.down,
        durationMs: Date.now() - record.openedAt,
      },
      'stream ended',
    );
  }

  /** The session is gone: what is left is forgotten. */
  clear(): void {
    this.#records.clear();
  }
}

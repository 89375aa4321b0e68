import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read of a live session. */
export interface MeteredSession {
  readonly streams: ReadonlyMap<number, { readonly transport: string; readonly state: string }>;
  /** Bytes the gateway holds for the session, its WebSocket's send buffer included. */
  readonly bufferedBytes: number;
}

/** Which way payload moves: up from the client to the target, down from the target to the client. */
export type Direction = 'up' | 'down';

/** The gateway's Prometheus metrics, in a registry of its own (several gateways may share a process). */
export class GatewayMetrics {
  readonly registry = new Registry();
  /**
   * Payload bytes and datagrams moved since the counters were last read. The data path adds to
   * plain numbers ({@link moved}); a counter's own inc() hashes and checks its labels on every call,
   * and it ran for every frame each way.
   */
  readonly #moved = { up: { tcp: 0, udp: 0 }, down: { tcp: 0, udp: 0 } };
  readonly #datagramsMoved = { up: 0, down: 0 };
  readonly bytes = new Counter({
    name: 'socketgate_bytes_total',
    help: 'Payload bytes moved, by direction (up: client to target, down: target to client) and transport',
    labelNames: ['direction', 'transport'] as const,
    registers: [this.registry],
    collect: () => this.#flushMoved(),
  });
  readonly datagrams = new Counter({
    name: 'socketgate_datagrams_total',
    help: 'UDP datagrams moved, by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry],
    collect: () => this.#flushMoved(),
  });
  readonly datagramDrops = new Counter({
    name: 'socketgate_datagrams_dropped_total',
    help: 'UDP datagrams not delivered: queue (the client was out of credit and the queue was full) or stranger (not a reply)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'socketgate_stream_errors_total',
    help: "Stream and datagram errors reported to clients, by Qt's SocketError name",
    labelNames: ['error'] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'socketgate_policy_refusals_total',
    help: 'Destinations refused by the egress policy or a credential',
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'socketgate_auth_failures_total',
    help: 'hello messages whose credential was refused',
    registers: [this.registry],
  });
  readonly cuts = new Counter({
    name: 'socketgate_connections_cut_total',
    help:
      'Client connections the gateway cut or closed to hold a limit: connections (over maxConnectionsPerAddress), ' +
      'handshake (headers not complete in time), pending (a newer session of the address waits for hello), ' +
      'ping (no answer for a ping interval), close (the close not answered in time)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly uploadPauses = new Counter({
    name: 'socketgate_upload_pauses_total',
    help: "Times a session's WebSocket stopped being read because its streams held sessionUploadBytes of upload",
    registers: [this.registry],
  });
  readonly tlsHandshakes = new Counter({
    name: 'socketgate_tls_handshakes_total',
    help:
      'TLS handshakes of TLS streams by outcome: verified (the chain verified), ignored (the client went on despite ' +
      'certificate errors), declined (the client did not), failed (the handshake failed, or going on was refused)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly connectSeconds = new Histogram({
    name: 'socketgate_connect_duration_seconds',
    help: 'Time to connect a TCP stream, from the first attempt to connected',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(sessions: ReadonlySet<MeteredSession>) {
    new Gauge({
      name: 'socketgate_sessions',
      help: 'Open sessions (WebSockets)',
      registers: [this.registry],
      collect() {
        this.set(sessions.size);
      },
    });
    new Gauge({
      name: 'socketgate_streams',
      help: 'Open streams, by transport and state',
      labelNames: ['transport', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const session of sessions) {
          for (const stream of session.streams.values()) this.inc({ transport: stream.transport, state: stream.state });
        }
      },
    });
    new Gauge({
      name: 'socketgate_buffered_bytes',
      help: 'Bytes the gateway holds: read from targets and not yet sent, received and not yet written, and waiting in WebSocket send buffers',
      registers: [this.registry],
      collect() {
        let total = 0;
        for (const session of sessions) total += session.bufferedBytes;
        this.set(total);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'socketgate_', eventLoopMonitoringPrecision: 20 });
  }

  /** Counts `bytes` of payload moved `direction` on a `transport` stream; on UDP, one datagram. */
  moved(direction: Direction, transport: 'tcp' | 'udp', bytes: number): void {
    this.#moved[direction][transport] += bytes;
    if (transport === 'udp') this.#datagramsMoved[direction]++;
  }

  /** Hands what was moved since the last read to the counters (they show a series once it moved). */
  #flushMoved(): void {
    for (const direction of ['up', 'down'] as const) {
      for (const transport of ['tcp', 'udp'] as const) {
        const bytes = this.#moved[direction][transport];
        if (bytes > 0) this.bytes.inc({ direction, transport }, bytes);
        this.#moved[direction][transport] = 0;
      }
      const datagrams = this.#datagramsMoved[direction];
      if (datagrams > 0) this.datagrams.inc({ direction }, datagrams);
      this.#datagramsMoved[direction] = 0;
    }
  }
}

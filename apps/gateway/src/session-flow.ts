import { type Allocate, encodeAck, encodeData, encodeDatagram } from '@socketgate/protocol';
import type { WebSocket } from 'ws';
import type { GatewayConfig } from './config.js';
import { allocateFrame, releaseFrame } from './frame-pool.js';
import type { GatewayMetrics } from './metrics.js';
import type { Stream, StreamFlow } from './stream.js';
import type { StreamAudit } from './stream-audit.js';

/**
 * How a session's binary frames are made: the native protocol's by default; the Wisp and websockify
 * endpoints bring their own, over the same budgets.
 */
export interface FrameCodec {
  /** A frame carrying `payload` of `stream`; `allocate` gives pooled memory for large frames. */
  data(stream: number, payload: Uint8Array, allocate: Allocate): Uint8Array;
  datagram(stream: number, host: string, port: number, payload: Uint8Array): Uint8Array;
  /** What tells the client that `bytes` of `stream` were written to its target, if anything does. */
  ack(stream: Stream, bytes: number): Uint8Array | undefined;
}

/** The native protocol's DATA, DATAGRAM and ACK frames. */
export const NATIVE_FRAMES: FrameCodec = {
  data: encodeData,
  datagram: encodeDatagram,
  ack: (stream, bytes) => encodeAck(stream.id, bytes),
};

/**
 * The flow of one session's binary frames, and the two budgets that keep the session bounded:
 *
 *   targets --> streams --DATA/DATAGRAM--> WebSocket send buffer --> client   (sessionBufferBytes)
 *   client --> WebSocket --DATA/DATAGRAM--> streams --written--> targets      (sessionUploadBytes)
 *                                               `--> ACK, per event-loop turn and per stream
 *
 * Per-stream credit and windows bound one stream; these bound the session. Past the download
 * budget, streams stop reading their sockets until the WebSocket's buffer drains below half; past
 * the upload budget, the WebSocket stops being read (TCP pushes back on the client) until half of
 * it is written.
 */
export class SessionFlow implements StreamFlow {
  readonly #ws: WebSocket;
  readonly #config: GatewayConfig;
  readonly #metrics: GatewayMetrics;
  readonly #audit: StreamAudit;
  /** Called when the WebSocket is read again after a pause. */
  readonly #readAgain: () => void;
  readonly #ackQueue = new Set<Stream>();
  #ackImmediate: NodeJS.Immediate | undefined;
  readonly #blocked = new Set<Stream>();
  readonly #onSent = (): void => this.#unblock();
  /** Upload bytes the gateway holds for this session: received from the client, not yet written to a target. */
  #uploadHeld = 0;
  #uploadPaused = false;
  /** Download bytes held in stream queues (UDP datagrams, a TCP chunk beyond credit), besides the WebSocket's buffer. */
  #downloadQueued = 0;
  #stopped = false;
  readonly #frames: FrameCodec;

  constructor(
    ws: WebSocket,
    config: GatewayConfig,
    metrics: GatewayMetrics,
    audit: StreamAudit,
    readAgain: () => void,
    frames: FrameCodec = NATIVE_FRAMES,
  ) {
    this.#frames = frames;
    this.#ws = ws;
    this.#config = config;
    this.#metrics = metrics;
    this.#audit = audit;
    this.#readAgain = readAgain;
  }

  /** Whether the gateway stopped reading the client's WebSocket to hold the upload budget. */
  get uploadPaused(): boolean {
    return this.#uploadPaused;
  }

  sendData(stream: number, payload: Uint8Array): void {
    this.#audit.touch(stream, 0, payload.byteLength);
    this.#metrics.moved('down', 'tcp', payload.byteLength);
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    const frame = this.#frames.data(stream, payload, allocateFrame);
    this.#ws.send(frame, () => {
      releaseFrame(frame);
      this.#unblock();
    });
  }

  sendDatagram(stream: number, host: string, port: number, payload: Uint8Array): void {
    this.#audit.touch(stream, 0, payload.byteLength);
    this.#metrics.moved('down', 'udp', payload.byteLength);
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(this.#frames.datagram(stream, host, port, payload), this.#onSent);
  }

  queueAck(stream: Stream): void {
    this.#ackQueue.add(stream);
    this.#ackImmediate ??= setImmediate(() => this.#flushAcks());
  }

  flushAck(stream: Stream): void {
    this.#ackQueue.delete(stream);
    const bytes = stream.takeAck();
    if (bytes === 0) return;
    const frame = this.#frames.ack(stream, bytes);
    if (frame !== undefined && this.#ws.readyState === this.#ws.OPEN) this.#ws.send(frame);
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
    return this.#config.sessionBufferBytes - this.#ws.bufferedAmount - this.#downloadQueued;
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
   * back on the client) until half of that is written.
   */
  holdUpload(bytes: number): void {
    this.#uploadHeld += bytes;
    const limit = this.#config.sessionUploadBytes;
    if (!this.#uploadPaused && this.#uploadHeld > limit && !this.#stopped) {
      this.#uploadPaused = true;
      this.#metrics.uploadPauses.inc();
      this.#ws.pause();
    } else if (this.#uploadPaused && this.#uploadHeld <= limit / 2) {
      this.#uploadPaused = false;
      this.#readAgain();
      this.#ws.resume();
    }
  }

  block(stream: Stream): void {
    this.#blocked.add(stream);
  }

  #unblock(): void {
    // Blocked streams already hold their next read's share of the budget: only the WebSocket's own
    // buffer decides when they may go on.
    if (this.#blocked.size === 0 || this.#ws.bufferedAmount >= this.#config.sessionBufferBytes / 2) return;
    const streams = [...this.#blocked];
    this.#blocked.clear();
    for (const stream of streams) stream.resume();
  }

  /** A stream is gone: it is neither resumed nor acknowledged any more. */
  forget(stream: Stream): void {
    this.#blocked.delete(stream);
    this.#ackQueue.delete(stream);
  }

  /** The session is ending: no acknowledgement is flushed any more, and the WebSocket is not paused again. */
  stop(): void {
    this.#stopped = true;
    if (this.#ackImmediate) clearImmediate(this.#ackImmediate);
    this.#ackImmediate = undefined;
  }

  /** The session's streams are gone: the budgets are let go, and the WebSocket is read again so that the client's close frame is seen. */
  release(): void {
    this.#blocked.clear();
    this.#ackQueue.clear();
    this.#uploadHeld = 0;
    this.#downloadQueued = 0;
    if (this.#uploadPaused) this.#ws.resume();
    this.#uploadPaused = false;
  }
}

import { type Bound, type Connected, HEADER_BYTES } from '@socketgate/protocol';
import { ByteQueue } from './byte-queue.js';
import { SocketOption } from './enums.js';
import { OutgoingData } from './outgoing.js';
import { ClosingState, ConnectedState, isLive } from './socket-state.js';
import { type ChannelHost, credit, deferOnce, nextTask, type TransportChannel } from './transport-channel.js';

/**
 * A TCP socket's transport, both directions under the gateway's credit:
 *
 * - download: the gateway may send what this channel granted; with a `readBufferSize`, bytes past
 *   it wait here unseen, and no credit goes out, until Qt would have read them (so the gateway stops
 *   reading the real socket and TCP pushes back on the peer); a peer's end waits behind them;
 * - upload: write() queues; the pump sends within the gateway's window, acknowledgements are
 *   `bytesWritten` and reopen the window; in Closing, once all is written, the half-close (`close`).
 */
export class StreamChannel implements TransportChannel {
  readonly transport = 'tcp';
  readonly buffered = true;
  readonly proxied = true;
  readonly #host: ChannelHost;

  /** Received beyond `readBufferSize`: held back, invisible, until Qt would have read it. */
  readonly #staged = new ByteQueue();
  /** Qt stopped reading because the buffer reached `readBufferSize` (only a resume restarts it). */
  #readPaused = false;
  /** Credit granted to the gateway and not yet used. */
  #outstanding = 0;
  readonly #scheduleGrant = deferOnce(() => this.#grantCredit());
  /** The peer's close (or reset) arrived behind data still staged. */
  #endPending: 'close' | 'reset' | undefined;

  /** Unsent output, and what was sent and not yet acknowledged as written. */
  readonly #output = new OutgoingData();
  #sendWindow = 0;
  readonly #schedulePump = deferOnce(() => this.#pump());
  #closeSent = false;

  constructor(host: ChannelHost) {
    this.#host = host;
  }

  open(): number {
    const size = this.#host.readBufferSize();
    this.#outstanding = size > 0 ? Math.min(size, 0xffff_ffff) : this.#host.gateway().receiveWindowBytes;
    return this.#outstanding;
  }

  opened(message: Connected | Bound): void {
    this.#sendWindow = message.window;
  }

  start(): void {
    this.#scheduleGrant();
    this.#schedulePump();
  }

  reset(): void {
    this.#staged.clear();
    this.#readPaused = false;
    this.#outstanding = 0;
    this.#endPending = undefined;
    this.#output.clear();
    this.#sendWindow = 0;
    this.#closeSent = false;
  }

  // ---- download -----------------------------------------------------------------------------------
  /** A stream's bytes are read from the socket's buffer, never here. */
  read(): undefined {
    return undefined;
  }
  available(): number {
    return 0;
  }

  onData(payload: Uint8Array): void {
    if (this.#host.state() !== ConnectedState) return;
    this.#outstanding = Math.max(0, this.#outstanding - payload.byteLength);
    if (!this.#host.isReadable()) {
      // WriteOnly: Qt reads and discards; keep the flow going.
      this.#grant(payload.byteLength);
      return;
    }
    this.#staged.push(payload);
    if (!this.#readPaused) this.#fill();
    this.#scheduleGrant();
  }

  holdEnd(how: 'close' | 'reset'): boolean {
    if (this.#staged.size === 0) return false;
    this.#endPending = how;
    return true;
  }

  /** Moves staged bytes into the visible buffer up to the limit; readyRead when any moved. */
  #fill(): void {
    const buffer = this.#host.readBuffer;
    const limit = this.#host.readBufferSize();
    const room = (limit > 0 ? limit : Infinity) - buffer.size;
    const moved = room > 0 ? this.#staged.moveTo(buffer, room) : 0;
    // Qt stops reading at the next read notification that finds the buffer full, not at once.
    if (limit > 0 && buffer.size >= limit) this.#scheduleRead();
    if (moved > 0) this.#host.readyRead();
    const how = this.#endPending;
    if (how !== undefined && this.#staged.size === 0 && this.#host.state() === ConnectedState) {
      this.#endPending = undefined;
      this.#host.remoteClosed(how);
    }
  }

  /** Qt's next read notification after the buffer filled, in the next task: more, if a read made room; else it stops reading. */
  readonly #scheduleRead = deferOnce(() => {
    if (this.#host.state() !== ConnectedState || this.#readPaused) return;
    if (this.#host.readBuffer.size >= this.#host.readBufferSize()) this.#readPaused = true;
    else this.#fill();
  }, nextTask);

  /** Qt re-enables reading: staged bytes become visible (asynchronously, as Qt's next read) and credit flows again. */
  freed(resume: boolean): void {
    if (!resume || (!this.#readPaused && this.#staged.size === 0)) {
      this.#scheduleGrant();
      return;
    }
    this.#readPaused = false;
    queueMicrotask(() => {
      if (this.#host.state() !== ConnectedState || this.#readPaused) return;
      this.#fill();
      this.#scheduleGrant();
    });
  }

  /** Grants the gateway what the buffer can take: up to the limit, or keeps the window full when unlimited. */
  #grantCredit(): void {
    if (this.#host.state() !== ConnectedState || this.#readPaused) return;
    const limit = this.#host.readBufferSize();
    if (limit > 0) {
      this.#grant(limit - this.#host.readBuffer.size - this.#staged.size - this.#outstanding);
      return;
    }
    // Credit goes back in quarters of the window: early enough that the gateway rarely waits for it,
    // few enough that credit frames cost nothing (the benchmark's download was fastest at quarters).
    const window = this.#host.gateway().receiveWindowBytes;
    const room = window - this.#outstanding - this.#staged.size;
    if (room >= window / 4) this.#grant(room);
  }

  #grant(bytes: number): void {
    this.#outstanding += credit(this.#host, bytes);
  }

  // ---- upload -------------------------------------------------------------------------------------
  write(bytes: Uint8Array): number {
    if (bytes.byteLength === 0) return 0;
    this.#output.push(bytes, this.#host.gateway().maxFrameBytes);
    this.#schedulePump();
    return bytes.byteLength;
  }

  bytesToWrite(): number {
    return this.#output.size + this.#output.inFlight;
  }

  /** Sends buffered output to the gateway now; true when anything was sent. */
  flush(): boolean {
    return this.#pump();
  }

  /** Acknowledged bytes are written: they are bytesWritten, and the window has room for them again. */
  onAck(bytes: number): boolean {
    this.#output.acknowledge(bytes);
    this.#sendWindow += bytes;
    return true;
  }

  /** Sends buffered output within the gateway's window; in Closing, the half-close once all is written. */
  #pump(): boolean {
    const stream = this.#host.stream();
    const state = this.#host.state();
    if (!isLive(state) || stream === undefined) return false;
    const gateway = this.#host.gateway();
    let sent = false;
    while (this.#sendWindow > 0 && this.#output.size > 0) {
      // While a whole frame is in flight, a frame that would be less than whole waits for the
      // acknowledgements on their way: a block short of a frame fills up from later writes, and a
      // whole one gets the window it needs (the gateway acknowledges what it wrote, parts of frames
      // when a browser sends a message in fragments). A bulk upload then goes in whole frames, each
      // a message the browser sends and the gateway acknowledges, whatever the window and the sizes
      // of the writes; with less in flight, as after a request, a write goes at once.
      const whole = gateway.maxFrameBytes;
      if (Math.min(this.#sendWindow, this.#output.nextFrameBytes) < whole && this.#output.inFlight >= whole) break;
      const frame = this.#output.takeFrame(stream, Math.min(this.#sendWindow, whole));
      gateway.sendFrame(frame);
      this.#sendWindow -= frame.byteLength - HEADER_BYTES;
      sent = true;
    }
    // The half-close waits for every acknowledgement: a write() during Closing goes before it.
    if (state === ClosingState && this.bytesToWrite() === 0 && !this.#closeSent) {
      this.#closeSent = true;
      this.#host.sendClose();
    }
    return sent;
  }

  /** Qt reads LowDelay and KeepAlive back at once (the gateway's answer confirms or clears them). */
  option(option: SocketOption, value: number): number | undefined {
    return option === SocketOption.LowDelayOption || option === SocketOption.KeepAliveOption ? (value ? 1 : 0) : undefined;
  }
}

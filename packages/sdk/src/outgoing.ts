import { encodeData, HEADER_BYTES, writeDataHeader } from '@socketgate/protocol';

/**
 * The bytes of what write() was given (strings as UTF-8) as a view, or undefined for anything else:
 * whatever keeps them (the output queue, a frame) copies them.
 */
export function toBytes(data: unknown): Uint8Array | undefined {
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
const encoder = new TextEncoder();

/** A block of output: payload bytes `start` to `end`, with room for a header before `start`. */
interface Block {
  bytes: Uint8Array;
  start: number;
  end: number;
}

/** A block made for a write into an empty queue holds at least this much. */
const MIN_BLOCK_PAYLOAD = 1024;

/**
 * A socket's unsent output, kept as DATA frames in the making. write() copies the caller's bytes
 * once, into blocks of at most one frame's payload with room for the header in front, and a whole
 * block leaves as the frame itself: no second copy. Only a frame cut short by the send window is
 * copied out; the bytes before the rest of its block are then free for the next header.
 *
 * A block handed out as a frame is not written again until the gateway has acknowledged its bytes:
 * by then the WebSocket is done with it, whatever WebSocket it is. Full-size blocks are then reused
 * for the next writes, so a long upload allocates only its first window's blocks (fresh memory
 * per frame was 128 MiB of garbage in a browser page per 128 MiB sent); once everything is
 * acknowledged they are let go, so an idle socket keeps none.
 */
export class OutgoingData {
  #blocks: Block[] = [];
  #size = 0;
  /** Payload bytes taken as frames, and of them acknowledged, since the queue was made or cleared. */
  #taken = 0;
  #acked = 0;
  /** Blocks sent whole as frames, with where their bytes end in what was taken, until acknowledged. */
  #sent: Array<[end: number, memory: Uint8Array]> = [];
  /** Blocks whose frames were acknowledged, for reuse. */
  #spare: Uint8Array[] = [];

  get size(): number {
    return this.#size;
  }

  /** Payload bytes in the first block: what the next frame carries when the window takes it whole. */
  get nextFrameBytes(): number {
    const block = this.#blocks[0];
    return block === undefined ? 0 : block.end - block.start;
  }

  /** Copies `data` in; `framePayload` is the most one frame may carry. */
  push(data: Uint8Array, framePayload: number): void {
    let offset = 0;
    const tail = this.#blocks.at(-1);
    if (tail !== undefined) {
      offset = Math.min(data.byteLength, tail.bytes.byteLength - tail.end);
      tail.bytes.set(data.subarray(0, offset), tail.end);
      tail.end += offset;
    }
    while (offset < data.byteLength) {
      const rest = data.byteLength - offset;
      // Into an empty queue, with less than a frame in flight, a write gets a block of its own size
      // (an interactive write costs no more than itself); behind queued output or a frame in
      // flight, blocks are whole frames.
      const payload =
        this.#size + offset > 0 || this.inFlight >= framePayload ? framePayload : Math.min(framePayload, Math.max(rest, MIN_BLOCK_PAYLOAD));
      const n = Math.min(rest, payload);
      const spare = this.#spare.pop();
      const bytes = spare?.byteLength === HEADER_BYTES + payload ? spare : new Uint8Array(HEADER_BYTES + payload);
      bytes.set(data.subarray(offset, offset + n), HEADER_BYTES);
      this.#blocks.push({ bytes, start: HEADER_BYTES, end: HEADER_BYTES + n });
      offset += n;
    }
    this.#size += data.byteLength;
  }

  /** Takes up to `max` bytes (at least 1) from the front as one DATA frame for `stream`. */
  takeFrame(stream: number, max: number): Uint8Array {
    const block = this.#blocks[0];
    if (block === undefined || max < 1) throw new RangeError('takeFrame needs queued bytes and a positive size');
    const available = block.end - block.start;
    if (max < available) {
      // Cut short: copy this part out; what stays has free bytes before it for the next header.
      const frame = encodeData(stream, block.bytes.subarray(block.start, block.start + max));
      block.start += max;
      this.#size -= max;
      this.#taken += max;
      return frame;
    }
    this.#blocks.shift();
    this.#size -= available;
    const frame = block.bytes.subarray(block.start - HEADER_BYTES, block.end);
    writeDataHeader(frame, stream);
    this.#taken += available;
    this.#sent.push([this.#taken, block.bytes]);
    return frame;
  }

  /** Bytes taken as frames and not yet acknowledged. */
  get inFlight(): number {
    return Math.max(0, this.#taken - this.#acked);
  }

  /**
   * The gateway acknowledged `bytes` more of what was taken: the memory of the frames they complete
   * may be reused; once all is, and nothing is queued, none is kept.
   */
  acknowledge(bytes: number): void {
    const sent = this.#sent;
    this.#acked += bytes;
    while (sent[0] && sent[0][0] <= this.#acked) this.#spare.push(sent.shift()![1]);
    if (!this.inFlight && !this.#size) this.#spare = [];
  }

  clear(): void {
    this.#blocks = [];
    this.#size = 0;
    this.#sent = [];
    this.#spare = [];
    this.#taken = this.#acked = 0;
  }
}

import { createRequire } from 'node:module';
import type { WebSocket } from 'ws';

/**
 * Binary payloads taken from the socket's reads without a copy.
 *
 * `ws` hands a frame on once all of it has arrived; when its payload spans several reads of the TCP
 * socket (a DATA frame of 256 KiB always does, and so does each of Chromium's fragments of about
 * 128 KiB), it copies the payload into a fresh Buffer. From a browser uploading that is a new
 * ArrayBuffer for every byte received, on top of the read buffers Node allocates anyway, and it is
 * what pushed V8 into starting a full collection after nearly every young one once the gateway's
 * heap passed V8's activation threshold for incremental marking (a plain relay, with a smaller heap
 * and no such copies, never does): three times the CPU per GiB uploaded.
 *
 * {@link receiveWithoutCopies} teaches one connection's receiver to hand a binary payload that spans
 * reads on as views of those reads, unmasked in place, one fragment of the message per piece (the
 * session takes binary messages as fragments: dispatch.ts). Text, control and compressed frames,
 * frames inside one read, and every error path stay `ws`'s own. What a view pins is bounded where
 * payloads are held (tcp-stream.ts copies a piece that would pin a much larger read).
 */

/** The fields and methods of `ws`'s receiver (8.x) this relies on; checked before it is used. */
interface Receiver {
  _opcode: number;
  _compressed: boolean;
  _payloadLength: number;
  _totalPayloadLength: number;
  _messageLength: number;
  _bufferedBytes: number;
  _buffers: Buffer[];
  _masked: boolean;
  _mask: Buffer | undefined;
  _fragments: Buffer[];
  _maxFragments: number;
  _numFragments: number;
  getData(cb: unknown): void;
  dataMessage(cb: unknown): void;
}

const { unmask } = createRequire(import.meta.url)('bufferutil') as { unmask(buffer: Uint8Array, mask: Uint8Array): void };

const BINARY = 0x02;

/** Whether `receiver` has the shape this file knows; another version of `ws` keeps its own behaviour. */
function isKnownReceiver(receiver: unknown): receiver is Receiver {
  const r = receiver as Partial<Record<keyof Receiver, unknown>> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.getData === 'function' &&
    typeof r.dataMessage === 'function' &&
    Array.isArray(r._buffers) &&
    Array.isArray(r._fragments) &&
    typeof r._opcode === 'number' &&
    typeof r._payloadLength === 'number' &&
    typeof r._totalPayloadLength === 'number' &&
    typeof r._bufferedBytes === 'number' &&
    typeof r._masked === 'boolean' &&
    typeof r._compressed === 'boolean' &&
    typeof r._maxFragments === 'number' &&
    typeof r._numFragments === 'number'
  );
}

/** Takes `n` buffered bytes (more than the first read holds) as views of the reads they are in. */
function takeViews(receiver: Receiver, n: number): Buffer[] {
  const pieces: Buffer[] = [];
  receiver._bufferedBytes -= n;
  while (n > 0) {
    const read = receiver._buffers[0] as Buffer;
    if (read.byteLength <= n) {
      pieces.push(read);
      receiver._buffers.shift();
      n -= read.byteLength;
    } else {
      pieces.push(read.subarray(0, n));
      receiver._buffers[0] = read.subarray(n);
      n = 0;
    }
  }
  return pieces;
}

/** Unmasks pieces of one payload in place, the mask running on from one piece to the next. */
function unmaskPieces(pieces: readonly Buffer[], mask: Buffer): void {
  let offset = 0;
  for (const piece of pieces) {
    const turn = offset & 3;
    const rotated = turn === 0 ? mask : Buffer.from([0, 1, 2, 3].map((i) => mask[(i + turn) & 3] as number));
    unmask(piece, rotated);
    offset += piece.byteLength;
  }
}

/**
 * Makes the receiver of `ws` (a server-side connection whose binaryType is `fragments`) hand on
 * binary payloads that span reads without copying them. Returns whether it could: false for a
 * receiver of a shape it does not know, which then works as before.
 */
export function receiveWithoutCopies(ws: WebSocket): boolean {
  const receiver = (ws as unknown as { _receiver?: unknown })._receiver;
  if (!isKnownReceiver(receiver)) return false;
  const getData = receiver.getData;
  receiver.getData = function (this: Receiver, cb: unknown): void {
    const length = this._payloadLength;
    const plain =
      this._opcode === BINARY &&
      !this._compressed &&
      length > (this._buffers[0]?.byteLength ?? 0) &&
      this._bufferedBytes >= length &&
      // A frame beyond the fragment limit is ws's to refuse.
      !(this._maxFragments > 0 && this._numFragments + 1 > this._maxFragments);
    if (!plain) {
      getData.call(this, cb);
      return;
    }
    const pieces = takeViews(this, length);
    const mask = this._mask;
    if (this._masked && mask !== undefined && mask.readUInt32LE(0) !== 0) unmaskPieces(pieces, mask);
    // As ws does: the mask is a view of a read, not to be pinned past its frame.
    this._mask = undefined;
    if (this._maxFragments > 0) this._numFragments++;
    this._messageLength = this._totalPayloadLength;
    this._fragments.push(...pieces);
    this.dataMessage(cb);
  };
  return true;
}

import { type Allocate, HEADER_BYTES } from '@socketgate/protocol';

/** Largest read from a real TCP socket, and so the largest DATA payload the gateway sends. */
export const READ_BYTES = 256 * 1024;

/**
 * Where every direct TCP socket of the process reads into. A read's bytes are copied out (into the
 * DATA frame, or the one chunk held back) before its callback returns, and no other read runs
 * before that, so one buffer serves every socket: large reads cost no memory per socket.
 */
export const READ_BUFFER = Buffer.allocUnsafeSlow(READ_BYTES);

const FRAME_BYTES = HEADER_BYTES + READ_BYTES;
/** Frames below this come from Node's own allocator (small ones from its shared slab). */
const POOLED_FROM = 16 * 1024;
/** At most this many frame buffers are kept for reuse (8 MiB). */
const MAX_POOLED = 32;
const free: ArrayBuffer[] = [];

/**
 * Memory for a DATA frame. Large frames reuse buffers the WebSocket has finished writing, so a
 * download allocates nothing per chunk and leaves the garbage collector nothing to do. Not zeroed:
 * the frame's header and payload overwrite every byte.
 */
export const allocateFrame: Allocate = (bytes) =>
  bytes < POOLED_FROM || bytes > FRAME_BYTES
    ? Buffer.allocUnsafe(bytes)
    : Buffer.from(free.pop() ?? new ArrayBuffer(FRAME_BYTES), 0, bytes);

/** Takes a frame back once the WebSocket has written it; nothing may use it afterwards. */
export function releaseFrame(frame: Uint8Array): void {
  const memory = frame.buffer;
  if (memory instanceof ArrayBuffer && memory.byteLength === FRAME_BYTES && frame.byteOffset === 0 && free.length < MAX_POOLED) {
    free.push(memory);
  }
}

/** Bytes kept for reuse: at most 8 MiB, held for the life of the process by design. */
export const pooledFrameBytes = (): number => free.length * FRAME_BYTES;

const EMPTY = new Uint8Array(0);

/** A FIFO of bytes kept as the chunks they arrived in; reads copy only what they return. */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #head = 0; // bytes of #chunks[0] already consumed
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#chunks.push(bytes);
    this.#size += bytes.byteLength;
  }

  /** Puts bytes back at the front (ungetChar, transaction rollback). */
  unshift(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    const first = this.#chunks[0];
    if (first !== undefined && this.#head > 0) {
      this.#chunks[0] = first.subarray(this.#head);
      this.#head = 0;
    }
    this.#chunks.unshift(bytes);
    this.#size += bytes.byteLength;
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#size = 0;
  }

  /** Copies up to `max` bytes from the front without consuming them. */
  peek(max: number): Uint8Array {
    const n = Math.min(max, this.#size);
    if (n <= 0) return EMPTY;
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.#head;
    for (const chunk of this.#chunks) {
      const part = chunk.subarray(offset, offset + (n - filled));
      out.set(part, filled);
      filled += part.byteLength;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns up to `max` bytes. */
  read(max: number): Uint8Array {
    const first = this.#chunks[0];
    // Fast path: the whole answer lies in the first chunk; return a view.
    if (first !== undefined && max > 0 && first.byteLength - this.#head >= Math.min(max, this.#size)) {
      const n = Math.min(max, this.#size);
      const out = first.subarray(this.#head, this.#head + n);
      this.skip(n);
      return out;
    }
    const out = this.peek(max);
    this.skip(out.byteLength);
    return out;
  }

  /** Removes up to `max` bytes; returns how many (0 for a negative `max`). */
  skip(max: number): number {
    const skipped = Math.min(max, this.#size);
    if (!(skipped > 0)) return 0; // negative or NaN must not grow #size
    let left = skipped;
    while (left > 0) {
      const first = this.#chunks[0] as Uint8Array;
      const inFirst = first.byteLength - this.#head;
      if (left < inFirst) {
        this.#head += left;
        break;
      }
      left -= inFirst;
      this.#chunks.shift();
      this.#head = 0;
    }
    this.#size -= skipped;
    return skipped;
  }

  /** Index of the first `byte` within the first `limit` bytes, or -1. */
  indexOf(byte: number, limit = this.#size): number {
    // A negative end would make subarray count from the back of a chunk.
    if (!(limit > 0)) return -1;
    let seen = 0;
    let offset = this.#head;
    for (const chunk of this.#chunks) {
      const end = Math.min(chunk.byteLength, offset + (limit - seen));
      const found = chunk.subarray(offset, end).indexOf(byte);
      if (found >= 0) return seen + found;
      seen += end - offset;
      offset = 0;
      if (seen >= limit) break;
    }
    return -1;
  }

  /** Moves up to `max` bytes into `target` without copying them. */
  moveTo(target: ByteQueue, max: number): number {
    let moved = 0;
    while (moved < max && this.#size > 0) {
      const first = this.#chunks[0] as Uint8Array;
      const part = first.subarray(this.#head, this.#head + (max - moved));
      target.push(part);
      this.skip(part.byteLength);
      moved += part.byteLength;
    }
    return moved;
  }
}

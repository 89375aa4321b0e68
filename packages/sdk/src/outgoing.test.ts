import { decodeFrame, HEADER_BYTES } from '@socketgate/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutgoingData } from './outgoing.js';

/** Decodes a DATA frame and returns its payload (a copy, so later changes to the block would show). */
function payloadOf(frame: Uint8Array, stream: number): Uint8Array {
  const decoded = decodeFrame(frame);
  if (!decoded.ok || decoded.value.kind !== 'data') throw new Error(`not a DATA frame: ${JSON.stringify(decoded)}`);
  expect(decoded.value.stream).toBe(stream);
  return Uint8Array.from(decoded.value.payload);
}

describe('OutgoingData', () => {
  it('sends a write into an empty queue as one frame built in place, with no copy', () => {
    const queue = new OutgoingData();
    queue.push(Uint8Array.of(1, 2, 3), 1024);
    expect(queue.size).toBe(3);
    const frame = queue.takeFrame(7, 1024);
    expect(frame.byteLength).toBe(HEADER_BYTES + 3);
    expect(payloadOf(frame, 7)).toEqual(Uint8Array.of(1, 2, 3));
    // The frame is a view into the block the write was copied into.
    expect(frame.buffer.byteLength).toBeGreaterThanOrEqual(HEADER_BYTES + 3);
    expect(queue.size).toBe(0);
  });

  it('copies the caller bytes at push: changing them afterwards changes nothing sent', () => {
    const queue = new OutgoingData();
    const data = Uint8Array.of(9, 9, 9, 9);
    queue.push(data, 1024);
    data.fill(0);
    expect(payloadOf(queue.takeFrame(1, 1024), 1)).toEqual(Uint8Array.of(9, 9, 9, 9));
  });

  it('fills whole frames behind queued output and never sends more than asked', () => {
    const queue = new OutgoingData();
    const chunk = new Uint8Array(600).map((_, i) => i % 251);
    for (let i = 0; i < 5; i++) queue.push(chunk, 1000);
    expect(queue.size).toBe(3000);
    const sizes: number[] = [];
    while (queue.size > 0) sizes.push(queue.takeFrame(2, 1000).byteLength - HEADER_BYTES);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
  });

  it('a frame cut short by the window is a copy, and the rest of its block still becomes a correct frame', () => {
    const queue = new OutgoingData();
    queue.push(
      Uint8Array.from({ length: 10 }, (_, i) => i + 1),
      1024,
    );
    const first = queue.takeFrame(3, 4);
    const second = queue.takeFrame(3, 1024);
    // Writing the second header into the block must not touch the first frame.
    expect(payloadOf(first, 3)).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(payloadOf(second, 3)).toEqual(Uint8Array.of(5, 6, 7, 8, 9, 10));
  });

  it('a frame handed out is never written again, whatever is pushed or taken after it', () => {
    const queue = new OutgoingData();
    queue.push(Uint8Array.of(1, 2), 8);
    const frame = queue.takeFrame(4, 8);
    const before = Uint8Array.from(frame);
    queue.push(Uint8Array.of(3, 4, 5, 6, 7, 8, 9, 10, 11), 8);
    while (queue.size > 0) queue.takeFrame(4, 3);
    expect(frame).toEqual(before);
  });

  it('refuses to take from an empty queue or less than one byte', () => {
    const queue = new OutgoingData();
    expect(() => queue.takeFrame(1, 10)).toThrow(RangeError);
    queue.push(Uint8Array.of(1), 10);
    expect(() => queue.takeFrame(1, 0)).toThrow(RangeError);
    queue.clear();
    expect(queue.size).toBe(0);
  });

  it('delivers every byte in order, in frames within the limits, for any writes and window sizes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 2048 }),
        (writes, takes, framePayload) => {
          const queue = new OutgoingData();
          const frames: Uint8Array[] = [];
          const sent: Uint8Array[] = [];
          let t = 0;
          // Interleave pushes and takes, as write() and the pump do.
          for (const write of writes) {
            queue.push(write, framePayload);
            if (queue.size > 0) {
              const max = Math.min(takes[t++ % takes.length] as number, framePayload);
              const frame = queue.takeFrame(5, max);
              expect(frame.byteLength - HEADER_BYTES).toBeLessThanOrEqual(max);
              frames.push(frame);
              sent.push(Uint8Array.from(frame));
            }
          }
          while (queue.size > 0) {
            const frame = queue.takeFrame(5, Math.min(takes[t++ % takes.length] as number, framePayload));
            frames.push(frame);
            sent.push(Uint8Array.from(frame));
          }
          const expected = Buffer.concat(writes);
          const got = Buffer.concat(frames.map((frame) => payloadOf(frame, 5)));
          expect(got.equals(expected)).toBe(true);
          // No frame changed after it was handed out.
          for (const [i, frame] of frames.entries()) expect(Buffer.from(frame).equals(Buffer.from(sent[i] as Uint8Array))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reuses the memory of whole frames once the gateway acknowledged them, and never before', () => {
    const queue = new OutgoingData();
    const chunk = new Uint8Array(1000).fill(1);
    for (let i = 0; i < 3; i++) queue.push(chunk, 1000);
    const first = queue.takeFrame(1, 1000);
    const second = queue.takeFrame(1, 1000);
    const copy = Uint8Array.from(first);
    // Acknowledged only in part: the first frame is not complete, nothing is reused.
    queue.acknowledge(999);
    queue.push(new Uint8Array(1000).fill(2), 1000);
    expect(Buffer.from(first).equals(Buffer.from(copy))).toBe(true);
    // Now the first frame is acknowledged: the next full block is made in its memory.
    queue.acknowledge(1);
    queue.push(new Uint8Array(1000).fill(3), 1000);
    expect(first[HEADER_BYTES]).toBe(3);
    // The unacknowledged second frame was never touched.
    expect(second[HEADER_BYTES]).toBe(1);
    const frames: Uint8Array[] = [];
    while (queue.size > 0) frames.push(payloadOf(queue.takeFrame(1, 1000), 1));
    expect(frames.map((frame) => frame[0])).toEqual([1, 2, 3]);
  });

  it('keeps no spare memory once everything taken is acknowledged and nothing is queued', () => {
    const queue = new OutgoingData();
    queue.push(new Uint8Array(2000).fill(1), 1000);
    const first = queue.takeFrame(1, 1000);
    queue.takeFrame(1, 1000);
    queue.acknowledge(2000);
    // Everything was acknowledged with nothing queued: the next block is new memory.
    queue.push(new Uint8Array(1000).fill(2), 1000);
    expect(first[HEADER_BYTES]).toBe(1);
    expect(payloadOf(queue.takeFrame(1, 1000), 1)[0]).toBe(2);
  });

  it('matches acknowledgements to frames cut short by the window as well as whole ones', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 30 }), (takes) => {
        const queue = new OutgoingData();
        const written: Uint8Array[] = [];
        const frames: Array<{ view: Uint8Array; copy: Uint8Array }> = [];
        const unacknowledged: number[] = [];
        for (const [i, max] of takes.entries()) {
          const data = new Uint8Array(700).fill(i % 256);
          written.push(data);
          queue.push(data, 1000);
          const frame = queue.takeFrame(1, max);
          frames.push({ view: frame, copy: Uint8Array.from(frame) });
          unacknowledged.push(frame.byteLength - HEADER_BYTES);
          // Acknowledge all but the last two frames: those must stay untouched by later pushes.
          while (unacknowledged.length > 2) queue.acknowledge(unacknowledged.shift() as number);
          for (const { view, copy } of frames.slice(-2)) expect(Buffer.from(view).equals(Buffer.from(copy))).toBe(true);
        }
        const rest: Uint8Array[] = frames.map(({ copy }) => payloadOf(copy, 1));
        while (queue.size > 0) rest.push(payloadOf(queue.takeFrame(1, 1000), 1));
        expect(Buffer.concat(rest).equals(Buffer.concat(written))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

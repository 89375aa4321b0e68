import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

/** A queue holding 1 2 3 | 4 5 | 6 7 8 9 (three chunks). */
function threeChunks(): ByteQueue {
  const queue = new ByteQueue();
  queue.push(bytes(1, 2, 3));
  queue.push(bytes(4, 5));
  queue.push(bytes(6, 7, 8, 9));
  return queue;
}

describe('ByteQueue', () => {
  it('starts empty', () => {
    const queue = new ByteQueue();
    expect(queue.size).toBe(0);
    expect(queue.read(4)).toEqual(new Uint8Array(0));
    expect(queue.peek(4)).toEqual(new Uint8Array(0));
    expect(queue.skip(4)).toBe(0);
    expect(queue.indexOf(0)).toBe(-1);
  });

  it('counts pushed bytes and ignores empty chunks', () => {
    const queue = new ByteQueue();
    queue.push(new Uint8Array(0));
    queue.unshift(new Uint8Array(0));
    expect(queue.size).toBe(0);
    queue.push(bytes(1, 2, 3));
    queue.push(new Uint8Array(0));
    queue.push(bytes(4, 5));
    queue.unshift(new Uint8Array(0));
    expect(queue.size).toBe(5);
    expect(queue.read(10)).toEqual(bytes(1, 2, 3, 4, 5));
  });

  describe('read', () => {
    it('reads within the first chunk', () => {
      const queue = threeChunks();
      expect(queue.read(2)).toEqual(bytes(1, 2));
      expect(queue.read(1)).toEqual(bytes(3));
      expect(queue.size).toBe(6);
    });

    it('reads across chunk boundaries, starting mid-chunk', () => {
      const queue = threeChunks();
      queue.read(2);
      expect(queue.read(5)).toEqual(bytes(3, 4, 5, 6, 7));
      expect(queue.size).toBe(2);
      expect(queue.read(2)).toEqual(bytes(8, 9));
    });

    it('returns what is there when asked for more than is available', () => {
      const queue = threeChunks();
      queue.read(1);
      expect(queue.read(100)).toEqual(bytes(2, 3, 4, 5, 6, 7, 8, 9));
      expect(queue.size).toBe(0);
      expect(queue.read(100)).toEqual(new Uint8Array(0));
    });

    it('returns nothing for zero or a negative count', () => {
      const queue = threeChunks();
      expect(queue.read(0)).toEqual(new Uint8Array(0));
      expect(queue.read(-3)).toEqual(new Uint8Array(0));
      expect(queue.size).toBe(9);
    });

    it('reads everything with an infinite count', () => {
      const queue = threeChunks();
      expect(queue.read(Number.POSITIVE_INFINITY)).toEqual(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9));
      expect(queue.size).toBe(0);
    });

    it('returns bytes that later operations leave alone', () => {
      const queue = threeChunks();
      const first = queue.read(2);
      const second = queue.read(4);
      queue.unshift(bytes(0xee));
      queue.push(bytes(0xff));
      queue.skip(2);
      expect(first).toEqual(bytes(1, 2));
      expect(second).toEqual(bytes(3, 4, 5, 6));
    });
  });

  describe('peek', () => {
    it('copies across chunk boundaries without consuming', () => {
      const queue = threeChunks();
      queue.read(1);
      expect(queue.peek(6)).toEqual(bytes(2, 3, 4, 5, 6, 7));
      expect(queue.peek(6)).toEqual(bytes(2, 3, 4, 5, 6, 7));
      expect(queue.size).toBe(8);
      expect(queue.peek(100)).toEqual(bytes(2, 3, 4, 5, 6, 7, 8, 9));
      expect(queue.peek(0)).toEqual(new Uint8Array(0));
      expect(queue.peek(-1)).toEqual(new Uint8Array(0));
    });

    it('returns a copy, so writing to it does not change the queue', () => {
      const queue = threeChunks();
      const peeked = queue.peek(4);
      peeked.fill(0);
      expect(queue.read(4)).toEqual(bytes(1, 2, 3, 4));
    });
  });

  describe('skip', () => {
    it('skips across chunk boundaries and returns the count', () => {
      const queue = threeChunks();
      expect(queue.skip(1)).toBe(1);
      expect(queue.skip(5)).toBe(5);
      expect(queue.read(1)).toEqual(bytes(7));
      expect(queue.skip(100)).toBe(2);
      expect(queue.size).toBe(0);
      expect(queue.skip(1)).toBe(0);
    });

    it('skips exactly to a chunk boundary', () => {
      const queue = threeChunks();
      expect(queue.skip(5)).toBe(5);
      expect(queue.read(1)).toEqual(bytes(6));
    });

    it('skips nothing for a negative or NaN count (and keeps its size)', () => {
      const queue = threeChunks();
      expect(queue.skip(-4)).toBe(0);
      expect(queue.skip(Number.NaN)).toBe(0);
      expect(queue.size).toBe(9);
      expect(queue.read(100)).toEqual(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9));
      expect(queue.size).toBe(0);
    });
  });

  describe('unshift', () => {
    it('puts bytes back at the front of a partly read chunk', () => {
      const queue = new ByteQueue();
      queue.push(bytes(1, 2, 3));
      queue.read(2);
      queue.unshift(bytes(9));
      expect(queue.size).toBe(2);
      expect(queue.read(10)).toEqual(bytes(9, 3));
    });

    it('stacks several unshifts, last one first', () => {
      const queue = threeChunks();
      queue.skip(4);
      queue.unshift(bytes(0x40));
      queue.unshift(bytes(0x20, 0x30));
      expect(queue.read(5)).toEqual(bytes(0x20, 0x30, 0x40, 5, 6));
    });

    it('works on an empty queue', () => {
      const queue = new ByteQueue();
      queue.unshift(bytes(7, 8));
      queue.push(bytes(9));
      expect(queue.read(3)).toEqual(bytes(7, 8, 9));
    });
  });

  describe('indexOf', () => {
    it('finds a byte in a later chunk, counting from the current front', () => {
      const queue = threeChunks();
      queue.read(1);
      expect(queue.indexOf(2)).toBe(0);
      expect(queue.indexOf(5)).toBe(3);
      expect(queue.indexOf(9)).toBe(7);
      expect(queue.indexOf(1)).toBe(-1);
    });

    it('finds the first of several matches', () => {
      const queue = new ByteQueue();
      queue.push(bytes(0, 10));
      queue.push(bytes(10, 10));
      expect(queue.indexOf(10)).toBe(1);
    });

    it('looks only within the first `limit` bytes', () => {
      const queue = threeChunks();
      queue.read(1);
      expect(queue.indexOf(5, 3)).toBe(-1);
      expect(queue.indexOf(5, 4)).toBe(3);
      expect(queue.indexOf(8, 6)).toBe(-1);
      expect(queue.indexOf(8, 7)).toBe(6);
      expect(queue.indexOf(8, 100)).toBe(6);
      expect(queue.indexOf(2, 1)).toBe(0);
    });

    it('finds nothing with a zero or negative limit', () => {
      const queue = threeChunks();
      expect(queue.indexOf(1, 0)).toBe(-1);
      expect(queue.indexOf(1, -1)).toBe(-1);
      expect(queue.indexOf(2, -1)).toBe(-1);
    });
  });

  describe('moveTo', () => {
    it('moves bytes across chunk boundaries, after what the target holds', () => {
      const from = threeChunks();
      const to = new ByteQueue();
      to.push(bytes(0));
      from.read(1);
      expect(from.moveTo(to, 6)).toBe(6);
      expect(from.size).toBe(2);
      expect(to.size).toBe(7);
      expect(to.read(10)).toEqual(bytes(0, 2, 3, 4, 5, 6, 7));
      expect(from.read(10)).toEqual(bytes(8, 9));
    });

    it('moves only what is there', () => {
      const from = threeChunks();
      const to = new ByteQueue();
      expect(from.moveTo(to, 100)).toBe(9);
      expect(from.size).toBe(0);
      expect(to.read(100)).toEqual(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9));
      expect(from.moveTo(to, 5)).toBe(0);
    });

    it('moves nothing for a zero or negative count', () => {
      const from = threeChunks();
      const to = new ByteQueue();
      expect(from.moveTo(to, 0)).toBe(0);
      expect(from.moveTo(to, -2)).toBe(0);
      expect(from.size).toBe(9);
      expect(to.size).toBe(0);
    });
  });

  it('clears everything', () => {
    const queue = threeChunks();
    queue.read(2);
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.read(10)).toEqual(new Uint8Array(0));
    queue.push(bytes(1));
    expect(queue.read(10)).toEqual(bytes(1));
  });

  it('behaves like a plain array for any sequence of operations (property)', () => {
    const count = fc.integer({ min: -2, max: 14 });
    const op = fc.oneof(
      fc.record({ op: fc.constant('push' as const), data: fc.uint8Array({ maxLength: 8 }) }),
      fc.record({ op: fc.constant('unshift' as const), data: fc.uint8Array({ maxLength: 4 }) }),
      fc.record({ op: fc.constantFrom('read' as const, 'peek' as const, 'skip' as const, 'moveTo' as const), n: count }),
      fc.record({ op: fc.constant('indexOf' as const), byte: fc.integer({ min: 0, max: 3 }), limit: fc.option(count, { nil: undefined }) }),
      fc.record({ op: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 50 }), (ops) => {
        const queue = new ByteQueue();
        const target = new ByteQueue();
        let model: number[] = [];
        const targetModel: number[] = [];
        // Everything read out, with what it must still hold at the end.
        const results: Array<[Uint8Array, number[]]> = [];
        const take = (n: number) => model.splice(0, Math.max(0, n));
        for (const step of ops) {
          switch (step.op) {
            case 'push':
              // Small values, so that indexOf finds something now and then.
              queue.push(step.data.map((byte) => byte % 4));
              model.push(...step.data.map((byte) => byte % 4));
              break;
            case 'unshift':
              queue.unshift(step.data.map((byte) => byte % 4));
              model = [...step.data.map((byte) => byte % 4), ...model];
              break;
            case 'read': {
              const out = queue.read(step.n);
              const expected = take(step.n);
              expect([...out]).toEqual(expected);
              results.push([out, expected]);
              break;
            }
            case 'peek':
              expect([...queue.peek(step.n)]).toEqual(model.slice(0, Math.max(0, step.n)));
              break;
            case 'skip':
              expect(queue.skip(step.n)).toBe(take(step.n).length);
              break;
            case 'moveTo': {
              const moved = take(step.n);
              expect(queue.moveTo(target, step.n)).toBe(moved.length);
              targetModel.push(...moved);
              expect(target.size).toBe(targetModel.length);
              break;
            }
            case 'indexOf': {
              const limit = step.limit === undefined ? model.length : Math.max(0, step.limit);
              expect(queue.indexOf(step.byte, step.limit)).toBe(model.slice(0, limit).indexOf(step.byte));
              break;
            }
            case 'clear':
              queue.clear();
              model = [];
              break;
          }
          expect(queue.size).toBe(model.length);
        }
        expect([...queue.read(Number.POSITIVE_INFINITY)]).toEqual(model);
        expect([...target.read(Number.POSITIVE_INFINITY)]).toEqual(targetModel);
        for (const [out, expected] of results) expect([...out]).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

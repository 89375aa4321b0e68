import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('ByteQueue', () => {
  it('reads, peeks and skips across chunk boundaries', () => {
    const queue = new ByteQueue();
    queue.push(bytes(1, 2, 3));
    queue.push(new Uint8Array(0));
    queue.push(bytes(4, 5));
    expect(queue.size).toBe(5);
    expect(queue.peek(4)).toEqual(bytes(1, 2, 3, 4));
    expect(queue.read(2)).toEqual(bytes(1, 2));
    expect(queue.read(2)).toEqual(bytes(3, 4));
    expect(queue.skip(10)).toBe(1);
    expect(queue.size).toBe(0);
    expect(queue.read(3)).toEqual(new Uint8Array(0));
  });

  it('puts bytes back at the front', () => {
    const queue = new ByteQueue();
    queue.push(bytes(1, 2, 3));
    queue.read(2);
    queue.unshift(bytes(9));
    expect(queue.read(10)).toEqual(bytes(9, 3));
  });

  it('finds a byte within a limit', () => {
    const queue = new ByteQueue();
    queue.push(bytes(1, 2));
    queue.push(bytes(3, 10, 5));
    queue.read(1);
    expect(queue.indexOf(10)).toBe(2);
    expect(queue.indexOf(10, 2)).toBe(-1);
    expect(queue.indexOf(10, 3)).toBe(2);
    expect(queue.indexOf(7)).toBe(-1);
  });

  it('moves bytes to another queue', () => {
    const from = new ByteQueue();
    const to = new ByteQueue();
    from.push(bytes(1, 2, 3));
    from.push(bytes(4));
    expect(from.moveTo(to, 3)).toBe(3);
    expect(to.read(10)).toEqual(bytes(1, 2, 3));
    expect(from.read(10)).toEqual(bytes(4));
  });

  it('behaves like a plain array for any sequence of operations (property)', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('push' as const), data: fc.uint8Array({ maxLength: 8 }) }),
      fc.record({ op: fc.constant('unshift' as const), data: fc.uint8Array({ maxLength: 3 }) }),
      fc.record({ op: fc.constantFrom('read' as const, 'peek' as const, 'skip' as const, 'move' as const), n: fc.nat({ max: 12 }) }),
      fc.record({ op: fc.constant('indexOf' as const), byte: fc.integer({ min: 0, max: 3 }), n: fc.nat({ max: 12 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const queue = new ByteQueue();
        let model: number[] = [];
        for (const step of ops) {
          switch (step.op) {
            case 'push':
              queue.push(step.data);
              model.push(...step.data);
              break;
            case 'unshift':
              queue.unshift(step.data);
              model = [...step.data, ...model];
              break;
            case 'read':
              expect([...queue.read(step.n)]).toEqual(model.splice(0, step.n));
              break;
            case 'peek':
              expect([...queue.peek(step.n)]).toEqual(model.slice(0, step.n));
              break;
            case 'skip':
              expect(queue.skip(step.n)).toBe(model.splice(0, step.n).length);
              break;
            case 'move': {
              const target = new ByteQueue();
              queue.moveTo(target, step.n);
              expect([...target.read(100)]).toEqual(model.splice(0, step.n));
              break;
            }
            case 'indexOf':
              expect(queue.indexOf(step.byte, step.n)).toBe(model.slice(0, step.n).indexOf(step.byte));
              break;
          }
          expect(queue.size).toBe(model.length);
        }
      }),
    );
  });
});

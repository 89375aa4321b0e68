import { describe, expect, it, vi } from 'vitest';
import { Signal } from './signal.js';

describe('Signal', () => {
  it('runs slots synchronously, in connect order, with the emitted arguments', () => {
    const signal = new Signal<[number, string]>();
    const calls: string[] = [];
    signal.connect((n, s) => calls.push(`a ${n} ${s}`));
    signal.connect((n, s) => calls.push(`b ${n} ${s}`));
    signal.emit(1, 'x');
    expect(calls).toEqual(['a 1 x', 'b 1 x']);
  });

  it('runs a slot connected during an emit from the next emit on', () => {
    const signal = new Signal<[]>();
    const calls: string[] = [];
    signal.connect(() => {
      calls.push('first');
      if (calls.length === 1) signal.connect(() => calls.push('late'));
    });
    signal.emit();
    expect(calls).toEqual(['first']);
    signal.emit();
    expect(calls).toEqual(['first', 'first', 'late']);
  });

  it('does not run a slot disconnected during an emit', () => {
    const signal = new Signal<[]>();
    const calls: string[] = [];
    const second = () => calls.push('second');
    signal.connect(() => {
      calls.push('first');
      signal.disconnect(second);
    });
    signal.connect(second);
    signal.emit();
    expect(calls).toEqual(['first']);
  });

  it('disconnects through the connection, by slot (earliest first), or all at once', () => {
    const signal = new Signal<[]>();
    const calls: string[] = [];
    const slot = () => calls.push('slot');
    const connection = signal.connect(() => calls.push('handle'));
    signal.connect(slot);
    signal.connect(slot);
    connection.disconnect();
    signal.emit();
    expect(calls).toEqual(['slot', 'slot']);
    expect(signal.disconnect(slot)).toBe(true);
    signal.emit();
    expect(calls).toEqual(['slot', 'slot', 'slot']);
    expect(signal.disconnect(() => {})).toBe(false);
    expect(signal.disconnect()).toBe(true);
    expect(signal.disconnect()).toBe(false);
    signal.emit();
    expect(calls).toHaveLength(3);
  });

  it('disconnects when an AbortSignal aborts, and never connects an aborted one', () => {
    const signal = new Signal<[]>();
    const calls: string[] = [];
    const controller = new AbortController();
    signal.connect(() => calls.push('dom'), { signal: controller.signal });
    signal.emit();
    controller.abort();
    signal.emit();
    signal.connect(() => calls.push('never'), { signal: controller.signal });
    signal.emit();
    expect(calls).toEqual(['dom']);
  });

  it('keeps going after a slot throws and rethrows its error from a microtask', () => {
    const signal = new Signal<[]>();
    const microtasks: Array<() => void> = [];
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => {
      microtasks.push(task);
    });
    const calls: string[] = [];
    const boom = new Error('slot failed');
    signal.connect(() => {
      throw boom;
    });
    signal.connect(() => calls.push('after'));
    signal.emit();
    spy.mockRestore();
    expect(calls).toEqual(['after']);
    expect(microtasks).toHaveLength(1);
    expect(() => microtasks[0]?.()).toThrow(boom);
  });

  it('refuses a slot that is not a function', () => {
    const signal = new Signal<[]>();
    expect(() => signal.connect('nope' as never)).toThrow(TypeError);
  });
});

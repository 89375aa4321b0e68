import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Signal } from './signal.js';

/** Holds back microtasks queued by `Signal.emit` so a test can run them by hand. */
function captureMicrotasks(): Array<() => void> {
  const tasks: Array<() => void> = [];
  vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => {
    tasks.push(task);
  });
  return tasks;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Signal', () => {
  describe('emit', () => {
    it('runs slots synchronously, in connect order, with the emitted arguments', () => {
      const signal = new Signal<[number, string]>();
      const calls: string[] = [];
      signal.connect((n, s) => calls.push(`a ${n} ${s}`));
      signal.connect((n, s) => calls.push(`b ${n} ${s}`));
      signal.connect((n, s) => calls.push(`c ${n} ${s}`));
      signal.emit(1, 'x');
      calls.push('after emit');
      expect(calls).toEqual(['a 1 x', 'b 1 x', 'c 1 x', 'after emit']);
    });

    it('runs a slot once per connection when it is connected twice', () => {
      const signal = new Signal<[]>();
      const slot = vi.fn();
      signal.connect(slot);
      signal.connect(slot);
      signal.emit();
      expect(slot).toHaveBeenCalledTimes(2);
    });

    it('does nothing when no slot is connected', () => {
      const signal = new Signal<[number]>();
      expect(() => signal.emit(1)).not.toThrow();
      expect(signal.disconnect()).toBe(false);
    });

    it('runs a slot connected during an emit from the next emit on', () => {
      const signal = new Signal<[]>();
      const calls: string[] = [];
      signal.connect(() => {
        calls.push('first');
        if (calls.length === 1) signal.connect(() => calls.push('late'));
      });
      signal.connect(() => calls.push('second'));
      signal.emit();
      expect(calls).toEqual(['first', 'second']);
      signal.emit();
      expect(calls).toEqual(['first', 'second', 'first', 'second', 'late']);
    });

    it('does not run a slot disconnected by slot during an emit', () => {
      const signal = new Signal<[]>();
      const calls: string[] = [];
      const second = () => calls.push('second');
      signal.connect(() => {
        calls.push('first');
        signal.disconnect(second);
      });
      signal.connect(second);
      signal.emit();
      signal.emit();
      expect(calls).toEqual(['first', 'first']);
    });

    it('does not run a slot whose connection is disconnected during an emit', () => {
      const signal = new Signal<[]>();
      const calls: string[] = [];
      signal.connect(() => {
        calls.push('first');
        connection.disconnect();
      });
      const connection = signal.connect(() => calls.push('second'));
      signal.emit();
      expect(calls).toEqual(['first']);
    });

    it('runs no further slot after disconnect() during an emit', () => {
      const signal = new Signal<[]>();
      const calls: string[] = [];
      signal.connect(() => {
        calls.push('first');
        signal.disconnect();
      });
      signal.connect(() => calls.push('second'));
      signal.emit();
      signal.emit();
      expect(calls).toEqual(['first']);
    });

    it('lets a slot disconnect itself so that it runs only once', () => {
      const signal = new Signal<[]>();
      const calls: string[] = [];
      const connection = signal.connect(() => {
        calls.push('once');
        connection.disconnect();
      });
      signal.connect(() => calls.push('always'));
      signal.emit();
      signal.emit();
      expect(calls).toEqual(['once', 'always', 'always']);
    });

    it('lets a slot emit the same signal again (nested emits run every slot)', () => {
      const signal = new Signal<[number]>();
      const calls: string[] = [];
      signal.connect((depth) => {
        calls.push(`a${depth}`);
        if (depth === 0) signal.emit(1);
      });
      signal.connect((depth) => calls.push(`b${depth}`));
      signal.emit(0);
      expect(calls).toEqual(['a0', 'a1', 'b1', 'b0']);
    });
  });

  describe('disconnect', () => {
    it('disconnects through the Connection that connect returns', () => {
      const signal = new Signal<[]>();
      const slot = vi.fn();
      const connection = signal.connect(slot);
      signal.emit();
      connection.disconnect();
      signal.emit();
      expect(slot).toHaveBeenCalledTimes(1);
    });

    it('disconnects only its own connection, and is harmless to call twice', () => {
      const signal = new Signal<[]>();
      const slot = vi.fn();
      const first = signal.connect(slot);
      signal.connect(slot);
      first.disconnect();
      first.disconnect();
      signal.emit();
      expect(slot).toHaveBeenCalledTimes(1);
    });

    it('disconnect(slot) removes the earliest connection of that slot and returns true', () => {
      const signal = new Signal<[]>();
      const calls: string[] = [];
      const slot = () => calls.push('slot');
      signal.connect(slot);
      signal.connect(() => calls.push('other'));
      signal.connect(slot);
      expect(signal.disconnect(slot)).toBe(true);
      signal.emit();
      // Were the later connection removed instead, 'slot' would come first.
      expect(calls).toEqual(['other', 'slot']);
      expect(signal.disconnect(slot)).toBe(true);
      expect(signal.disconnect(slot)).toBe(false);
    });

    it('disconnect(slot) returns false for a slot that is not connected', () => {
      const signal = new Signal<[]>();
      const connected = vi.fn();
      signal.connect(connected);
      expect(signal.disconnect(() => {})).toBe(false);
      signal.emit();
      expect(connected).toHaveBeenCalledTimes(1);
    });

    it('disconnect() removes every slot and returns whether there were any', () => {
      const signal = new Signal<[]>();
      const a = vi.fn();
      const b = vi.fn();
      signal.connect(a);
      signal.connect(b);
      expect(signal.disconnect()).toBe(true);
      expect(signal.disconnect()).toBe(false);
      signal.emit();
      expect(a).not.toHaveBeenCalled();
      expect(b).not.toHaveBeenCalled();
    });

    it('connects again after disconnect()', () => {
      const signal = new Signal<[]>();
      const slot = vi.fn();
      signal.connect(slot);
      signal.disconnect();
      signal.connect(slot);
      signal.emit();
      expect(slot).toHaveBeenCalledTimes(1);
    });
  });

  describe('{ signal: AbortSignal }', () => {
    it('disconnects the slot when the AbortSignal aborts', () => {
      const signal = new Signal<[]>();
      const controller = new AbortController();
      const slot = vi.fn();
      signal.connect(slot, { signal: controller.signal });
      signal.emit();
      controller.abort();
      signal.emit();
      expect(slot).toHaveBeenCalledTimes(1);
      expect(signal.disconnect(slot)).toBe(false);
    });

    it('never connects a slot when the AbortSignal has already aborted', () => {
      const signal = new Signal<[]>();
      const slot = vi.fn();
      const connection = signal.connect(slot, { signal: AbortSignal.abort() });
      signal.emit();
      expect(slot).not.toHaveBeenCalled();
      expect(signal.disconnect(slot)).toBe(false);
      expect(() => connection.disconnect()).not.toThrow();
    });

    it('does not run a slot whose AbortSignal aborts during the emit', () => {
      const signal = new Signal<[]>();
      const controller = new AbortController();
      const late = vi.fn();
      signal.connect(() => controller.abort());
      signal.connect(late, { signal: controller.signal });
      signal.emit();
      expect(late).not.toHaveBeenCalled();
    });

    it('only disconnects the connections made with that AbortSignal', () => {
      const signal = new Signal<[]>();
      const controller = new AbortController();
      const calls: string[] = [];
      signal.connect(() => calls.push('kept'));
      signal.connect(() => calls.push('aborted'), { signal: controller.signal });
      controller.abort();
      signal.emit();
      expect(calls).toEqual(['kept']);
    });

    it('stops listening to the AbortSignal once the connection is gone', () => {
      const signal = new Signal<[]>();
      const { signal: abort } = new AbortController();
      const slot = () => {};
      // A long-lived AbortSignal reused across many connections must not collect listeners.
      for (let i = 0; i < 20; i++) signal.connect(slot, { signal: abort }).disconnect();
      expect(getEventListeners(abort, 'abort')).toHaveLength(0);
      signal.connect(slot, { signal: abort });
      expect(signal.disconnect(slot)).toBe(true);
      signal.connect(slot, { signal: abort });
      signal.connect(slot, { signal: abort });
      expect(getEventListeners(abort, 'abort')).toHaveLength(2);
      signal.disconnect();
      expect(getEventListeners(abort, 'abort')).toHaveLength(0);
    });
  });

  describe('a slot that throws', () => {
    it('does not stop later slots and does not throw out of emit', () => {
      const tasks = captureMicrotasks();
      const signal = new Signal<[]>();
      const after = vi.fn();
      signal.connect(() => {
        throw new Error('slot failed');
      });
      signal.connect(after);
      expect(() => signal.emit()).not.toThrow();
      expect(after).toHaveBeenCalledTimes(1);
      expect(tasks).toHaveLength(1);
    });

    it('has its error rethrown from a microtask, one per throwing slot', () => {
      const tasks = captureMicrotasks();
      const signal = new Signal<[]>();
      const first = new Error('first');
      const second = { notAnError: true };
      signal.connect(() => {
        throw first;
      });
      signal.connect(() => {
        throw second;
      });
      signal.emit();
      expect(tasks).toHaveLength(2);
      expect(() => tasks[0]?.()).toThrow(first);
      let thrown: unknown;
      try {
        tasks[1]?.();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBe(second);
    });

    it('queues no microtask when no slot throws', () => {
      const tasks = captureMicrotasks();
      const signal = new Signal<[]>();
      signal.connect(() => {});
      signal.emit();
      expect(tasks).toHaveLength(0);
    });
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'nope'],
    ['an object', { handleEvent() {} }],
  ])('refuses %s as a slot with a TypeError', (_name, slot) => {
    const signal = new Signal<[]>();
    expect(() => signal.connect(slot as never)).toThrow(TypeError);
    expect(signal.disconnect()).toBe(false);
  });
});

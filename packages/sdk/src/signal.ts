/**
 * Qt-style signals: `socket.readyRead.connect(slot)`, `.disconnect(slot)`.
 *
 * - Slots run synchronously, in connect order.
 * - A slot connected during an emit first runs on the next emit; one disconnected during an emit
 *   does not run after that.
 * - A slot that throws cannot corrupt the socket: the error is rethrown from a microtask.
 */
export type Slot<A extends unknown[]> = (...args: A) => void;

/** What `connect` returns: the handle that undoes it. */
export interface Connection {
  disconnect(): void;
}

/** The public face of a signal: anyone may listen, only its owner emits. */
export interface ReadonlySignal<A extends unknown[]> {
  /** Calls `slot` on every emit until disconnected, or until `options.signal` aborts. */
  connect(slot: Slot<A>, options?: { signal?: AbortSignal }): Connection;
  /** Disconnects one slot (the earliest connection of it), or every slot when none is given. */
  disconnect(slot?: Slot<A>): boolean;
}

interface Entry<A extends unknown[]> {
  slot: Slot<A>;
  live: boolean;
  /** Stops listening to the connect-time AbortSignal, so a long-lived one does not collect listeners. */
  unlisten?: () => void;
}

export class Signal<A extends unknown[]> implements ReadonlySignal<A> {
  // Copy-on-write, so an emit walks the list as it was when the emit began.
  #entries: readonly Entry<A>[] = [];

  connect(slot: Slot<A>, options?: { signal?: AbortSignal }): Connection {
    if (typeof slot !== 'function') throw new TypeError('connect() takes a function to call when the signal is emitted');
    const entry: Entry<A> = { slot, live: true };
    const connection = { disconnect: () => this.#remove(entry) };
    const abort = options?.signal;
    if (abort?.aborted) {
      entry.live = false;
      return connection;
    }
    this.#entries = [...this.#entries, entry];
    if (abort) {
      const onAbort = () => this.#remove(entry);
      abort.addEventListener('abort', onAbort, { once: true });
      entry.unlisten = () => abort.removeEventListener('abort', onAbort);
    }
    return connection;
  }

  disconnect(slot?: Slot<A>): boolean {
    if (slot === undefined) {
      const entries = this.#entries;
      this.#entries = [];
      for (const entry of entries) this.#retire(entry);
      return entries.length > 0;
    }
    const entry = this.#entries.find((candidate) => candidate.slot === slot);
    if (entry === undefined) return false;
    this.#remove(entry);
    return true;
  }

  #remove(entry: Entry<A>): void {
    this.#retire(entry);
    this.#entries = this.#entries.filter((candidate) => candidate !== entry);
  }

  #retire(entry: Entry<A>): void {
    entry.live = false;
    entry.unlisten?.();
  }

  emit(...args: A): void {
    for (const entry of this.#entries) {
      if (!entry.live) continue;
      try {
        entry.slot(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

export type WaitKind = 'connected' | 'readyRead' | 'bytesWritten' | 'disconnected' | 'encrypted';

interface Waiter {
  kind: WaitKind;
  settle(result: boolean): void;
}

/**
 * A socket's pending waitFor* Promises. Each settles once: true when its event comes, false when
 * the socket gives up on it, or false at its timeout, after which `timedOut` runs.
 */
export class Waits {
  readonly #pending = new Set<Waiter>();
  readonly #timedOut: (kind: WaitKind) => void;

  constructor(timedOut: (kind: WaitKind) => void) {
    this.#timedOut = timedOut;
  }

  /** Waits for `kind` at most `msecs` (-1 for no timeout). */
  wait(kind: WaitKind, msecs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: Waiter = {
        kind,
        settle: (result) => {
          clearTimeout(timer);
          this.#pending.delete(waiter);
          resolve(result);
        },
      };
      this.#pending.add(waiter);
      if (msecs >= 0) {
        timer = setTimeout(() => {
          waiter.settle(false);
          this.#timedOut(kind);
        }, msecs);
      }
    });
  }

  /** `kind` happened: its waits resolve to true. */
  done(kind: WaitKind): void {
    this.#settle(true, (waiting) => waiting === kind);
  }

  /** Every wait resolves to false, but those for `spare` (waitForDisconnected outlives a close()). */
  cancel(spare?: WaitKind): void {
    this.#settle(false, (waiting) => waiting !== spare);
  }

  #settle(result: boolean, which: (kind: WaitKind) => boolean): void {
    for (const waiter of [...this.#pending]) if (which(waiter.kind)) waiter.settle(result);
  }
}

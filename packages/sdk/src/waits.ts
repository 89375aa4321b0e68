import { nextTask } from './transport-channel.js';

export type WaitKind = 'connected' | 'readyRead' | 'bytesWritten' | 'disconnected' | 'encrypted';

interface Waiter {
  kind: WaitKind;
  settle(result: boolean): void;
}

/**
 * A socket's pending waitFor* Promises. Each settles once: true when its event comes, false when
 * the socket gives up on it, or false at its timeout, after which `timedOut` runs.
 *
 * Qt's blocking wait returns as soon as its event came, and the caller's next line runs before
 * anything else is read. So once a wait came true, what the gateway reports next (the echo behind an
 * acknowledgement, the greeting behind the news of the connection, both in one WebSocket read) is
 * held back until the code awaiting the wait has run: to the next task, where a wait the caller
 * started meanwhile sees it. waitForReadyRead is the exception: Qt's reads all that is there.
 */
export class Waits {
  readonly #pending = new Set<Waiter>();
  readonly #timedOut: (kind: WaitKind) => void;
  /** Gateway events held back, in order. */
  #held: Array<() => void> = [];
  #holding = false;

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
    if (!this.#settle(true, (waiting) => waiting === kind) || kind === 'readyRead' || this.#holding) return;
    this.#holding = true;
    nextTask(() => {
      this.#holding = false;
      while (!this.#holding && this.#held.length > 0) this.#held.shift()?.();
    });
  }

  /** Runs a gateway event now, or after those held back (see above). */
  run(event: () => void): void {
    if (this.#holding || this.#held.length > 0) this.#held.push(event);
    else event();
  }

  /** The connection is gone: the events held back for it are dropped. */
  forget(): void {
    this.#held = [];
  }

  /** Every wait resolves to false, but those for `spare` (waitForDisconnected outlives a close()). */
  cancel(spare?: WaitKind): void {
    this.#settle(false, (waiting) => waiting !== spare);
  }

  /** Settles the waits `which` picks; true when there were any. */
  #settle(result: boolean, which: (kind: WaitKind) => boolean): boolean {
    const settled = [...this.#pending].filter((waiter) => which(waiter.kind));
    for (const waiter of settled) waiter.settle(result);
    return settled.length > 0;
  }
}

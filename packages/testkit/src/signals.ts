import { nameOf, type QAbstractSocket, SocketError, SocketState } from '@socketgate/sdk';

/**
 * Records a socket's signals as readable strings, e.g. `stateChanged(ConnectedState)`,
 * `errorOccurred(ConnectionRefusedError)`, `readyRead`, `bytesWritten(5)`.
 */
export function recordSignals(socket: QAbstractSocket, options: { bytesWritten?: boolean; readyRead?: boolean } = {}): string[] {
  const log: string[] = [];
  socket.hostFound.connect(() => log.push('hostFound'));
  socket.connected.connect(() => log.push('connected'));
  socket.disconnected.connect(() => log.push('disconnected'));
  socket.stateChanged.connect((state) => log.push(`stateChanged(${nameOf(SocketState, state)})`));
  socket.errorOccurred.connect((error) => log.push(`errorOccurred(${nameOf(SocketError, error)})`));
  socket.aboutToClose.connect(() => log.push('aboutToClose'));
  socket.readChannelFinished.connect(() => log.push('readChannelFinished'));
  if (options.readyRead !== false) socket.readyRead.connect(() => log.push('readyRead'));
  if (options.bytesWritten) socket.bytesWritten.connect((n) => log.push(`bytesWritten(${n})`));
  return log;
}

/** Resolves when `signal` next fires (with its arguments), or rejects after `timeoutMs`. */
export function nextSignal<A extends unknown[]>(
  signal: { connect(slot: (...args: A) => void): { disconnect(): void } },
  timeoutMs = 10_000,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.disconnect();
      reject(new Error(`signal not emitted within ${timeoutMs} ms`));
    }, timeoutMs);
    const connection = signal.connect((...args: A) => {
      clearTimeout(timer);
      connection.disconnect();
      resolve(args);
    });
  });
}

/** Polls `condition` every few milliseconds until it holds, or rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Waits until `read()` stops changing for `quietMs` (a pipeline that stalled: its buffers are full)
 * and resolves with that value; throws after `timeoutMs` if it never does.
 */
export async function settled(read: () => number, quietMs = 300, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = read();
    if (now === last) return now;
    if (Date.now() > deadline) throw new Error('never settled');
    last = now;
  }
}

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

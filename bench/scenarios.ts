/**
 * The measurement loops every client of the benchmark runs, in Node (bench/client.ts) and in the
 * Chromium page (bench/page.ts), over whatever connection a path gives them. The page is bundled
 * for the browser: nothing here may import a Node built-in or use Node's globals.
 */
import { type Gateway, QTcpSocket } from '@socketgate/sdk';

/** The operations every TCP path offers the scenarios. */
export interface Conn {
  /** Resolves when the bytes are accepted for sending without piling up more than a bounded amount. */
  write(bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  onData(listener: (bytes: Uint8Array) => void): void;
  onClose(listener: () => void): void;
  close(): void;
  /** Stop or resume reading in the application (not every path can). */
  pause?(): void;
  resume?(): void;
}

/** A path's way to open a connection to a target port. */
export type Connect = (port: number) => Promise<Conn>;

/** The bound on bytes a client holds for sending, on every path. */
export const WRITE_BOUND = 4 * 1024 * 1024;
/** What an upload writes at a time. */
export const CHUNK = new Uint8Array(64 * 1024).fill(0x62);
/** Echoes sent before the measured ones, on every path alike: they time the JIT compiler, not the path. */
export const WARMUP = 200;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const line = (text: string) => new TextEncoder().encode(text);

/**
 * Waits for the close, or gives up once nothing happened for `quietMs`: a path that loses the close
 * (or bytes before it) is recorded as such instead of hanging until the benchmark kills the client.
 */
export async function closeOrQuiet(isClosed: () => boolean, progress: () => number, quietMs: number): Promise<boolean> {
  let last = progress();
  let since = performance.now();
  while (!isClosed()) {
    await sleep(10);
    const now = progress();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since > quietMs) return false;
  }
  return true;
}

/** An upload of `bytes` to the sink on `port`, which answers with the count it received and closes. */
export async function upload(connect: Connect, port: number, bytes: number) {
  const conn = await connect(port);
  const decoder = new TextDecoder();
  let reply = '';
  let closed = false;
  let end = 0;
  conn.onData((data) => {
    reply += decoder.decode(data, { stream: true });
    end = performance.now();
  });
  conn.onClose(() => {
    closed = true;
    end = performance.now();
  });
  const start = performance.now();
  await conn.write(line(`${bytes}\n`));
  for (let sent = 0; sent < bytes; sent += CHUNK.byteLength) await conn.write(CHUNK);
  // A gateway may still hold much of the upload for a stalled target: give it time to drain.
  const closeArrived = await closeOrQuiet(
    () => closed,
    () => reply.length,
    20_000,
  );
  if (!closeArrived) conn.close();
  const seconds = ((end || performance.now()) - start) / 1000;
  return { mbPerSecond: bytes / 1e6 / seconds, arrived: Number(reply.trim()) === bytes, closeArrived };
}

/** How a download stalls: the page's main thread busy (`page`), or the application not reading (`reader`). */
export interface Stall {
  ms: number;
  how: 'page' | 'reader';
}

/** A download of `bytes` from the source on `port`; with `stall`, the client stops reading for a while once bytes flow. */
export async function download(connect: Connect, port: number, bytes: number, stall?: Stall) {
  const conn = await connect(port);
  let received = 0;
  let closed = false;
  let end = 0;
  conn.onClose(() => {
    closed = true;
    end = performance.now();
  });
  conn.onData((data) => {
    received += data.byteLength;
    end = performance.now();
  });
  if (stall?.how === 'reader') conn.pause?.();
  const start = performance.now();
  await conn.write(line(`${bytes}\n`));
  let receivedBeforeStall = 0;
  if (stall?.how === 'page') {
    for (let waited = 0; received === 0 && waited < 5000; waited += 10) await sleep(10);
    receivedBeforeStall = received;
    // The page is busy: its main thread does not return to the event loop, so the browser takes
    // in only what its own buffers hold, and the server has to stop sending.
    const until = performance.now() + stall.ms;
    while (performance.now() < until) {
      // Busy.
    }
  } else if (stall?.how === 'reader') {
    await sleep(stall.ms);
    conn.resume?.();
  }
  const closeArrived = await closeOrQuiet(
    () => closed,
    () => received,
    5000,
  );
  if (!closeArrived) conn.close();
  const seconds = ((end || performance.now()) - start) / 1000;
  return {
    mbPerSecond: received / 1e6 / seconds,
    arrived: received === bytes,
    closeArrived,
    received,
    ...(stall ? { receivedBeforeStall } : {}),
  };
}

export const percentile = (values: number[], p: number): number =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;

/** `count` echoes of 64 bytes in sequence from the echo on `port`, after WARMUP unmeasured ones. */
export async function latency(connect: Connect, port: number, count: number) {
  const conn = await connect(port);
  const message = new Uint8Array(64).fill(0x6c);
  let got = 0;
  let wake: () => void = () => {};
  conn.onData((data) => {
    got += data.byteLength;
    if (got >= 64) wake();
  });
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + count; i++) {
    got = 0;
    const echoed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const start = performance.now();
    await conn.write(message);
    await echoed;
    if (i >= WARMUP) samples.push((performance.now() - start) * 1000);
  }
  conn.close();
  return { p50us: percentile(samples, 0.5), p99us: percentile(samples, 0.99) };
}

/**
 * A connection through socketgate, the SDK's QTcpSocket, the same from Node and from the page. It
 * stops reading as Qt's applications do: a bounded read buffer it does not empty.
 */
export async function socketgateConnection(gateway: Gateway, port: number): Promise<Conn & { end(): void; pause(): void; resume(): void }> {
  const socket = new QTcpSocket({ gateway });
  socket.connectToHost('127.0.0.1', port);
  if (!(await socket.waitForConnected(30_000))) throw new Error(socket.errorString());
  socket.setSocketOption(QTcpSocket.LowDelayOption, 1);
  let paused = false;
  const listeners: Array<(bytes: Uint8Array) => void> = [];
  const deliver = (): void => {
    if (paused) return;
    const bytes = socket.readAll();
    if (bytes.byteLength > 0) for (const listener of listeners) listener(bytes);
  };
  socket.readyRead.connect(deliver);
  return {
    write: async (bytes) => {
      socket.write(bytes);
      while (socket.bytesToWrite() > WRITE_BOUND) await socket.waitForBytesWritten(30_000);
    },
    onData: (listener) => listeners.push(listener),
    onClose: (listener) =>
      socket.disconnected.connect(() => {
        deliver();
        listener();
      }),
    end: () => socket.disconnectFromHost(),
    close: () => socket.abort(),
    pause: () => {
      paused = true;
      socket.setReadBufferSize(64 * 1024);
    },
    resume: () => {
      paused = false;
      socket.setReadBufferSize(0);
      deliver();
    },
  };
}

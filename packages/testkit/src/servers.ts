import net from 'node:net';
import { Worker } from 'node:worker_threads';

/** A TCP server on loopback that a test starts and stops. */
export interface TestServer {
  host: string;
  port: number;
  /** Connections accepted and still open. */
  readonly sockets: ReadonlySet<net.Socket>;
  /** Resolves with each newly accepted connection, in order. */
  nextConnection(): Promise<net.Socket>;
  close(): Promise<void>;
}

/** Starts a TCP server on 127.0.0.1 (or ::1) with an ephemeral port; `onConnection` runs per client. */
export async function startServer(onConnection: (socket: net.Socket) => void = () => {}, host = '127.0.0.1'): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const waiting: Array<(socket: net.Socket) => void> = [];
  const accepted: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const waiter = waiting.shift();
    if (waiter) waiter(socket);
    else accepted.push(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host,
    port,
    sockets,
    nextConnection: () => {
      const ready = accepted.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every byte back. */
export const startEchoServer = (host?: string): Promise<TestServer> => startServer((socket) => socket.pipe(socket), host);

/** Sends `greeting` on connect, then echoes. */
export const startGreetingServer = (greeting: string | Uint8Array): Promise<TestServer> =>
  startServer((socket) => {
    socket.write(greeting);
    socket.pipe(socket);
  });

/** A port on 127.0.0.1 where nothing listens (bound briefly, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const BLACKHOLE_WORKER = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const server = net.createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  // Block this thread's event loop so nothing is ever accepted: the kernel's accept queue fills
  // and later SYNs are dropped, so connects hang until they time out.
  Atomics.wait(new Int32Array(workerData), 0, 0);
});
`;

/**
 * A loopback port where a TCP connect never completes: a listener that never accepts, whose accept
 * queue the helper fills first. Stopping it releases the thread and the port.
 */
export async function startBlackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(BLACKHOLE_WORKER, { eval: true, workerData: flag });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Fill the accept queue (a backlog of 1 holds two completed connections on Linux).
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    fillers.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    port,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      Atomics.store(new Int32Array(flag), 0, 1);
      Atomics.notify(new Int32Array(flag), 0);
      await worker.terminate();
    },
  };
}

/** A server that takes every byte and records what it got and whether the client closed. */
export interface SinkServer extends TestServer {
  /** Bytes received over every connection. */
  readonly bytes: number;
  /** What was received, as text (for small payloads). */
  readonly text: string;
  /** Whether a client ended its side. */
  readonly ended: boolean;
}

export async function startSinkServer(): Promise<SinkServer> {
  let bytes = 0;
  let text = '';
  let ended = false;
  const server = await startServer((peer) => {
    peer.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (text.length < 1 << 20) text += chunk.toString('latin1');
    });
    peer.on('end', () => {
      ended = true;
    });
  });
  return Object.defineProperties(server, {
    bytes: { get: () => bytes },
    text: { get: () => text },
    ended: { get: () => ended },
  }) as SinkServer;
}

/**
 * Writes `data` to `socket` in pieces of `sizes` (adding up to its length), honouring back-pressure:
 * after a write() that reports a full buffer it waits for 'drain'. Ends the socket after the last
 * piece when `end` is set; `onProgress` hears how many bytes have been handed to write().
 */
export function writeInPieces(
  socket: net.Socket,
  data: Uint8Array,
  sizes: readonly number[],
  options: { end?: boolean; onProgress?: (written: number) => void } = {},
): void {
  let index = 0;
  let offset = 0;
  const pump = (): void => {
    while (index < sizes.length) {
      const size = sizes[index++] as number;
      const more = socket.write(data.subarray(offset, offset + size));
      offset += size;
      options.onProgress?.(offset);
      if (!more) {
        socket.once('drain', pump);
        return;
      }
    }
    if (options.end) socket.end();
  };
  pump();
}

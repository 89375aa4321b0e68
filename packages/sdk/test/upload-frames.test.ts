import { decodeFrame } from '@socketgate/protocol';
import { QTcpSocket, type WebSocketConstructor } from '@socketgate/sdk';
import { chromiumFragments, startGateway, startServer, until } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A `ws` client that sends as Chromium does: each large message in fragments, a fragment per turn of
 * the event loop (Chromium's pipe to its network process lets a message out in parts), so the gateway
 * writes and acknowledges the first part of a DATA frame before the rest arrives. It records the
 * payload size of every DATA frame the SDK hands it.
 */
class FragmentingWebSocket extends WebSocket {
  static payloads: number[] = [];
  readonly #pieces: Array<[piece: Uint8Array | string, fin: boolean]> = [];
  #sending = false;

  override send(data: unknown): void {
    if (typeof data === 'string') {
      this.#pieces.push([data, true]);
    } else {
      const bytes = data as Uint8Array;
      const frame = decodeFrame(bytes);
      if (frame.ok && frame.value.kind === 'data') FragmentingWebSocket.payloads.push(frame.value.payload.byteLength);
      // Copied: they leave over later turns, and the SDK may reuse a frame's memory once acknowledged.
      const fragments = chromiumFragments(bytes);
      for (const [i, fragment] of fragments.entries()) this.#pieces.push([fragment.slice(), i === fragments.length - 1]);
    }
    if (!this.#sending) this.#next();
  }

  #next(): void {
    const piece = this.#pieces.shift();
    this.#sending = piece !== undefined;
    if (piece === undefined || this.readyState !== WebSocket.OPEN) return;
    const [data, fin] = piece;
    if (typeof data === 'string') super.send(data);
    else super.send(data, { binary: true, fin });
    setImmediate(() => this.#next());
  }
}

/**
 * Uploads through a real gateway (with `options.gateway`) to a target that counts what arrives: a
 * short write of `header` bytes first when asked, then 64 KiB writes (with `between` awaited after
 * each when given; without, the writes of one turn go out together), held to 4 MiB unwritten as
 * the benchmark's page is. Returns the payload size of every DATA frame.
 */
async function upload(
  total: number,
  options: { header?: number; between?: () => Promise<void>; gateway?: Parameters<typeof startGateway>[0] },
): Promise<number[]> {
  const header = options.header ?? 0;
  let arrived = 0;
  const server = await startServer((socket) =>
    socket.on('data', (chunk: Buffer) => {
      arrived += chunk.byteLength;
    }),
  );
  const gw = await startGateway(options.gateway);
  onTestFinished(() => gw.close());
  onTestFinished(() => server.close());
  FragmentingWebSocket.payloads = [];

  const socket = new QTcpSocket({ gateway: gw.client({ WebSocket: FragmentingWebSocket as unknown as WebSocketConstructor }) });
  socket.connectToHost('127.0.0.1', server.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  if (header > 0) socket.write(new Uint8Array(header).fill(0x30));
  const chunk = new Uint8Array(64 * KiB).fill(0x62);
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    socket.write(chunk);
    if (options.between) await options.between();
    while (socket.bytesToWrite() > 4 * MiB) expect(await socket.waitForBytesWritten(10_000)).toBe(true);
  }
  await until(() => arrived === total + header, 20_000, 'every byte at the target');
  const payloads = FragmentingWebSocket.payloads;
  expect(payloads.reduce((sum, bytes) => sum + bytes, 0)).toBe(total + header);
  return payloads;
}

it('sends an upload in whole 256 KiB frames when acknowledgements come back in parts of frames', { timeout: 60_000 }, async () => {
  // A short write first, as an application's header would be: the blocks after it end 10 bytes off
  // where the window's parts do.
  const total = 32 * MiB;
  const payloads = await upload(total, { header: 10 });
  // Every byte went (the target counted them), in the fewest frames they fit: the short write joined
  // by the start of the upload, then whole 256 KiB frames, then the rest. A frame cut to fit the part
  // of the window an acknowledgement reopened is one more message for the browser to send and a copy
  // in the page (before: 32 of the 128 blocks went as two frames, 161 frames in all).
  expect(payloads.length).toBe(Math.ceil((total + 10) / (256 * KiB)));
  expect(payloads.slice(1, -1).every((bytes) => bytes === 256 * KiB)).toBe(true);
});

it('sends a bulk upload in whole frames when the window never fills', { timeout: 60_000 }, async () => {
  // A window larger than what the writer keeps unwritten, so the window never holds the writes
  // back; an await after each write, as the benchmark's page writes, so the pump runs after each.
  const total = 32 * MiB;
  const payloads = await upload(total, {
    between: async () => {
      await null;
    },
    gateway: { uploadWindowBytes: 8 * MiB, sessionUploadBytes: 16 * MiB },
  });
  // Once a whole frame is in flight, what is written next waits to fill a frame of its own: the
  // first writes go alone (nothing is in flight yet), then whole 256 KiB frames. Before, every
  // 64 KiB write was a frame: 512 of them.
  expect(payloads.filter((bytes) => bytes === 256 * KiB).length).toBeGreaterThanOrEqual(total / (256 * KiB) - 4);
  expect(payloads.length).toBeLessThanOrEqual(total / (256 * KiB) + 8);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { encodeData } from '@socketgate/protocol';
import { rawSession, startServer, TEST_TOKEN, until, writeInPieces } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

const KiB = 1024;
const MiB = 1024 * KiB;
const gatewayDir = fileURLToPath(new URL('..', import.meta.url));

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Frame memory the gateway keeps for reuse (at most 8 MiB, by design). */
  pooled: number;
  /** Open file descriptors of the gateway process. */
  fds: number;
}

/** The memory-reporting gateway of child/memory-gateway.ts, in a process of its own. */
async function memoryGateway(): Promise<{
  url: string;
  memory(): Promise<Memory>;
  stats(): Promise<{ sessions: number; streams: number }>;
}> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--expose-gc', '--conditions=@socketgate/source', '--import', 'tsx', 'test/child/memory-gateway.ts'],
    { cwd: gatewayDir, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: Array<(value: Record<string, unknown>) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  const { port } = (await next()) as { port: number };
  const ask = async (command: string) => {
    const answer = next();
    child.stdin?.write(`${command}\n`);
    return answer;
  };
  return {
    url: `ws://127.0.0.1:${port}/v1/socket`,
    memory: async () => ((await ask('mem')) as { mem: Memory }).mem,
    stats: async () => ((await ask('stats')) as { stats: { sessions: number; streams: number } }).stats,
  };
}

it('returns its buffer memory and descriptors once sessions with stalled uploads and stalled downloads are lost', async () => {
  const STREAMS = 40;
  const stalled = await startServer((socket) => socket.pause());
  onTestFinished(() => stalled.close());
  const flood = await startServer((socket) => writeInPieces(socket, randomBytes(4 * MiB), [4 * MiB], { end: false }));
  onTestFinished(() => flood.close());
  const gw = await memoryGateway();

  // Warm every path once, then take the baseline.
  const warm = await rawSession(gw.url, TEST_TOKEN);
  warm.send({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port: flood.port, window: 64 * KiB });
  await warm.message('connected');
  warm.close();
  await until(() => true);
  const baseline = await gw.memory();

  const uploads = await rawSession(gw.url, TEST_TOKEN);
  const block = randomBytes(256 * KiB);
  for (let stream = 1; stream <= STREAMS; stream++) {
    uploads.send({ type: 'open', stream, transport: 'tcp', host: '127.0.0.1', port: stalled.port, window: 64 * KiB });
  }
  for (let stream = 1; stream <= STREAMS; stream++) {
    await uploads.message('connected', (m) => m.stream === stream);
    // The whole 1 MiB window of each stream.
    for (let i = 0; i < 4; i++) uploads.sendBinary(encodeData(stream, block));
  }
  const downloads = await rawSession(gw.url, TEST_TOKEN);
  downloads.ws.pause();
  for (let stream = 1; stream <= 16; stream++) {
    downloads.send({ type: 'open', stream, transport: 'tcp', host: '127.0.0.1', port: flood.port, window: 4 * MiB });
  }
  await until(() => stalled.sockets.size === STREAMS && flood.sockets.size >= 16, 10_000, 'every target connection');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const loaded = await gw.memory();

  // Both clients vanish without a close.
  uploads.ws.terminate();
  downloads.ws.terminate();
  const deadline = Date.now() + 20_000;
  while ((await gw.stats()).sessions > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await gw.stats()).toMatchObject({ sessions: 0, streams: 0 });
  // A target that does not read sees the end of its connection once it reads again.
  for (const socket of stalled.sockets) socket.resume();
  await until(() => stalled.sockets.size === 0 && flood.sockets.size === 0, 10_000, 'every target connection closed');
  const after = await gw.memory();

  // Buffers (Node's Buffers and ArrayBuffers) go back to the baseline, less the frame pool the
  // gateway keeps on purpose: nothing a lost session held stays. The RSS is reported, not asserted:
  // V8 and the allocator keep freed pages for reuse.
  const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;
  console.log(
    `gateway memory (MiB): baseline arrayBuffers ${mib(baseline.arrayBuffers)} rss ${mib(baseline.rss)}; ` +
      `loaded ${mib(loaded.arrayBuffers)} / ${mib(loaded.rss)}; after ${mib(after.arrayBuffers)} / ${mib(after.rss)} (frame pool ${mib(after.pooled)})`,
  );
  // Loaded: at most sessionUploadBytes of upload and sessionBufferBytes of download (8 MiB each),
  // besides the frame pool and a few reads in flight.
  expect(loaded.arrayBuffers - loaded.pooled - baseline.arrayBuffers).toBeLessThan(8 * MiB + 8 * MiB + 4 * MiB);
  expect(after.pooled).toBeLessThanOrEqual(8 * MiB + 32 * 64); // 32 frames of 256 KiB and a header
  expect(after.arrayBuffers - after.pooled - (baseline.arrayBuffers - baseline.pooled)).toBeLessThan(2 * MiB);
  expect(after.heapUsed - baseline.heapUsed).toBeLessThan(8 * MiB);
  // Every descriptor of the 2 sessions and 56 target connections is closed again.
  expect(loaded.fds - baseline.fds).toBeGreaterThanOrEqual(STREAMS + 16 + 2);
  expect(after.fds).toBeLessThanOrEqual(baseline.fds);
});

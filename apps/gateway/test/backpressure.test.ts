import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { settled, startGateway, startServer, until, writeInPieces } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

const KiB = 1024;
const MiB = 1024 * KiB;

it('holds a flooding target back: the SDK keeps readBufferSize, the gateway a small bound, and reading resumes the flow', async () => {
  const FLOOD = 32 * MiB;
  const data = randomBytes(FLOOD);
  let written = 0;
  const server = await startServer((socket) => {
    const sizes = Array.from({ length: FLOOD / (64 * KiB) }, () => 64 * KiB);
    writeInPieces(socket, data, sizes, {
      end: true,
      onProgress: (n) => {
        written = n;
      },
    });
  });
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  onTestFinished(() => server.close());

  const socket = new QTcpSocket({ gateway: gw.client() });
  socket.setReadBufferSize(64 * KiB);
  socket.connectToHost('127.0.0.1', server.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  expect(await socket.waitForReadyRead(5000)).toBe(true);

  // Nobody reads: the target stalls once the kernel buffers fill.
  const stalledAt = await settled(() => written);
  expect(stalledAt).toBeLessThan(FLOOD);
  expect(socket.bytesAvailable()).toBe(64 * KiB);
  const stream = [...gw.app.socketgate.sessions][0]?.streams.values().next().value;
  expect(stream?.state).toBe('connected');
  expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(256 * KiB);
  // The same count, as operators (and the benchmark) read it.
  const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(Number(/^socketgate_buffered_bytes (\d+)$/m.exec(metrics)?.[1])).toBeLessThanOrEqual(256 * KiB);

  // Reading resumes the flow, and every byte arrives in order.
  const hash = createHash('sha256');
  let received = 0;
  const drain = (): void => {
    const bytes = socket.readAll();
    received += bytes.byteLength;
    hash.update(bytes);
    expect(socket.bytesAvailable()).toBe(0);
  };
  let largest = 0;
  socket.readyRead.connect(() => {
    largest = Math.max(largest, socket.bytesAvailable());
    drain();
  });
  drain();
  await until(() => received === FLOOD, 60_000, 'the whole flood');
  expect(largest).toBeLessThanOrEqual(64 * KiB);
  expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  // The peer's close comes after the last byte.
  await until(() => socket.state() === QAbstractSocket.UnconnectedState, 5000, 'the remote close');
  expect(socket.error()).toBe(QAbstractSocket.RemoteHostClosedError);
});

it("keeps a slow target's backlog in the SDK: bytesToWrite grows in the browser, not in the gateway", async () => {
  const TOTAL = 256 * MiB;
  let target: net.Socket | undefined;
  let received = 0;
  const hash = createHash('sha256');
  const server = await startServer((socket) => {
    target = socket;
    socket.pause(); // a target that does not read
    socket.on('data', (chunk: Buffer) => {
      received += chunk.byteLength;
      hash.update(chunk);
    });
  });
  const gw = await startGateway({ uploadWindowBytes: MiB });
  onTestFinished(() => gw.close());
  onTestFinished(() => server.close());

  const socket = new QTcpSocket({ gateway: gw.client() });
  socket.connectToHost('127.0.0.1', server.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  const block = randomBytes(MiB);
  const expected = createHash('sha256');
  for (let i = 0; i < TOTAL / MiB; i++) {
    socket.write(block);
    expected.update(block);
  }
  await until(() => target !== undefined, 5000, 'the target connection');
  const backlog = await settled(() => socket.bytesToWrite());
  // The gateway holds at most its upload window; the kernel a few MiB; the rest waits in the SDK.
  expect(backlog).toBeGreaterThan(TOTAL - 16 * MiB);
  expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(MiB + 64 * KiB);

  target?.resume();
  await until(() => received === TOTAL, 120_000, 'the whole upload');
  await until(() => socket.bytesToWrite() === 0, 10_000, 'every byte acknowledged');
  expect(hash.digest('hex')).toBe(expected.digest('hex'));
});

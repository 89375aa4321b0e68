import { createHash, randomBytes } from 'node:crypto';
import { type Gateway, QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { startGateway, startServer, until, writeInPieces } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

const MiB = 1024 * 1024;
const TOTAL = 64 * MiB;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Random chunk sizes from 1 byte to 256 KiB that add up to `total`. */
function randomChunks(total: number): number[] {
  const sizes: number[] = [];
  for (let left = total; left > 0; ) {
    const size = Math.min(left, 1 + Math.floor(Math.random() ** 3 * 256 * 1024));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

it('carries 64 MiB up and 64 MiB down through the gateway intact (SHA-256)', async () => {
  const upload = randomBytes(TOTAL);
  const download = randomBytes(TOTAL);
  const uploadHash = createHash('sha256');
  let uploadReceived = 0;
  let uploadDone!: () => void;
  const uploadFinished = new Promise<void>((resolve) => {
    uploadDone = resolve;
  });
  const server = await startServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      uploadHash.update(chunk);
      uploadReceived += chunk.byteLength;
      if (uploadReceived === TOTAL) uploadDone();
    });
    // Send the download in random-sized writes, honouring back-pressure.
    writeInPieces(socket, download, randomChunks(TOTAL));
  });
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  onTestFinished(() => server.close());

  const socket = new QTcpSocket({ gateway: gw.client() });
  const downloadHash = createHash('sha256');
  let downloaded = 0;
  socket.readyRead.connect(() => {
    const bytes = socket.readAll();
    downloaded += bytes.byteLength;
    downloadHash.update(bytes);
  });
  let acknowledged = 0;
  socket.bytesWritten.connect((n) => {
    acknowledged += n;
  });
  socket.connectToHost('127.0.0.1', server.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  let offset = 0;
  for (const size of randomChunks(TOTAL)) {
    expect(socket.write(upload.subarray(offset, offset + size))).toBe(size);
    offset += size;
  }
  await uploadFinished;
  await until(() => downloaded === TOTAL, 60_000, 'the whole download');
  await until(() => acknowledged === TOTAL, 10_000, 'every byte acknowledged');
  expect(uploadHash.digest('hex')).toBe(sha256(upload));
  expect(downloadHash.digest('hex')).toBe(sha256(download));
  expect(socket.bytesToWrite()).toBe(0);
  socket.disconnectFromHost(); // nothing pending: Qt closes at once
  expect(socket.state()).toBe(QAbstractSocket.UnconnectedState);
});

it('keeps its DATA frames within the maxMessageBytes the gateway announces', async () => {
  const received: number[] = [];
  const server = await startServer((socket) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk.byteLength));
  });
  const gw = await startGateway({ maxMessageBytes: 64 * 1024 });
  onTestFinished(() => gw.close());
  onTestFinished(() => server.close());
  const socket = new QTcpSocket({ gateway: gw.client() });
  socket.connectToHost('127.0.0.1', server.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  socket.write(new Uint8Array(2 * MiB));
  await until(() => received.reduce((a, b) => a + b, 0) === 2 * MiB, 10_000, 'the whole write');
  expect(socket.state()).toBe(QAbstractSocket.ConnectedState);
});

it('keeps concurrent downloads apart: 6 streams on 2 sessions, each intact (shared read buffer, reused frames)', async () => {
  const EACH = 8 * MiB;
  // Each connection gets its own random data; the first line it receives says which.
  const payloads = Array.from({ length: 6 }, () => randomBytes(EACH));
  const server = await startServer((socket) => {
    let request = '';
    socket.on('data', (chunk: Buffer) => {
      request += chunk.toString();
      if (!request.includes('\n')) return;
      writeInPieces(socket, payloads[Number(request.trim())] as Buffer, randomChunks(EACH), { end: true });
    });
  });
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  onTestFinished(() => server.close());
  const sessions = [gw.client(), gw.client()];
  const results = await Promise.all(
    payloads.map(async (_, index) => {
      const socket = new QTcpSocket({ gateway: sessions[index % 2] as Gateway });
      // Every other socket reads through a small buffer, so credit runs out and reads are cut short.
      if (index % 2 === 1) socket.setReadBufferSize(48 * 1024 + index);
      const hash = createHash('sha256');
      let received = 0;
      socket.readyRead.connect(() => {
        const bytes = socket.readAll();
        received += bytes.byteLength;
        hash.update(bytes);
      });
      socket.connectToHost('127.0.0.1', server.port);
      expect(await socket.waitForConnected(5000)).toBe(true);
      socket.write(`${index}\n`);
      await until(() => received === EACH, 60_000, `download ${index}`);
      return hash.digest('hex');
    }),
  );
  expect(results).toEqual(payloads.map((data) => sha256(data)));
});

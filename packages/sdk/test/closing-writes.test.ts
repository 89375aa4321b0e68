import { QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { startGateway, startSinkServer, until } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

it('writes what write() took during Closing before the close, as Qt does: the peer gets every byte, then the end', async () => {
  const sink = await startSinkServer();
  onTestFinished(() => sink.close());
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  const socket = new QTcpSocket({ gateway: gw.client() });
  const errors: number[] = [];
  socket.errorOccurred.connect((error) => errors.push(error));
  socket.connectToHost('127.0.0.1', sink.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  for (let round = 0; round < 3; round++) {
    expect(socket.write('z'.repeat(16384))).toBe(16384);
  }
  socket.disconnectFromHost();
  expect(socket.state()).toBe(QAbstractSocket.ClosingState);
  // Still Closing with bytes to write: Qt takes more and writes them before it closes.
  expect(socket.write('y'.repeat(16384))).toBe(16384);
  expect(await socket.waitForDisconnected(10_000)).toBe(true);
  await until(() => sink.ended, 5000, 'the peer to see the end');
  expect(errors).toEqual([]);
  expect(sink.bytes).toBe(4 * 16384);
  expect(sink.text.endsWith('y'.repeat(16384))).toBe(true);
});

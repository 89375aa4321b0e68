import { decodeFrame } from '@socketgate/protocol';
import { QTcpSocket, type WebSocketConstructor } from '@socketgate/sdk';
import { startGateway, startServer, until } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';

const MiB = 1024 * 1024;

it('opens with a 4 MiB download window and gives credit back once a quarter of it has been read', async () => {
  // The target sends exactly a quarter of the 4 MiB window, then waits.
  const server = await startServer((socket) => socket.write(Buffer.alloc(MiB, 0x71)));
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  onTestFinished(() => server.close());

  let received = 0;
  const opens: number[] = [];
  // Every CREDIT the SDK sends on the real WebSocket, with how much it had read by then.
  const credits: Array<{ bytes: number; readBefore: number }> = [];
  const Recording = class extends WebSocket {
    override send(data: unknown, ...rest: never[]): void {
      if (typeof data === 'string') {
        const message = JSON.parse(data) as { type: string; window?: number };
        if (message.type === 'open') opens.push(message.window as number);
      } else {
        const decoded = decodeFrame(data as Uint8Array);
        if (decoded.ok && decoded.value.kind === 'credit') credits.push({ bytes: decoded.value.bytes, readBefore: received });
      }
      super.send(data as Buffer, ...rest);
    }
  };
  const socket = new QTcpSocket({ gateway: gw.client({ WebSocket: Recording as unknown as WebSocketConstructor }) });
  socket.readyRead.connect(() => {
    received += socket.readAll().byteLength;
  });
  socket.connectToHost('127.0.0.1', server.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  expect(opens).toEqual([4 * MiB]);

  await until(() => credits.length > 0, 5000, 'a credit');
  // Not before a quarter was read (the whole quarter the target sent), and for all of it.
  expect(credits).toEqual([{ bytes: MiB, readBefore: MiB }]);
});

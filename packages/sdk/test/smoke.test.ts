import { QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { recordSignals, startEchoServer, startGateway, text } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

it('connects to an echo server through the gateway and reads the echo', async () => {
  const echo = await startEchoServer();
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  onTestFinished(() => echo.close());
  const socket = new QTcpSocket({ gateway: gw.client() });
  const log = recordSignals(socket);
  socket.connectToHost('127.0.0.1', echo.port);
  expect(log).toEqual(['stateChanged(HostLookupState)', 'stateChanged(ConnectingState)', 'hostFound']);
  expect(await socket.waitForConnected(5000)).toBe(true);
  expect(socket.state()).toBe(QAbstractSocket.ConnectedState);
  socket.write('hello\n');
  expect(await socket.waitForReadyRead(5000)).toBe(true);
  expect(text(socket.readAll())).toBe('hello\n');
  socket.disconnectFromHost();
  expect(log.slice(4)).toEqual(
    ['connected', 'readyRead', 'stateChanged(ClosingState)', 'stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected'].slice(
      0,
    ),
  );
});

// examples/node-echo.ts: one line to an echo service and back, from Node, then exit.
import { Gateway, QTcpSocket } from '@socketgate/sdk';
import { WebSocket } from 'ws';

const url = process.env.SOCKETGATE_URL ?? 'ws://127.0.0.1:8080/v1/socket';
const token = process.env.SOCKETGATE_TOKEN ?? 'the development token pnpm start printed';
const gateway = new Gateway(url, { token, WebSocket });
const socket = new QTcpSocket({ gateway });

socket.connected.connect(() => socket.write('hello\n'));
socket.readyRead.connect(() => {
  console.log(new TextDecoder().decode(socket.readAll()).trim());
  socket.disconnectFromHost();
});
socket.disconnected.connect(() => gateway.close());
socket.errorOccurred.connect(() => {
  console.error(socket.errorString());
  process.exitCode = 1;
  gateway.close();
});
socket.connectToHost(process.env.ECHO_HOST ?? 'localhost', Number(process.env.ECHO_PORT ?? 7007));

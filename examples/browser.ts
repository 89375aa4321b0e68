// examples/browser.ts: the same in a page; the browser's own WebSocket needs no option.
import { Gateway, QAbstractSocket, QTcpSocket } from '@socketgate/sdk';

const gateway = new Gateway('ws://127.0.0.1:8080/v1/socket', { token: 'the development token' });
const socket = new QTcpSocket({ gateway });
const output = document.querySelector('output') ?? document.body.appendChild(document.createElement('output'));

socket.stateChanged.connect((state) => {
  output.textContent = `state: ${state === QAbstractSocket.ConnectedState ? 'connected' : state}`;
});
socket.readyRead.connect(() => {
  output.textContent = new TextDecoder().decode(socket.readAll());
});
socket.errorOccurred.connect(() => {
  output.textContent = socket.errorString();
});
socket.connected.connect(() => socket.write('hello from the page\n'));
socket.connectToHost('localhost', 7007);

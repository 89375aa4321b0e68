/**
 * Runs inside a network namespace with only loopback (see ../egress.test.ts): UDP sockets connected
 * to allowed addresses the namespace has no route to — an IPv6 literal, a name with only an AAAA
 * record, an IPv4 literal — fail the way Qt's do, and the gateway goes on serving. Prints one JSON
 * line per case, then one with the echo that follows.
 */
import dgram from 'node:dgram';
import { createGateway } from '@socketgate/gateway';
import { Gateway, nameOf, QUdpSocket, SocketError } from '@socketgate/sdk';
import { WebSocket } from 'ws';

const echo = dgram.createSocket('udp4');
echo.on('message', (data, from) => echo.send(data, from.port, from.address));
await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
const ECHO = echo.address().port;

// Invented names resolve here, never through the machine's resolver.
const names: Record<string, string[]> = { 'v6only.test': ['2606:4700::1111'] };
const resolver = async (name: string) => {
  const found = names[name];
  if (found === undefined) throw Object.assign(new Error(`${name} does not resolve`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
};
const app = await createGateway({
  metricsPort: 0,
  tokens: ['netns-token-0123456789'],
  allow: ['0.0.0.0/0', '::/0', '*', `127.0.0.1/32:${ECHO}`],
  resolver,
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
const gateway = new Gateway(`${address.replace(/^http/, 'ws')}/v1/socket`, {
  token: 'netns-token-0123456789',
  WebSocket: WebSocket,
});

const settle = (socket: QUdpSocket) =>
  new Promise<void>((resolve) => {
    const done = () => resolve();
    socket.connected.connect(done);
    socket.errorOccurred.connect(done);
    setTimeout(done, 10_000).unref();
  });

for (const host of ['2606:4700::1111', 'v6only.test', '93.184.216.35']) {
  const socket = new QUdpSocket({ gateway });
  socket.connectToHost(host, 5000);
  await settle(socket);
  console.log(JSON.stringify({ host, state: socket.state(), error: nameOf(SocketError, socket.error()), message: socket.errorString() }));
  socket.abort();
}

// The gateway is still there: a datagram to the echo comes back.
const alive = new QUdpSocket({ gateway });
alive.writeDatagram('still here', '127.0.0.1', ECHO);
const echoed = await new Promise<string>((resolve) => {
  alive.readyRead.connect(() => resolve(new TextDecoder().decode(alive.readDatagram()[0])));
  setTimeout(() => resolve(''), 10_000).unref();
});
console.log(JSON.stringify({ echoed }));
gateway.close();
await app.close();
echo.close();

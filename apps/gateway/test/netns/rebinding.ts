/**
 * Runs inside a network namespace with only loopback (see ../egress.test.ts). A DNS server of the
 * test's own answers `rebind.test` with a public-looking address first and with loopback after; the
 * gateway, pointed at it, must never connect to loopback. Prints one JSON line per attempt.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createGateway } from '@socketgate/gateway';
import { Gateway, nameOf, QTcpSocket, QUdpSocket, SocketError } from '@socketgate/sdk';
import dnsPacket from 'dns-packet';
import { WebSocket } from 'ws';

const answers = ['93.184.216.34', '127.0.0.1'];
let asked = 0;
const dns = dgram.createSocket('udp4');
dns.on('message', (data, from) => {
  const query = dnsPacket.decode(data);
  const question = query.questions?.[0];
  const answer = question?.type === 'A' ? answers[Math.min(asked++, answers.length - 1)] : undefined;
  const reply = dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: query.questions ?? [],
    answers: answer && question ? [{ type: 'A', name: question.name, ttl: 0, data: answer }] : [],
  });
  dns.send(reply, from.port, from.address);
});
await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));

const accepted: string[] = [];
const listener = await new Promise<net.Server>((resolve) => {
  const server = net.createServer((socket) => {
    accepted.push(`tcp from ${socket.remoteAddress}`);
    socket.destroy();
  });
  server.listen({ host: '127.0.0.1', port: 0 }, () => resolve(server));
});
const port = (listener.address() as net.AddressInfo).port;
const udpTarget = dgram.createSocket('udp4');
udpTarget.on('message', () => accepted.push('udp datagram'));
await new Promise<void>((resolve) => udpTarget.bind(port, '127.0.0.1', resolve));

const app = await createGateway({
  metricsPort: 0,
  tokens: ['netns-token-0123456789'],
  allow: ['*', '0.0.0.0/0'],
  dnsServers: [`127.0.0.1:${dns.address().port}`],
  connectTimeoutMs: 2000,
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
const gateway = new Gateway(`${address.replace('http', 'ws')}/v1/socket`, {
  token: 'netns-token-0123456789',
  WebSocket: WebSocket,
});

for (let attempt = 1; attempt <= 3; attempt++) {
  const socket = new QTcpSocket({ gateway });
  socket.connectToHost('rebind.test', port);
  const connected = await socket.waitForConnected(5000);
  console.log(
    JSON.stringify({ attempt, transport: 'tcp', connected, error: nameOf(SocketError, socket.error()), message: socket.errorString() }),
  );
  socket.abort();
}
const udp = new QUdpSocket({ gateway });
udp.writeDatagram('probe', 'rebind.test', port);
await new Promise((resolve) => setTimeout(resolve, 300));
console.log(JSON.stringify({ transport: 'udp', error: nameOf(SocketError, udp.error()), message: udp.errorString() }));
console.log(JSON.stringify({ accepted, asked }));
gateway.close();
await app.close();
listener.close();
udpTarget.close();
dns.close();

/**
 * Runs inside a network namespace with only loopback and one veth pair carrying public-looking
 * addresses of the namespace's own (see ../egress.test.ts): real gateways with the broadest rules
 * an operator could write, asked for every spelling of a special-purpose destination, for the
 * host's own addresses, and for names carrying control characters. Prints one JSON line per
 * destination: what happened to it.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { createGateway } from '@socketgate/gateway';
import { Gateway, nameOf, QTcpSocket, SocketError } from '@socketgate/sdk';
import { rawSession } from '@socketgate/testkit';
import { WebSocket } from 'ws';
import { broadCases as broadCasesFor, type Case, OWN_V4, OWN_V6, tableResolver } from './spellings.js';

const ownInterfaces = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
console.log(JSON.stringify({ interfaces: ownInterfaces }));

function listen(host: string, onConnection: (socket: net.Socket) => void, ipv6Only = false): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      // The gateway resets connections it gives up on: a listener here must not die of it.
      socket.on('error', () => {});
      onConnection(socket);
    });
    server.listen({ host, port: 0, ipv6Only }, () => resolve(server));
  });
}
const portOf = (server: net.Server | dgram.Socket): number =>
  server instanceof net.Server ? (server.address() as net.AddressInfo).port : server.address().port;

// Listeners on loopback: if the policy ever let a loopback spelling through, they would accept.
const accepted: string[] = [];
const listeners = await Promise.all(
  ['127.0.0.1', '::1'].map((host) =>
    listen(host, (socket) => {
      accepted.push(`${host} <- ${socket.remoteAddress}`);
      socket.destroy();
    }),
  ),
);
const [v4Listener, v6Listener] = listeners as [net.Server, net.Server];
const P = portOf(v4Listener);
const P6 = portOf(v6Listener);
const allowedServer = await listen('127.0.0.1', (socket) => socket.end());
const ALLOWED = portOf(allowedServer);

// Listeners on every address (0.0.0.0, ::), as services of the host are: reachable through its own addresses.
const ownAccepted: string[] = [];
const own4 = await listen('0.0.0.0', (socket) => {
  ownAccepted.push(`tcp 0.0.0.0 <- ${socket.remoteAddress}`);
  socket.destroy();
});
const own6 = await listen(
  '::',
  (socket) => {
    ownAccepted.push(`tcp :: <- ${socket.remoteAddress}`);
    socket.destroy();
  },
  true,
);
const OWN4 = portOf(own4);
const OWN6 = portOf(own6);
const ownUdp = dgram.createSocket('udp4');
ownUdp.on('message', (_data, from) => ownAccepted.push(`udp 0.0.0.0 <- ${from.address}`));
await new Promise<void>((resolve) => ownUdp.bind(0, '0.0.0.0', resolve));
const OWN_UDP = portOf(ownUdp);

const asked: string[] = [];
const resolver = tableResolver(asked);

const refused = (host: string, port = P): Case => ({ host, port, expect: 'refused' });
const broadCases = broadCasesFor({ P, P6, OWN4, OWN6, ALLOWED });

// A rule for all of IPv4 written as IPv4-mapped IPv6, and rules naming the unspecified addresses.
const mappedCases: Case[] = [
  ...['0.0.0.0', '0', '::ffff:0.0.0.0', '127.0.0.1', '::ffff:127.0.0.1', 'zero.test'].map((h) => refused(h)),
  refused('::', P6),
  refused('10.0.0.1', 8080),
  refused(OWN_V4, OWN4),
  refused('2606:4700::1111', 8080),
  { host: '93.184.216.35', port: 8080, expect: 'network' },
  { host: 'public.test', port: 8080, expect: 'network' },
];

// Rules naming exactly the host's own addresses open them, and only on their ports.
const exactCases: Case[] = [
  { host: OWN_V4, port: OWN4, expect: 'connected' },
  { host: 'own.test', port: OWN4, expect: 'connected' },
  { host: OWN_V6, port: OWN6, expect: 'connected' },
  refused(OWN_V4, OWN6),
  refused(`::ffff:${OWN_V4}`, OWN6),
];

async function startGateway(allow: string[]) {
  const app = await createGateway({ tokens: ['netns-token-0123456789'], allow, connectTimeoutMs: 2000, resolver, metricsPort: 0 });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `${address.replace('http', 'ws')}/v1/socket`;
  const gateway = new Gateway(url, { token: 'netns-token-0123456789', WebSocket: WebSocket });
  return { app, url, gateway };
}

async function run(name: string, allow: string[], cases: Case[]): Promise<void> {
  const { app, gateway } = await startGateway(allow);
  for (const item of cases) {
    const socket = new QTcpSocket({ gateway });
    socket.connectToHost(item.host, item.port ?? P);
    const connected = await socket.waitForConnected(5000);
    const error = nameOf(SocketError, socket.error());
    const got = connected ? 'connected' : error === 'SocketAccessError' ? 'refused' : error === 'NetworkError' ? 'network' : error;
    console.log(
      JSON.stringify({ gateway: name, host: item.host, port: item.port, expect: item.expect, got, message: socket.errorString() }),
    );
    socket.abort();
  }
  gateway.close();
  await app.close();
}

await run('broad', ['0.0.0.0/0', '::/0', '*', `127.0.0.1/32:${ALLOWED}`], broadCases);
await run('mapped', ['::ffff:0:0/96', '0.0.0.0/8', '0.0.0.0', '[::]'], mappedCases);

// Names with control characters sent as the raw protocol (the SDK would not send them), TCP and
// UDP, to a gateway whose host rule they would match and whose CIDR rule opens where the cut-short
// name points (the host's own address, with a listener behind it).
const malformed = [
  'evil.test\u0000.example.org',
  `${OWN_V4}\u0000x`,
  '44.1.2.3\u0000.example.org',
  'evil.test\t.example.org',
  'evil.test\u007f.example.org',
  'evil.test\u0085.example.org',
  'evil.test\u2028.example.org',
  '\ud800.example.org',
  'fe80::1%lo',
];
{
  const { app, url } = await startGateway(['*.example.org', `${OWN_V4}/32:${OWN4},${OWN_UDP}`]);
  const session = await rawSession(url, 'netns-token-0123456789');
  let stream = 0;
  /** The gateway's first answer about stream `id` after `from` (a protocol error names no stream when none was opened). */
  const answer = async (from: number, id: number) => {
    for (let waited = 0; waited < 1000; waited += 10) {
      for (const item of session.received.slice(from)) {
        if (item.kind !== 'message' || item.message.type === 'bound') continue;
        if (item.message.type === 'protocol-error' || ('stream' in item.message && item.message.stream === id)) return item.message;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return undefined;
  };
  const report = async (host: string, via: string, send: (id: number) => void) => {
    stream += 2;
    const id = stream;
    const from = session.received.length;
    send(id);
    const reply = await answer(from, id);
    const code = reply === undefined ? 'no answer' : reply.type === 'protocol-error' ? reply.code : reply.type;
    console.log(JSON.stringify({ malformed: host, via, code, message: reply && 'message' in reply ? reply.message : '' }));
  };
  const bind = async (id: number) => {
    session.send({ type: 'bind', stream: id, transport: 'udp', address: '', port: 0, window: 65536 });
    await session.message('bound', (message) => message.stream === id);
  };
  for (const host of malformed) {
    await report(host, 'tcp open', (id) => session.send({ type: 'open', stream: id, transport: 'tcp', host, port: OWN4, window: 1024 }));
    await report(host, 'udp open', (id) => session.send({ type: 'open', stream: id, transport: 'udp', host, port: OWN_UDP, window: 1024 }));
    await report(host, 'udp connect', (id) => {
      void bind(id).then(() => session.send({ type: 'connect', stream: id, host, port: OWN_UDP }));
    });
    await report(host, 'datagram', (id) => {
      void bind(id).then(() => {
        const name = new TextEncoder().encode(host);
        const frame = new Uint8Array(8 + name.byteLength + 2);
        const view = new DataView(frame.buffer);
        view.setUint8(0, 0x04);
        view.setUint32(1, id);
        view.setUint16(5, OWN_UDP);
        view.setUint8(7, name.byteLength);
        frame.set(name, 8);
        frame.set([0x68, 0x69], 8 + name.byteLength);
        session.sendBinary(frame);
      });
    });
  }
  // Give a datagram that got through time to arrive before the listeners are read.
  await new Promise((resolve) => setTimeout(resolve, 200));
  session.close();
  await app.close();
}
console.log(JSON.stringify({ ownAcceptedBeforeExactRules: [...ownAccepted] }));

await run('exact', [`${OWN_V4}/32:${OWN4}`, `[${OWN_V6}]:${OWN6}`, '0.0.0.0/0', '::/0', '*'], exactCases);
await new Promise((resolve) => setTimeout(resolve, 100));

console.log(JSON.stringify({ accepted, ownAccepted, asked }));
for (const server of [...listeners, allowedServer, own4, own6]) server.close();
ownUdp.close();

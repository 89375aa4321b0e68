/**
 * Runs inside a network namespace with only loopback (see ../egress.test.ts): a real gateway with
 * the broadest rules an operator could write, asked for every spelling of a special-purpose
 * destination. Prints one JSON line per destination: what happened to it.
 */
import net from 'node:net';
import { createGateway } from '@socketgate/gateway';
import { Gateway, nameOf, QTcpSocket, SocketError, type WebSocketConstructor } from '@socketgate/sdk';
import { WebSocket } from 'ws';

interface Case {
  host: string;
  port?: number;
  expect: 'refused' | 'network' | 'connected';
}

// A listener on loopback: if the policy ever let a loopback spelling through, it would accept.
const accepted: string[] = [];
const listeners = await Promise.all(
  ['127.0.0.1', '::1'].map(
    (host) =>
      new Promise<net.Server>((resolve) => {
        const server = net.createServer((socket) => {
          accepted.push(`${host} <- ${socket.remoteAddress}`);
          socket.destroy();
        });
        server.listen({ host, port: 0 }, () => resolve(server));
      }),
  ),
);
const [v4Listener, v6Listener] = listeners as [net.Server, net.Server];
const P = (v4Listener.address() as net.AddressInfo).port;
const P6 = (v6Listener.address() as net.AddressInfo).port;
const allowedServer = await new Promise<net.Server>((resolve) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end();
  });
  server.listen({ host: '127.0.0.1', port: 0 }, () => resolve(server));
});
const ALLOWED = (allowedServer.address() as net.AddressInfo).port;

// Invented names resolve here, never through the machine's resolver.
const names: Record<string, string[]> = {
  'public.test': ['93.184.216.34'],
  'v6public.test': ['2606:4700::1111'],
  'loop.test': ['127.0.0.1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'private.test': ['10.1.2.3'],
  'metadata.test': ['169.254.169.254'],
  'mixed.test': ['127.0.0.1', '::1'],
  'nat64.test': ['64:ff9b::7f00:1'],
};

const refused = (host: string, port = P): Case => ({ host, port, expect: 'refused' });
const cases: Case[] = [
  // loopback, every spelling
  ...[
    '127.0.0.1',
    '127.1',
    '127.0.1',
    '0177.0.0.1',
    '0x7f.0.0.1',
    '0x7f000001',
    '2130706433',
    '017700000001',
    '127.000.000.001',
    '127.255.255.254',
  ].map((h) => refused(h)),
  ...[
    '::1',
    '0:0:0:0:0:0:0:1',
    '[::1]',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:1',
    '::127.0.0.1',
    '[::ffff:127.0.0.1]',
  ].map((h) => refused(h, h.includes('ffff') || h.includes('::127') ? P : P6)),
  // unspecified
  ...['0', '0.0.0.0', '::', '0:0:0:0:0:0:0:0'].map((h) => refused(h)),
  // names behind which loopback and other special ranges hide
  ...[
    'localhost',
    'LOCALHOST',
    'localhost.',
    'app.localhost',
    'loop.test',
    'mapped.test',
    'private.test',
    'metadata.test',
    'mixed.test',
    'nat64.test',
  ].map((h) => refused(h)),
  // private, CGNAT, link-local and cloud metadata
  ...[
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.0.1',
    '100.64.0.1',
    '100.100.100.200',
    '169.254.169.254',
    '169.254.0.1',
    '168.63.129.16',
    '192.0.0.192',
    'fd00:ec2::254',
    'fc00::1',
    'fe80::1',
    'fe80::1%lo',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::ffff:10.0.0.1',
  ].map((h) => refused(h, 8080)),
  // multicast, broadcast, documentation, benchmarking, reserved
  ...[
    '224.0.0.1',
    '239.255.255.250',
    'ff02::1',
    '255.255.255.255',
    '192.0.2.1',
    '198.51.100.1',
    '203.0.113.1',
    '198.18.0.1',
    '240.0.0.1',
    '2001:db8::1',
  ].map((h) => refused(h, 8080)),
  // IPv4 embedded in IPv6: 6to4, Teredo, NAT64, IPv4-translated
  ...['2002:7f00:1::1', '2002:a9fe:a9fe::1', '2001::1', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '::ffff:0:7f00:1'].map((h) =>
    refused(h, 8080),
  ),
  // a bad port on a public-looking address
  refused('public.test', 25),
  refused('8.8.8.8', 6667),
  // allowed by the rules: the policy passes them and the namespace has no route, so the network fails
  { host: '8.8.8.8', port: 8080, expect: 'network' },
  { host: 'public.test', port: 8080, expect: 'network' },
  { host: '2606:4700::1111', port: 8080, expect: 'network' },
  { host: 'v6public.test', port: 443, expect: 'network' },
  // explicitly allowed loopback target
  { host: '127.0.0.1', port: ALLOWED, expect: 'connected' },
];

const app = await createGateway({
  tokens: ['netns-token-0123456789'],
  allow: ['0.0.0.0/0', '::/0', '*', `127.0.0.1/32:${ALLOWED}`],
  connectTimeoutMs: 2000,
  resolver: async (name) => {
    const found = names[name];
    if (!found) throw Object.assign(new Error(`${name} is not in the test's table`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
  },
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
const gateway = new Gateway(`${address.replace('http', 'ws')}/v1/socket`, {
  token: 'netns-token-0123456789',
  WebSocket: WebSocket as unknown as WebSocketConstructor,
});

for (const item of cases) {
  const socket = new QTcpSocket({ gateway });
  socket.connectToHost(item.host, item.port ?? P);
  const connected = await socket.waitForConnected(5000);
  const error = nameOf(SocketError, socket.error());
  const got = connected ? 'connected' : error === 'SocketAccessError' ? 'refused' : error === 'NetworkError' ? 'network' : error;
  console.log(JSON.stringify({ host: item.host, port: item.port, expect: item.expect, got, message: socket.errorString() }));
  socket.abort();
}
console.log(JSON.stringify({ accepted }));
gateway.close();
await app.close();
for (const server of [...listeners, allowedServer]) server.close();

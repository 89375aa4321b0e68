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

/** The namespace's own public-looking addresses (egress.test.ts puts them on the veth d0). */
const OWN_V4 = '93.184.216.34';
const OWN_V6 = '2001:4860:4860::8888';

interface Case {
  host: string;
  port?: number;
  expect: 'refused' | 'network' | 'connected' | 'HostNotFoundError';
}

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

// Invented names resolve here, never through the machine's resolver. Like getaddrinfo, this reads
// a name as a C string (up to a NUL) and answers an IP literal with itself: a name that got this
// far with a NUL would be cut short, and `44.1.2.3\0…` would become that address.
const names: Record<string, string[]> = {
  'public.test': ['93.184.216.35'],
  'v6public.test': ['2606:4700::1111'],
  'loop.test': ['127.0.0.1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'private.test': ['10.1.2.3'],
  'metadata.test': ['169.254.169.254'],
  'mixed.test': ['127.0.0.1', '::1'],
  'nat64.test': ['64:ff9b::7f00:1'],
  'compat.test': ['::7f00:1'],
  'zero.test': ['0.0.0.0'],
  'own.test': [OWN_V4],
  'own6.test': [OWN_V6],
  'evil.test': [OWN_V4],
};
const asked: string[] = [];
const resolver = async (name: string) => {
  asked.push(name);
  const cString = name.split('\u0000')[0] as string;
  const found = net.isIP(cString) === 0 ? names[cString] : [cString];
  if (!found) throw Object.assign(new Error(`${name} is not in the test's table`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
};

const refused = (host: string, port = P): Case => ({ host, port, expect: 'refused' });
const broadCases: Case[] = [
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
  ...['0', '0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0', '::0.0.0.0', 'zero.test'].map((h) => refused(h)),
  // IPv4-compatible IPv6 (deprecated), every spelling
  ...['::7f00:1', '::2', '::a00:1', '::808:808', '::8.8.8.8', '0:0:0:0:0:0:7f00:1', 'compat.test'].map((h) => refused(h)),
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
  // the host's own interface addresses, behind listeners on every address
  ...[OWN_V4, `::ffff:${OWN_V4}`, 'own.test'].map((h) => refused(h, OWN4)),
  ...[OWN_V6, `[${OWN_V6}]`, 'own6.test'].map((h) => refused(h, OWN6)),
  // a bad port on a public-looking address
  refused('public.test', 25),
  refused('8.8.8.8', 6667),
  // names the SDK never sends: they fail as Qt fails a name that does not resolve
  ...[
    'evil.test\u0000.example.org',
    `${OWN_V4}\u0000x`,
    'evil.test\t.example.org',
    'evil.test\u007f.example.org',
    'evil.test\u0085.example.org',
    'evil.test\u2028.example.org',
    'fe80::1%lo',
  ].map((host): Case => ({ host, port: OWN4, expect: 'HostNotFoundError' })),
  // allowed by the rules: the policy passes them and the namespace has no route, so the network fails
  { host: '8.8.8.8', port: 8080, expect: 'network' },
  { host: 'public.test', port: 8080, expect: 'network' },
  { host: '2606:4700::1111', port: 8080, expect: 'network' },
  { host: 'v6public.test', port: 443, expect: 'network' },
  // explicitly allowed loopback target
  { host: '127.0.0.1', port: ALLOWED, expect: 'connected' },
];

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

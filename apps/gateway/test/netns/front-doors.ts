/**
 * Runs inside a network namespace with only loopback and one veth pair carrying public-looking
 * addresses of the namespace's own (see ../egress.test.ts): the refusals of destinations.ts again,
 * through the Wisp endpoint (wisp-js's client) and the websockify endpoint (a ticket naming each
 * destination), of a gateway with the broadest rules. Prints one JSON line per destination and
 * front door: what happened to it; the last line says what the listeners accepted.
 */
import net from 'node:net';
import { client, extensions, type WispConnection } from '@mercuryworkshop/wisp-js/client';
import { createGateway } from '@socketgate/gateway';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { broadCases, type Case, tableResolver } from './spellings.js';

const TOKEN = 'netns-token-0123456789';
const SECRET = 'a-shared-secret-of-at-least-32-characters!';

function listen(host: string, onConnection: (socket: net.Socket) => void, ipv6Only = false): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      onConnection(socket);
    });
    server.listen({ host, port: 0, ipv6Only }, () => resolve(server));
  });
}
const portOf = (server: net.Server): number => (server.address() as net.AddressInfo).port;

// Listeners a refused destination could only meet if the policy let it through.
const accepted: string[] = [];
const record = (label: string) => (socket: net.Socket) => {
  accepted.push(`${label} <- ${socket.remoteAddress}`);
  socket.destroy();
};
const servers = [
  await listen('127.0.0.1', record('127.0.0.1')),
  await listen('::1', record('::1')),
  await listen('0.0.0.0', record('0.0.0.0')),
  await listen('::', record('::'), true),
];
const [v4, v6, own4, own6] = servers as [net.Server, net.Server, net.Server, net.Server];
const allowed = await listen('127.0.0.1', (socket) => socket.end());
const cases: Case[] = broadCases({ P: portOf(v4), P6: portOf(v6), OWN4: portOf(own4), OWN6: portOf(own6), ALLOWED: portOf(allowed) });

const asked: string[] = [];
const app = await createGateway({
  tokens: [TOKEN],
  jwt: { secret: SECRET, algorithms: ['HS256'], audience: 'netns', requireJti: true },
  allow: ['0.0.0.0/0', '::/0', '*', `127.0.0.1/32:${portOf(allowed)}`],
  connectTimeoutMs: 2000,
  resolver: tableResolver(asked),
  metricsPort: 0,
  wisp: { path: '/wisp/' },
  websockify: { path: '/websockify' },
});
const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('http', 'ws');

/** What a Wisp close reason says, in the words of destinations.ts. */
const wispOutcome = (reason: number): string =>
  ({ 72: 'refused', 66: 'network', 3: 'network', 2: 'connected', 65: 'invalid' })[reason] ?? `reason 0x${reason.toString(16)}`;

const connection = await new Promise<WispConnection>((resolve, reject) => {
  const made = new client.ClientConnection(`${base}/wisp/`, {
    wisp_extensions: [
      new extensions.UDPExtension({ client_config: {} }),
      new extensions.PasswordAuthExtension({ client_config: { username: 'netns', password: TOKEN } }),
    ],
  });
  made.onopen = () => resolve(made);
  made.onclose = () => reject(new Error('the Wisp connection closed'));
});
for (const item of cases) {
  const port = item.port as number;
  const stream = connection.create_stream(item.host, port, 'tcp');
  const reason = await new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 5000);
    stream.onclose = (value) => {
      clearTimeout(timer);
      resolve(value);
    };
  });
  console.log(JSON.stringify({ door: 'wisp', host: item.host, port, expect: item.expect, got: wispOutcome(reason) }));
}
connection.close();

/** A websockify ticket's target: an IPv6 literal in brackets. */
const targetOf = (host: string, port: number): string => {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return `${bare.includes(':') ? `[${bare}]` : bare}:${port}`;
};
for (const item of cases) {
  const port = item.port as number;
  const ticket = await new SignJWT({ sub: 'netns', jti: crypto.randomUUID(), target: targetOf(item.host, port) })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('netns')
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode(SECRET));
  const ws = new WebSocket(`${base}/websockify?token=${ticket}`, ['binary']);
  ws.on('error', () => {});
  const { code, reason } = await new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (closeCode, closeReason) => resolve({ code: closeCode, reason: closeReason.toString() })),
  );
  const got =
    code === 4403 && reason.startsWith('SocketAccessError: ')
      ? 'refused'
      : code === 4403 && reason.includes('not host:port')
        ? 'invalid'
        : code === 1011 && reason.startsWith('NetworkError: ')
          ? 'network'
          : code === 1000
            ? 'connected'
            : `${code} ${reason}`;
  console.log(JSON.stringify({ door: 'websockify', host: item.host, port, expect: item.expect, got }));
}

await app.close();
console.log(JSON.stringify({ accepted, asked }));
for (const server of [...servers, allowed]) server.close();

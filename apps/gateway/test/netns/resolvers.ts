/**
 * Runs inside network and mount namespaces with only loopback, /etc/resolv.conf pointing at a DNS
 * server of the test's own on 127.0.0.1:53 and /etc/hosts naming `files.test` (see ../dns.test.ts).
 * Eight names that never answer are looked up through the system resolver (getaddrinfo), while the
 * threadpool does crypto and file work and a second gateway, on the default resolver, connects.
 * Prints one JSON line per step.
 */
import { pbkdf2 } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { nameOf, QAbstractSocket, QTcpSocket, SocketState } from '@socketgate/sdk';
import { startEchoServer, startFakeDns, startGateway, until } from '@socketgate/testkit';

const dns = await startFakeDns({ 'dns.test': { a: ['127.0.0.1'], ttlSec: 60 } }, { port: 53, silent: /\.never\.test$/ });
const echo = await startEchoServer();
const report = (line: Record<string, unknown>): void => console.log(JSON.stringify(line));

const system = await startGateway({ nameResolver: 'system', dnsTimeoutMs: 60_000, maxLookupsPerSession: 16 });
const viaFiles = new QTcpSocket({ gateway: system.client() });
viaFiles.connectToHost('files.test', echo.port);
report({ step: 'files', connected: await viaFiles.waitForConnected(10_000), asked: dns.asked('files.test') });

const session = system.client();
const stuck = Array.from({ length: 8 }, (_, i) => {
  const socket = new QTcpSocket({ gateway: session });
  socket.connectToHost(`n${i}.never.test`, echo.port);
  return socket;
});
const states = (): string[] => [...new Set(stuck.map((socket) => nameOf(SocketState, socket.state())))];
await until(() => dns.namesAsked(/never/).size >= 2, 10_000, 'getaddrinfo at the DNS server');

// Threadpool work: four key derivations and a file read, which libuv's four threads must serve.
await Promise.all([...Array.from({ length: 4 }, () => promisify(pbkdf2)('secret', 'salt', 20_000, 32, 'sha256')), readFile('/etc/hosts')]);
report({ step: 'threadpool', stuck: states(), names: dns.namesAsked(/never/).size });

const direct = await startGateway({});
const viaDns = new QTcpSocket({ gateway: direct.client() });
viaDns.connectToHost('dns.test', echo.port);
const connected = await viaDns.waitForConnected(10_000);
report({
  step: 'dns',
  connected,
  error: connected ? undefined : nameOf(QAbstractSocket.SocketError, viaDns.error()),
  stuck: states(),
  names: dns.namesAsked(/never/).size,
  asked: dns.asked('dns.test'),
});

// Closing the session releases its lookups: the six still waiting for getaddrinfo never start.
session.close();
await until(() => system.app.socketgate.sessions.size === 1, 10_000, 'the session to close');
dns.answerHeld(); // the two running getaddrinfo calls end, so the process can exit
await new Promise((resolve) => setTimeout(resolve, 100));
report({ step: 'closed', names: dns.namesAsked(/never/).size });
process.exit(0);

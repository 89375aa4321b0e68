/**
 * QSslSocket against real TLS services from Debian, through a real gateway: Dovecot's IMAP with
 * STARTTLS (startClientEncryption), redis-server's TLS port (connectToHostEncrypted), and
 * `openssl s_server` with a chain and ALPN. Certificates are made at test time.
 */
import { QSslCertificate, type QSslConfiguration, QSslSocket, SocketState, SslProtocol } from '@socketgate/sdk';
import { makeTestPki, startDovecot, startGateway, startOpenSslServer, startRedis, type TestPki } from '@socketgate/testkit';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());

/** A gateway that reaches loopback (Dovecot listens on 127.0.0.2, see startDovecot). */
async function gateway() {
  const gw = await startGateway({ allow: ['127.0.0.0/8', 'localhost'] });
  onTestFinished(() => gw.close());
  return gw;
}

/** A socket that trusts the test CA besides the gateway's own. */
function trustingSocket(gw: Awaited<ReturnType<typeof gateway>>): QSslSocket {
  const socket = new QSslSocket({ gateway: gw.client() });
  const configuration = socket.sslConfiguration();
  configuration.addCaCertificates(QSslCertificate.fromData(pki.ca.pem));
  socket.setSslConfiguration(configuration);
  onTestFinished(() => socket.abort());
  return socket;
}

/** Reads lines until one starts with `prefix`; returns every line read. */
async function linesUntil(socket: QSslSocket, prefix: string): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < 50; i++) {
    while (socket.canReadLine()) {
      const line = new TextDecoder().decode(socket.readLine()).trimEnd();
      lines.push(line);
      if (line.startsWith(prefix)) return lines;
    }
    if (!(await socket.waitForReadyRead(5000))) break;
  }
  throw new Error(`no line starting with ${prefix}: ${JSON.stringify(lines)}`);
}

it("speaks STARTTLS to Debian's Dovecot: LOGIN refused in plaintext, taken after startClientEncryption", async () => {
  const dovecot = await startDovecot({ certificate: pki.valid, host: '127.0.0.2' });
  onTestFinished(() => dovecot.close());
  const gw = await gateway();
  const socket = trustingSocket(gw);
  // The certificate names localhost and 127.0.0.1; the server is reached at 127.0.0.2.
  socket.setPeerVerifyName('localhost');
  const modes: number[] = [];
  socket.modeChanged.connect((mode) => modes.push(mode));
  socket.connectToHost(dovecot.host, dovecot.port);
  expect(await socket.waitForConnected(5000)).toBe(true);
  const [greeting] = await linesUntil(socket, '* OK');
  expect(greeting).toContain('STARTTLS');
  expect(greeting).toContain('LOGINDISABLED');
  socket.write('a1 LOGIN tester secret\r\n');
  expect((await linesUntil(socket, 'a1 ')).at(-1)).toMatch(/^a1 (NO|BAD) /);
  socket.write('a2 STARTTLS\r\n');
  expect((await linesUntil(socket, 'a2 ')).at(-1)).toMatch(/^a2 OK/);
  expect(socket.isEncrypted()).toBe(false);
  socket.startClientEncryption();
  expect(modes).toEqual([QSslSocket.SslClientMode]);
  expect(await socket.waitForEncrypted(5000)).toBe(true);
  expect(socket.isEncrypted()).toBe(true);
  expect(socket.sslHandshakeErrors()).toEqual([]);
  expect(socket.peerCertificate().subjectInfo('CN')).toEqual(['valid']);
  socket.write('a3 LOGIN tester secret\r\n');
  expect((await linesUntil(socket, 'a3 ')).at(-1)).toMatch(/^a3 OK .*Logged in/);
  socket.write('a4 LOGOUT\r\n');
  expect((await linesUntil(socket, 'a4 ')).at(-1)).toMatch(/^a4 OK/);
  socket.disconnectFromHost();
  if (socket.state() !== SocketState.UnconnectedState) expect(await socket.waitForDisconnected(5000)).toBe(true);
});

it("reaches redis-server's TLS port with connectToHostEncrypted and talks RESP", async () => {
  const redis = await startRedis({ tls: { certificate: pki.valid, caFile: pki.ca.certFile } });
  onTestFinished(() => redis.close());
  const gw = await gateway();
  const socket = trustingSocket(gw);
  const order: string[] = [];
  socket.connected.connect(() => order.push('connected'));
  socket.encrypted.connect(() => order.push('encrypted'));
  socket.sslErrors.connect(() => order.push('sslErrors'));
  socket.connectToHostEncrypted('localhost', redis.port);
  // Written before the handshake ends: sent once it has.
  socket.write('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n');
  expect(await socket.waitForEncrypted(5000)).toBe(true);
  expect(order).toEqual(['connected', 'encrypted']);
  expect(socket.sessionProtocol()).toBe(SslProtocol.TlsV1_3);
  expect(await socket.waitForReadyRead(5000)).toBe(true);
  expect(new TextDecoder().decode(socket.readAll())).toBe('+OK\r\n');
  socket.write('*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n');
  expect(await socket.waitForReadyRead(5000)).toBe(true);
  let reply = new TextDecoder().decode(socket.readAll());
  while (!reply.endsWith('value\r\n') && (await socket.waitForReadyRead(5000))) reply += new TextDecoder().decode(socket.readAll());
  expect(reply).toBe('$5\r\nvalue\r\n');
  // The server's own view: the key is there.
  expect(await redis.command('GET', 'key')).toBe('$5\r\nvalue\r\n');
});

it("verifies openssl s_server's chain with its intermediate and negotiates ALPN", async () => {
  const server = await startOpenSslServer({ certificate: pki.completeChain, alpn: ['imap', 'h2'] });
  onTestFinished(() => server.close());
  const gw = await gateway();
  const socket = trustingSocket(gw);
  const configuration: QSslConfiguration = socket.sslConfiguration();
  configuration.setAllowedNextProtocols(['h2']);
  socket.setSslConfiguration(configuration);
  socket.connectToHostEncrypted('localhost', server.port);
  expect(await socket.waitForEncrypted(5000)).toBe(true);
  expect(socket.sslConfiguration().nextNegotiatedProtocol()).toBe('h2');
  // The leaf and the intermediate the server sent, as Qt's peerCertificateChain lists them.
  expect(socket.peerCertificateChain().map((certificate) => certificate.subjectInfo('CN')[0])).toEqual([
    'behind-intermediate',
    'intermediate',
  ]);
  // s_server (rev mode) answers each line reversed.
  socket.write('olleh\n');
  expect((await linesUntil(socket, 'hello'))[0]).toBe('hello');
});

/**
 * What QSslSocket sends on the wire: the TLS spec of its configuration, no DATA between the start of
 * TLS and `encrypted`, STARTTLS after the plaintext written before it; and a gateway without TLS.
 */
import { decodeFrame } from '@socketgate/protocol';
import {
  Gateway,
  QAbstractSocket,
  QSslCertificate,
  QSslSocket,
  SslProtocol,
  type WebSocketConstructor,
  type WebSocketLike,
} from '@socketgate/sdk';
import { makeTestPki, recordSignals, startServer, startTlsServer, type TestPki, text, until } from '@socketgate/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { gatewayForTest, stopAfter, UnconnectedState } from './helpers.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.remove());

/** A gateway session whose WebSocket records what the SDK sends: messages by type, DATA frames as `data(n)`. */
async function recordingSession(sent: string[], opens: Array<Record<string, unknown>> = []) {
  const gw = await gatewayForTest();
  const Recording = class extends WebSocket {
    override send(data: unknown, ...rest: never[]): void {
      if (typeof data === 'string') {
        const message = JSON.parse(data) as { type: string };
        if (message.type === 'open' || message.type === 'start-tls') opens.push(message);
        if (message.type !== 'hello') sent.push(message.type);
      } else {
        const decoded = decodeFrame(data as Uint8Array);
        if (decoded.ok && decoded.value.kind === 'data') sent.push(`data(${decoded.value.payload.byteLength})`);
      }
      super.send(data as Buffer, ...rest);
    }
  };
  return gw.client({ WebSocket: Recording as unknown as WebSocketConstructor });
}

it('sends the configuration as the TLS spec of the open: verify mode, depth, CAs, lowest protocol, ALPN, the peer name', async () => {
  const server = stopAfter(await startTlsServer({ certificate: pki.valid, alpn: ['h2'] }));
  const opens: Array<Record<string, unknown>> = [];
  const gateway = await recordingSession([], opens);
  const plain = new QSslSocket({ gateway });
  plain.connectToHostEncrypted('127.0.0.1', server.port);
  await until(() => opens.length === 1, 5000, 'the open');
  expect(opens[0]?.tls).toEqual({
    verifyMode: 'AutoVerifyPeer',
    verifyDepth: 0,
    ca: { system: true, certificates: [] },
    protocol: 'SecureProtocols',
  });

  const socket = new QSslSocket({ gateway });
  const configuration = socket.sslConfiguration();
  configuration.setCaCertificates(QSslCertificate.fromData(pki.ca.pem));
  configuration.setAllowedNextProtocols(['h2', 'http/1.1']);
  configuration.setProtocol(SslProtocol.TlsV1_3OrLater);
  socket.setSslConfiguration(configuration);
  socket.setPeerVerifyMode(QSslSocket.VerifyPeer);
  socket.setPeerVerifyDepth(100); // more than the wire's 64: no limit
  socket.connectToHostEncrypted('127.0.0.1', server.port, 'localhost');
  await until(() => opens.length === 2, 5000, 'the open');
  expect(opens[1]?.tls).toEqual({
    peerName: 'localhost',
    verifyMode: 'VerifyPeer',
    verifyDepth: 0,
    ca: { system: false, certificates: [pki.ca.pem] },
    protocol: 'TlsV1_3OrLater',
    alpn: ['h2', 'http/1.1'],
  });
  expect(await socket.waitForEncrypted(5000)).toBe(true);
  expect(socket.sslConfiguration().nextNegotiatedProtocol()).toBe('h2');

  // Qt's "1.0 or later" and "1.1 or later": any protocol the gateway speaks (TLS 1.2 at least).
  const old = new QSslSocket({ gateway });
  old.setProtocol(SslProtocol.TlsV1_0OrLater);
  old.connectToHostEncrypted('127.0.0.1', server.port);
  await until(() => opens.length === 3, 5000, 'the open');
  expect(opens[2]?.tls).toMatchObject({ protocol: 'AnyProtocol' });
});

it('sends a client certificate and key with the spec; a gateway that takes none refuses it with SslInvalidUserDataError', async () => {
  const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
  const opens: Array<Record<string, unknown>> = [];
  const socket = new QSslSocket({ gateway: await recordingSession([], opens) });
  socket.setLocalCertificate(pki.clientOnly.pem);
  socket.setPrivateKey(pki.clientOnly.key);
  const log = recordSignals(socket);
  socket.connectToHostEncrypted('127.0.0.1', server.port);
  await until(() => opens.length === 1, 5000, 'the open');
  expect(opens[0]?.tls).toMatchObject({ certificate: pki.clientOnly.pem, privateKey: pki.clientOnly.key });
  await until(() => socket.state() === UnconnectedState, 5000, 'the refusal');
  expect(socket.error()).toBe(QAbstractSocket.SslInvalidUserDataError);
  expect(log.slice(-2)).toEqual(['stateChanged(UnconnectedState)', 'errorOccurred(SslInvalidUserDataError)']);
});

it('sends no DATA between the open and encrypted: what was written waits, then goes', async () => {
  const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
  const sent: string[] = [];
  const socket = new QSslSocket({ gateway: await recordingSession(sent) });
  const configuration = socket.sslConfiguration();
  configuration.setCaCertificates(QSslCertificate.fromData(pki.ca.pem));
  socket.setSslConfiguration(configuration);
  socket.connected.connect(() => sent.push('[connected]'));
  socket.encrypted.connect(() => sent.push('[encrypted]'));
  socket.connectToHostEncrypted('localhost', server.port);
  socket.write('before');
  socket.connected.connect(() => socket.write('at connected'));
  expect(await socket.waitForEncrypted(5000)).toBe(true);
  await until(() => socket.bytesAvailable() === 18, 5000, 'the echo');
  expect(text(socket.readAll())).toBe('beforeat connected');
  expect(sent.filter((entry) => entry !== 'credit')).toEqual(['open', '[connected]', '[encrypted]', 'data(18)']);
});

it('STARTTLS: the plaintext written before startClientEncryption goes first, start-tls after it, later writes after encrypted', async () => {
  // A server that greets in plaintext, reads "STARTTLS\n", then speaks TLS on the same connection.
  const tls = await import('node:tls');
  const server = stopAfter(
    await startServer((raw) => {
      raw.write('220 ready\n');
      raw.once('data', (line) => {
        expect(line.toString()).toBe('STARTTLS\n');
        const secure = new tls.TLSSocket(raw, { isServer: true, cert: pki.valid.chain, key: pki.valid.key });
        secure.on('data', (chunk) => secure.write(chunk));
      });
    }),
  );
  const sent: string[] = [];
  const socket = new QSslSocket({ gateway: await recordingSession(sent) });
  const configuration = socket.sslConfiguration();
  configuration.setCaCertificates(QSslCertificate.fromData(pki.ca.pem));
  socket.setSslConfiguration(configuration);
  socket.encrypted.connect(() => sent.push('[encrypted]'));
  socket.connectToHost('localhost', server.port);
  expect(await socket.waitForReadyRead(5000)).toBe(true);
  expect(text(socket.readAll())).toBe('220 ready\n');
  // In one go, as an app may: the command, the switch, and what is to be encrypted.
  socket.write('STARTTLS\n');
  socket.startClientEncryption();
  socket.write('secret');
  expect(socket.bytesToWrite()).toBe(15);
  expect(await socket.waitForEncrypted(5000)).toBe(true);
  await until(() => socket.bytesAvailable() === 6, 5000, 'the echo');
  expect(text(socket.readAll())).toBe('secret');
  expect(sent.filter((entry) => entry !== 'credit')).toEqual(['open', 'data(9)', 'start-tls', '[encrypted]', 'data(6)']);
});

/** A gateway of an older kind: it does no TLS, and answers TLS requests with UNSUPPORTED. */
class GatewayWithoutTls implements WebSocketLike {
  readyState = 0;
  binaryType = 'blob';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(data: string | Uint8Array): void {
    if (typeof data !== 'string') return;
    const message = JSON.parse(data) as { type: string; stream?: number };
    const reply = (payload: object) => setTimeout(() => this.onmessage?.({ data: JSON.stringify(payload) }), 0);
    if (message.type === 'hello') reply({ type: 'welcome', version: 1, session: 's', maxMessageBytes: 1 << 20 });
    if (message.type === 'open')
      reply({ type: 'protocol-error', stream: message.stream, code: 'UNSUPPORTED', message: 'open: tls is not supported by this gateway' });
  }
  close(): void {}
}

it("fails through a gateway that does no TLS as Qt without a TLS library: SslInternalError 'TLS initialization failed'", async () => {
  const gateway = new Gateway('ws://gateway.test/v1/socket', { token: 't', WebSocket: GatewayWithoutTls });
  const socket = new QSslSocket({ gateway });
  const log = recordSignals(socket);
  socket.connectToHostEncrypted('127.0.0.1', 443);
  await until(() => socket.state() === UnconnectedState, 5000, 'the failure');
  expect(log).toEqual([
    'stateChanged(HostLookupState)',
    'stateChanged(ConnectingState)',
    'hostFound',
    'stateChanged(UnconnectedState)',
    'errorOccurred(SslInternalError)',
  ]);
  expect(socket.errorString()).toBe('TLS initialization failed');
  gateway.close();
});

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { encodeCredit, encodeData } from '@socketgate/protocol';
import {
  makeTestPki,
  type RawSession,
  rawSession,
  startEchoServer,
  startGateway,
  startTlsServer,
  TEST_TOKEN,
  type TestPki,
} from '@socketgate/testkit';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());

async function session(options: Parameters<typeof startGateway>[0] = {}): Promise<RawSession> {
  const gw = await startGateway(options);
  onTestFinished(() => gw.close());
  const raw = await rawSession(gw.url, TEST_TOKEN);
  onTestFinished(() => raw.close());
  return raw;
}

const trustingTestCa = () => ({ ca: { system: false, certificates: [pki.ca.pem] } });

/** The DATA payloads of `stream` received so far, joined. */
const dataOf = (raw: RawSession, stream: number) =>
  Buffer.concat(
    raw.received.flatMap((item) =>
      item.kind === 'frame' && item.frame.kind === 'data' && item.frame.stream === stream ? [item.frame.payload] : [],
    ),
  ).toString();

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe('TLS streams', () => {
  it('says it does TLS in welcome', async () => {
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const raw = await rawSession(gw.url, TEST_TOKEN, { hello: false });
    onTestFinished(() => raw.close());
    raw.send({ type: 'hello', version: 1, token: TEST_TOKEN });
    expect((await raw.message('welcome')).features).toEqual(['tls']);
  });

  it('encrypts to a server whose chain verifies: connected, then encrypted with what was negotiated, then plaintext both ways', async () => {
    const server = await startTlsServer({ certificate: pki.valid });
    onTestFinished(() => server.close());
    const raw = await session();
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 65536, tls: trustingTestCa() });
    await raw.message('connected', (m) => m.stream === 1);
    const encrypted = await raw.message('encrypted', (m) => m.stream === 1);
    expect(encrypted).toMatchObject({ protocol: 'TlsV1_3', alpn: '', cipher: { protocol: 'TlsV1_3', bits: expect.any(Number) } });
    expect(encrypted.cipher.name).toMatch(/^TLS_/);
    expect(encrypted.chain.map((certificate) => certificate.subject.CN)).toEqual([['valid']]);
    expect(raw.received.some((item) => item.kind === 'message' && item.message.type === 'tls-errors')).toBe(false);
    raw.sendBinary(encodeData(1, new TextEncoder().encode('hello over TLS')));
    await waitFor(() => dataOf(raw, 1) === 'hello over TLS');
    expect(server.accepted[0]).toMatchObject({ protocol: 'TLSv1.3' });
  });

  it("trusts the operator's CA files and the system store when the client keeps the system's CAs", async () => {
    const server = await startTlsServer({ certificate: pki.valid });
    onTestFinished(() => server.close());
    const raw = await session({ tls: { caFiles: [pki.ca.certFile] } });
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: {} });
    expect(await raw.message('encrypted', (m) => m.stream === 1)).toMatchObject({ stream: 1 });
    // Without the operator's file the same chain does not verify.
    const plain = await session();
    plain.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: {} });
    expect((await plain.message('tls-errors', (m) => m.stream === 1)).errors).toEqual([
      { error: 'UnableToGetLocalIssuerCertificate', certificate: 0 },
      { error: 'UnableToVerifyFirstCertificate', certificate: 0 },
    ]);
  });

  it('holds a handshake with certificate errors for the verdict: go on, or close', async () => {
    const server = await startTlsServer({ certificate: pki.selfSigned });
    onTestFinished(() => server.close());
    const raw = await session();
    for (const [stream, proceed] of [
      [1, false],
      [2, true],
    ] as const) {
      raw.send({ type: 'open', stream, transport: 'tcp', host: '127.0.0.1', port: server.port, window: 1024, tls: trustingTestCa() });
      const errors = await raw.message('tls-errors', (m) => m.stream === stream);
      expect(errors.errors).toEqual([{ error: 'SelfSignedCertificate', certificate: 0 }]);
      expect(errors.chain).toHaveLength(1);
      expect(errors.chain[0]?.selfSigned).toBe(true);
      raw.send({ type: 'tls-verdict', stream, proceed });
      if (!proceed) await raw.message('closed', (m) => m.stream === stream);
      else await raw.message('encrypted', (m) => m.stream === stream);
    }
    raw.sendBinary(encodeData(2, new TextEncoder().encode('ping')));
    await waitFor(() => dataOf(raw, 2) === 'ping');
    expect(dataOf(raw, 1)).toBe('');
    // A verdict nobody asked for is the client's mistake, and the stream goes on.
    raw.send({ type: 'tls-verdict', stream: 2, proceed: true });
    expect(await raw.message('protocol-error', (m) => m.stream === 2)).toMatchObject({ code: 'BAD_MESSAGE' });
  });

  it('reports a host name mismatch first, and verifies against the peer name the client gives instead', async () => {
    const server = await startTlsServer({ certificate: pki.expiredWrongName });
    onTestFinished(() => server.close());
    const raw = await session();
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: trustingTestCa() });
    expect((await raw.message('tls-errors', (m) => m.stream === 1)).errors).toEqual([
      { error: 'HostNameMismatch', certificate: 0 },
      { error: 'CertificateExpired', certificate: 0 },
    ]);
    raw.send({
      type: 'open',
      stream: 2,
      transport: 'tcp',
      host: 'localhost',
      port: server.port,
      window: 1024,
      tls: { ...trustingTestCa(), peerName: 'elsewhere.test' },
    });
    expect((await raw.message('tls-errors', (m) => m.stream === 2)).errors).toEqual([{ error: 'CertificateExpired', certificate: 0 }]);
  });

  it('refuses to go on despite errors where the operator forbids it, and gives up on a client that never decides', async () => {
    const server = await startTlsServer({ certificate: pki.wrongName });
    onTestFinished(() => server.close());
    const raw = await session({ tls: { allowIgnoreErrors: false, decisionTimeoutMs: 100 } });
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: trustingTestCa() });
    await raw.message('tls-errors', (m) => m.stream === 1);
    raw.send({ type: 'tls-verdict', stream: 1, proceed: true });
    expect(await raw.message('error', (m) => m.stream === 1)).toMatchObject({
      error: 'SslHandshakeFailedError',
      message: expect.stringContaining('tls.allowIgnoreErrors is off'),
    });
    raw.send({ type: 'open', stream: 2, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: trustingTestCa() });
    await raw.message('tls-errors', (m) => m.stream === 2);
    expect(await raw.message('error', (m) => m.stream === 2)).toMatchObject({
      error: 'SslHandshakeFailedError',
      message: 'The client did not say within 100 ms whether to ignore the certificate errors',
    });
  });

  it('takes no DATA before the handshake is done', async () => {
    const server = await startTlsServer({ certificate: pki.selfSigned });
    onTestFinished(() => server.close());
    const raw = await session();
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: trustingTestCa() });
    await raw.message('tls-errors', (m) => m.stream === 1);
    raw.sendBinary(encodeData(1, new TextEncoder().encode('too early')));
    expect(await raw.message('protocol-error', (m) => m.stream === 1)).toMatchObject({
      code: 'NOT_CONNECTED',
      message: 'stream 1: data before the TLS handshake is done (send it after encrypted)',
    });
  });

  it('fails a handshake the server refuses with its alert, in the words Qt uses', async () => {
    const server = await startTlsServer({ certificate: pki.valid, maxVersion: 'TLSv1.2' });
    onTestFinished(() => server.close());
    const raw = await session();
    const tlsSpec = { ...trustingTestCa(), protocol: 'TlsV1_3OrLater' };
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: tlsSpec });
    expect(await raw.message('error', (m) => m.stream === 1)).toEqual({
      type: 'error',
      stream: 1,
      error: 'SslHandshakeFailedError',
      message: 'Error during SSL handshake: error:0A00042E:SSL routines::tlsv1 alert protocol version',
      alert: { level: 'Fatal', type: 70, description: 'protocol version' },
    });
    // TLS 1.2 is the floor whatever the client asks: a 1.2 server is reached with the default.
    raw.send({ type: 'open', stream: 2, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: trustingTestCa() });
    expect(await raw.message('encrypted', (m) => m.stream === 2)).toMatchObject({ protocol: 'TlsV1_2' });
  });

  it('offers ALPN and reports what the server chose', async () => {
    const server = await startTlsServer({ certificate: pki.valid, alpn: ['h2', 'http/1.1'] });
    onTestFinished(() => server.close());
    const raw = await session();
    raw.send({
      type: 'open',
      stream: 1,
      transport: 'tcp',
      host: 'localhost',
      port: server.port,
      window: 1024,
      tls: { ...trustingTestCa(), alpn: ['http/1.1', 'spdy/1'] },
    });
    expect(await raw.message('encrypted', (m) => m.stream === 1)).toMatchObject({ alpn: 'http/1.1' });
    await waitFor(() => server.negotiatedAlpn.length === 1);
    expect(server.negotiatedAlpn).toEqual(['http/1.1']);
  });

  it('starts TLS on a connected plaintext stream (STARTTLS): plaintext before, decrypted bytes after', async () => {
    // A line server that answers STARTTLS with OK and then speaks TLS on the same connection.
    const plain = net.createServer((socket) => {
      socket.write('READY\r\n');
      socket.once('data', () => {
        socket.write('OK begin TLS\r\n', () => {
          const secure = new tls.TLSSocket(socket, { isServer: true, cert: pki.valid.chain, key: pki.valid.key });
          secure.on('data', (chunk: Buffer) => secure.write(`secure echo: ${chunk}`));
          secure.on('error', () => {});
        });
      });
    });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    onTestFinished(() => new Promise<void>((resolve) => plain.close(() => resolve())));
    const port = (plain.address() as net.AddressInfo).port;
    const raw = await session();
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port, window: 65536 });
    await raw.message('connected', (m) => m.stream === 1);
    await waitFor(() => dataOf(raw, 1) === 'READY\r\n');
    raw.sendBinary(encodeData(1, new TextEncoder().encode('STARTTLS\r\n')));
    await waitFor(() => dataOf(raw, 1).endsWith('OK begin TLS\r\n'));
    raw.send({ type: 'start-tls', stream: 1, tls: trustingTestCa() });
    expect(await raw.message('encrypted', (m) => m.stream === 1)).toMatchObject({ protocol: 'TlsV1_3' });
    raw.sendBinary(encodeData(1, new TextEncoder().encode('hi')));
    await waitFor(() => dataOf(raw, 1).endsWith('secure echo: hi'));
    raw.send({ type: 'start-tls', stream: 1, tls: {} });
    expect(await raw.message('protocol-error', (m) => m.stream === 1)).toMatchObject({
      code: 'BAD_MESSAGE',
      message: 'stream 1: start-tls on a stream that is already TLS',
    });
  });

  it('requires TLS where the operator says so, refuses client keys unless allowed, and keeps TLS off UDP', async () => {
    const target = await startEchoServer();
    onTestFinished(() => target.close());
    const raw = await session({ tls: { required: [`127.0.0.1/32:${target.port}`] } });
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024 });
    expect(await raw.message('error', (m) => m.stream === 1)).toMatchObject({
      error: 'SocketAccessError',
      message: `Permission denied: the gateway reaches 127.0.0.1 port ${target.port} only through TLS (its tls.required rule 127.0.0.1/32:${target.port})`,
    });
    expect(target.sockets.size).toBe(0);
    // A client key is refused before anything is connected.
    const tlsSpec = { ...trustingTestCa(), certificate: pki.clientOnly.pem, privateKey: pki.clientOnly.key };
    raw.send({ type: 'open', stream: 2, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024, tls: tlsSpec });
    expect(await raw.message('error', (m) => m.stream === 2)).toMatchObject({
      error: 'SslInvalidUserDataError',
      message: expect.stringContaining('tls.clientCertificates is off'),
    });
    expect(target.sockets.size).toBe(0);
    raw.send({ type: 'open', stream: 3, transport: 'udp', host: '127.0.0.1', port: 9, window: 1024, tls: {} });
    expect(await raw.message('protocol-error', (m) => m.stream === 3)).toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('sends a client certificate where the operator allows it', async () => {
    const server = await startTlsServer({ certificate: pki.valid, requestCert: true, ca: pki.ca.pem, rejectUnauthorized: true });
    onTestFinished(() => server.close());
    const raw = await session({ tls: { clientCertificates: true } });
    const tlsSpec = { ...trustingTestCa(), certificate: pki.clientOnly.pem, privateKey: pki.clientOnly.key };
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: tlsSpec });
    await raw.message('encrypted', (m) => m.stream === 1);
    raw.sendBinary(encodeData(1, new TextEncoder().encode('x')));
    await waitFor(() => dataOf(raw, 1) === 'x');
    expect(server.accepted[0]).toMatchObject({ clientAuthorized: true });
  });
});

describe("a peer's certificate as the SDK's QSslCertificate reads it", () => {
  it("gives Qt's answers for the certificate the gateway described", async () => {
    const { X509Certificate } = await import('node:crypto');
    const { makeTestPki } = await import('@socketgate/testkit');
    const { describeCertificate } = await import('../src/certificate-info.js');
    const { QSslCertificate } = await import('../../../packages/sdk/src/ssl/ssl-certificate.js');
    const { QSslError } = await import('../../../packages/sdk/src/ssl/ssl-error.js');
    const { AlternativeNameEntryType, HashAlgorithm, SslError, SubjectInfo } = await import('../../../packages/sdk/src/ssl/ssl-enums.js');
    const pki = makeTestPki();
    onTestFinished(() => pki.remove());
    const x509 = new X509Certificate(pki.valid.pem);
    const certificate = new QSslCertificate(describeCertificate(x509));
    // Qt 6.11.2's values for the same certificate.
    expect(certificate.isNull()).toBe(false);
    expect(certificate.subjectInfo(SubjectInfo.CommonName)).toEqual(['valid']);
    expect(certificate.subjectInfo('O')).toEqual(['socketgate tests']);
    expect(certificate.issuerInfo(SubjectInfo.CommonName)).toEqual(['socketgate test CA']);
    expect(certificate.subjectInfoAttributes()).toEqual(['CN', 'O']);
    expect(certificate.serialNumber()).toBe('10:00');
    expect(certificate.effectiveDate()?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(certificate.expiryDate()?.toISOString()).toBe('2035-01-01T00:00:00.000Z');
    expect(certificate.isSelfSigned()).toBe(false);
    expect(certificate.subjectAlternativeNames()).toEqual(
      new Map([
        [AlternativeNameEntryType.DnsEntry, ['localhost']],
        [AlternativeNameEntryType.IpAddressEntry, ['127.0.0.1']],
      ]),
    );
    expect(Buffer.from(certificate.toDer()).equals(x509.raw)).toBe(true);
    expect(new X509Certificate(certificate.toPem()).raw.equals(x509.raw)).toBe(true);
    expect(Buffer.from(certificate.digest(HashAlgorithm.Sha256)).toString('hex')).toBe(
      x509.fingerprint256.replaceAll(':', '').toLowerCase(),
    );
    expect(certificate.digest().byteLength).toBe(16);
    expect(certificate.subjectDisplayName()).toBe('valid');
    // One made from PEM by the app equals the described one (the same DER).
    const [fromPem] = QSslCertificate.fromData(pki.valid.pem);
    expect(fromPem?.equals(certificate)).toBe(true);
    const wildcard = new QSslCertificate(describeCertificate(new X509Certificate(pki.wildcard.pem)));
    // Qt's QMultiMap order: the last name of a kind first.
    expect(wildcard.subjectAlternativeNames().get(AlternativeNameEntryType.DnsEntry)).toEqual([
      '*.0.0.1',
      '*.test',
      'a*.prefix.test',
      '*.example.test',
    ]);
    const error = new QSslError(SslError.HostNameMismatch, certificate);
    expect(error.errorString()).toBe('The host name did not match any of the valid hosts for this certificate');
    expect(error.equals(new QSslError(SslError.HostNameMismatch, fromPem))).toBe(true);
    expect(new QSslError().errorString()).toBe('No error');
  });
});

describe('TLS streams within bounds', () => {
  it('holds a flooding TLS server back: without credit the gateway keeps a small bound, and credit resumes the flow', async () => {
    const server = await startTlsServer({ certificate: pki.valid, mode: 'download', downloadBytes: 32 * 1024 * 1024 });
    onTestFinished(() => server.close());
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const raw = await rawSession(gw.url, TEST_TOKEN);
    onTestFinished(() => raw.close());
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 64 * 1024, tls: trustingTestCa() });
    await raw.message('encrypted', (m) => m.stream === 1);
    raw.sendBinary(encodeData(1, new TextEncoder().encode('go')));
    const received = () =>
      raw.received.reduce((n, item) => n + (item.kind === 'frame' && item.frame.kind === 'data' ? item.frame.payload.byteLength : 0), 0);
    await waitFor(() => received() === 64 * 1024);
    // No more credit: the TLS socket stops reading, and what the gateway holds stays small.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(received()).toBe(64 * 1024);
    expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(256 * 1024);
    raw.sendBinary(encodeCredit(1, 32 * 1024 * 1024));
    await waitFor(() => received() === 32 * 1024 * 1024);
    const metrics = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^socketgate_tls_handshakes_total\{outcome="verified"\} 1$/m);
  });

  it('sends the TLS records one read of the TCP socket brings as one DATA frame, every byte in order', async () => {
    const BYTES = 8 * 1024 * 1024;
    const server = await startTlsServer({ certificate: pki.valid, mode: 'download', downloadBytes: BYTES });
    onTestFinished(() => server.close());
    const raw = await session();
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 2 * BYTES, tls: trustingTestCa() });
    await raw.message('encrypted', (m) => m.stream === 1);
    raw.sendBinary(encodeData(1, new TextEncoder().encode('go')));
    const payloads = () =>
      raw.received.flatMap((item) =>
        item.kind === 'frame' && item.frame.kind === 'data' && item.frame.stream === 1 ? [item.frame.payload] : [],
      );
    await waitFor(() => payloads().reduce((n, payload) => n + payload.byteLength, 0) === BYTES);
    await raw.message('end', (m) => m.stream === 1);
    expect(createHash('sha256').update(Buffer.concat(payloads())).digest('hex')).toBe(server.downloadSha256);
    // A TLS record holds at most 16 KiB: a frame per record would be 512 frames or more.
    expect(payloads().length).toBeLessThan(BYTES / (32 * 1024));
  });

  it('holds uploads to a TLS server that stops reading within the send window', async () => {
    const server = await startTlsServer({ certificate: pki.valid, mode: 'sink' });
    onTestFinished(() => server.close());
    server.stallReads();
    const gw = await startGateway();
    onTestFinished(() => gw.close());
    const raw = await rawSession(gw.url, TEST_TOKEN);
    onTestFinished(() => raw.close());
    raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: trustingTestCa() });
    const { window } = await raw.message('connected', (m) => m.stream === 1);
    await raw.message('encrypted', (m) => m.stream === 1);
    const chunk = new Uint8Array(64 * 1024);
    const acked = () =>
      raw.received.reduce((n, item) => n + (item.kind === 'frame' && item.frame.kind === 'ack' ? item.frame.bytes : 0), 0);
    // Send within the window until the acknowledgements stop: the kernel's buffers are full.
    let sent = 0;
    for (let round = 0, last = -1; round < 200 && acked() !== last; round++) {
      last = acked();
      while (sent - acked() + chunk.byteLength <= window) {
        raw.sendBinary(encodeData(1, chunk));
        sent += chunk.byteLength;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(sent - acked()).toBeGreaterThan(0);
    expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(window + 64 * 1024);
    // One byte more than the window is the client's fault.
    raw.sendBinary(encodeData(1, chunk.subarray(0, window - (sent - acked()) + 1)));
    expect(await raw.message('protocol-error', (m) => m.stream === 1)).toMatchObject({ code: 'WINDOW_EXCEEDED' });
  });

  it('refuses CA text that holds no certificate before connecting', async () => {
    const target = await startEchoServer();
    onTestFinished(() => target.close());
    const raw = await session();
    raw.send({
      type: 'open',
      stream: 1,
      transport: 'tcp',
      host: '127.0.0.1',
      port: target.port,
      window: 1024,
      tls: { ca: { system: false, certificates: ['-----BEGIN CERTIFICATE-----\nnot base64 ✓\n-----END CERTIFICATE-----'] } },
    });
    expect(await raw.message('error', (m) => m.stream === 1)).toMatchObject({
      error: 'SslInvalidUserDataError',
      message: expect.stringContaining('tls.ca.certificates[0]: certificate 1 cannot be read'),
    });
    expect(target.sockets.size).toBe(0);
  });
});

it('applies reloaded TLS settings to new streams: the CA files read again, tls.required changed', async () => {
  const server = await startTlsServer({ certificate: pki.valid });
  onTestFinished(() => server.close());
  const target = await startEchoServer();
  onTestFinished(() => target.close());
  const settings = { tokens: [TEST_TOKEN], allow: ['127.0.0.1/32', 'localhost'], metricsPort: 0 };
  const gw = await startGateway({ ...settings, tls: { required: [`127.0.0.1/32:${target.port}`] } });
  onTestFinished(() => gw.close());
  const raw = await rawSession(gw.url, TEST_TOKEN);
  onTestFinished(() => raw.close());
  raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: {} });
  await raw.message('tls-errors', (m) => m.stream === 1);
  raw.send({ type: 'open', stream: 2, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024 });
  expect(await raw.message('error', (m) => m.stream === 2)).toMatchObject({ error: 'SocketAccessError' });
  expect(gw.app.socketgate.reload({ ...settings, tls: { caFiles: [pki.ca.certFile] } }).changed).toEqual(['tls']);
  raw.send({ type: 'open', stream: 3, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: {} });
  await raw.message('encrypted', (m) => m.stream === 3);
  raw.send({ type: 'open', stream: 4, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024 });
  await raw.message('connected', (m) => m.stream === 4);
  // A CA file that cannot be read changes nothing.
  expect(() => gw.app.socketgate.reload({ ...settings, tls: { caFiles: [`${pki.dir}/missing.pem`] } })).toThrow(
    /tls\.caFiles: .*missing\.pem/,
  );
  raw.send({ type: 'open', stream: 5, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: {} });
  await raw.message('encrypted', (m) => m.stream === 5);
});

it('tells what was negotiated with the errors, and does not ask a VerifyNone client (unless going on is forbidden)', async () => {
  const server = await startTlsServer({ certificate: pki.selfSigned, alpn: ['h2'] });
  onTestFinished(() => server.close());
  const raw = await session();
  raw.send({ type: 'open', stream: 1, transport: 'tcp', host: 'localhost', port: server.port, window: 1024, tls: { alpn: ['h2'] } });
  expect(await raw.message('tls-errors', (m) => m.stream === 1)).toMatchObject({
    protocol: 'TlsV1_3',
    cipher: { name: 'TLS_AES_256_GCM_SHA384', bits: 256 },
    alpn: 'h2',
  });
  raw.send({
    type: 'open',
    stream: 2,
    transport: 'tcp',
    host: 'localhost',
    port: server.port,
    window: 1024,
    tls: { verifyMode: 'VerifyNone' },
  });
  await raw.message('encrypted', (m) => m.stream === 2);
  expect(raw.received.some((item) => item.kind === 'message' && item.message.type === 'tls-errors' && item.message.stream === 2)).toBe(
    false,
  );
  const strict = await session({ tls: { allowIgnoreErrors: false } });
  strict.send({
    type: 'open',
    stream: 1,
    transport: 'tcp',
    host: 'localhost',
    port: server.port,
    window: 1024,
    tls: { verifyMode: 'VerifyNone' },
  });
  expect(await strict.message('error', (m) => m.stream === 1)).toMatchObject({ error: 'SslHandshakeFailedError' });
});

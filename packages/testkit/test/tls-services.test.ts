import { createHash, randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { makeTestPki, startOpenSslServer, startTlsServer, type TestPki } from '../src/index.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki.remove());

const WAIT_MS = 5000;

/** Rejects after `ms` with what was being waited for. */
function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A node:tls client that trusts the test CA, connected and closed when the test ends. */
async function connect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.ca.pem, ...options });
  onTestFinished(() => {
    socket.destroy();
  });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    }),
    'the handshake',
  );
  return socket;
}

/** Collects what `socket` receives until it has `bytes` bytes, or until it ends when `bytes` is omitted. */
function readAll(socket: tls.TLSSocket, bytes?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  return within(
    new Promise<Buffer>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.byteLength;
        if (bytes !== undefined && length >= bytes) resolve(Buffer.concat(chunks));
      });
      socket.once('end', () => resolve(Buffer.concat(chunks)));
      socket.once('error', reject);
    }),
    'reading',
  );
}

describe('startTlsServer', () => {
  it('echoes over a verified handshake and counts the connection', async () => {
    const server = await startTlsServer({ certificate: pki.valid });
    onTestFinished(() => server.close());
    const socket = await connect(server.port);
    socket.write('hello over TLS');
    expect((await readAll(socket, 14)).toString()).toBe('hello over TLS');
    expect(await within(server.nextAccepted(), 'the accept')).toEqual({
      alpn: '',
      protocol: 'TLSv1.3',
      clientCn: null,
      clientAuthorized: false,
    });
    expect(server.connections).toBe(1);
  });

  it('agrees ALPN and records the protocol of each connection', async () => {
    const server = await startTlsServer({ certificate: pki.valid, alpn: ['h2', 'http/1.1'] });
    onTestFinished(() => server.close());
    const first = await connect(server.port, { ALPNProtocols: ['http/1.1'] });
    const second = await connect(server.port, { ALPNProtocols: ['h2', 'http/1.1'] });
    expect([first.alpnProtocol, second.alpnProtocol]).toEqual(['http/1.1', 'h2']);
    await within(server.nextAccepted(), 'the first accept');
    await within(server.nextAccepted(), 'the second accept');
    expect(server.negotiatedAlpn).toEqual(['http/1.1', 'h2']);
  });

  it('sends a download whose SHA-256 it announces', async () => {
    const server = await startTlsServer({ certificate: pki.completeChain, mode: 'download', downloadBytes: 3 << 20 });
    onTestFinished(() => server.close());
    const socket = await connect(server.port);
    socket.write('GET');
    const body = await readAll(socket);
    expect(body.byteLength).toBe(3 << 20);
    expect(createHash('sha256').update(body).digest('hex')).toBe(server.downloadSha256);
  });

  it('hashes what a sink receives once the peer ends', async () => {
    const server = await startTlsServer({ certificate: pki.valid, mode: 'sink' });
    onTestFinished(() => server.close());
    const socket = await connect(server.port);
    const payload = randomBytes(1 << 20);
    socket.end(payload);
    expect(await within(server.received, 'the sink result')).toEqual({
      bytes: payload.byteLength,
      sha256: createHash('sha256').update(payload).digest('hex'),
    });
  });

  it('greets, then echoes', async () => {
    const server = await startTlsServer({ certificate: pki.valid, mode: 'greeting', greeting: 'HELLO\r\n' });
    onTestFinished(() => server.close());
    const socket = await connect(server.port);
    socket.write('ping');
    expect((await readAll(socket, 11)).toString()).toBe('HELLO\r\nping');
  });

  it('holds back the peer while reads are stalled and delivers everything after', async () => {
    const server = await startTlsServer({ certificate: pki.valid });
    onTestFinished(() => server.close());
    server.stallReads();
    const socket = await connect(server.port);
    const payload = randomBytes(8 << 20);
    const accepted = socket.write(payload);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Neither the server nor the loopback buffers can take 8 MiB while nothing is read.
    expect(accepted).toBe(false);
    expect(socket.writableLength).toBeGreaterThan(0);
    server.resumeReads();
    const echoed = await readAll(socket, payload.byteLength);
    expect(echoed.equals(payload)).toBe(true);
  });

  it('reports the CN of a client certificate, and a handshake it refuses', async () => {
    const server = await startTlsServer({ certificate: pki.valid, requestCert: true, ca: pki.ca.pem, rejectUnauthorized: true });
    onTestFinished(() => server.close());
    await connect(server.port, { cert: pki.clientOnly.chain, key: pki.clientOnly.key });
    expect(await within(server.nextAccepted(), 'the accept')).toMatchObject({ clientCn: 'client-only', clientAuthorized: true });
    // In TLS 1.3 the client learns of the refusal only after its own handshake finished.
    const refused = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.pem });
    onTestFinished(() => {
      refused.destroy();
    });
    await within(new Promise((resolve) => refused.once('error', resolve)), 'the refusal');
    expect((await within(server.nextHandshakeError(), 'the server-side failure')).message).toMatch(/certificate/i);
    expect(server.connections).toBe(1);
  });

  it('keeps to its version range', async () => {
    const server = await startTlsServer({ certificate: pki.valid, maxVersion: 'TLSv1.2' });
    onTestFinished(() => server.close());
    const socket = await connect(server.port);
    expect(socket.getProtocol()).toBe('TLSv1.2');
    await expect(connect(server.port, { minVersion: 'TLSv1.3' })).rejects.toThrow(/protocol version|alert/i);
  });
});

describe('startOpenSslServer', () => {
  it('sends the chain it is given and echoes lines reversed', async () => {
    const server = await startOpenSslServer({ certificate: pki.completeChain, alpn: ['imap'] });
    onTestFinished(() => server.close());
    const socket = await connect(server.port, { ALPNProtocols: ['imap'] });
    expect(socket.alpnProtocol).toBe('imap');
    expect(socket.getPeerCertificate(true).issuerCertificate.subject.CN).toBe('intermediate');
    socket.write('stressed\n');
    expect((await readAll(socket, 9)).toString()).toBe('desserts\n');
  });

  it('fails the handshake with a client that demands a version it does not speak', async () => {
    const server = await startOpenSslServer({ certificate: pki.valid, only: 'TLSv1.2' });
    onTestFinished(() => server.close());
    await expect(connect(server.port, { minVersion: 'TLSv1.3' })).rejects.toThrow(/protocol version|alert/i);
    const socket = await connect(server.port, { maxVersion: 'TLSv1.2' });
    expect(socket.getProtocol()).toBe('TLSv1.2');
  });

  it('passes what the client sends to its console, and the console to the client', async () => {
    const server = await startOpenSslServer({ certificate: pki.valid, mode: 'console' });
    onTestFinished(() => server.close());
    const socket = await connect(server.port);
    socket.write('from the client\n');
    await within(server.process.waitForOutput('from the client', WAIT_MS), 'the console');
    server.write('from the console\n');
    expect((await readAll(socket, 17)).toString()).toBe('from the console\n');
  });
});

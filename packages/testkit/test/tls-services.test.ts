import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  imapLines,
  makeTestPki,
  startDovecot,
  startOpenSslServer,
  startRedis,
  startServiceProcess,
  startTlsServer,
  type TestDovecot,
  type TestPki,
} from '../src/index.js';

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
  return secured(socket);
}

/** Resolves with `socket` once its handshake is done; destroys it when the test ends. */
async function secured(socket: tls.TLSSocket): Promise<tls.TLSSocket> {
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

  it('holds back the peer while reads are stalled, and takes everything once they resume', async () => {
    const server = await startTlsServer({ certificate: pki.valid, mode: 'sink' });
    onTestFinished(() => server.close());
    server.stallReads();
    const socket = await connect(server.port);
    const payload = randomBytes(16 << 20);
    socket.end(payload);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The loopback buffers (a few MiB) cannot take 16 MiB while nothing is read.
    expect(socket.writableLength).toBeGreaterThan(0);
    server.resumeReads();
    expect(await within(server.received, 'the sink result')).toEqual({
      bytes: payload.byteLength,
      sha256: createHash('sha256').update(payload).digest('hex'),
    });
  });

  it('echoes a large write intact to a client that reads only later', async () => {
    const server = await startTlsServer({ certificate: pki.valid });
    onTestFinished(() => server.close());
    const socket = await connect(server.port);
    const payload = randomBytes(16 << 20);
    socket.write(payload);
    // Unread, the echo fills the buffers and the server stops reading until they drain.
    await new Promise((resolve) => setTimeout(resolve, 300));
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

  it.each([
    ['expired', /certificate has expired/],
    ['incompleteChain', /unable to verify the first certificate/],
    ['wrongName', /does not match certificate's altnames/],
  ] as const)('presents the %s certificate for the client to refuse', async (name, reason) => {
    const server = await startOpenSslServer({ certificate: pki[name] });
    onTestFinished(() => server.close());
    await expect(connect(server.port)).rejects.toThrow(reason);
  });

  it('fails the handshake with a client that demands a version it does not speak', async () => {
    const server = await startOpenSslServer({ certificate: pki.valid, only: 'TLSv1.2' });
    onTestFinished(() => server.close());
    await expect(connect(server.port, { minVersion: 'TLSv1.3' })).rejects.toThrow(/protocol version|alert/i);
    const socket = await connect(server.port, { maxVersion: 'TLSv1.2' });
    expect(socket.getProtocol()).toBe('TLSv1.2');
  });

  it('demands a client certificate its CA signed when told to', async () => {
    const server = await startOpenSslServer({ certificate: pki.valid, clientCaFile: pki.ca.certFile, requireClientCert: true });
    onTestFinished(() => server.close());
    const socket = await connect(server.port, { cert: pki.clientOnly.chain, key: pki.clientOnly.key });
    socket.write('ok\n');
    expect((await readAll(socket, 3)).toString()).toBe('ko\n');
    // s_server serves one connection at a time.
    socket.destroy();
    // In TLS 1.3 the refusal reaches the client after its own handshake finished.
    const refused = await connect(server.port);
    await expect(readAll(refused)).rejects.toThrow(/certificate required/);
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

describe('startDovecot', () => {
  let dovecot: TestDovecot;
  beforeAll(async () => {
    dovecot = await startDovecot({ certificate: pki.completeChain });
  });
  afterAll(() => dovecot?.close());

  it('offers STARTTLS, refuses LOGIN before it and takes it after', async () => {
    // From 127.0.0.1 Dovecot would count the connection as secured and take LOGIN at once.
    const plain = net.connect({ host: '127.0.0.1', port: dovecot.port, localAddress: '127.0.0.2' });
    onTestFinished(() => {
      plain.destroy();
    });
    const lines = imapLines(plain);
    expect(await lines.nextLine()).toMatch(/^\* OK \[CAPABILITY [^\]]*STARTTLS[^\]]*LOGINDISABLED/);
    expect((await lines.command('LOGIN tester secret')).at(-1)).toMatch(/^t1 NO \[PRIVACYREQUIRED\]/);
    expect((await lines.command('STARTTLS')).at(-1)).toMatch(/^t2 OK/);
    lines.detach();
    const secure = await secured(tls.connect({ socket: plain, servername: 'localhost', ca: pki.ca.pem }));
    const overTls = imapLines(secure);
    expect((await overTls.command('LOGIN tester secret')).at(-1)).toMatch(/^t1 OK/);
    expect((await overTls.command('SELECT INBOX')).at(-1)).toMatch(/^t2 OK/);
    expect((await overTls.command('LOGOUT')).at(-1)).toMatch(/^t3 OK/);
    // Dovecot writes its log line a moment after it answers.
    for (let i = 0; i < 100 && !/Login: user=<tester>, method=PLAIN.*TLS/.test(dovecot.log()); i++) await sleep(20);
    expect(dovecot.log()).toMatch(/Login: user=<tester>, method=PLAIN.*TLS/);
  });

  it('verifies for openssl s_client -starttls imap and logs in', async () => {
    const client = startServiceProcess(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${dovecot.port}`,
        '-starttls',
        'imap',
        '-CAfile',
        pki.ca.certFile,
        '-verify_hostname',
        'localhost',
      ],
      { what: 'openssl s_client' },
    );
    onTestFinished(() => client.stop());
    await client.waitForOutput(/Verify return code: 0 \(ok\)/, WAIT_MS);
    client.child.stdin?.write('a1 LOGIN tester secret\r\n');
    await client.waitForOutput(/^a1 OK/m, WAIT_MS);
    client.child.stdin?.write('a2 LOGOUT\r\n');
    await client.waitForOutput(/^a2 OK/m, WAIT_MS);
  });

  it("refuses LOGIN before STARTTLS from the kernel's own source address when it listens on 127.0.0.2", async () => {
    const other = await startDovecot({ certificate: pki.valid, host: '127.0.0.2' });
    onTestFinished(() => other.close());
    const plain = net.connect({ host: other.host, port: other.port });
    onTestFinished(() => {
      plain.destroy();
    });
    const lines = imapLines(plain);
    expect(await lines.nextLine()).toContain('LOGINDISABLED');
    expect((await lines.command('LOGIN tester secret')).at(-1)).toMatch(/^t1 NO \[PRIVACYREQUIRED\]/);
  });
});

describe('startRedis with TLS', () => {
  it('answers PING over TLS only', async () => {
    const redis = await startRedis({ tls: { certificate: pki.completeChain, caFile: pki.ca.certFile } });
    onTestFinished(() => redis.close());
    expect(redis.url).toBe(`rediss://127.0.0.1:${redis.port}/0`);
    expect(await redis.command('PING')).toBe('+PONG\r\n');
    const socket = await connect(redis.port);
    socket.write('*1\r\n$4\r\nPING\r\n');
    expect((await readAll(socket, 7)).toString()).toBe('+PONG\r\n');
    // A plain client's RESP is no TLS ClientHello: redis drops the connection.
    const plain = net.connect({ host: '127.0.0.1', port: redis.port });
    onTestFinished(() => {
      plain.destroy();
    });
    plain.on('error', () => {});
    plain.write('*1\r\n$4\r\nPING\r\n');
    const answer = await within(
      new Promise<string>((resolve) => {
        let text = '';
        plain.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
        });
        plain.once('close', () => resolve(text));
      }),
      'the plain client being dropped',
    );
    expect(answer).not.toContain('PONG');
  });

  it('still answers in plain text without tls', async () => {
    const redis = await startRedis();
    onTestFinished(() => redis.close());
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}/0`);
    expect(await redis.command('PING')).toBe('+PONG\r\n');
  });
});

import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { TestCertificate } from './certs.js';
import { onFreePort, type ServiceProcess, startServiceProcess } from './service-process.js';

/**
 * What a TLS test server does with each connection once the handshake is done:
 * - `echo` writes back what it reads, reading no further while its writes are buffered;
 * - `download` waits for the first bytes, then sends `downloadBytes` pseudo-random bytes and ends;
 * - `sink` reads and hashes everything, and ends when the peer ends;
 * - `greeting` writes `greeting`, then echoes.
 */
export type TlsServerMode = 'echo' | 'download' | 'sink' | 'greeting';

export interface TlsServerOptions {
  /** What the server presents: it sends `chain` and signs with `key`. */
  certificate: TestCertificate;
  /** `echo` unless given. */
  mode?: TlsServerMode;
  /** For `download`: bytes each connection gets (1 MiB unless given). */
  downloadBytes?: number;
  /** For `greeting`: the text written once the handshake is done. */
  greeting?: string;
  /** The protocols the server accepts in ALPN, in its order of preference. */
  alpn?: string[];
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  /** Asks the client for a certificate; a client may still send none unless `rejectUnauthorized`. */
  requestCert?: boolean;
  /** The CAs (PEM text) that client certificates are checked against. */
  ca?: string;
  /** With `requestCert`: fails the handshake of a client whose certificate `ca` did not sign, or who sent none. */
  rejectUnauthorized?: boolean;
}

/** One connection whose handshake the server completed. */
export interface TlsAccepted {
  /** The ALPN protocol agreed, or `''` when none was. */
  alpn: string;
  /** `TLSv1.2` or `TLSv1.3`. */
  protocol: string;
  /** The subject CN of the certificate the client presented, or `null` when it presented none. */
  clientCn: string | null;
  /** Whether that certificate verified against `ca`. */
  clientAuthorized: boolean;
}

/** What a `sink` connection received by the time its peer ended. */
export interface SinkResult {
  bytes: number;
  /** SHA-256 of the bytes, in hex. */
  sha256: string;
}

/** A node:tls server on 127.0.0.1 that a test starts and stops. */
export interface TestTlsServer {
  host: string;
  port: number;
  /** Connections whose handshake completed, over the server's life. */
  readonly connections: number;
  /** Each such connection, in the order their handshakes completed. */
  readonly accepted: readonly TlsAccepted[];
  /** The ALPN protocol of each connection, in that order (`''` where none was agreed). */
  readonly negotiatedAlpn: readonly string[];
  /** Why handshakes failed (node:tls's `tlsClientError`), in order. */
  readonly handshakeErrors: readonly Error[];
  /**
   * Resolves with each accepted connection in turn (the first call with the first one, even if it came
   * before the call). In TLS 1.3 a client's handshake ends before the server's, so wait with this
   * rather than reading `accepted` as soon as the client is connected.
   */
  nextAccepted(): Promise<TlsAccepted>;
  /** Resolves with each handshake failure in turn, as `nextAccepted` does. */
  nextHandshakeError(): Promise<Error>;
  /** For `sink`: what the first connection to end had sent. */
  received: Promise<SinkResult>;
  /** For `download`: the SHA-256 (hex) of what each connection is sent. */
  downloadSha256: string;
  /** Stops reading from every connection, present and future, so the peer's writes back up. */
  stallReads(): void;
  /** Reads again (an echo connection whose own writes are still buffered waits for them to drain). */
  resumeReads(): void;
  close(): Promise<void>;
}

const DOWNLOAD_CHUNK = 64 * 1024;

/**
 * The same `total` pseudo-random bytes on every call, in chunks of 64 KiB: an AES-CTR keystream under
 * a fixed key, fast and needing no memory for the whole.
 */
function* pseudoRandomChunks(total: number): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5a), Buffer.alloc(16));
  const zeros = Buffer.alloc(DOWNLOAD_CHUNK);
  for (let left = total; left > 0; left -= DOWNLOAD_CHUNK) yield cipher.update(zeros.subarray(0, Math.min(left, DOWNLOAD_CHUNK)));
}

function sha256Of(chunks: Iterable<Buffer>): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

/** Hands out values in the order they were pushed, to callers waiting or still to come. */
function arrivals<T>(): { push(value: T): void; next(): Promise<T> } {
  const ready: T[] = [];
  const waiting: Array<(value: T) => void> = [];
  return {
    push: (value) => {
      const waiter = waiting.shift();
      if (waiter) waiter(value);
      else ready.push(value);
    },
    next: () => (ready.length > 0 ? Promise.resolve(ready.shift() as T) : new Promise((resolve) => waiting.push(resolve))),
  };
}

/** The subject CN of a peer certificate, or null (node gives `{}` when there is none, and an array for several CNs). */
function subjectCn(certificate: tls.PeerCertificate): string | null {
  const cn: unknown = certificate.subject?.CN;
  if (Array.isArray(cn)) return cn.join(', ');
  return typeof cn === 'string' ? cn : null;
}

/** Starts a TLS server on 127.0.0.1 with an ephemeral port; see {@link TlsServerMode} for what it does. */
export async function startTlsServer(options: TlsServerOptions): Promise<TestTlsServer> {
  const mode = options.mode ?? 'echo';
  const downloadBytes = options.downloadBytes ?? 1 << 20;
  const sockets = new Set<tls.TLSSocket>();
  // Every TCP connection, handshaken or not, so that close() need not wait for a stuck handshake.
  const connections = new Set<net.Socket>();
  // Echo connections whose writes are buffered: they read again on 'drain', not on resumeReads().
  const blocked = new Set<tls.TLSSocket>();
  const accepted: TlsAccepted[] = [];
  const handshakeErrors: Error[] = [];
  const acceptedArrivals = arrivals<TlsAccepted>();
  const errorArrivals = arrivals<Error>();
  let stalled = false;
  let settleReceived: (result: SinkResult) => void = () => {};
  const received = new Promise<SinkResult>((resolve) => {
    settleReceived = resolve;
  });

  const echo = (socket: tls.TLSSocket): void => {
    socket.on('data', (chunk: Buffer) => {
      if (socket.write(chunk)) return;
      blocked.add(socket);
      socket.pause();
      socket.once('drain', () => {
        blocked.delete(socket);
        if (!stalled) socket.resume();
      });
    });
    socket.on('end', () => socket.end());
  };
  const download = (socket: tls.TLSSocket): void => {
    socket.once('data', () => {
      const chunks = pseudoRandomChunks(downloadBytes);
      const pump = (): void => {
        for (let next = chunks.next(); !next.done; next = chunks.next()) {
          if (!socket.write(next.value)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    });
    // Whatever follows the first bytes is read and dropped.
    socket.on('data', () => {});
  };
  const sink = (socket: tls.TLSSocket): void => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.byteLength;
    });
    socket.on('end', () => {
      settleReceived({ bytes, sha256: hash.digest('hex') });
      socket.end();
    });
  };
  const serve: Record<TlsServerMode, (socket: tls.TLSSocket) => void> = {
    echo,
    download,
    sink,
    greeting: (socket) => {
      socket.write(options.greeting ?? '');
      echo(socket);
    },
  };

  const server = tls.createServer({
    cert: options.certificate.chain,
    key: options.certificate.key,
    // Each mode ends its side itself: a download keeps sending after the peer has ended its own.
    allowHalfOpen: true,
    ...(options.alpn && { ALPNProtocols: options.alpn }),
    ...(options.minVersion && { minVersion: options.minVersion }),
    ...(options.maxVersion && { maxVersion: options.maxVersion }),
    ...(options.requestCert && { requestCert: true }),
    ...(options.ca && { ca: options.ca }),
    rejectUnauthorized: options.rejectUnauthorized ?? false,
  });
  server.on('connection', (socket: net.Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  server.on('tlsClientError', (error) => {
    handshakeErrors.push(error);
    errorArrivals.push(error);
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      blocked.delete(socket);
    });
    socket.on('error', () => {});
    const connection: TlsAccepted = {
      alpn: socket.alpnProtocol || '',
      protocol: socket.getProtocol() ?? '',
      clientCn: subjectCn(socket.getPeerCertificate()),
      clientAuthorized: socket.authorized,
    };
    accepted.push(connection);
    acceptedArrivals.push(connection);
    serve[mode](socket);
    if (stalled) socket.pause();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    host: '127.0.0.1',
    port,
    get connections() {
      return accepted.length;
    },
    accepted,
    get negotiatedAlpn() {
      return accepted.map((connection) => connection.alpn);
    },
    handshakeErrors,
    nextAccepted: acceptedArrivals.next,
    nextHandshakeError: errorArrivals.next,
    received,
    downloadSha256: mode === 'download' ? sha256Of(pseudoRandomChunks(downloadBytes)) : '',
    stallReads: () => {
      stalled = true;
      for (const socket of sockets) socket.pause();
    },
    resumeReads: () => {
      stalled = false;
      for (const socket of sockets) if (!blocked.has(socket)) socket.resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface OpenSslServerOptions {
  /** What the server presents: the leaf from `certFile` and `keyFile`, and any intermediates in `chain`. */
  certificate: TestCertificate;
  /**
   * `rev` (the default, `s_server -rev`): each line the client sends comes back reversed, and a line
   * `CLOSE` makes the server close the connection with a close_notify. `console`: what the client sends
   * appears in `output()`, and `write()` sends text to it.
   */
  mode?: 'rev' | 'console';
  /** The protocols offered in ALPN (`-alpn`). */
  alpn?: string[];
  /** Speaks only this version (`-tls1_2` or `-tls1_3`). */
  only?: 'TLSv1.2' | 'TLSv1.3';
  /** Asks for a client certificate and checks it against this CA file (`-verify 1 -CAfile`). */
  clientCaFile?: string;
  /** With `clientCaFile`: fails the handshake without a certificate that verifies (`-Verify 1 -verify_return_error`). */
  requireClientCert?: boolean;
  /** Exits after this many connections (`-naccept`). */
  naccept?: number;
  /** More `s_server` arguments, appended. */
  args?: string[];
}

/**
 * Debian's `openssl s_server` on 127.0.0.1, which a test starts and stops. It serves one connection
 * at a time: the next client's handshake waits until the current connection closes.
 */
export interface TestOpenSslServer {
  host: string;
  port: number;
  /** What s_server printed: connection reports, errors and, in `console` mode, what the client sent. */
  output(): string;
  /**
   * In `console` mode, sends `text` to the connected client. s_server takes a line of one letter
   * (`Q`, `q`, `r`, `R`, …) as a command instead; send longer lines.
   */
  write(text: string): void;
  process: ServiceProcess;
  close(): Promise<void>;
}

const OPENSSL_READY_MS = 5000;

/** The intermediates a server sends after the leaf: `chain` without its leading `pem`. */
function intermediatesOf(certificate: TestCertificate): string {
  return certificate.chain.startsWith(certificate.pem) ? certificate.chain.slice(certificate.pem.length) : '';
}

/**
 * Starts `openssl s_server` on 127.0.0.1 and a port found free, resolving once it prints ACCEPT: for
 * the certificate cases and the handshake failures of a real OpenSSL peer, such as a server speaking
 * only TLS 1.2 to a client that demands 1.3.
 */
export async function startOpenSslServer(options: OpenSslServerOptions): Promise<TestOpenSslServer> {
  const dir = mkdtempSync(join(tmpdir(), 'socketgate-s-server-'));
  const args = ['-cert', options.certificate.certFile, '-key', options.certificate.keyFile];
  const intermediates = intermediatesOf(options.certificate);
  if (intermediates) {
    writeFileSync(join(dir, 'chain.pem'), intermediates);
    args.push('-cert_chain', join(dir, 'chain.pem'));
  }
  if ((options.mode ?? 'rev') === 'rev') args.push('-rev');
  if (options.alpn) args.push('-alpn', options.alpn.join(','));
  if (options.only) args.push(options.only === 'TLSv1.2' ? '-tls1_2' : '-tls1_3');
  if (options.clientCaFile) {
    args.push(
      '-CAfile',
      options.clientCaFile,
      ...(options.requireClientCert ? ['-Verify', '1', '-verify_return_error'] : ['-verify', '1']),
    );
  }
  if (options.naccept !== undefined) args.push('-naccept', String(options.naccept));
  args.push(...(options.args ?? []));
  try {
    return await onFreePort(async (port) => {
      const child = startServiceProcess('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, ...args], {
        what: 'openssl s_server',
        cwd: dir,
      });
      await child.waitForOutput(/^ACCEPT$/m, OPENSSL_READY_MS).catch(async (error: unknown) => {
        await child.stop();
        throw error;
      });
      return {
        host: '127.0.0.1',
        port,
        output: child.output,
        write: (text) => child.child.stdin?.write(text),
        process: child,
        close: async () => {
          await child.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { TestCertificate } from './certs.js';
import { closedPort } from './servers.js';
import { startServiceProcess } from './service-process.js';

export interface TestRedis {
  port: number;
  /** `redis://127.0.0.1:PORT/0`, or `rediss://127.0.0.1:PORT/0` over TLS. */
  url: string;
  child: ChildProcess;
  /** Sends one command (RESP) on a new connection, over TLS when the server speaks it; resolves with the raw reply. */
  command(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

/** TLS for {@link startRedis}: the server's certificate, and the CA file a client trusts it by. */
export interface RedisTlsOptions {
  certificate: TestCertificate;
  caFile: string;
}

const resp = (args: string[]): string => `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;

function command(port: number, args: string[], ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const send = (): void => {
      socket.write(resp(args));
    };
    const socket =
      ca === undefined
        ? net.connect({ host: '127.0.0.1', port }, send)
        : tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, send);
    socket.setTimeout(2000, () => socket.destroy(new Error('redis did not answer')));
    socket.once('data', (reply) => {
      socket.destroy();
      resolve(reply.toString());
    });
    socket.once('error', reject);
  });
}

/**
 * Debian's redis-server on 127.0.0.1 (`redis-server --port 0` is not allowed, so on a port found
 * free, or on `port` to stand in for one that stopped), without persistence, answering PING when
 * this resolves; the test stops it. With `tls` it speaks only TLS on that port (`--tls-port`, with
 * `--port 0` closing the plain one), asks clients for no certificate, and PING goes over TLS.
 */
export async function startRedis(options: { port?: number; tls?: RedisTlsOptions } = {}): Promise<TestRedis> {
  const port = options.port ?? (await closedPort());
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  let ca: string | undefined;
  let dir: string | undefined;
  if (options.tls) {
    ca = readFileSync(options.tls.caFile, 'utf8');
    // redis reads the leaf and its intermediates from one file.
    dir = mkdtempSync(join(tmpdir(), 'socketgate-redis-'));
    writeFileSync(join(dir, 'chain.pem'), options.tls.certificate.chain);
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      join(dir, 'chain.pem'),
      '--tls-key-file',
      options.tls.certificate.keyFile,
      '--tls-ca-cert-file',
      options.tls.caFile,
      '--tls-auth-clients',
      'no',
    );
  } else {
    args.push('--port', String(port));
  }
  const server = startServiceProcess('redis-server', args, { what: "redis-server (install Debian's redis-server)" });
  const close = async (): Promise<void> => {
    await server.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const reply = await Promise.race([command(port, ['PING'], ca).catch(() => ''), server.exited]).catch(async (error: unknown) => {
      await close();
      throw error;
    });
    if (reply.startsWith('+PONG')) break;
    if (i >= 200) {
      await close();
      throw new Error(`redis-server did not answer PING: ${server.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const scheme = options.tls ? 'rediss' : 'redis';
  return { port, url: `${scheme}://127.0.0.1:${port}/0`, child: server.child, command: (...args) => command(port, args, ca), close };
}

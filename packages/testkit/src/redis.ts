import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { closedPort } from './servers.js';

export interface TestRedis {
  port: number;
  /** `redis://127.0.0.1:PORT/0` */
  url: string;
  child: ChildProcess;
  /** Sends one command (RESP) on a new connection; resolves with the raw reply. */
  command(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

const resp = (args: string[]): string => `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;

function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(resp(args)));
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
 * this resolves; the test stops it.
 */
export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const port = options.port ?? (await closedPort());
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server could not start (install Debian's redis-server): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  failed.catch(() => {});
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  for (let i = 0; ; i++) {
    const reply = await Promise.race([command(port, ['PING']).catch(() => ''), failed]);
    if (reply.startsWith('+PONG')) break;
    if (i >= 200) {
      await close();
      throw new Error(`redis-server did not answer PING: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { port, url: `redis://127.0.0.1:${port}/0`, child, command: (...args) => command(port, args), close };
}

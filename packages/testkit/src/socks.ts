import { spawn } from 'node:child_process';
import net from 'node:net';
import { closedPort, startServer, type TestServer } from './servers.js';

/** Debian's microsocks on 127.0.0.1, with or without a username and password; the test stops it. */
export async function startMicrosocks(auth?: { user: string; password: string }): Promise<{ port: number; close(): Promise<void> }> {
  const port = await closedPort();
  const args = ['-i', '127.0.0.1', '-p', String(port), ...(auth ? ['-u', auth.user, '-P', auth.password] : [])];
  const child = spawn('microsocks', args, { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`microsocks could not start (install Debian's microsocks): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`microsocks exited with ${code}`)));
  });
  failed.catch(() => {});
  for (let i = 0; i < 100; i++) {
    const up = await Promise.race([
      new Promise<boolean>((resolve) => {
        const probe = net.connect({ host: '127.0.0.1', port }, () => {
          probe.destroy();
          resolve(true);
        });
        probe.on('error', () => resolve(false));
      }),
      failed,
    ]);
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A "proxy" that answers the SOCKS5 greeting with `reply` (or closes at once when it is empty). */
export const startFakeProxy = (reply: Uint8Array): Promise<TestServer> =>
  startServer((socket) => {
    socket.once('data', () => {
      if (reply.byteLength === 0) socket.destroy();
      else socket.end(reply);
    });
  });

import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Gateway, QTcpSocket } from '@socketgate/sdk';
import { text } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { run } from './cli-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

it('starts like the quick start: prints its URL, a development token and the demo target, and serves it', async () => {
  const gateway = run(['--port', '0', '--demo', '--demo-port', '0']);
  onTestFinished(() => {
    gateway.child.kill('SIGKILL');
  });
  const [, url = ''] = await gateway.line(/^socketgate listening on (ws:\/\/127\.0\.0\.1:\d+\/v1\/socket)$/);
  const [, token = ''] = await gateway.line(/^development token: (\S+)$/);
  const [, port = ''] = await gateway.line(/^demo echo service on 127\.0\.0\.1:(\d+) \(tcp\)$/);
  await gateway.line(new RegExp(`^egress allowed to: 127\\.0\\.0\\.1/32:${port}, 127\\.0\\.0\\.1/32:\\d+, 127\\.0\\.0\\.1/32:\\d+$`));

  const session = new Gateway(url, { token, WebSocket: WebSocket });
  onTestFinished(() => session.close());
  const socket = new QTcpSocket({ gateway: session });
  socket.connectToHost('localhost', Number(port));
  expect(await socket.waitForConnected(10_000)).toBe(true);
  socket.write('ping\n');
  expect(await socket.waitForReadyRead(10_000)).toBe(true);
  expect(text(socket.readAll())).toBe('ping\n');
  socket.abort();

  gateway.child.kill('SIGTERM');
  const [code] = await once(gateway.child, 'exit');
  expect(code).toBe(0);
});

it('refuses a bad setting with exit code 2 and a message naming it', async () => {
  const gateway = run(['--port', '0', '--allow', '127.0.0.1:99999']);
  onTestFinished(() => {
    gateway.child.kill('SIGKILL');
  });
  const [code] = await once(gateway.child, 'exit');
  expect(code).toBe(2);
  expect(gateway.lines.join('\n')).toMatch(/allow\.0: Invalid --allow rule "127\.0\.0\.1:99999": "99999" is not a port/);
});

it('runs in this checkout as `corepack pnpm exec socketgate`, on the built code', () => {
  const help = spawnSync('corepack', ['pnpm', 'exec', 'socketgate', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(help.status, help.stderr).toBe(0);
  expect(help.stdout).toMatch(/^Usage: socketgate \[options\]/);
});

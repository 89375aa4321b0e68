import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Gateway, QTcpSocket } from '@socketgate/sdk';
import { startEchoServer, text } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { run } from './cli-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/socketgate.js', import.meta.url));

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

it('writes only log lines to stdout (pure JSON with JSON logs) and what a person reads to stderr', async () => {
  const child = spawn(process.execPath, [BIN, '--port', '0', '--token', 'a-token-0123456789', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await expect.poll(() => stderr, { timeout: 20_000 }).toMatch(/^socketgate listening on ws:\/\/127\.0\.0\.1:\d+\/v1\/socket$/m);
  await expect.poll(() => stdout, { timeout: 20_000 }).toMatch(/Server listening/);
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  const lines = stdout.trim().split('\n');
  for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
  expect(lines.map((line) => JSON.parse(line).msg)).toContain('draining');
});

it('drains on a SIGTERM sent the moment it says it listens', async () => {
  const gateway = run(['--port', '0', '--token', 'a-token-0123456789']);
  await gateway.line(/^socketgate listening on /);
  gateway.child.kill('SIGTERM');
  const [code, signal] = await once(gateway.child, 'exit');
  expect([code, signal]).toEqual([0, null]);
  expect(gateway.lines.join('\n')).toMatch(/"msg":"draining"/);
});

it('says that a second Ctrl-C stops at once while a drain waits for an open stream, and then does', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const gateway = run([
    '--port',
    '0',
    '--token',
    'a-token-0123456789',
    '--allow',
    `127.0.0.1/32:${echo.port}`,
    '--drain-grace-ms',
    '60000',
  ]);
  const [, url = ''] = await gateway.line(/^socketgate listening on (ws:\/\/\S+)$/);
  const session = new Gateway(url, { token: 'a-token-0123456789', WebSocket });
  onTestFinished(() => session.close());
  const socket = new QTcpSocket({ gateway: session });
  socket.connectToHost('127.0.0.1', echo.port);
  expect(await socket.waitForConnected(10_000)).toBe(true);
  gateway.child.kill('SIGINT');
  await gateway.line(/draining for up to 60000 ms while open streams finish; press Ctrl-C again to stop at once/);
  gateway.child.kill('SIGINT');
  const [code] = await once(gateway.child, 'exit');
  expect(code).toBe(1);
  expect(gateway.lines.join('\n')).toMatch(/stopped at once \(second signal\)/);
});

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '@socketgate/protocol';
import { Gateway, QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { closedPort, startEchoServer, TEST_TOKEN, text, until } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { run } from './cli-helpers.js';

/** Debian's nginx on 127.0.0.1 in front of `upstreams`, with the WebSocket settings of deploy/nginx.conf. */
async function startNginx(upstreams: number[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'socketgate-nginx-'));
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'tmp'));
  const port = await closedPort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  upstream socketgate { ${upstreams.map((p) => `server 127.0.0.1:${p};`).join(' ')} }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://socketgate;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`,
  );
  const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  nginx.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  onTestFinished(async () => {
    nginx.kill('SIGTERM');
    await new Promise((resolve) => (nginx.exitCode !== null ? resolve(undefined) : nginx.once('exit', resolve)));
    rmSync(dir, { recursive: true, force: true });
  });
  // Wait until it answers (through it, a gateway's /healthz).
  for (let i = 0; i < 100; i++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return port;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not answer: ${stderr}`);
}

it('spreads sessions over two gateway processes behind nginx; stopping one errors only its sessions', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const gateways = [0, 1].map(() => run(['--port', '0', '--token', TEST_TOKEN, '--allow', `127.0.0.1/32:${echo.port}`]));
  const ports = await Promise.all(
    gateways.map(async (gw) => Number((await gw.line(/^socketgate listening on ws:\/\/127\.0\.0\.1:(\d+)\//))[1])),
  );
  const nginxPort = await startNginx(ports);

  const sessions = Array.from(
    { length: 4 },
    () => new Gateway(`ws://127.0.0.1:${nginxPort}/v1/socket`, { token: TEST_TOKEN, WebSocket: WebSocket }),
  );
  onTestFinished(() => {
    for (const session of sessions) session.close();
  });
  const sockets: QTcpSocket[] = [];
  for (const session of sessions) {
    const socket = new QTcpSocket({ gateway: session });
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    sockets.push(socket);
  }
  // Round robin: two sessions on each gateway.
  const perGateway = await Promise.all(
    ports.map(async (port) => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^socketgate_sessions (\d+)$/m.exec(metrics)?.[1]);
    }),
  );
  expect(perGateway).toEqual([2, 2]);

  gateways[0]?.child.kill('SIGKILL');
  await until(
    () => sockets.filter((s) => s.state() === QAbstractSocket.UnconnectedState).length === 2,
    10_000,
    "the stopped gateway's sessions see the error",
  );
  const lost = sockets.filter((s) => s.state() === QAbstractSocket.UnconnectedState);
  const alive = sockets.filter((s) => s.state() === QAbstractSocket.ConnectedState);
  expect(lost.map((s) => s.error())).toEqual([QAbstractSocket.ProxyConnectionClosedError, QAbstractSocket.ProxyConnectionClosedError]);
  expect(alive).toHaveLength(2);
  for (const [i, socket] of alive.entries()) {
    socket.write(`still moving ${i}\n`);
    expect(await socket.waitForReadyRead(5000)).toBe(true);
    expect(text(socket.readAll())).toBe(`still moving ${i}\n`);
  }
});

/** A hello from a WebSocket whose connection leaves from `localAddress` (any 127.x is this host); welcome or the close code. */
async function helloFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<'welcome' | number> {
  const ws = new WebSocket(url, SUBPROTOCOL, { localAddress, headers });
  onTestFinished(() => ws.terminate());
  return new Promise((resolve) => {
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token: TEST_TOKEN })));
    ws.on('message', (data) => {
      if (JSON.parse(data.toString()).type === 'welcome') resolve('welcome');
    });
    ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    ws.once('close', (code) => resolve(code));
    ws.once('error', () => {});
  });
}

it('counts clients behind nginx by their own addresses when nginx is a trusted proxy, and ignores the header from anyone else', async () => {
  const gateway = run([
    '--port',
    '0',
    '--token',
    TEST_TOKEN,
    '--trust-proxy',
    '127.0.0.1',
    '--max-sessions-per-address',
    '1',
    '--log-level',
    'info',
  ]);
  const port = Number((await gateway.line(/^socketgate listening on ws:\/\/127\.0\.0\.1:(\d+)\//))[1]);
  const nginxPort = await startNginx([port]);
  const throughNginx = `ws://127.0.0.1:${nginxPort}/v1/socket`;
  // Two clients behind the one proxy: each has its own budget of one session.
  expect(await helloFrom(throughNginx, '127.0.0.2')).toBe('welcome');
  expect(await helloFrom(throughNginx, '127.0.0.3')).toBe('welcome');
  // A second session of the first client is over its limit (429 before the upgrade).
  expect(await helloFrom(throughNginx, '127.0.0.2')).toBe(429);
  // The same client straight to the gateway, claiming another address: the header is not believed.
  expect(await helloFrom(`ws://127.0.0.1:${port}/v1/socket`, '127.0.0.2', { 'X-Forwarded-For': '127.0.0.77' })).toBe(429);
  // And request log lines name the clients, not the proxy.
  await gateway.line(/"remoteAddress":"127\.0\.0\.3"/);
});

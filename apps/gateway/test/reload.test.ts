import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway, QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { rawSession, startEchoServer, startGateway, TEST_TOKEN, text } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { run } from './cli-helpers.js';

const OLD_TOKEN = 'the-old-token-0123456789';
const NEW_TOKEN = 'the-new-token-0123456789';

async function connects(session: Gateway, port: number): Promise<QTcpSocket> {
  const socket = new QTcpSocket({ gateway: session });
  socket.connectToHost('127.0.0.1', port);
  await socket.waitForConnected(5000);
  return socket;
}

it('reloads its config file on SIGHUP for new sessions and streams, keeps open ones, and keeps the old settings when the file is bad', async () => {
  const [first, second] = [await startEchoServer(), await startEchoServer()];
  onTestFinished(() => first.close());
  onTestFinished(() => second.close());
  const dir = mkdtempSync(join(tmpdir(), 'socketgate-reload-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gateway.yaml');
  const write = (tokens: string[], allow: string[], port = 0) =>
    writeFileSync(
      file,
      `port: ${port}\ntokens: [${tokens.join(', ')}]\nallow: [${allow.map((rule) => `"${rule}"`).join(', ')}]\nlog: { format: json }\n`,
    );
  write([OLD_TOKEN], [`127.0.0.1/32:${first.port}`]);
  const gateway = run(['--config', file]);
  const [, url = ''] = await gateway.line(/^socketgate listening on (ws:\/\/\S+)$/);

  const old = new Gateway(url, { token: OLD_TOKEN, WebSocket });
  onTestFinished(() => old.close());
  const open = await connects(old, first.port);
  expect(open.state()).toBe(QAbstractSocket.ConnectedState);

  // New rules and a new token; the port cannot change while it runs.
  write([NEW_TOKEN], [`127.0.0.1/32:${second.port}`], 1);
  gateway.child.kill('SIGHUP');
  await gateway.line(/configuration reloaded; these need a restart: port/);
  // The open stream goes on.
  open.write('still here\n');
  expect(await open.waitForReadyRead(5000)).toBe(true);
  expect(text(open.readAll())).toBe('still here\n');
  // New streams, even on the old session, follow the new rules.
  expect((await connects(old, first.port)).error()).toBe(QAbstractSocket.SocketAccessError);
  expect((await connects(old, second.port)).state()).toBe(QAbstractSocket.ConnectedState);
  // New sessions need the new token.
  const refused = await rawSession(url, OLD_TOKEN, { hello: false });
  refused.send({ type: 'hello', version: 1, token: OLD_TOKEN });
  expect((await refused.closed).code).toBe(4401);
  const fresh = new Gateway(url, { token: NEW_TOKEN, WebSocket });
  onTestFinished(() => fresh.close());
  expect((await connects(fresh, second.port)).state()).toBe(QAbstractSocket.ConnectedState);

  // A bad file: refused with the field named; the settings in force stay.
  writeFileSync(file, 'tokens: [short]\nallow: ["127.0.0.1:99999"]\n');
  gateway.child.kill('SIGHUP');
  await gateway.line(/configuration not reloaded, the settings in force stay: .*tokens\.0: tokens must be at least 8 characters/);
  const still = new Gateway(url, { token: NEW_TOKEN, WebSocket });
  onTestFinished(() => still.close());
  expect((await connects(still, second.port)).state()).toBe(QAbstractSocket.ConnectedState);
  expect(gateway.child.exitCode).toBeNull();
});

it('names metricsPublic and jwt.replayCacheSize as needing a restart, since the running gateway keeps what it started with', async () => {
  const jwt = { secret: 'a-shared-secret-of-at-least-32-characters!', algorithms: ['HS256' as const], audience: 'reload-test' };
  const gw = await startGateway({ jwt });
  onTestFinished(() => gw.close());
  const settings = { tokens: [TEST_TOKEN], jwt, metricsPort: 0, host: '127.0.0.1', port: 0 };
  expect(gw.app.socketgate.reload({ ...settings, metricsPublic: true }).needRestart).toEqual(['metricsPublic']);
  expect(gw.app.socketgate.reload({ ...settings, jwt: { ...jwt, replayCacheSize: 10 } }).needRestart).toEqual(['jwt.replayCacheSize']);
});

/**
 * The websockify endpoint with a plain `ws` client, as noVNC and other websockify clients use it:
 * one WebSocket per TCP connection, subprotocol `binary` (or none), the target named by a
 * single-use ticket in the URL. Loopback only.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settled, startEchoServer, startGateway, startServer, TEST_TOKEN, until, writeInPieces } from '@socketgate/testkit';
import { SignJWT } from 'jose';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import type { GatewayOptions } from '../src/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const AUDIENCE = 'socketgate-test';
const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A single-use ticket (jti) for one minute, naming `target`. */
const ticket = (target: string | undefined, claims: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT({ sub: 'user:vnc', jti: randomUUID(), ...(target === undefined ? {} : { target }), ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
    .sign(new TextEncoder().encode(SECRET));

async function websockifyGateway(options: GatewayOptions = {}) {
  const gw = await startGateway({
    websockify: { path: '/websockify' },
    jwt: { secret: SECRET, algorithms: ['HS256'], audience: AUDIENCE, requireJti: true },
    ...options,
  });
  onTestFinished(() => gw.close());
  const base = gw.url.replace(/\/v1\/socket$/, '/websockify');
  return { gw, url: (query: string) => `${base}?${query}` };
}

/** Opens a WebSocket; resolves once open, or with the close code when the gateway refuses it. */
function open(
  url: string,
  protocols: string[] = ['binary'],
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url, protocols);
  onTestFinished(() => ws.terminate());
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
  });
}

it('relays bytes both ways to the target its ticket names, with subprotocol binary or none', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const { url } = await websockifyGateway();
  for (const protocols of [['binary'], []]) {
    const { ws } = await open(url(`token=${await ticket(`127.0.0.1:${echo.port}`)}`), protocols);
    expect(ws.protocol).toBe(protocols[0] ?? '');
    const data = randomBytes(8 * MiB);
    const hash = createHash('sha256');
    let received = 0;
    ws.on('message', (chunk: Buffer) => {
      received += chunk.byteLength;
      hash.update(chunk);
    });
    for (let at = 0; at < data.length; at += 64 * KiB) ws.send(data.subarray(at, at + 64 * KiB));
    await until(() => received === data.length, 30_000, 'the echo of every byte');
    expect(hash.digest('hex')).toBe(sha256(data));
    ws.close(1000);
  }
});

it('refuses a replayed ticket, a ticket naming another target than the URL, no ticket, and a credential with no target', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const { url } = await websockifyGateway({ tokens: [TEST_TOKEN] });
  const once = await ticket(`127.0.0.1:${echo.port}`);
  const first = await open(url(`token=${once}`));
  first.ws.close(1000);
  const replayed = await open(url(`token=${once}`));
  expect(await replayed.closed).toEqual({ code: 4401, reason: 'the ticket was already used' });

  const other = await open(url(`token=${await ticket(`127.0.0.1:${echo.port}`)}&host=127.0.0.1&port=${echo.port + 1}`));
  expect(await other.closed).toEqual({ code: 4403, reason: 'the ticket names another target than the URL' });
  const same = await open(url(`token=${await ticket(`127.0.0.1:${echo.port}`)}&host=127.0.0.1&port=${echo.port}`));
  same.ws.send(Buffer.from('ping'));
  expect(await new Promise((resolve) => same.ws.once('message', (data: Buffer) => resolve(data.toString())))).toBe('ping');

  expect((await (await open(url('x=1'))).closed).code).toBe(4401);
  expect((await (await open(url(`token=${TEST_TOKEN}`))).closed).code).toBe(4403);
});

it('applies the egress policy to the target a ticket names: nothing is connected', async () => {
  let accepted = 0;
  const canary = await startServer(() => {
    accepted++;
  }, '127.0.0.2');
  onTestFinished(() => canary.close());
  const { url } = await websockifyGateway();
  for (const target of [`127.0.0.2:${canary.port}`, `[::ffff:127.0.0.2]:${canary.port}`, `0.0.0.0:${canary.port}`]) {
    const { closed } = await open(url(`token=${await ticket(target)}`));
    const { code, reason } = await closed;
    expect(code).toBe(4403);
    expect(reason).toMatch(/^SocketAccessError: Permission denied/);
  }
  expect(accepted).toBe(0);
});

it('holds a stalled browser to the session send buffer and delivers everything after', async () => {
  const SIZE = 32 * MiB;
  const data = randomBytes(SIZE);
  let written = 0;
  const server = await startServer((socket) =>
    writeInPieces(socket, data, Array(SIZE / (64 * KiB)).fill(64 * KiB), {
      end: true,
      onProgress: (n) => {
        written = n;
      },
    }),
  );
  onTestFinished(() => server.close());
  const { gw, url } = await websockifyGateway({ sessionBufferBytes: MiB });
  const { ws, closed } = await open(url(`token=${await ticket(`127.0.0.1:${server.port}`)}`));
  const hash = createHash('sha256');
  let received = 0;
  ws.on('message', (chunk: Buffer) => {
    received += chunk.byteLength;
    hash.update(chunk);
  });
  await until(() => received > 0, 5000, 'the first bytes');
  ws.pause();
  expect(await settled(() => written)).toBeLessThan(SIZE);
  expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(MiB + 256 * KiB);
  ws.resume();
  expect((await closed).code).toBe(1000);
  expect(received).toBe(SIZE);
  expect(hash.digest('hex')).toBe(sha256(data));
});

it('holds a browser that outruns a stalled target to the upload budget, then writes every byte and a FIN after its close', async () => {
  const SIZE = 32 * MiB;
  const data = randomBytes(SIZE);
  let target: net.Socket | undefined;
  const hash = createHash('sha256');
  let received = 0;
  let ended = false;
  const server = await startServer((socket) => {
    target = socket;
    socket.pause();
    socket.on('data', (chunk: Buffer) => {
      received += chunk.byteLength;
      hash.update(chunk);
    });
    socket.on('end', () => {
      ended = true;
    });
  });
  onTestFinished(() => server.close());
  const { gw, url } = await websockifyGateway({ sessionUploadBytes: 2 * MiB });
  const { ws } = await open(url(`token=${await ticket(`127.0.0.1:${server.port}`)}`));
  for (let at = 0; at < SIZE; at += 64 * KiB) ws.send(data.subarray(at, at + 64 * KiB));
  await until(() => target !== undefined, 5000, 'the connection');
  await settled(() => gw.app.socketgate.stats().bufferedBytes);
  expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(4 * MiB);
  // What the gateway does not take waits in the browser's own send buffer.
  expect(ws.bufferedAmount).toBeGreaterThan(8 * MiB);
  ws.close(1000);
  target?.resume();
  await until(() => ended, 30_000, 'the FIN after the last byte');
  expect(received).toBe(SIZE);
  expect(hash.digest('hex')).toBe(sha256(data));
  await until(() => gw.app.socketgate.stats().sessions === 0, 5000, 'the session gone');
});

it('never writes the ticket to a log line', async () => {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const lines: string[] = [];
  const { url } = await websockifyGateway({
    logger: { level: 'debug', stream: { write: (line: string) => lines.push(line) } },
  });
  const canary = await ticket(`127.0.0.1:${echo.port}`);
  const { ws, closed } = await open(url(`token=${canary}`));
  ws.send(Buffer.from('x'));
  await new Promise((resolve) => ws.once('message', resolve));
  ws.close(1000);
  await closed;
  await until(() => lines.some((line) => line.includes('stream ended')), 5000, 'the audit line');
  expect(lines.filter((line) => line.includes(canary) || line.includes(canary.split('.')[2] as string))).toEqual([]);
  expect(lines.some((line) => line.includes('"url":"/websockify"'))).toBe(true);
});

it("takes a targets file's tokens (websockify's TokenFile form), each for its one target, again after a reload", async () => {
  const first = await startEchoServer();
  const second = await startEchoServer();
  onTestFinished(() => first.close());
  onTestFinished(() => second.close());
  const folder = mkdtempSync(join(tmpdir(), 'socketgate-targets-'));
  onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
  const file = join(folder, 'targets');
  writeFileSync(file, `# vnc desktops\nfirst-desktop-token: 127.0.0.1:${first.port}\n\n`);
  const { gw, url } = await websockifyGateway({ websockify: { path: '/websockify', targetsFile: file } });
  const echoOnce = async (query: string) => {
    const { ws, closed } = await open(url(query));
    ws.send(Buffer.from('hi'));
    const answer = await Promise.race([
      new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString()))),
      closed.then(({ code }) => `closed ${code}`),
    ]);
    ws.close(1000);
    return answer;
  };
  expect(await echoOnce('token=first-desktop-token')).toBe('hi');
  expect(await echoOnce(`token=first-desktop-token&port=${second.port}`)).toBe('closed 4403');
  expect(await echoOnce('token=second-desktop-token')).toBe('closed 4401');

  writeFileSync(file, `second-desktop-token: [::ffff:127.0.0.1]:${second.port}\n`);
  gw.app.socketgate.reload({ ...gw.app.socketgate.config });
  expect(await echoOnce('token=second-desktop-token')).toBe('hi');
  expect(await echoOnce('token=first-desktop-token')).toBe('closed 4401');
});

it('refuses to start with a targets file line that is not "token: host:port", naming the line', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'socketgate-targets-'));
  onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
  const file = join(folder, 'targets');
  writeFileSync(file, 'good-token-123: 127.0.0.1:5900\nsecret-token-456 127.0.0.1\n');
  const error = await websockifyGateway({ websockify: { path: '/websockify', targetsFile: file } }).catch((failure: Error) => failure);
  expect(String(error)).toContain(`${file} line 2: expected "token: host:port"`);
  expect(String(error)).not.toContain('secret-token-456');
});

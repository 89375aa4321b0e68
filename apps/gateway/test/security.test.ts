import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { CloseCode, encodeData } from '@socketgate/protocol';
import { QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { messagesBehindHello, rawSession, startEchoServer, startGateway, TEST_TOKEN, until } from '@socketgate/testkit';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';

/** A full collection, so that heap figures count what is kept, not garbage not yet collected. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const AUDIENCE = 'socketgate-test';
const ISSUER = 'https://app.example.test';
const now = () => Math.floor(Date.now() / 1000);

async function echo() {
  const server = await startEchoServer();
  onTestFinished(() => server.close());
  return server;
}

async function gateway(options: Parameters<typeof startGateway>[0] = {}) {
  const gw = await startGateway(options);
  onTestFinished(() => gw.close());
  return gw;
}

const hs256 = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT({ sub: 'user:test', ...claims })
    .setProtectedHeader({ alg: 'HS256', ...header })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(now() + 60)
    .sign(new TextEncoder().encode(SECRET));

const jwtGateway = (extra: Record<string, unknown> = {}) =>
  gateway({ jwt: { secret: SECRET, algorithms: ['HS256'], audience: AUDIENCE, issuer: ISSUER, ...extra } });

/** Says hello with `token`; resolves with the close code, or 'welcome'. */
async function hello(url: string, token: string): Promise<number | 'welcome'> {
  const session = await rawSession(url, token, { hello: false });
  onTestFinished(() => session.close());
  session.send({ type: 'hello', version: 1, token });
  const outcome = await Promise.race([
    session.message('welcome').then(() => 'welcome' as const),
    session.closed.then((closed) => closed.code),
  ]);
  return outcome;
}

describe('JWT credentials', () => {
  it('accepts a signed token and refuses every bad one with 4401', async () => {
    const gw = await jwtGateway();
    const key = new TextEncoder().encode(SECRET);
    const base = () => new SignJWT({ sub: 'user:1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt();
    expect(await hello(gw.url, await hs256({ sub: 'user:1' }))).toBe('welcome');
    const wrongKey = await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode('x'.repeat(40)));
    const wrongAudience = await new SignJWT({ sub: 'user:1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience('other')
      .setExpirationTime(now() + 60)
      .sign(key);
    const wrongIssuer = await new SignJWT({ sub: 'user:1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('evil')
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 60)
      .sign(key);
    const expired = await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now() - 60)
      .sign(key);
    const notYetValid = await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setNotBefore(now() + 600)
      .setExpirationTime(now() + 900)
      .sign(key);
    const noExpiry = await base().setProtectedHeader({ alg: 'HS256' }).sign(key);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })).toString('base64url');
    const algNone = `${header}.${payload}.`;
    const hs512 = await base()
      .setProtectedHeader({ alg: 'HS512' })
      .setExpirationTime(now() + 60)
      .sign(key);
    for (const [name, token] of Object.entries({
      wrongKey,
      wrongAudience,
      wrongIssuer,
      expired,
      notYetValid,
      noExpiry,
      algNone,
      hs512,
      garbage: 'a.b.c',
    })) {
      expect(await hello(gw.url, token), name).toBe(CloseCode.UNAUTHORIZED);
    }
  });

  it.each([
    ['RS256', 'RS256'],
    ['ES256', 'ES256'],
    ['EdDSA', 'Ed25519'],
  ] as const)('verifies %s with a public key file and with a JWKS file', async (alg, curve) => {
    const { publicKey, privateKey } = await generateKeyPair(alg === 'EdDSA' ? 'EdDSA' : alg, alg === 'EdDSA' ? { crv: curve } : {});
    const dir = mkdtempSync(join(tmpdir(), 'socketgate-keys-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'key.pem'), await exportSPKI(publicKey));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg }] }));
    const token = await new SignJWT({ sub: 'user:2' })
      .setProtectedHeader({ alg, kid: 'k1' })
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 60)
      .sign(privateKey);
    const byFile = await gateway({ jwt: { publicKeyFile: join(dir, 'key.pem'), algorithms: [alg], audience: AUDIENCE } });
    expect(await hello(byFile.url, token)).toBe('welcome');
    const byJwks = await gateway({ jwt: { jwksFile: join(dir, 'jwks.json'), algorithms: [alg], audience: AUDIENCE } });
    expect(await hello(byJwks.url, token)).toBe('welcome');
    // An HS256 token made with the public key as the secret (algorithm confusion) is refused.
    const confused = await new SignJWT({ sub: 'user:1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode(await exportSPKI(publicKey)));
    expect(await hello(byFile.url, confused)).toBe(CloseCode.UNAUTHORIZED);
  });

  it('keeps the order of messages sent behind a hello whose signature is still being checked', async () => {
    const target = await echo();
    const gw = await jwtGateway();
    const token = await hs256({});
    expect(await messagesBehindHello(gw.url, token, target.port)).toEqual(['welcome', 'closed 1', 'error 2']);
  });

  it('refuses a replayed single-use ticket', async () => {
    const gw = await jwtGateway({ requireJti: true });
    const ticket = await hs256({ jti: 'ticket-1' });
    expect(await hello(gw.url, ticket)).toBe('welcome');
    const session = await rawSession(gw.url, ticket, { hello: false });
    onTestFinished(() => session.close());
    session.send({ type: 'hello', version: 1, token: ticket });
    expect(await session.closed).toEqual({ code: CloseCode.UNAUTHORIZED, reason: 'the ticket was already used' });
    expect(await hello(gw.url, await hs256({}))).toBe(CloseCode.UNAUTHORIZED); // no jti
  });

  it('narrows what a session may reach with its claims: destinations, transports and stream count', async () => {
    const allowed = await echo();
    const other = await echo();
    const gw = await jwtGateway();
    const token = await hs256({ allow: [`127.0.0.1/32:${allowed.port}`], transports: ['tcp'], maxStreams: 2 });
    const client = gw.client({ token });
    const ok = new QTcpSocket({ gateway: client });
    ok.connectToHost('127.0.0.1', allowed.port);
    expect(await ok.waitForConnected(5000)).toBe(true);
    const refused = new QTcpSocket({ gateway: client });
    refused.connectToHost('127.0.0.1', other.port);
    expect(await refused.waitForConnected(5000)).toBe(false);
    expect([refused.error(), refused.errorString()]).toEqual([
      QAbstractSocket.SocketAccessError,
      `Permission denied: the credential does not allow 127.0.0.1 port ${other.port}`,
    ]);
    expect(other.sockets.size).toBe(0);
    const second = new QTcpSocket({ gateway: client });
    second.connectToHost('127.0.0.1', allowed.port);
    expect(await second.waitForConnected(5000)).toBe(true);
    const third = new QTcpSocket({ gateway: client });
    third.connectToHost('127.0.0.1', allowed.port);
    expect(await third.waitForConnected(5000)).toBe(false);
    expect(third.error()).toBe(QAbstractSocket.SocketResourceError);
    const session = await rawSession(gw.url, token);
    onTestFinished(() => session.close());
    session.send({ type: 'bind', stream: 1, transport: 'udp', address: '', port: 0, window: 1024 });
    expect(await session.message('error')).toMatchObject({
      error: 'SocketAccessError',
      message: 'Permission denied: the credential does not allow udp',
    });
  });

  it('a claim can never open what the gateway refuses', async () => {
    const target = await echo();
    const gw = await gateway({ allow: ['8.8.8.0/24'], jwt: { secret: SECRET, algorithms: ['HS256'], audience: AUDIENCE } });
    const token = await hs256({ allow: ['127.0.0.0/8', '*'] });
    const socket = new QTcpSocket({ gateway: gw.client({ token }) });
    socket.connectToHost('127.0.0.1', target.port);
    expect(await socket.waitForConnected(5000)).toBe(false);
    expect(socket.error()).toBe(QAbstractSocket.SocketAccessError);
    expect(target.sockets.size).toBe(0);
  });

  it('ends a live session with 4440 when its credential expires', async () => {
    const target = await echo();
    const gw = await jwtGateway({ clockToleranceSec: 0 });
    const token = await new SignJWT({ sub: 'user:expiring' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(new Date(Date.now() + 1500))
      .sign(new TextEncoder().encode(SECRET));
    const socket = new QTcpSocket({ gateway: gw.client({ token }) });
    socket.connectToHost('127.0.0.1', target.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 10_000, 'the expiry');
    expect(socket.error()).toBe(QAbstractSocket.ProxyAuthenticationRequiredError);
    expect(socket.errorString()).toBe('Proxy authentication failed (gateway closed the session with 4440: the credential expired)');
    await until(() => target.sockets.size === 0, 5000, 'the real socket closed');
  });
});

describe('Origin', () => {
  const open = (url: string, origin?: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url, 'socketgate.v1', origin ? { origin } : {});
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => {});
    });

  it('refuses a page from a foreign origin before the upgrade; allows listed ones and non-browser clients', async () => {
    const gw = await gateway({ origins: ['https://app.example.test'] });
    expect(await open(gw.url, 'https://evil.example.test')).toBe(403);
    expect(await open(gw.url, 'null')).toBe(403);
    expect(await open(gw.url, 'https://app.example.test')).toBe(101);
    expect(await open(gw.url)).toBe(101);
    const any = await gateway({ origins: ['*'] });
    expect(await open(any.url, 'https://evil.example.test')).toBe(101);
    const none = await gateway();
    expect(await open(none.url, 'https://app.example.test')).toBe(403);
  });
});

describe('limits', () => {
  it('limits sessions per credential (4429) and per client address (429 before the upgrade)', async () => {
    const other = 'another-token-0123456789';
    const gw = await gateway({ tokens: [TEST_TOKEN, other], maxSessionsPerCredential: 2, maxSessionsPerAddress: 3 });
    expect(await hello(gw.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(gw.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(gw.url, TEST_TOKEN)).toBe(CloseCode.TOO_MANY_SESSIONS);
    await until(() => gw.app.socketgate.stats().sessions === 2, 5000, 'the refused session gone');
    // Sockets that have not said hello do not take the address's session slots.
    const waiting = await rawSession(gw.url, TEST_TOKEN, { hello: false });
    onTestFinished(() => waiting.close());
    expect(await hello(gw.url, other)).toBe('welcome');
    await expect(rawSession(gw.url, TEST_TOKEN, { hello: false })).rejects.toThrow(/429/);
  });

  it('limits new streams per second and control messages per second', async () => {
    const target = await echo();
    const gw = await gateway({ maxOpensPerSecond: 5, maxControlMessagesPerSecond: 20 });
    const session = await rawSession(gw.url, TEST_TOKEN);
    onTestFinished(() => session.close());
    for (let stream = 1; stream <= 12; stream++)
      session.send({ type: 'open', stream, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024 });
    expect(await session.message('error')).toMatchObject({
      error: 'SocketResourceError',
      message: 'Out of resources: more than 5 new streams per second',
    });
    // The flood and the open after it leave together, so no refill of either bucket comes between
    // them however slow the machine is.
    for (let i = 0; i < 40; i++) session.send({ type: 'abort', stream: 1 });
    // An open that is dropped is still answered, so no socket waits for nothing.
    session.send({ type: 'open', stream: 100, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024 });
    expect(await session.message('protocol-error', (m) => m.code === 'RATE_LIMITED')).toMatchObject({
      message: 'more than 20 control messages per second; message dropped',
    });
    expect(await session.message('error', (m) => m.stream === 100)).toMatchObject({
      error: 'SocketResourceError',
      message: 'Out of resources: more than 20 control messages per second',
    });
    expect(session.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes a session that floods bad messages, and one whose message is larger than maxMessageBytes', async () => {
    const gw = await gateway({ maxMessageBytes: 64 * 1024 });
    const flood = await rawSession(gw.url, TEST_TOKEN);
    for (let i = 0; i < 1000 && flood.ws.readyState === WebSocket.OPEN; i++) flood.ws.send('not json');
    expect(await flood.closed).toEqual({ code: CloseCode.TOO_MANY_SESSIONS, reason: 'more than 100 protocol errors per second' });
    const big = await rawSession(gw.url, TEST_TOKEN);
    big.sendBinary(encodeData(1, new Uint8Array(65 * 1024)));
    expect((await big.closed).code).toBe(1009);
    expect(await hello(gw.url, TEST_TOKEN)).toBe('welcome');
  });

  it('closes idle streams with SocketTimeoutError and idle sessions with 4410', async () => {
    const target = await echo();
    const gw = await gateway({ streamIdleTimeoutMs: 300, sessionIdleTimeoutMs: 600 });
    const socket = new QTcpSocket({ gateway: gw.client() });
    socket.connectToHost('127.0.0.1', target.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    await until(() => socket.state() === QAbstractSocket.UnconnectedState, 5000, 'the idle stream closed');
    expect([socket.error(), socket.errorString()]).toEqual([QAbstractSocket.SocketTimeoutError, 'Idle timeout: no traffic for 300 ms']);
    const idle = await rawSession(gw.url, TEST_TOKEN);
    expect(await idle.closed).toEqual({ code: CloseCode.IDLE_TIMEOUT, reason: 'no streams and no messages for 600 ms' });
  });
});

describe('hostile input', () => {
  it('survives 100,000 random and mutated frames, then serves a normal session with its memory back near the start', async () => {
    const target = await echo();
    const gw = await gateway({
      maxControlMessagesPerSecond: 10_000_000,
      maxProtocolErrorsPerSecond: 10_000_000,
      maxOpensPerSecond: 1_000_000,
    });
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const valid = [
      JSON.stringify({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 65536 }),
      JSON.stringify({ type: 'set-option', stream: 1, option: 'LowDelayOption', value: 1 }),
      JSON.stringify({ type: 'abort', stream: 1 }),
    ];
    let sent = 0;
    let sessions = 0;
    while (sent < 100_000) {
      const session = await rawSession(gw.url, TEST_TOKEN);
      sessions++;
      for (let i = 0; i < 2000 && session.ws.readyState === WebSocket.OPEN; i++, sent++) {
        const kind = i % 4;
        if (kind === 0) session.ws.send(randomBytes(1 + (i % 64)));
        else if (kind === 1) {
          const frame = Buffer.from(valid[i % valid.length] as string);
          frame[i % frame.length] = randomBytes(1)[0] as number;
          session.ws.send(frame.toString('latin1'));
        } else if (kind === 2) session.ws.send(Buffer.concat([Buffer.from([1 + (i % 5), 0, 0, 0, i % 3]), randomBytes(i % 32)]));
        else
          session.ws.send(
            JSON.stringify({
              type: ['open', 'close', 'abort', 'bind', 'connect', 'hello'][i % 6],
              stream: i % 7,
              port: i,
              host: 'x'.repeat(i % 300),
            }),
          );
      }
      // An open on the highest stream id, answered only after every frame before it was handled.
      session.send({ type: 'open', stream: 0xffff_ffff, transport: 'tcp', host: 'nosuchhost.invalid', port: 80, window: 1 });
      expect(await session.message('error', (m) => m.stream === 0xffff_ffff)).toMatchObject({ error: 'HostNotFoundError' });
      expect(session.received.filter((r) => r.kind === 'message' && r.message.type === 'protocol-error').length).toBeGreaterThan(1000);
      session.close();
      await session.closed;
    }
    expect(sent).toBeGreaterThanOrEqual(100_000);
    await until(
      () => gw.app.socketgate.stats().sessions === 0 && gw.app.socketgate.stats().streams === 0,
      10_000,
      'every fuzzed session gone',
    );
    const socket = new QTcpSocket({ gateway: gw.client() });
    socket.connectToHost('127.0.0.1', target.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.write('still serving');
    expect(await socket.waitForReadyRead(5000)).toBe(true);
    expect(new TextDecoder().decode(socket.readAll())).toBe('still serving');
    collectGarbage();
    const growth = process.memoryUsage().heapUsed - before;
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    expect(sessions).toBeGreaterThan(0);
  });
});

describe('logs', () => {
  it('never write a credential, accepted or refused', async () => {
    const lines: string[] = [];
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const target = await echo();
    const gw = await gateway({
      tokens: [canary],
      logger: { level: 'trace', stream: { write: (line: string) => lines.push(line) } },
    });
    const socket = new QTcpSocket({ gateway: gw.client({ token: canary }) });
    socket.connectToHost('127.0.0.1', target.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    socket.abort();
    expect(await hello(gw.url, `${canary}-wrong`)).toBe(CloseCode.UNAUTHORIZED);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(canary);
  });
});

import { CloseCode } from '@socketgate/protocol';
import { QTcpSocket } from '@socketgate/sdk';
import { messagesBehindHello, rawSession, startEchoServer, startGateway, startRedis, TEST_TOKEN, text, until } from '@socketgate/testkit';
import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from './cli-helpers.js';

const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const AUDIENCE = 'socketgate-test';
const now = () => Math.floor(Date.now() / 1000);
const JWT = { secret: SECRET, algorithms: ['HS256'] as const, audience: AUDIENCE };

const ticket = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', ...header })
    .setAudience(AUDIENCE)
    .setExpirationTime(now() + 60)
    .sign(new TextEncoder().encode(SECRET));

async function redis() {
  const server = await startRedis();
  onTestFinished(() => server.close());
  return server;
}

async function gateway(options: Parameters<typeof startGateway>[0] = {}) {
  const gw = await startGateway({ jwt: { ...JWT, algorithms: [...JWT.algorithms] }, ...options });
  onTestFinished(() => gw.close());
  return gw;
}

type Outcome = 'welcome' | { code: number; reason: string };

/** Says hello with `token`; resolves with 'welcome' (the session stays open until the test ends) or the close. */
async function hello(url: string, token: string): Promise<Outcome> {
  const session = await rawSession(url, token, { hello: false });
  onTestFinished(() => session.close());
  session.send({ type: 'hello', version: 1, token });
  return Promise.race([session.message('welcome').then(() => 'welcome' as const), session.closed]);
}

/** Waits, at most 10 s, until `condition` resolves true. */
async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const used = { code: CloseCode.UNAUTHORIZED, reason: 'the ticket was already used' };
const unavailable = { code: CloseCode.INTERNAL_ERROR, reason: 'the session store is unavailable' };
const credentialFull = (limit: number) => ({
  code: CloseCode.TOO_MANY_SESSIONS,
  reason: `this credential already has ${limit} sessions, the gateway's limit`,
});

describe('JWT credentials', () => {
  it('refuses a JWT without sub, so no credential escapes the per-credential limit', async () => {
    const gw = await gateway({ maxSessionsPerCredential: 2 });
    expect(await hello(gw.url, await ticket({}))).toEqual({
      code: CloseCode.UNAUTHORIZED,
      reason: 'the token has no sub claim; a JWT must name its subject',
    });
    expect(await hello(gw.url, await ticket({ sub: '' }))).toEqual({
      code: CloseCode.UNAUTHORIZED,
      reason: "the token's claims are invalid (sub)",
    });
    // Different tokens of one subject share its budget.
    expect(await hello(gw.url, await ticket({ sub: 'user:1', jti: 'a' }))).toBe('welcome');
    expect(await hello(gw.url, await ticket({ sub: 'user:1', jti: 'b' }))).toBe('welcome');
    expect(await hello(gw.url, await ticket({ sub: 'user:1', jti: 'c' }))).toEqual(credentialFull(2));
    expect(await hello(gw.url, await ticket({ sub: 'user:2' }))).toBe('welcome');
  });

  it('checks the typ header when jwt.typ is set', async () => {
    const gw = await gateway({ jwt: { ...JWT, algorithms: ['HS256'], typ: 'socketgate+jwt' } });
    expect(await hello(gw.url, await ticket({ sub: 'user:1' }, { typ: 'socketgate+jwt' }))).toBe('welcome');
    const refused = { code: CloseCode.UNAUTHORIZED, reason: 'the token is not accepted (ERR_JWT_CLAIM_VALIDATION_FAILED: typ)' };
    expect(await hello(gw.url, await ticket({ sub: 'user:1' }, { typ: 'JWT' }))).toEqual(refused);
    expect(await hello(gw.url, await ticket({ sub: 'user:1' }))).toEqual(refused);
  });

  it('refuses tickets with 4500 while the in-process store is full, and takes them again once old ones expire', async () => {
    const gw = await gateway({ jwt: { ...JWT, algorithms: ['HS256'], replayCacheSize: 2, clockToleranceSec: 0 } });
    const expiring = await new SignJWT({ sub: 'user:1', jti: 'soon' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 2)
      .sign(new TextEncoder().encode(SECRET));
    expect(await hello(gw.url, expiring)).toBe('welcome');
    expect(await hello(gw.url, await ticket({ sub: 'user:1', jti: 'two' }))).toBe('welcome');
    expect(await hello(gw.url, await ticket({ sub: 'user:1', jti: 'three' }))).toEqual(unavailable);
    // A static token needs no ticket.
    expect(await hello(gw.url, TEST_TOKEN)).toBe('welcome');
    const three = await ticket({ sub: 'user:1', jti: 'three' });
    const deadline = Date.now() + 10_000;
    let outcome = await hello(gw.url, three);
    while (outcome !== 'welcome' && Date.now() < deadline) {
      expect(outcome).toEqual(unavailable);
      await new Promise((resolve) => setTimeout(resolve, 200));
      outcome = await hello(gw.url, three);
    }
    expect(outcome).toBe('welcome');
    expect(await hello(gw.url, three)).toEqual(used);
  });
});

describe('a Redis store shared by gateways', () => {
  it('uses a ticket once across gateways and restarts', async () => {
    const server = await redis();
    const store = { redis: server.url };
    const a = await startGateway({ jwt: { ...JWT, algorithms: ['HS256'] }, store });
    const b = await gateway({ store });
    const one = await ticket({ sub: 'user:1', jti: 'ticket-1' });
    expect(await hello(a.url, one)).toBe('welcome');
    expect(await hello(b.url, one)).toEqual(used);
    await a.close();
    const c = await gateway({ store });
    expect(await hello(c.url, one)).toEqual(used);
    expect(await hello(c.url, await ticket({ sub: 'user:1', jti: 'ticket-2' }))).toBe('welcome');
    expect(await hello(b.url, await ticket({ sub: 'user:1', jti: 'ticket-2' }))).toEqual(used);
    // The ticket is kept until its expiry plus the clock tolerance, then Redis drops it.
    const ttl = Number((await server.command('PTTL', 'socketgate:ticket:ticket-1')).slice(1));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(65_000);
  });

  it('keeps the order of messages sent behind a hello while Redis is asked', async () => {
    const target = await startEchoServer();
    onTestFinished(() => target.close());
    const server = await redis();
    const gw = await gateway({ store: { redis: server.url } });
    for (const token of [TEST_TOKEN, await ticket({ sub: 'user:1', jti: 'ordered' })]) {
      expect(await messagesBehindHello(gw.url, token, target.port)).toEqual(['welcome', 'closed 1', 'error 2']);
    }
  });

  it('holds the per-credential limit across gateways, and a closed gateway gives its places back', async () => {
    const server = await redis();
    const options = { store: { redis: server.url }, maxSessionsPerCredential: 3 };
    const a = await startGateway(options);
    const b = await gateway(options);
    expect(await hello(a.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(b.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(a.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(b.url, TEST_TOKEN)).toEqual(credentialFull(3));
    expect(await hello(a.url, TEST_TOKEN)).toEqual(credentialFull(3));
    await a.close();
    const key = (await server.command('KEYS', 'socketgate:slot:credential:*')).split('\r\n')[2] as string;
    expect(await server.command('ZCARD', key)).toBe(':1\r\n');
    expect(await hello(b.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(b.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(b.url, TEST_TOKEN)).toEqual(credentialFull(3));
  });

  it('holds the per-address limit across gateways: at hello, and before the upgrade', async () => {
    const server = await redis();
    const options = { store: { redis: server.url }, maxSessionsPerAddress: 2, tokens: [TEST_TOKEN, 'another-token-0123'] };
    const a = await gateway(options);
    const b = await gateway(options);
    // Three sockets pass the upgrade while no session has said hello yet.
    const sessions = await Promise.all([a.url, b.url, b.url].map((url) => rawSession(url, TEST_TOKEN, { hello: false })));
    for (const session of sessions) onTestFinished(() => session.close());
    const outcomes: Outcome[] = [];
    for (const [i, session] of sessions.entries()) {
      const token = i === 0 ? TEST_TOKEN : 'another-token-0123';
      session.send({ type: 'hello', version: 1, token });
      outcomes.push(await Promise.race([session.message('welcome').then(() => 'welcome' as const), session.closed]));
    }
    expect(outcomes).toEqual([
      'welcome',
      'welcome',
      { code: CloseCode.TOO_MANY_SESSIONS, reason: "this address already has 2 sessions, the gateway's limit" },
    ]);
    await expect(rawSession(a.url, TEST_TOKEN, { hello: false })).rejects.toThrow(/429/);
    sessions[0]?.close();
    await until(() => a.app.socketgate.stats().sessions === 0, 5000, 'the session on A closed');
    await eventually(async () => (await server.command('ZCARD', 'socketgate:slot:address:127.0.0.1')) === ':1\r\n', 'its place given back');
    expect(await hello(a.url, TEST_TOKEN)).toBe('welcome');
  });

  it("keeps a live session's place past the slot TTL, and frees the places of a killed gateway after it", async () => {
    const server = await redis();
    const slot = 'socketgate:slot:credential:token:';
    const args = ['--token', TEST_TOKEN, '--store-redis', server.url, '--store-slot-ttl-ms', '1000', '--max-sessions-per-credential', '2'];
    const child = run(['--port', '0', ...args]);
    const port = Number((await child.line(/^socketgate listening on ws:\/\/127\.0\.0\.1:(\d+)\//))[1]);
    const a = `ws://127.0.0.1:${port}/v1/socket`;
    const b = await gateway({ store: { redis: server.url, slotTtlMs: 1000 }, maxSessionsPerCredential: 2 });
    expect(await hello(a, TEST_TOKEN)).toBe('welcome');
    expect(await hello(a, TEST_TOKEN)).toBe('welcome');
    const key = (await server.command('KEYS', `${slot}*`)).split('\r\n')[2] as string;
    const expiry = async () => Number(/\r\n(\d+)\r\n$/.exec(await server.command('ZRANGE', key, '0', '0', 'WITHSCORES'))?.[1]);
    const first = await expiry();
    const redisNow = async () => {
      const [seconds, micros] = (await server.command('TIME')).split('\r\n').filter((line) => /^\d+$/.test(line));
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    };
    // Past the first expiry the places are still held: gateway A refreshed them.
    const deadline = Date.now() + 10_000;
    while ((await redisNow()) <= first + 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await expiry()).toBeGreaterThan(first);
    expect(await hello(b.url, TEST_TOKEN)).toEqual(credentialFull(2));
    // A dies without giving anything back: after the TTL its places are free.
    child.child.kill('SIGKILL');
    let outcome = await hello(b.url, TEST_TOKEN);
    while (outcome !== 'welcome' && Date.now() < deadline + 10_000) {
      expect(outcome).toEqual(credentialFull(2));
      await new Promise((resolve) => setTimeout(resolve, 200));
      outcome = await hello(b.url, TEST_TOKEN);
    }
    expect(outcome).toBe('welcome');
    expect(await hello(b.url, TEST_TOKEN)).toBe('welcome');
    expect(await hello(b.url, TEST_TOKEN)).toEqual(credentialFull(2));
  });

  it('refuses hellos with 4500 while Redis is down or hung, keeps live sessions, and recovers', async () => {
    const target = await startEchoServer();
    onTestFinished(() => target.close());
    const server = await redis();
    const gw = await gateway({ store: { redis: server.url, timeoutMs: 300 } });
    const socket = new QTcpSocket({ gateway: gw.client() });
    socket.connectToHost('127.0.0.1', target.port);
    expect(await socket.waitForConnected(5000)).toBe(true);

    // Hung: commands time out.
    server.child.kill('SIGSTOP');
    try {
      expect(await hello(gw.url, TEST_TOKEN)).toEqual(unavailable);
    } finally {
      server.child.kill('SIGCONT');
    }
    expect(await hello(gw.url, TEST_TOKEN)).toBe('welcome');

    // Down: commands fail at once.
    await server.close();
    expect(await hello(gw.url, TEST_TOKEN)).toEqual(unavailable);
    expect(await hello(gw.url, await ticket({ sub: 'user:1', jti: 'while-down' }))).toEqual(unavailable);
    expect((await fetch(gw.url.replace(/^ws/, 'http').replace('/v1/socket', '/healthz'))).status).toBe(200);
    socket.write('still moving');
    expect(await socket.waitForReadyRead(5000)).toBe(true);
    expect(text(socket.readAll())).toBe('still moving');

    // Back on the same port: hellos are taken again.
    const again = await startRedis({ port: server.port });
    onTestFinished(() => again.close());
    const deadline = Date.now() + 10_000;
    let outcome = await hello(gw.url, TEST_TOKEN);
    while (outcome !== 'welcome' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      outcome = await hello(gw.url, TEST_TOKEN);
    }
    expect(outcome).toBe('welcome');
    expect(await hello(gw.url, await ticket({ sub: 'user:1', jti: 'while-down' }))).toBe('welcome');
  });
});

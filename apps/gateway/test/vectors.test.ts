import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CloseCode } from '@socketgate/protocol';
import { rawSession, startGateway, until } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';

const load = (name: string) =>
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`@socketgate/protocol/vectors/${name}`), 'utf8'));
const messages = load('messages.json') as { client: { invalid: Array<{ name: string; frame: string; error: string; field: string }> } };
const frames = load('frames.json') as { invalid: Array<{ name: string; frame: string; error: string; messageIncludes: string }> };

async function session() {
  const gw = await startGateway({ helloTimeoutMs: 300 });
  onTestFinished(() => gw.close());
  return gw;
}

describe('the gateway answers every invalid vector over a real WebSocket', () => {
  it("replies protocol-error with the vector's code to each bad control message, and the session goes on", async () => {
    const gw = await session();
    const client = await rawSession(gw.url, gw.token);
    onTestFinished(() => client.close());
    for (const vector of messages.client.invalid) {
      client.ws.send(vector.frame);
      const reply = await client.message('protocol-error');
      expect(reply.code, vector.name).toBe(vector.error);
      expect(reply.message, vector.name).toContain(vector.field);
    }
    for (const vector of frames.invalid) {
      client.sendBinary(Buffer.from(vector.frame, 'hex'));
      const reply = await client.message('protocol-error');
      expect(reply.code, vector.name).toBe(vector.error);
      expect(reply.message, vector.name).toContain(vector.messageIncludes);
    }
    // Still serving: a normal request gets its normal answer (on an id above those the bad messages spent).
    const stream = 0xffff_ffff;
    client.send({ type: 'open', stream, transport: 'tcp', host: 'nosuchhost.invalid', port: 1, window: 1 });
    expect(await client.message('error')).toMatchObject({ stream, error: 'HostNotFoundError', message: 'Host not found' });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });
});

describe('session handshake', () => {
  it.each([
    [
      'a binary frame before hello',
      (s: Awaited<ReturnType<typeof rawSession>>) => s.sendBinary(Uint8Array.of(1, 0, 0, 0, 1)),
      CloseCode.PROTOCOL_ERROR,
      /hello text frame/,
    ],
    [
      'another message before hello',
      (s: Awaited<ReturnType<typeof rawSession>>) => s.send({ type: 'abort', stream: 1 }),
      CloseCode.PROTOCOL_ERROR,
      /must be hello, got abort/,
    ],
    [
      'a malformed hello',
      (s: Awaited<ReturnType<typeof rawSession>>) => s.send({ type: 'hello', version: 1 }),
      CloseCode.PROTOCOL_ERROR,
      /bad hello: token/,
    ],
    [
      'a wrong token',
      (s: Awaited<ReturnType<typeof rawSession>>) => s.send({ type: 'hello', version: 1, token: 'wrong-token' }),
      CloseCode.UNAUTHORIZED,
      /not accepted/,
    ],
    [
      'protocol version 2',
      (s: Awaited<ReturnType<typeof rawSession>>) => s.send({ type: 'hello', version: 2, token: 'x' }),
      CloseCode.VERSION_MISMATCH,
      /version 2 is not supported/,
    ],
    ['no hello at all', () => {}, CloseCode.HELLO_TIMEOUT, /no hello within 300 ms/],
  ])('closes the session on %s', async (_name, act, code, reason) => {
    const gw = await session();
    const client = await rawSession(gw.url, gw.token, { hello: false });
    act(client);
    const closed = await client.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason).toMatch(reason);
    // The session is counted until its connection is really closed.
    await until(() => gw.app.socketgate.stats().sessions === 0, 5000, 'the session gone');
  });

  it('closes a session that sends invalid UTF-8 in a text frame with 1007, and keeps serving others', async () => {
    const gw = await session();
    const client = await rawSession(gw.url, gw.token);
    client.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    expect((await client.closed).code).toBe(1007);
    const other = await rawSession(gw.url, gw.token);
    onTestFinished(() => other.close());
    other.send({ type: 'open', stream: 1, transport: 'tcp', host: 'nosuchhost.invalid', port: 80, window: 1 });
    expect(await other.message('error')).toMatchObject({ error: 'HostNotFoundError' });
  });

  it('closes a WebSocket that did not ask for the socketgate.v1 subprotocol', async () => {
    const gw = await session();
    const client = await rawSession(gw.url, gw.token, { hello: false, protocol: null });
    const closed = await client.closed;
    expect(closed).toEqual({ code: CloseCode.PROTOCOL_ERROR, reason: 'the socketgate.v1 subprotocol is required' });
  });
});

import { rawSession, startEchoServer, startGateway, TEST_TOKEN } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

it('refuses TLS it does not do yet: an open asking for TLS is answered UNSUPPORTED for its stream and never connects in plaintext', async () => {
  const target = await startEchoServer();
  onTestFinished(() => target.close());
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  const session = await rawSession(gw.url, TEST_TOKEN);
  onTestFinished(() => session.close());
  session.send({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024, tls: {} });
  expect(await session.message('protocol-error', (m) => m.stream === 1)).toMatchObject({
    code: 'UNSUPPORTED',
    message: 'tls: this gateway does not encrypt streams',
  });
  session.send({ type: 'tls-verdict', stream: 1, proceed: true });
  expect(await session.message('protocol-error', (m) => m.message.includes('tls-verdict'))).toMatchObject({ code: 'UNSUPPORTED' });
  // The session goes on, and nothing reached the target.
  session.send({ type: 'open', stream: 2, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024 });
  expect(await session.message('connected', (m) => m.stream === 2)).toMatchObject({ stream: 2 });
  expect(target.sockets.size).toBe(1);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { E2E_PORT, E2E_TOKEN } from '../playwright.config.js';

/** A gateway that accepts only pages from https://app.example.test, so this page's Origin is refused. */
const FOREIGN_PORT = 18471;
/** Nothing listens here. */
const CLOSED_PORT = 18472;

async function startForeignGateway(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      'apps/gateway/bin/socketgate.js',
      '--port',
      String(FOREIGN_PORT),
      '--token',
      E2E_TOKEN,
      '--allow',
      '127.0.0.1/32:18400-18499',
      '--origin',
      'https://app.example.test',
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200; i++) {
    const ready = await fetch(`http://127.0.0.1:${FOREIGN_PORT}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error('the second gateway did not start');
}

test("in Chromium, a gateway session that cannot be opened or is lost reads as Qt's proxy errors, saying what to check", async ({
  page,
}) => {
  const foreign = await startForeignGateway();
  try {
    await page.goto('/');
    await page.waitForFunction(() => 'socketgate' in globalThis);
    const gateway = `ws://127.0.0.1:${E2E_PORT}/v1/socket`;
    const cases = {
      down: `ws://127.0.0.1:${CLOSED_PORT}/v1/socket`,
      wrongPath: `ws://127.0.0.1:${E2E_PORT}/no/such/path`,
      foreignOrigin: `ws://127.0.0.1:${FOREIGN_PORT}/v1/socket`,
    };
    const results = await page.evaluate(
      async ({ cases, gateway, token }) => {
        const { sdk } = (globalThis as unknown as { socketgate: { sdk: typeof import('@socketgate/sdk') } }).socketgate;
        const attempt = async (url: string, credential: string) => {
          const session = new sdk.Gateway(url, { token: credential });
          const socket = new sdk.QTcpSocket({ gateway: session });
          socket.connectToHost('127.0.0.1', 18407);
          const connected = await socket.waitForConnected(10_000);
          const result = { connected, error: sdk.nameOf(sdk.SocketError, socket.error()), text: socket.errorString() };
          session.close();
          return result;
        };
        const out: Record<string, { connected: boolean; error: string; text: string }> = {};
        for (const [name, url] of Object.entries(cases)) out[name] = await attempt(url, token);
        out.wrongToken = await attempt(gateway, 'not-the-token');
        // A session lost after welcome: the page closes its gateway under a connected socket.
        const session = new sdk.Gateway(gateway, { token });
        const socket = new sdk.QTcpSocket({ gateway: session });
        socket.connectToHost('127.0.0.1', 18407);
        await socket.waitForConnected(10_000);
        const signals: string[] = [];
        socket.errorOccurred.connect((error) => signals.push(`errorOccurred(${sdk.nameOf(sdk.SocketError, error)})`));
        socket.disconnected.connect(() => signals.push('disconnected'));
        session.close();
        // Told once what the gateway sent before is read: waitForConnected came true just now, so
        // the SDK reads on in the next task (as Qt's caller runs before anything else is read).
        await new Promise((resolve) => setTimeout(resolve, 0));
        out.closed = {
          connected: true,
          error: sdk.nameOf(sdk.SocketError, socket.error()),
          text: `${socket.errorString()} ${signals.join(' ')}`,
        };
        return out;
      },
      { cases, gateway, token: E2E_TOKEN },
    );
    const unreachable = (url: string) =>
      `Connection to proxy refused (no session with the gateway at ${url}: check the URL and its path, that the gateway runs, and that it accepts this page's Origin)`;
    expect(results).toEqual({
      down: { connected: false, error: 'ProxyConnectionRefusedError', text: unreachable(cases.down) },
      wrongPath: { connected: false, error: 'ProxyConnectionRefusedError', text: unreachable(cases.wrongPath) },
      foreignOrigin: { connected: false, error: 'ProxyConnectionRefusedError', text: unreachable(cases.foreignOrigin) },
      wrongToken: {
        connected: false,
        error: 'ProxyAuthenticationRequiredError',
        text: 'Proxy authentication failed (gateway closed the session with 4401: the token is not accepted)',
      },
      closed: {
        connected: true,
        error: 'ProxyConnectionClosedError',
        text: 'Connection to proxy closed prematurely (the app closed the gateway session) errorOccurred(ProxyConnectionClosedError) disconnected',
      },
    });
  } finally {
    foreign.kill('SIGTERM');
  }
});

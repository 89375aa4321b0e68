/**
 * libcurl.js (unchanged; curl and its TLS in WebAssembly) in Chromium through the gateway's Wisp
 * endpoint, all on loopback: an HTTP request and its answer, and TLS done end to end by the page
 * (the gateway relays ciphertext: the target's TLS server meets libcurl's own handshake). libcurl.js
 * 0.7.4 trusts only the CA bundle built into it, so an HTTPS request to a server of the test CA
 * ends in libcurl's own verdict on the certificate, which is what this checks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { expect, test } from '@playwright/test';
import { makeTestPki, type TestPki } from '../packages/testkit/src/certs.js';

const GATEWAY_PORT = 18455;
const PAGE_PORT = 18456;
const HTTP_PORT = 18457;
const HTTPS_PORT = 18458;
const TOKEN = 'libcurl-e2e-token-0123456789';

let gateway: ChildProcess;
let pki: TestPki;
const servers: http.Server[] = [];
const tlsEvents: string[] = [];

async function listen(server: http.Server, port: number): Promise<void> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

test.beforeAll(async () => {
  pki = makeTestPki();
  await listen(
    http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('hello over Wisp')),
    HTTP_PORT,
  );
  const tls = https.createServer({ cert: pki.valid.chain, key: pki.valid.key }, (_request, response) => response.end('hello over TLS'));
  tls.on('secureConnection', () => tlsEvents.push('secure'));
  tls.on('tlsClientError', (error) => tlsEvents.push(error.message));
  await listen(tls, HTTPS_PORT);
  gateway = spawn(
    process.execPath,
    [
      'apps/gateway/bin/socketgate.js',
      '--port',
      String(GATEWAY_PORT),
      '--token',
      TOKEN,
      '--allow',
      `127.0.0.1/32:${HTTP_PORT}-${HTTPS_PORT}`,
      '--origin',
      `http://127.0.0.1:${PAGE_PORT}`,
      '--wisp-path',
      '/wisp/',
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200; i++) {
    const ready = await fetch(`http://127.0.0.1:${GATEWAY_PORT}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The page: libcurl.js as its package ships it (the WebAssembly bundled into one module).
  const library = readFileSync(createRequire(import.meta.url).resolve('libcurl.js/bundled'));
  const page = http.createServer((request, response) => {
    if (request.url === '/libcurl.mjs') response.writeHead(200, { 'content-type': 'text/javascript' }).end(library);
    else
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<!doctype html><title>libcurl.js</title><script type="module">import { libcurl } from "/libcurl.mjs"; window.libcurl = libcurl;</script>',
        );
  });
  await listen(page, PAGE_PORT);
});

test.afterAll(async () => {
  gateway?.kill('SIGKILL');
  for (const server of servers) server.close();
  pki?.remove();
});

test('libcurl.js fetches through the Wisp endpoint, and does TLS end to end itself', async ({ page }) => {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
  await page.waitForFunction(() => 'libcurl' in window);
  // libcurl.js speaks Wisp v1, so the token rides in the URL; it appends the destination after the
  // URL's last "/", hence the "&/" that ends the query.
  const wisp = `ws://127.0.0.1:${GATEWAY_PORT}/wisp/?token=${TOKEN}&/`;
  const results = await page.evaluate(
    async ({ wisp, httpUrl, httpsUrl }) => {
      const libcurl = (window as unknown as { libcurl: Record<string, (...args: unknown[]) => unknown> }).libcurl;
      await libcurl.load_wasm?.();
      libcurl.set_websocket?.(wisp);
      const fetch = libcurl.fetch as (url: string) => Promise<Response>;
      const plain = await fetch(httpUrl).then(
        async (response) => `${response.status} ${await response.text()}`,
        (error: unknown) => `failed: ${String(error)}`,
      );
      const secure = await fetch(httpsUrl).then(
        async (response) => `${response.status} ${await response.text()}`,
        (error: unknown) => `failed: ${String(error)}`,
      );
      return { plain, secure };
    },
    { wisp, httpUrl: `http://127.0.0.1:${HTTP_PORT}/`, httpsUrl: `https://127.0.0.1:${HTTPS_PORT}/` },
  );
  expect(results.plain).toBe('200 hello over Wisp');
  // The handshake is libcurl's own, end to end: the target's TLS server met libcurl's ClientHello
  // through the gateway, and libcurl judged the certificate itself and answered "unknown CA" (its
  // built-in bundle cannot be given the test CA, so the request fails with curl's error 60).
  expect(results.secure).toMatch(/^failed: .*error code 60: SSL peer certificate/);
  expect(tlsEvents).toEqual([expect.stringContaining('alert unknown ca')]);
  expect(errors).toEqual([]);
});

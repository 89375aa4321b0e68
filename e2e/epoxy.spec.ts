/**
 * epoxy-tls (unchanged; rustls and hyper in WebAssembly) in Chromium through the gateway's Wisp
 * endpoint, all on loopback: an HTTPS request to a server of the test CA, which the page trusts by
 * handing epoxy the CA's PEM (`pem_files`). TLS runs end to end between the page and the server:
 *
 *   Chromium (epoxy) --Wisp--> gateway --TCP--> tap --TCP--> HTTPS server
 *
 * The tap is a plain TCP relay the gateway is allowed to reach (the HTTPS server's own port is not
 * allowed); it records every byte both ways, which is what the gateway sent and received, and none
 * of them carries the request's path or the answer's body.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { makeTestPki, type TestPki } from '../packages/testkit/src/certs.js';
import { listen } from './servers.js';

const GATEWAY_PORT = 18485;
const PAGE_PORT = 18486;
const TAP_PORT = 18487;
const HTTPS_PORT = 18488;
const TOKEN = 'epoxy-e2e-token-0123456789';
const PATH = '/private/epoxy-e2e-7f3a91?q=only-the-server-reads-this';
const MARKER = 'secret over end-to-end TLS ✓';

let gateway: ChildProcess | undefined;
let gatewayOutput = '';
let pki: TestPki | undefined;
let tap: Awaited<ReturnType<typeof listen>> | undefined;
const servers: http.Server[] = [];
/** What the tap relayed: `up` from the gateway to the server, `down` back. */
const relayed = { up: [] as Buffer[], down: [] as Buffer[], connections: 0 };
const handshakes: { protocol: string | null; alpn: string | false | null; servername: string | false | null }[] = [];
const tlsErrors: string[] = [];
const requests: string[] = [];

async function serve(server: http.Server, port: number): Promise<void> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

test.beforeAll(async () => {
  pki = makeTestPki();
  const secure = https.createServer({ cert: pki.valid.chain, key: pki.valid.key }, (request, response) => {
    requests.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(MARKER);
  });
  secure.on('secureConnection', (socket: TLSSocket) =>
    handshakes.push({ protocol: socket.getProtocol(), alpn: socket.alpnProtocol, servername: socket.servername }),
  );
  secure.on('tlsClientError', (error) => tlsErrors.push(error.message));
  await serve(secure, HTTPS_PORT);

  tap = await listen(TAP_PORT, (inbound) => {
    relayed.connections++;
    const outbound = net.connect(HTTPS_PORT, '127.0.0.1');
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.on('data', (chunk: Buffer) => relayed.up.push(Buffer.from(chunk)));
    outbound.on('data', (chunk: Buffer) => relayed.down.push(Buffer.from(chunk)));
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });

  gateway = spawn(
    process.execPath,
    [
      'apps/gateway/bin/socketgate.js',
      '--port',
      String(GATEWAY_PORT),
      '--token',
      TOKEN,
      // The tap only: the HTTPS server is reached through it or not at all.
      '--allow',
      `127.0.0.1/32:${TAP_PORT}`,
      '--origin',
      `http://127.0.0.1:${PAGE_PORT}`,
      '--wisp-path',
      '/wisp/',
      // localhost from /etc/hosts (the dns resolver asks DNS servers only).
      '--name-resolver',
      'system',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  gateway.stdout?.on('data', (chunk: Buffer) => {
    gatewayOutput += chunk.toString();
  });
  gateway.stderr?.on('data', (chunk: Buffer) => {
    gatewayOutput += chunk.toString();
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (gateway.exitCode !== null) throw new Error(`the gateway exited at start:\n${gatewayOutput}`);
    if (Date.now() > deadline) throw new Error(`the gateway was not ready within 20 s:\n${gatewayOutput}`);
    const ready = await fetch(`http://127.0.0.1:${GATEWAY_PORT}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  // The page: epoxy-tls as its package ships it (the WebAssembly inlined into one module; its
  // exports map has only the import condition).
  const library = readFileSync(fileURLToPath(import.meta.resolve('@mercuryworkshop/epoxy-tls/epoxy-bundled')));
  const page = http.createServer((request, response) => {
    if (request.url === '/epoxy.mjs') response.writeHead(200, { 'content-type': 'text/javascript' }).end(library);
    else
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<!doctype html><title>epoxy-tls</title><script type="module">import * as epoxy from "/epoxy.mjs"; window.epoxy = epoxy;</script>',
        );
  });
  await serve(page, PAGE_PORT);
});

test.afterAll(async () => {
  if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
    const exit = once(gateway, 'exit');
    gateway.kill('SIGKILL');
    await exit;
  }
  await tap?.close();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  pki?.remove();
});

/**
 * Every spelling of `text` that would show it in the clear: UTF-8, UTF-16 (both orders), Latin-1,
 * base64 and hex. Each is 8 bytes or more, which ciphertext does not hold by chance.
 */
function spellings(text: string): Buffer[] {
  const utf8 = Buffer.from(text, 'utf8');
  const utf16le = Buffer.from(text, 'utf16le');
  return [
    utf8,
    utf16le,
    Buffer.from(utf16le).swap16(),
    Buffer.from(text, 'latin1'),
    Buffer.from(utf8.toString('base64')),
    Buffer.from(utf8.toString('hex')),
  ];
}

test('epoxy-tls fetches over HTTPS through the Wisp endpoint, and the gateway relays only ciphertext', async ({ page }) => {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
  await page.waitForFunction(() => 'epoxy' in window, undefined, { timeout: 10_000 });
  // epoxy-tls has no password option, so the token rides in the URL (the gateway then offers v2
  // without the password extension). Here the page opens the WebSocket with the `wisp-v2`
  // subprotocol itself and hands epoxy its streams (epoxy's transport-function form), to see the
  // subprotocol agreed; the next test gives epoxy the URL.
  const result = await page.evaluate(
    async ({ wisp, url, ca }) => {
      type Epoxy = typeof import('@mercuryworkshop/epoxy-tls/epoxy-bundled');
      const epoxy = (window as unknown as { epoxy: Epoxy }).epoxy;
      let subprotocol = '';
      const transport = () =>
        new Promise<{ read: ReadableStream<ArrayBuffer>; write: WritableStream<Uint8Array> }>((resolve, reject) => {
          const ws = new WebSocket(wisp, 'wisp-v2');
          ws.binaryType = 'arraybuffer';
          ws.onerror = () => reject(new Error('the Wisp WebSocket did not open'));
          ws.onopen = () => {
            subprotocol = ws.protocol;
            const read = new ReadableStream<ArrayBuffer>({
              start(controller) {
                ws.onmessage = (event: MessageEvent<ArrayBuffer>) => controller.enqueue(event.data);
                ws.onclose = () => controller.close();
                ws.onerror = () => controller.error(new Error('the Wisp WebSocket failed'));
              },
              cancel: () => ws.close(),
            });
            const write = new WritableStream<Uint8Array>({
              write: (chunk) => ws.send(chunk as Uint8Array<ArrayBuffer>),
              close: () => ws.close(),
            });
            resolve({ read, write });
          };
        });
      const run = async () => {
        await epoxy.default();
        const options = new epoxy.EpoxyClientOptions();
        options.wisp_v2 = true;
        options.pem_files = [ca];
        const client = new epoxy.EpoxyClient(transport, options);
        const response = await client.fetch(url, {});
        return { status: response.status, body: await response.text(), subprotocol, version: epoxy.info.version };
      };
      const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no answer within 20 s')), 20_000));
      return Promise.race([run(), timeout]).catch((error: unknown) => ({ failed: String(error) }));
    },
    { wisp: `ws://127.0.0.1:${GATEWAY_PORT}/wisp/?token=${TOKEN}`, url: `https://localhost:${TAP_PORT}${PATH}`, ca: pki?.ca.pem ?? '' },
  );

  // The page got the answer, and the server the request, over a TLS 1.3 connection the server made
  // with epoxy's rustls (the gateway does no TLS on a Wisp stream, so this handshake is epoxy's).
  expect(result).toEqual({ status: 200, body: MARKER, subprotocol: 'wisp-v2', version: '2.1.19-1' });
  expect(requests).toEqual([PATH]);
  expect(tlsErrors).toEqual([]);
  expect(handshakes).toEqual([{ protocol: 'TLSv1.3', alpn: 'http/1.1', servername: 'localhost' }]);

  // What the gateway sent and received is the tap's: TLS records both ways (a handshake record
  // first: the ClientHello up, the ServerHello down), with neither the path nor the body in them.
  expect(relayed.connections).toBe(1);
  const up = Buffer.concat(relayed.up);
  const down = Buffer.concat(relayed.down);
  expect(up.subarray(0, 2)).toEqual(Buffer.from([0x16, 0x03]));
  expect(down.subarray(0, 2)).toEqual(Buffer.from([0x16, 0x03]));
  expect(up.byteLength).toBeGreaterThan(PATH.length);
  expect(down.byteLength).toBeGreaterThan(MARKER.length);
  // The search does find what is in the clear: the ClientHello's server name.
  expect(up.includes(Buffer.from('localhost'))).toBe(true);
  for (const secret of [
    '/private/',
    'epoxy-e2e-7f3a91',
    'only-the-server-reads-this',
    MARKER,
    'secret over end-to-end TLS',
    'HTTP/1.1',
    'text/plain',
  ])
    for (const spelling of spellings(secret)) {
      expect(up.includes(spelling), `the gateway relayed "${secret}" in the clear, upward`).toBe(false);
      expect(down.includes(spelling), `the gateway relayed "${secret}" in the clear, downward`).toBe(false);
    }
  expect(errors).toEqual([]);
});

test('epoxy-tls given the Wisp URL itself (it offers a random subprotocol) speaks v2 with the gateway and fetches over HTTPS', async ({
  page,
}) => {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
  await page.waitForFunction(() => 'epoxy' in window, undefined, { timeout: 10_000 });
  const result = await page.evaluate(
    async ({ wisp, url, ca }) => {
      type Epoxy = typeof import('@mercuryworkshop/epoxy-tls/epoxy-bundled');
      const epoxy = (window as unknown as { epoxy: Epoxy }).epoxy;
      const run = async () => {
        await epoxy.default();
        const options = new epoxy.EpoxyClientOptions();
        options.wisp_v2 = true;
        options.pem_files = [ca];
        const client = new epoxy.EpoxyClient(wisp, options);
        const response = await client.fetch(url, {});
        return { status: response.status, body: await response.text() };
      };
      const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no answer within 20 s')), 20_000));
      return Promise.race([run(), timeout]).catch((error: unknown) => ({ failed: String(error) }));
    },
    { wisp: `ws://127.0.0.1:${GATEWAY_PORT}/wisp/?token=${TOKEN}`, url: `https://localhost:${TAP_PORT}${PATH}`, ca: pki?.ca.pem ?? '' },
  );
  expect(result).toEqual({ status: 200, body: MARKER });
  expect(errors).toEqual([]);
});

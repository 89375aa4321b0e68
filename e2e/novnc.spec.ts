/**
 * noVNC (@novnc/novnc, unchanged) in Chromium through the gateway's websockify endpoint to a real
 * VNC server: Debian's x11vnc on an Xvfb display, all on loopback. The desktop renders, a key
 * press reaches the X server, and tickets replayed or naming another target are refused.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { build } from 'esbuild';

const GATEWAY_PORT = 18450;
const PAGE_PORT = 18451;
const VNC_PORT = 18452;
const DISPLAY = ':47';
const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const AUDIENCE = 'socketgate-e2e';

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** A single-use HS256 ticket for one minute naming `target`, as an app backend would mint it. */
function ticket(target: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const now = Math.floor(Date.now() / 1000);
  const payload = base64url(JSON.stringify({ sub: 'user:vnc', aud: AUDIENCE, jti: randomUUID(), target, iat: now, exp: now + 60 }));
  return `${header}.${payload}.${base64url(createHmac('sha256', SECRET).update(`${header}.${payload}`).digest())}`;
}

/** Starts `command`, waits until `ready` says it is up, and keeps it for `stopAll`. */
const children: ChildProcess[] = [];
async function start(command: string, args: string[], ready: () => Promise<boolean>, output: string[] = []): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${command} exited: ${output.join('')}`);
    if (await ready()) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${command} did not start: ${output.join('')}`);
}

const listening = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 500 }, (response) => {
      response.resume();
      resolve(true);
    });
    request.on('error', () => resolve(false));
  });

const accepting = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

const keys: string[] = [];
let pageServer: http.Server;
let folder: string;

test.beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'socketgate-novnc-'));
  // The display, a window to see on it, a recorder of key presses on its root window, and the VNC server.
  await start('Xvfb', [DISPLAY, '-screen', '0', '640x400x24', '-nolisten', 'tcp'], async () => {
    const probe = spawn('xdpyinfo', ['-display', DISPLAY], { stdio: 'ignore' });
    return new Promise((resolve) => probe.on('exit', (code) => resolve(code === 0)));
  });
  const env = { ...process.env, DISPLAY };
  children.push(spawn('xmessage', ['-geometry', '+20+20', 'hello from the VNC server'], { env, stdio: 'ignore' }));
  const recorder = spawn('xev', ['-root', '-event', 'keyboard'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(recorder);
  recorder.stdout.on('data', (chunk: Buffer) => keys.push(chunk.toString()));
  await start(
    'x11vnc',
    ['-display', DISPLAY, '-rfbport', String(VNC_PORT), '-localhost', '-nopw', '-forever', '-shared', '-quiet'],
    accepting(VNC_PORT),
  );
  // The gateway: websockify only, JWT tickets (single use), this page's origin, the VNC port only.
  const config = join(folder, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      port: GATEWAY_PORT,
      jwt: { secret: SECRET, algorithms: ['HS256'], audience: AUDIENCE, requireJti: true },
      origins: [`http://127.0.0.1:${PAGE_PORT}`],
      allow: [`127.0.0.1/32:${VNC_PORT}`],
      websockify: { path: '/websockify' },
      metricsPort: 0,
      log: { level: 'warn' },
    }),
  );
  await start(process.execPath, ['apps/gateway/bin/socketgate.js', '--config', config], listening(GATEWAY_PORT));
  // The page: noVNC's RFB, bundled as it is.
  const bundle = await build({
    stdin: { contents: "import RFB from '@novnc/novnc'; window.RFB = RFB;", resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.contents ?? new Uint8Array();
  pageServer = http.createServer((request, response) => {
    if (request.url === '/novnc.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<!doctype html><title>noVNC</title><div id="screen" style="width:640px;height:400px"></div><script type="module" src="/novnc.js"></script>',
        );
  });
  await new Promise<void>((resolve) => pageServer.listen(PAGE_PORT, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  for (const child of children.reverse()) child.kill('SIGKILL');
  await new Promise((resolve) => pageServer?.close(resolve));
  rmSync(folder, { recursive: true, force: true });
});

/** Connects noVNC in the page; resolves with 'connect', or the disconnect's `clean` flag. */
async function connect(page: Page, query: string): Promise<string> {
  return page.evaluate(
    ({ url }) =>
      new Promise<string>((resolve) => {
        const RFB = (window as unknown as { RFB: new (target: Element, url: string, options: object) => EventTarget }).RFB;
        const rfb = new RFB(document.getElementById('screen') as Element, url, { wsProtocols: ['binary'] });
        (window as unknown as { rfb: EventTarget }).rfb = rfb;
        rfb.addEventListener('connect', () => resolve('connect'));
        rfb.addEventListener('disconnect', (event) => resolve(`disconnect clean=${(event as CustomEvent).detail.clean}`));
      }),
    { url: `ws://127.0.0.1:${GATEWAY_PORT}/websockify?${query}` },
  );
}

test('noVNC shows the desktop of a real VNC server through the websockify endpoint and a key press reaches it', async ({
  page,
}, testInfo) => {
  const errors: Error[] = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
  await page.waitForFunction(() => 'RFB' in window);
  const target = `127.0.0.1:${VNC_PORT}`;
  const once = ticket(target);
  expect(await connect(page, `token=${once}`)).toBe('connect');

  // The framebuffer arrives: the canvas shows more than one colour (the window on the desktop).
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const canvas = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
          const context = canvas?.getContext('2d');
          if (!canvas || !context || canvas.width === 0) return 0;
          const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
          const colours = new Set<number>();
          for (let i = 0; i < data.length && colours.size < 10; i += 4 * 97)
            colours.add(((data[i] ?? 0) << 16) | ((data[i + 1] ?? 0) << 8) | (data[i + 2] ?? 0));
          return colours.size;
        }),
      { timeout: 15_000 },
    )
    .toBeGreaterThan(1);
  const screenshot = await page.locator('#screen').screenshot({ path: testInfo.outputPath('novnc-desktop.png') });
  await testInfo.attach('novnc-desktop', { body: screenshot, contentType: 'image/png' });

  // A key press, sent the way noVNC sends a typed key, is an X KeyPress on the display.
  await page.evaluate(() => (window as unknown as { rfb: { sendKey(keysym: number, code: string): void } }).rfb.sendKey(0x71, 'KeyQ'));
  await expect.poll(() => keys.join(''), { timeout: 10_000 }).toMatch(/KeyPress event[\s\S]*keysym 0x71, q/);

  // The ticket was single use; a ticket for another target than the URL names is refused too.
  expect(await connect(page, `token=${once}`)).toBe('disconnect clean=false');
  expect(await connect(page, `token=${ticket(`127.0.0.1:${VNC_PORT + 1}`)}&host=127.0.0.1&port=${VNC_PORT}`)).toBe(
    'disconnect clean=false',
  );
  expect(errors).toEqual([]);
});

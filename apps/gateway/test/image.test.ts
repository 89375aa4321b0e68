/**
 * The image, without a Docker engine: the Dockerfile's production steps (build, then `pnpm deploy
 * --prod` of the gateway) into a folder of the test's own, then what the image does with it: `--help`,
 * a start with a mounted config file, the image's HEALTHCHECK command, one echo through it, SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gateway, QTcpSocket } from '@socketgate/sdk';
import { startEchoServer, text } from '@socketgate/testkit';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { type Started, start } from './cli-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
/** The Dockerfile's RUN steps of its gateway build stage, from the build of the packages on. */
const buildStep = /^RUN (node_modules\/\.bin\/tsc -b apps\/gateway)$/m.exec(dockerfile)?.[1];
const deployStep = /^RUN (corepack pnpm --filter @socketgate\/gateway deploy --prod --legacy) \/out$/m.exec(dockerfile)?.[1];
const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
const healthcheck = JSON.parse(/^ {2}CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];

let out = '';
let work = '';

function sh(command: string, cwd: string): void {
  const run = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, CI: 'true' } });
  if (run.status !== 0) throw new Error(`${command} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
}

beforeAll(() => {
  expect(buildStep).toBeDefined();
  expect(deployStep).toBeDefined();
  work = mkdtempSync(join(tmpdir(), 'socketgate-image-'));
  out = join(work, 'app');
  sh(buildStep as string, root);
  sh(`${deployStep} ${out}`, root);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the image's command (from the deployed folder) with these arguments. */
function image(args: string[]): Started {
  const [node, ...entry] = cmd;
  expect(node).toBe('node');
  return start(process.execPath, [entry[0] as string, ...args], { cwd: out, env: { PATH: process.env.PATH } });
}

describe("the image's production install", () => {
  it('holds the built gateway and its production dependencies only: no TypeScript sources, no tsx, no test tools', () => {
    expect(existsSync(join(out, 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(join(out, cmd[1] as string))).toBe(true);
    expect(existsSync(join(out, 'src'))).toBe(false);
    for (const absent of ['tsx', 'typescript', 'vitest', '@socketgate/testkit', '@socketgate/sdk', 'dns-packet']) {
      expect(existsSync(join(out, 'node_modules', absent)), absent).toBe(false);
    }
    for (const present of ['fastify', 'yaml', 'ws', '@socketgate/protocol'])
      expect(existsSync(join(out, 'node_modules', present)), present).toBe(true);
  });

  it('answers --help', async () => {
    const help = image(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/^Usage: socketgate \[options\]/);
  });

  it('starts with a config file, passes its health check, echoes, and drains on SIGTERM', async () => {
    const echo = await startEchoServer();
    onTestFinished(() => echo.close());
    // A port of the test's own (the image's 8080 may be taken here): free again once it is closed.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as net.AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const config = join(work, 'gateway.yaml');
    writeFileSync(
      config,
      [
        'host: 127.0.0.1',
        `port: ${port}`,
        'tokens: [image-token-0123456789]',
        `allow: ["127.0.0.1/32:${echo.port}"]`,
        'log: { format: json }',
        'metricsPort: 0',
        '',
      ].join('\n'),
    );
    const gateway = image([...cmd.slice(2, -1), config]);
    expect(cmd.slice(2, -1)).toEqual(['--config']);
    await expect.poll(() => gateway.output(), { timeout: 20_000 }).toMatch(/socketgate listening on ws:\/\/127\.0\.0\.1:\d+\/v1\/socket/);

    // The image's own HEALTHCHECK command, pointed at this port.
    const [node, ...check] = healthcheck;
    expect(node).toBe('node');
    const health = spawnSync(
      process.execPath,
      check.map((part) => part.replace('127.0.0.1:8080', `127.0.0.1:${port}`)),
      { timeout: 10_000 },
    );
    expect(health.status).toBe(0);

    const session = new Gateway(`ws://127.0.0.1:${port}/v1/socket`, { token: 'image-token-0123456789', WebSocket });
    onTestFinished(() => session.close());
    const socket = new QTcpSocket({ gateway: session });
    socket.connectToHost('127.0.0.1', echo.port);
    expect(await socket.waitForConnected(10_000)).toBe(true);
    socket.write('through the image\n');
    expect(await socket.waitForReadyRead(10_000)).toBe(true);
    expect(text(socket.readAll())).toBe('through the image\n');
    socket.abort();
    session.close();

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });
});

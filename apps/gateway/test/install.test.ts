/**
 * The packages as a stranger gets them: `pnpm pack` of @socketgate/protocol, @socketgate/sdk and
 * @socketgate/gateway, `npm install` of the three tarballs into an empty project outside the
 * workspace, and then what the README says to do with them: run the `socketgate` command, compile
 * the README's examples under `strict` (node16/nodenext and bundler resolution), echo through the
 * installed gateway from Node with the installed SDK, and bundle the SDK for a browser page.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd, startEchoServer } from '@socketgate/testkit';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type Started, start } from './cli-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['@socketgate/protocol', '@socketgate/sdk', '@socketgate/gateway'];
const TOKEN = 'install-token-0123456789';
// The workspace's compilers, run on the project's files: they resolve every import from the project.
const TSC = join(root, 'node_modules/typescript/bin/tsc');
const ESBUILD = join(root, 'node_modules/esbuild/bin/esbuild');

let work = '';
let app = '';

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'socketgate-install-'));
  const tarballs = join(work, 'tarballs');
  for (const name of PACKAGES) run('corepack', ['pnpm', '--filter', name, 'pack', '--pack-destination', tarballs], root);
  app = join(work, 'app');
  cpSync(join(root, 'examples'), app, { recursive: true });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'an-app', private: true, type: 'module' }, null, 2)}\n`);
  const files = readdirSync(tarballs).map((file) => join(tarballs, file));
  expect(files).toHaveLength(3);
  // Without optional dependencies: pino-pretty is one, and the gateway must start without it.
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', '--omit=optional', ...files, 'ws@8', '@types/ws@8', '@types/node@20'],
    app,
  );
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Compiles the examples with a strict tsconfig of the app's own; returns the output folder. */
function compile(name: string, options: Record<string, unknown>, files: string[]): string {
  const outDir = join(app, `out-${name}`);
  const config = join(app, `tsconfig.${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', skipLibCheck: true, outDir, ...options }, files }),
  );
  run(process.execPath, [TSC, '-p', config], app);
  return outDir;
}

/** Runs a command without blocking this process (the test's own servers must answer meanwhile). */
function runAsync(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return runToEnd(command, args, { cwd, env: { ...process.env, ...env }, timeoutMs: 30_000 });
}

function startGateway(args: string[]): Started {
  return start(join(app, 'node_modules/.bin/socketgate'), args, { cwd: app });
}

describe('the packed packages, installed with npm outside the workspace', () => {
  it('are what the README shows: it quotes every example file as it is, and packs and installs as this test does', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n(\/\/ (examples\/[\w.-]+):[\s\S]*?)```/g)];
    expect(blocks.map((block) => block[2])).toEqual(['examples/node-echo.ts', 'examples/browser.ts']);
    for (const [, code, file] of blocks) expect(code, file).toBe(readFileSync(join(root, file as string), 'utf8'));
    expect(readme).toContain('corepack pnpm --filter @socketgate/$name pack --pack-destination');
    expect(readme).toMatch(
      /npm install \S+socketgate-protocol-0\.1\.0\.tgz \S+socketgate-sdk-0\.1\.0\.tgz \\\n\s+\S+socketgate-gateway-0\.1\.0\.tgz ws/,
    );
  });

  it('carry what a package needs and nothing of the workspace', () => {
    for (const name of PACKAGES) {
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8'));
      expect(manifest.license, name).toBe('MIT');
      expect(manifest.engines?.node, name).toBe('>=20.19');
      expect(manifest.repository?.url, name).toMatch(/^git\+https:\/\//);
      expect(JSON.stringify(manifest.exports), name).not.toContain('@socketgate/source');
      expect(JSON.stringify(manifest.dependencies ?? {}), name).not.toContain('workspace:');
    }
  });

  it('run the socketgate command', () => {
    const help = run(join(app, 'node_modules/.bin/socketgate'), ['--help'], app);
    expect(help).toMatch(/^Usage: socketgate \[options\]/);
  });

  it("compile the README's examples under strict, with node16, nodenext and bundler resolution", () => {
    // nodenext also checks every declaration file the packages ship (skipLibCheck off).
    compile('node16', { module: 'node16', moduleResolution: 'node16', types: ['node'], noEmit: true }, ['node-echo.ts']);
    compile('nodenext', { module: 'nodenext', moduleResolution: 'nodenext', types: ['node'], noEmit: true, skipLibCheck: false }, [
      'node-echo.ts',
    ]);
    // The DOM's WebSocket constructor fits the option as it is, as ws's does in node-echo.ts.
    writeFileSync(
      join(app, 'dom-websocket.ts'),
      "import { Gateway } from '@socketgate/sdk';\nexport const gateway = new Gateway('wss://gateway.example.org/v1/socket', { token: 'x', WebSocket });\n",
    );
    compile('bundler', { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2023', 'DOM'], types: [], noEmit: true }, [
      'browser.ts',
      'dom-websocket.ts',
    ]);
  });

  it('echo through the installed gateway from Node with the installed SDK, and exit', async () => {
    const echo = await startEchoServer();
    onTestFinished(() => echo.close());
    expect(existsSync(join(app, 'node_modules/pino-pretty'))).toBe(false);
    const args = ['--port', '0', '--token', TOKEN, '--allow', `127.0.0.1/32:${echo.port}`, '--log-level', 'warn', '--log-format', 'pretty'];
    const gateway = startGateway(args);
    await expect.poll(() => gateway.output(), { timeout: 20_000 }).toMatch(/socketgate listening on (ws:\/\/127\.0\.0\.1:\d+\/v1\/socket)/);
    const url = /socketgate listening on (ws:\/\/127\.0\.0\.1:\d+\/v1\/socket)/.exec(gateway.output())?.[1] as string;
    const out = compile('run', { module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] }, ['node-echo.ts']);
    const said = await runAsync(process.execPath, [join(out, 'node-echo.js')], app, {
      SOCKETGATE_URL: url,
      SOCKETGATE_TOKEN: TOKEN,
      ECHO_HOST: '127.0.0.1',
      ECHO_PORT: String(echo.port),
    });
    expect(said).toBe('hello\n');
    expect(gateway.output()).toContain('log.format pretty needs the optional package pino-pretty; logging JSON instead');
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });

  it('bundle the SDK for a browser page with esbuild', () => {
    const bundle = join(app, 'browser.js');
    run(ESBUILD, ['browser.ts', '--bundle', '--format=esm', '--platform=browser', `--outfile=${bundle}`, '--log-level=error'], app);
    const code = readFileSync(bundle, 'utf8');
    expect(code).toContain('socketgate.v1');
    expect(code).not.toMatch(/\brequire\(|from ["']node:/);
    expect(readFileSync(join(app, 'index.html'), 'utf8')).toContain('<script type="module" src="./browser.js"></script>');
  });
});

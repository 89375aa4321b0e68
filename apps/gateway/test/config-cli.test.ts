import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayConfig } from '@socketgate/gateway';
import { describe, expect, it, onTestFinished } from 'vitest';
import { layerSettings, settings } from '../src/load-config.js';
import { run } from './cli-helpers.js';

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'socketgate-config-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function printConfig(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cli = run(['--print-config', ...args], env);
  const [code] = await once(cli.child, 'exit');
  expect(code, cli.lines.join('\n')).toBe(0);
  return JSON.parse(cli.lines.join('\n'));
}

describe('configuration', () => {
  it('gives every setting its default in --help, also those inside a section that is absent by default (jwt)', () => {
    const byPath = new Map(settings().map((setting) => [setting.path.join('.'), setting.default]));
    expect(byPath.get('jwt.clockToleranceSec')).toBe(5);
    expect(byPath.get('jwt.requireJti')).toBe(false);
    expect(byPath.get('jwt.replayCacheSize')).toBe(100_000);
    expect(byPath.get('jwt.audience')).toBeUndefined();
  });

  it('refuses a tokens setting that is not a list, rather than making a development token in its place', async () => {
    const file = tempFile('gateway.yaml', 'tokens: my-token-0123456789\n');
    const cli = run(['--config', file, '--port', '0']);
    const [code] = await once(cli.child, 'exit');
    expect(code).toBe(2);
    const output = cli.lines.join('\n');
    expect(output).toMatch(/socketgate: tokens: /);
    expect(output).not.toMatch(/development token/);
  });

  it('layers a file, then SOCKETGATE_* environment variables, then flags', async () => {
    const file = tempFile(
      'gateway.yaml',
      'port: 9000\nconnectTimeoutMs: 1111\nhelloTimeoutMs: 2222\nallow:\n  - 10.0.0.0/8\nlog:\n  level: debug\n',
    );
    const config = await printConfig(['--config', file, '--hello-timeout-ms', '4444', '--token', 'a-token-of-length'], {
      SOCKETGATE_CONNECT_TIMEOUT_MS: '3333',
      SOCKETGATE_HELLO_TIMEOUT_MS: '5555',
      SOCKETGATE_ALLOW_MULTICAST: 'true',
    });
    expect(config).toMatchObject({
      port: 9000,
      connectTimeoutMs: 3333,
      helloTimeoutMs: 4444,
      allow: ['10.0.0.0/8'],
      allowMulticast: true,
      log: { level: 'debug', format: 'auto' },
    });
  });

  it('reads JSON files too, and prints secrets redacted', async () => {
    const file = tempFile(
      'gateway.json',
      JSON.stringify({
        tokens: ['secret-token-1'],
        jwt: { secret: 'x'.repeat(40), algorithms: ['HS256'], audience: 'gw' },
        store: { redis: 'redis://gw:redis-password-1@127.0.0.1:6379/2' },
      }),
    );
    const config = await printConfig(['--config', file]);
    expect(config.tokens).toEqual(['[redacted]']);
    expect(config.jwt).toMatchObject({ secret: '[redacted]', algorithms: ['HS256'], audience: 'gw' });
    expect(config.store).toMatchObject({ redis: 'redis://gw:redacted@127.0.0.1:6379/2' });
    expect(JSON.stringify(config)).not.toContain('secret-token-1');
    expect(JSON.stringify(config)).not.toContain('redis-password-1');
  });

  it('stops with exit code 2 naming each bad field and why', async () => {
    const cli = run(['--port', '99999', '--max-opens-per-second', 'many', '--allow', '10.0.0.0/33'], { SOCKETGATE_LOG_LEVEL: 'chatty' });
    const [code] = await once(cli.child, 'exit');
    expect(code).toBe(2);
    const text = cli.lines.join('\n');
    expect(text).toMatch(/socketgate: port: Too big: expected number to be <=65535/);
    expect(text).toMatch(/socketgate: maxOpensPerSecond: Invalid input: expected number, received NaN/);
    expect(text).toMatch(/socketgate: allow\.0: Invalid --allow rule "10\.0\.0\.0\/33"/);
    expect(text).toMatch(/socketgate: log\.level: Invalid option/);
    const unknown = run(['--no-such-setting', '1']);
    expect((await once(unknown.child, 'exit'))[0]).toBe(2);
    expect(unknown.lines.join('\n')).toMatch(/Unknown option '--no-such-setting'/);
  });

  it('lists every setting in --help with its default and environment variable', async () => {
    const cli = run(['--help']);
    await once(cli.child, 'exit');
    const help = cli.lines.join('\n');
    const all = settings();
    expect(all.length).toBeGreaterThan(30);
    for (const setting of all) {
      expect(help).toContain(`--${setting.flag}`);
      expect(help).toContain(`env ${setting.env}`);
    }
    expect(help).toContain('default 30000; env SOCKETGATE_CONNECT_TIMEOUT_MS');
  });

  it('covers every key of the schema, so nothing is settable only in a file', () => {
    const keys = settings().map((setting) => setting.path[0]);
    for (const key of Object.keys(GatewayConfig.shape)) expect(keys).toContain(key);
    expect(layerSettings({ port: 1 }, { SOCKETGATE_PORT: '2' }, new Map([['port', ['3']]]))).toMatchObject({ port: 3 });
    expect(layerSettings({}, { SOCKETGATE_ALLOW: '10.0.0.0/8, 8.8.8.8' }, new Map())).toMatchObject({ allow: ['10.0.0.0/8', '8.8.8.8'] });
  });
});

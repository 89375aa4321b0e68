import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import fastifyStatic from '@fastify/static';
import { ENDPOINT_PATH } from '@socketgate/protocol';
import Fastify from 'fastify';
import { GatewayConfig } from './config.js';
import { withSafeRequests } from './create-gateway.js';
import { type DemoTarget, startEchoService, startFortuneService, startUdpEchoService } from './demo.js';
import { applyGcSettings } from './gc-settings.js';
import { layerSettings, readConfigFile, redact, settings, settingsHelp } from './load-config.js';
import { originAllowed, socketgate } from './plugin.js';

const HELP = `Usage: socketgate [options]

Starts a socketgate gateway: browsers connect over WebSocket at ${ENDPOINT_PATH} and the gateway
opens the TCP and UDP sockets they ask for, within its egress policy.

Settings come from a config file (--config, JSON or YAML), then SOCKETGATE_* environment variables,
then flags, each overriding the one before. An invalid setting stops the start with exit code 2.

  --config FILE        read settings from a JSON or YAML file
  --token TOKEN        the same as --tokens (repeatable); without any token or jwt setting, a random
                       development token is made and printed
  --origin ORIGIN      the same as --origins (repeatable; '*' for any)
  --demo               also serve the web terminal, start the demo services on loopback (TCP echo,
                       a line-based fortune service, UDP echo), allow them, and accept pages from
                       http://127.0.0.1, http://localhost and http://[::1] on any port
  --demo-port PORT     port of the TCP echo (default 7007); the fortune service and the UDP echo
                       use the next two ports (0: any free ports)
  --print-config       print the effective settings (secrets redacted) and exit
  -h, --help           show this help

Every setting:
${settingsHelp()}
`;

const DEMO_ORIGINS = ['http://127.0.0.1:*', 'http://localhost:*', 'http://[::1]:*'];

/** Whether a Host header names this host by a loopback name (127.0.0.1, localhost, [::1]), with any port. */
function isLoopbackHost(host: string | undefined): boolean {
  const name = host?.replace(/:\d{1,5}$/, '').toLowerCase();
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

/** Whether `name` can be imported from here. */
function hasModule(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

function fail(lines: string[]): never {
  for (const line of lines) console.error(`socketgate: ${line}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const options: ParseArgsConfig['options'] = {
    config: { type: 'string' },
    token: { type: 'string', multiple: true },
    origin: { type: 'string', multiple: true },
    demo: { type: 'boolean' },
    'demo-port': { type: 'string' },
    'print-config': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const setting of settings()) {
    options[setting.flag] = setting.kind === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: true };
  }
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  try {
    ({ values } = parseArgs({ options, strict: true }));
  } catch (error) {
    fail([(error as Error).message, 'see socketgate --help']);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const flags = new Map<string, string[]>();
  for (const setting of settings()) {
    const value = values[setting.flag];
    if (value !== undefined) flags.set(setting.flag, (Array.isArray(value) ? value : [value]).map(String));
  }
  if (values.token !== undefined) flags.set('tokens', [...(flags.get('tokens') ?? []), ...(values.token as string[])]);
  if (values.origin !== undefined) flags.set('origins', [...(flags.get('origins') ?? []), ...(values.origin as string[])]);

  const configFile = typeof values.config === 'string' ? values.config : undefined;
  /** The file, then the environment, then flags (read again on every reload). */
  const layered = (): Record<string, unknown> =>
    layerSettings(configFile === undefined ? {} : readConfigFile(configFile), process.env, flags);
  let raw: Record<string, unknown>;
  try {
    raw = layered();
  } catch (error) {
    fail([`config file ${configFile}: ${(error as Error).message}`]);
  }

  const demos: DemoTarget[] = [];
  if (values.demo) {
    const base = Number(values['demo-port'] ?? 7007);
    const next = (offset: number) => (base === 0 ? 0 : base + offset);
    demos.push(await startEchoService('127.0.0.1', base));
    demos.push(await startFortuneService('127.0.0.1', next(1)));
    demos.push(await startUdpEchoService('127.0.0.1', next(2)));
  }
  let devToken: string | undefined;
  /** What the CLI adds to the layered settings: the demo's rules and origins, a development token. */
  const completed = (settingsIn: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...settingsIn };
    if (values.demo) {
      out.allow = [...((out.allow as string[]) ?? []), ...demos.map((demo) => `127.0.0.1/32:${demo.port}`)];
      // Pages served from this host only: a page elsewhere (or one that rebinds a name of its own to
      // this host) has another origin.
      out.origins ??= DEMO_ORIGINS;
    }
    // Only when no token was given at all: a malformed `tokens` (a YAML scalar, say) is the schema's
    // to refuse, never silently replaced.
    if ((out.tokens === undefined || (Array.isArray(out.tokens) && out.tokens.length === 0)) && out.jwt === undefined) {
      devToken ??= `dev-${randomBytes(18).toString('base64url')}`;
      out.tokens = [devToken];
    }
    return out;
  };
  raw = completed(raw);
  const checked = GatewayConfig.safeParse(raw);
  if (!checked.success) fail(checked.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`));
  const config = checked.data;
  if (values['print-config']) {
    process.stdout.write(`${JSON.stringify(redact(config), null, 2)}\n`);
    await Promise.all(demos.map((demo) => demo.close()));
    return;
  }

  applyGcSettings(config);

  // pino-pretty is an optional dependency: without it, logs are JSON (asked for explicitly, it says so).
  const wantsPretty = config.log.format === 'pretty' || (config.log.format === 'auto' && process.stdout.isTTY === true);
  const canPretty = wantsPretty && hasModule('pino-pretty');
  if (wantsPretty && !canPretty && config.log.format === 'pretty') {
    console.error('socketgate: log.format pretty needs the optional package pino-pretty; logging JSON instead');
  }
  const pretty = canPretty;
  const logger = pretty
    ? { level: config.log.level, transport: { target: 'pino-pretty', options: { colorize: true } } }
    : { level: config.log.level };
  const app = Fastify({ logger: withSafeRequests(logger), trustProxy: config.trustProxy.length === 0 ? false : config.trustProxy });
  await app.register(socketgate, config);
  const page = fileURLToPath(new URL('../../terminal/dist/', import.meta.url));
  const servePage = values.demo === true && existsSync(page);
  if (servePage) await app.register(fastifyStatic, { root: page, prefix: '/' });
  if (values.demo === true) {
    // The demo page learns where its gateway is and the development token (demo only: the token
    // is a throwaway one, and the gateway listens where the page is served).
    app.get('/demo.json', async (request, reply) => {
      // The development token goes only to a page this host serves under a loopback name: a DNS
      // rebinding page asks with its own name in Host, a foreign page with its own Origin.
      const origin = request.headers.origin;
      if (!isLoopbackHost(request.headers.host) || (origin !== undefined && !originAllowed(DEMO_ORIGINS, origin))) {
        return reply.code(403).send({
          error: 'Forbidden',
          message: 'the demo token is served to pages on this host only (http://127.0.0.1 or http://localhost)',
        });
      }
      return {
        path: ENDPOINT_PATH,
        token: config.tokens[0],
        targets: demos.map(({ name, transport, host, port }) => ({ name, transport, host, port })),
      };
    });
  }
  // Signals are handled before the gateway listens, so that a SIGTERM right after the start drains
  // too. A second SIGINT or SIGTERM during the drain stops at once.
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal during the drain: stopping now, without waiting for open streams');
      console.error('socketgate: stopped at once (second signal)');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal, graceMs: config.drainGraceMs }, 'draining');
    console.error(
      `socketgate: draining for up to ${config.drainGraceMs} ms while open streams finish; ${signal === 'SIGINT' ? 'press Ctrl-C again' : 'signal again'} to stop at once`,
    );
    await app.socketgate.drain();
    await app.close();
    await Promise.all(demos.map((demo) => demo.close()));
    process.exit(0);
  };
  // The last line of defence: every promise of the gateway's is handled where it is made, but a
  // stray rejection must not end a process that serves every other session.
  process.on('unhandledRejection', (reason) => app.log.error({ err: reason }, 'unhandled rejection; the gateway goes on'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // SIGHUP: read the settings again; what can change applies to new sessions and streams, and a bad
  // file changes nothing.
  process.on('SIGHUP', () => {
    if (stopping) return;
    let next: Record<string, unknown>;
    try {
      next = completed(layered());
      const { changed, needRestart } = app.socketgate.reload(next);
      app.log.info(
        { changed, needRestart },
        needRestart.length > 0 ? `configuration reloaded; these need a restart: ${needRestart.join(', ')}` : 'configuration reloaded',
      );
    } catch (error) {
      app.log.error({ file: configFile }, `configuration not reloaded, the settings in force stay: ${(error as Error).message}`);
    }
  });

  const address = await app.listen({ host: config.host, port: config.port });
  // What a person reads goes to stderr, so that stdout holds the log alone (pure JSON when logs are JSON).
  const say = (line: string): void => console.error(line);
  say(`socketgate listening on ${address.replace(/^http/, 'ws')}${ENDPOINT_PATH}`);
  if (devToken) say(`development token: ${devToken}`);
  say(config.allow.length > 0 ? `egress allowed to: ${config.allow.join(', ')}` : 'egress allowed to: nothing (add --allow rules)');
  say(`browser origins accepted: ${config.origins.length > 0 ? config.origins.join(', ') : 'none (add --origin)'}`);
  if (config.metricsPublic) say(`metrics on ${address}/metrics, to anyone (metricsPublic)`);
  else if (config.metricsPort !== 0) say(`metrics on http://${config.metricsHost}:${config.metricsPort}/metrics`);
  else say(`metrics on ${address}/metrics, to this host only`);
  for (const demo of demos) say(`demo ${demo.name} service on ${demo.host}:${demo.port} (${demo.transport})`);
  if (servePage) say(`web terminal on ${address}/?host=127.0.0.1&port=${demos[1]?.port}&mode=line`);
  else if (values.demo) say('web terminal not built (pnpm start builds it)');
}

main().catch((error: unknown) => {
  console.error(`socketgate: ${(error as Error).message}`);
  process.exit(1);
});

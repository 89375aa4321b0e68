import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ENDPOINT_PATH } from '@socketgate/protocol';
import { GatewayConfig } from './config.js';
import { type DemoTarget, startEchoService } from './demo.js';
import { createGateway } from './gateway.js';

const HELP = `Usage: socketgate [options]

Starts a socketgate gateway: browsers connect over WebSocket at ${ENDPOINT_PATH} and the gateway
opens the TCP sockets they ask for, within the allow-list.

Options:
  --host ADDRESS       address to listen on (default 127.0.0.1)
  --port PORT          port to listen on, 0 for any free port (default 8080)
  --token TOKEN        accept this static token in hello (repeatable); without one, a random
                       development token is made and printed
  --allow RULE         allow connections to CIDR[:ports] or host[:ports] (repeatable), for example
                       127.0.0.1/32:7007, [::1]:7007, localhost:7000-7100; nothing else is reached
  --origin ORIGIN      accept browser pages from this origin (repeatable; '*' for any); pages from
                       other origins are refused (with --demo: any origin, for development)
  --config FILE        read settings from a JSON file (flags override it); see docs/security.md
                       for JWT credentials, limits and every other setting
  --demo               also start the demo echo service on loopback and allow it
  --demo-port PORT     port of the demo echo service (default 7007, 0 for any free port)
  -h, --help           show this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      origin: { type: 'string', multiple: true },
      config: { type: 'string' },
      demo: { type: 'boolean', default: false },
      'demo-port': { type: 'string', default: '7007' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const fromFile: Record<string, unknown> = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {};
  const settings: Record<string, unknown> = { ...fromFile };
  if (values.host !== undefined) settings.host = values.host;
  if (values.port !== undefined) settings.port = Number(values.port);
  if (values.token !== undefined) settings.tokens = values.token;
  if (values.allow !== undefined) settings.allow = [...((settings.allow as string[]) ?? []), ...values.allow];
  if (values.origin !== undefined) settings.origins = values.origin;

  const demos: DemoTarget[] = [];
  if (values.demo) {
    const echo = await startEchoService('127.0.0.1', Number(values['demo-port']));
    demos.push(echo);
    settings.allow = [...((settings.allow as string[]) ?? []), `127.0.0.1/32:${echo.port}`];
    settings.origins ??= ['*'];
  }
  let devToken: string | undefined;
  if ((!Array.isArray(settings.tokens) || settings.tokens.length === 0) && settings.jwt === undefined) {
    devToken = `dev-${randomBytes(18).toString('base64url')}`;
    settings.tokens = [devToken];
  }
  const checked = GatewayConfig.safeParse(settings);
  if (!checked.success) {
    for (const issue of checked.error.issues) console.error(`socketgate: ${issue.path.join('.') || 'config'}: ${issue.message}`);
    process.exit(2);
  }
  const app = await createGateway({ ...checked.data, logger: { level: 'warn' } });
  const address = await app.listen({ host: checked.data.host, port: checked.data.port });
  const url = `${address.replace(/^http/, 'ws')}${ENDPOINT_PATH}`;
  console.log(`socketgate listening on ${url}`);
  if (devToken) console.log(`development token: ${devToken}`);
  const rules = checked.data.allow;
  console.log(rules.length > 0 ? `egress allowed to: ${rules.join(', ')}` : 'egress allowed to: nothing (add --allow rules)');
  const origins = checked.data.origins;
  console.log(`browser origins accepted: ${origins.length > 0 ? origins.join(', ') : 'none (add --origin)'}`);
  for (const demo of demos) console.log(`demo ${demo.name} service on ${demo.host}:${demo.port}`);

  const stop = async (): Promise<void> => {
    await app.close();
    await Promise.all(demos.map((demo) => demo.close()));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`socketgate: ${(error as Error).message}`);
  process.exit(1);
});

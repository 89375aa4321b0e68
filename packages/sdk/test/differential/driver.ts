/**
 * @module
 * Runs inside a network namespace that has only loopback, and an /etc/hosts of the scenarios' own
 * (differential.test.ts starts it: `unshare --net --mount`, `ip link set lo up`, a bind mount), so
 * neither side's lookups nor connects can leave the machine. Starts the servers the scenarios need
 * and a gateway, writes plan.json (the scenarios with their ports) into OUT_DIR, then plays every
 * scenario on both sides at once, each in a process of its own: the SDK (sdk-runner.ts, through
 * the gateway, as a browser would be apart from it) and real Qt (qt-runner.py). Writes their
 * traces to sdk.jsonl and qt.jsonl, one per line, and prints how long each side took.
 *
 * Usage: node --conditions=@socketgate/source --import tsx driver.ts OUT_DIR PYTHON [SCENARIO...]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from '@socketgate/testkit';
import { scenarios } from './scenarios/index.js';
import { startServers } from './servers.js';

const [outDir, python, ...only] = process.argv.slice(2);
if (outDir === undefined || python === undefined) throw new Error('usage: driver.ts OUT_DIR PYTHON [SCENARIO...]');
const chosen = only.length > 0 ? scenarios.filter((scenario) => only.includes(scenario.name)) : scenarios;

const servers = await startServers(chosen);
// Datagrams from any peer reach a bound socket, as they reach Qt's (the default is replies only);
// names are looked up as Qt looks them up, with getaddrinfo (the namespace's /etc/hosts).
const gateway = await startGateway({ udpInbound: 'any', nameResolver: 'system' });
const planFile = join(outDir, 'plan.json');
writeFileSync(planFile, JSON.stringify(servers.planned));

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Runs a runner to its end; resolves with its exit code, its stdout written to `file`, and the time it took. */
function play(command: string, args: string[], file: string): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve) =>
    child.on('close', (code) => {
      writeFileSync(join(outDir as string, file), out);
      resolve({ code, ms: Date.now() - started });
    }),
  );
}

const [sdk, qt] = await Promise.all([
  play(
    process.execPath,
    ['--conditions=@socketgate/source', '--import', 'tsx', here('sdk-runner.ts'), planFile, gateway.url, gateway.token],
    'sdk.jsonl',
  ),
  play(python, [here('qt-runner.py'), planFile], 'qt.jsonl'),
]);
await gateway.close();
await servers.close();
console.log(JSON.stringify({ scenarios: chosen.length, sdkMs: sdk.ms, qtMs: qt.ms, sdkExit: sdk.code, qtExit: qt.code }));
process.exit(sdk.code === 0 && qt.code === 0 ? 0 : 1);

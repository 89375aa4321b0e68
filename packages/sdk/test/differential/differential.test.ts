/**
 * Real Qt as the oracle: every scenario of scenarios/ is played on PySide6's QTcpSocket and
 * QUdpSocket and on the SDK through a real gateway, inside a loopback-only network namespace with
 * an /etc/hosts of the scenarios' own (driver.ts), and the two traces are compared step by step
 * (trace.ts). A difference fails its scenario unless the SDK README lists it and the scenario names
 * it at that step; a listed difference that no longer happens fails too. The tally goes to
 * .test-results/qt-differential/results.json, and the root README must state it.
 *
 * QT_DIFFERENTIAL_ONLY=name,name plays only those scenarios (the README's tally is then not checked).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToEnd } from '@socketgate/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { listedDivergences, numberedItems, OPEN } from './divergences.js';
import type { PlannedScenario } from './scenario.js';
import { scenarios } from './scenarios/index.js';
import { type Comparison, compare, type Trace } from './trace.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const OUT = join(ROOT, '.test-results/qt-differential');
const only = process.env.QT_DIFFERENTIAL_ONLY?.split(',').filter(Boolean) ?? [];
const chosen = only.length > 0 ? scenarios.filter((scenario) => only.includes(scenario.name)) : scenarios;

/** The namespace's /etc/hosts: loopback's names, and the names the scenarios look up. */
function hostsFile(): string {
  const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
  for (const scenario of scenarios)
    for (const [name, addresses] of Object.entries(scenario.hosts ?? {}))
      for (const address of [addresses].flat()) lines.push(`${address} ${name}`);
  return `${lines.join('\n')}\n`;
}

interface Played {
  plan: Map<string, PlannedScenario>;
  qt: Map<string, Trace>;
  sdk: Map<string, Trace>;
  comparisons: Map<string, Comparison>;
  timing: { scenarios: number; sdkMs: number; qtMs: number };
}

const traces = (file: string): Map<string, Trace> => {
  const text = readFileSync(join(OUT, file), 'utf8');
  return new Map(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const trace = JSON.parse(line) as Trace;
        return [trace.scenario, trace];
      }),
  );
};

/** Makes (or reuses) the virtualenv with PySide6 and returns its python. */
function qtPython(): string {
  const made = spawnSync('bash', [join(ROOT, 'scripts/ensure-qt-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (made.status !== 0) throw new Error('scripts/ensure-qt-venv.sh could not make the virtualenv with PySide6');
  return made.stdout.trim();
}

/** Runs driver.ts in a new network and mount namespace: loopback only, and hosts of our own. */
function runDriver(python: string): Promise<string> {
  const hosts = join(OUT, 'hosts');
  writeFileSync(hosts, hostsFile());
  const driver = fileURLToPath(new URL('driver.ts', import.meta.url));
  const script = [
    'ip link set lo up',
    `mount --bind '${hosts}' /etc/hosts`,
    `exec '${process.execPath}' --conditions=@socketgate/source --import tsx '${driver}' '${OUT}' '${python}' ${only.join(' ')}`,
  ].join(' && ');
  return runToEnd('unshare', ['--map-root-user', '--net', '--mount', 'sh', '-c', script], {
    cwd: ROOT,
    timeoutMs: 240_000,
    what: 'the differential run',
  });
}

async function play(): Promise<Played> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const stdout = await runDriver(qtPython());
  const timing = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Played['timing'];
  const plan = new Map((JSON.parse(readFileSync(join(OUT, 'plan.json'), 'utf8')) as PlannedScenario[]).map((s) => [s.name, s]));
  const qt = traces('qt.jsonl');
  const sdk = traces('sdk.jsonl');
  const missing = (name: string): Trace => ({ scenario: name, entries: [], failure: 'no trace' });
  const comparisons = new Map(
    [...plan.values()].map((scenario) => [
      scenario.name,
      compare(scenario, qt.get(scenario.name) ?? missing(scenario.name), sdk.get(scenario.name) ?? missing(scenario.name)),
    ]),
  );
  const results = [...comparisons.values()];
  const tally = {
    scenarios: results.length,
    identical: results.filter((result) => result.ok && result.identical).length,
    listedDivergences: results.filter((result) => result.ok && !result.identical).length,
    failing: results.filter((result) => !result.ok).map((result) => result.scenario),
    sdkMs: timing.sdkMs,
    qtMs: timing.qtMs,
  };
  writeFileSync(join(OUT, 'results.json'), `${JSON.stringify({ ...tally, results }, null, 2)}\n`);
  writeFileSync(
    join(OUT, 'report.txt'),
    results
      .filter((result) => !result.ok)
      .map((result) => `=== ${result.scenario}\n${result.problems.join('\n')}\n`)
      .join('\n'),
  );
  return { plan, qt, sdk, comparisons, timing };
}

describe('the scenarios and the list of allowed differences', () => {
  const listed = listedDivergences();

  it('are well over 56 scenarios, each named once, each looking up names of its own', () => {
    expect(scenarios.length).toBeGreaterThan(56);
    const names = scenarios.map((scenario) => scenario.name);
    expect(new Set(names).size).toBe(names.length);
    const hosts = scenarios.flatMap((scenario) => Object.keys(scenario.hosts ?? {}));
    expect(new Set(hosts).size).toBe(hosts.length);
  });

  it('name only listed differences, and every listed difference is named by a scenario', () => {
    const ids = listed.map((row) => row.id);
    expect(new Set(ids).size).toBe(ids.length);
    const named = new Set(scenarios.flatMap((scenario) => scenario.steps.flatMap((step) => (step.diverges ? [step.diverges.id] : []))));
    expect([...named].filter((id) => !ids.includes(id))).toEqual([]);
    expect(ids.filter((id) => !named.has(id))).toEqual([]);
  });

  it('give each listed difference a reason: open, or the numbered item it follows from', () => {
    const items = numberedItems();
    for (const row of listed) {
      const item = /^item (\d+)$/.exec(row.reason);
      expect({
        id: row.id,
        reason: row.reason,
        known: OPEN.includes(row.reason) || (item !== null && items.includes(Number(item[1]))),
      }).toEqual({
        id: row.id,
        reason: row.reason,
        known: true,
      });
    }
  });
});

describe('the SDK against real Qt (PySide6), scenario by scenario', () => {
  let played: Played;
  beforeAll(async () => {
    played = await play();
  }, 600_000);

  it.each(chosen.map((scenario) => [scenario.name]))('%s', (name) => {
    const comparison = played.comparisons.get(name);
    expect(comparison, `no comparison for ${name}`).toBeDefined();
    expect((comparison as Comparison).problems.join('\n\n')).toBe('');
  });

  it.skipIf(only.length > 0)("states the tally in the root README's Qt paragraph", () => {
    const results = [...played.comparisons.values()];
    const identical = results.filter((result) => result.ok && result.identical).length;
    const listed = results.filter((result) => result.ok && !result.identical).length;
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const stated = /\*\*(\d+) scenarios\*\*[\s\S]*?\*\*(\d+) identical\*\*[\s\S]*?\*\*(\d+) differ only by listed differences\*\*/.exec(
      readme,
    );
    expect(
      stated,
      'the root README states "**N scenarios**", "**N identical**" and "**N differ only by listed differences**"',
    ).not.toBeNull();
    expect({ scenarios: Number(stated?.[1]), identical: Number(stated?.[2]), listed: Number(stated?.[3]) }).toEqual({
      scenarios: results.length,
      identical,
      listed,
    });
  });
});

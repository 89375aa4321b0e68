/**
 * `pnpm bench`: every path side by side on loopback, the client, the gateway and the target each a
 * process of its own, interleaved over rounds (A B C, A B C, …), medians reported. Writes
 * bench/results.json and bench/results.md.
 *
 * Paths: raw (Node sockets straight to the target: the ceiling), socketgate (the SDK in Node through
 * the gateway), websockify (Debian's, one WebSocket per connection; installed when missing and
 * possible, else skipped with a message). wisp-js is not measured yet (see the README).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MiB = 1024 * 1024;
const TARGET = 19400;
const GATEWAY = 19500;
const TOKEN = 'bench-token-0123456789';
const WEBSOCKIFY: Record<number, number> = { [TARGET]: 19510, [TARGET + 1]: 19511, [TARGET + 2]: 19512 };
const tsx = ['--conditions=@socketgate/source', '--import', 'tsx'];
const children: ChildProcess[] = [];

function start(command: string, args: string[], ready?: RegExp): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  if (!ready) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const look = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${output}`)));
  });
}

const rssKiB = (pid: number | undefined): number => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

/** Runs one client scenario; while it runs, samples the gateway's RSS. */
async function client(path: string, scenario: string, extra: object = {}, gateway?: ChildProcess) {
  const options = { target: TARGET, gateway: `ws://127.0.0.1:${GATEWAY}/v1/socket`, token: TOKEN, websockify: WEBSOCKIFY, ...extra };
  const before = rssKiB(gateway?.pid);
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(gateway?.pid));
  }, 25);
  const child = spawn(process.execPath, [...tsx, 'bench/client.ts', path, scenario, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  // Every run is bounded: a path that hangs (websockify past a few hundred connections) is recorded as failed.
  const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  clearTimeout(limit);
  clearInterval(timer);
  if (code !== 0) {
    console.log(`${path} ${scenario}: failed (${err.trim().split('\n').at(-1) ?? code})`);
    return { failed: true, rssBeforeKiB: before, rssPeakKiB: peak };
  }
  return {
    ...(JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, number | boolean>),
    rssBeforeKiB: before,
    rssPeakKiB: peak,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  console.log(`socketgate benchmark: ${ROUNDS} rounds, ${cpus().length} cores, Node ${process.version}`);
  await start(process.execPath, [...tsx, 'bench/target.ts', String(TARGET)], /ready/);
  const gateway = await start(
    process.execPath,
    [
      'apps/gateway/bin/socketgate.js',
      '--port',
      String(GATEWAY),
      '--token',
      TOKEN,
      '--allow',
      `127.0.0.1/32:${TARGET}-${TARGET + 4}`,
      '--log-level',
      'warn',
      '--max-opens-per-second',
      '100000',
      '--max-control-messages-per-second',
      '1000000',
      '--max-streams-per-session',
      '20000',
    ],
    /listening on/,
  );
  const paths = ['raw', 'socketgate'];
  let websockify = spawnSync('sh', ['-c', 'command -v websockify'], { encoding: 'utf8' }).stdout.trim();
  if (!websockify && process.getuid?.() === 0) {
    spawnSync('sh', [
      '-c',
      'apt-get install -y -qq --no-install-recommends websockify >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends websockify >/dev/null 2>&1)',
    ]);
    websockify = spawnSync('sh', ['-c', 'command -v websockify'], { encoding: 'utf8' }).stdout.trim();
  }
  if (websockify) {
    for (const [target, port] of Object.entries(WEBSOCKIFY))
      await start(websockify, [`127.0.0.1:${port}`, `127.0.0.1:${target}`], /proxying|Listen/i);
    paths.push('websockify');
  } else {
    console.log('websockify: not installed and cannot be installed here: skipped');
  }
  console.log('wisp-js: not measured yet: skipped');

  const results: Record<string, Record<string, Array<Record<string, number | boolean>>>> = {};
  const record = (path: string, scenario: string, value: Record<string, number | boolean>) => {
    const byScenario = results[path] ?? {};
    byScenario[scenario] = [...(byScenario[scenario] ?? []), value];
    results[path] = byScenario;
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of ['upload', 'download', 'latency']) {
      for (const path of paths) record(path, scenario, await client(path, scenario, { bytes: 256 * MiB, count: 2000 }));
    }
    for (const path of ['raw', 'socketgate']) record(path, 'udp', await client(path, 'udp', { count: 2000 }));
    console.log(`round ${round + 1} done`);
  }
  // Memory: the gateway's RSS per socket, and under a stalled reader (socketgate's own gateway).
  record('socketgate', 'concurrent', await client('socketgate', 'concurrent', { count: 1000, holdMs: 1000 }, gateway));
  record('socketgate', 'idle', await client('socketgate', 'idle', { count: 10_000, holdMs: 1500 }, gateway));
  record('socketgate', 'stalled', await client('socketgate', 'stalled', { bytes: 1024 * MiB, stallMs: 5000 }, gateway));
  record('socketgate', 'stalledTarget', await client('socketgate', 'stalledTarget', { bytes: 512 * MiB }, gateway));
  record('raw', 'concurrent', await client('raw', 'concurrent', { count: 1000, holdMs: 200 }));
  // websockify forks a process per connection; it is asked for 1,000 like the others, bounded in time.
  if (paths.includes('websockify'))
    record('websockify', 'concurrent', await client('websockify', 'concurrent', { count: 1000, holdMs: 200 }));

  const pick = (path: string, scenario: string, key: string) => median((results[path]?.[scenario] ?? []).map((r) => Number(r[key])));
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
  const rows = paths.map((path) => {
    const concurrent = results[path]?.concurrent?.[0];
    return [
      path,
      fmt(pick(path, 'upload', 'mbPerSecond')),
      fmt(pick(path, 'download', 'mbPerSecond')),
      fmt(pick(path, 'latency', 'p50us')),
      fmt(pick(path, 'latency', 'p99us')),
      concurrent?.failed ? 'failed' : fmt(Number(concurrent?.seconds ?? Number.NaN), 2),
      path === 'socketgate' ? fmt(((Number(concurrent?.rssPeakKiB) - Number(concurrent?.rssBeforeKiB)) / 1000) * 1, 1) : '—',
      path === 'socketgate'
        ? fmt((Number(results.socketgate?.idle?.[0]?.rssPeakKiB) - Number(results.socketgate?.idle?.[0]?.rssBeforeKiB)) / 10_000, 1)
        : '—',
      results[path]?.udp ? fmt(pick(path, 'udp', 'p50us')) : '—',
      results[path]?.udp ? fmt(pick(path, 'udp', 'roundTripsPerSecond')) : '—',
    ];
  });
  const stalled = results.socketgate?.stalled?.[0];
  const table = [
    '| path | upload MB/s | download MB/s | echo p50 µs | echo p99 µs | 1,000 sockets open+echo s | gateway KiB/socket (1,000 active) | gateway KiB/socket (10,000 idle) | UDP echo p50 µs | UDP round trips/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const stalledTarget = results.socketgate?.stalledTarget?.[0];
  const growth = (r: Record<string, number | boolean> | undefined) => fmt((Number(r?.rssPeakKiB) - Number(r?.rssBeforeKiB)) / 1024, 1);
  const stalledLine = [
    `Stalled reader (1 GiB download, reader stalled 5 s): socketgate's gateway RSS grew ${growth(stalled)} MiB; every byte arrived: ${stalled?.arrived}; the close arrived: ${stalled?.closeArrived}.`,
    `Stalled target (512 MiB upload, target stalled 5 s): socketgate's gateway RSS grew ${growth(stalledTarget)} MiB; every byte arrived: ${stalledTarget?.arrived}.`,
  ].join('\n\n');
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${ROUNDS} rounds, medians; client, gateway and target as separate processes on loopback.`;
  const markdown = `${table}\n\n${stalledLine}\n\nMachine: ${machine}\n`;
  writeFileSync('bench/results.md', markdown);
  writeFileSync('bench/results.json', `${JSON.stringify({ machine, rounds: ROUNDS, results }, null, 2)}\n`);
  console.log(`\n${markdown}`);
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGKILL');
}
process.exit(0);

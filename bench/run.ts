/**
 * `pnpm bench`: every path side by side on loopback, the client, the server and the target each a
 * process of its own, interleaved (A B C, A B C, …). Writes bench/results.json and bench/results.md
 * (a smoke run writes to a temporary folder) and prints where they went.
 *
 * From Node, in rounds, medians reported. Paths: raw (Node sockets straight to the target: the
 * ceiling), relay (a plain Node relay between them, bench/relay.ts: a reference for what a third
 * process costs), socat (the same in C, forking per connection; installed when missing and possible,
 * else skipped with a message), socketgate (the SDK in Node through the gateway), websockify
 * (Debian's, one WebSocket per connection; installed likewise), wisp (@mercuryworkshop/wisp-js,
 * server and client: one WebSocket multiplexing streams; skipped with a message when the package
 * cannot load), socketgate-wisp (the same wisp-js client through the gateway's Wisp endpoint).
 *
 * Memory and flow control, for every gateway: its RSS per socket (1,000 active, 10,000 idle), and its
 * RSS growth with a stalled reader and with a stalled target, with whether every byte and the close
 * arrived. websockify forks a process per connection: its RSS is the sum over the tree.
 *
 * Cost, on the transfers of the Node rounds: each server's CPU seconds per GiB each way, from /proc.
 *
 * From Chromium (bench/chromium.ts): socketgate, a plain bridge, websockify and wisp measured from a
 * page in Debian's Chromium with no driver attached, in fresh sessions; every session reported.
 *
 * TLS (bench/tls.ts): a download over TLS straight with node:tls and through the gateway with QSslSocket.
 *
 * Then socketgate against the targets of issue 17, computed within the run, and the machine's load.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChromiumResults,
  type ChromiumSession,
  chromiumMarkdown,
  chromiumPhase,
  cpuPerGiB,
  medianOf,
  sessionsOf,
  stepValue,
} from './chromium.js';
import { cpuSeconds, debianCommand, every, loadAverage, procKiB, start, stop, stopAll, stopAndWait, tree } from './processes.js';
import { tlsMarkdown, tlsPhase } from './tls.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** BENCH_SMOKE=1: every phase at a sixteenth of its size, to try the benchmark out; its results go to a temporary folder. */
const SMOKE = process.env.BENCH_SMOKE === '1';
const SCALE = SMOKE ? 1 / 16 : 1;
const BYTES = 256 * MiB * SCALE; // each direction
const STALLED_BYTES = 1024 * MiB * SCALE; // stalled reader: a gateway that buffers without bound holds up to this
const STALLED_TARGET_BYTES = 512 * MiB * SCALE;
const ACTIVE = SMOKE ? 100 : 1000;
const IDLE = SMOKE ? 1000 : 10_000;
const TARGET = 19400;
const GATEWAY = 19500;
const TOKEN = 'bench-token-0123456789';
const WEBSOCKIFY: Record<number, number> = { [TARGET]: 19510, [TARGET + 1]: 19511, [TARGET + 2]: 19512, [TARGET + 4]: 19514 };
const WISP = 19520;
/** bench/relay.ts, a reference: a plain Node relay, its ports mirroring the target's. */
const RELAY = 19530;
/** socat, a reference in C: one forking relay per target port, mirroring the target's ports. */
const SOCAT = 19540;
const tsx = ['--conditions=@socketgate/source', '--import', 'tsx'];
/** The TLS phase (bench/tls.ts): its target and its gateway. */
const TLS_TARGET = 19700;
const TLS_GATEWAY = 19701;
/** The paths through the gateway, whose own count of held bytes is sampled. */
const GATEWAY_PATHS = new Set(['socketgate', 'socketgate-wisp']);
/** BENCH_PHASES: which phases run, of `node` (with the cost phase), `tls` and `chromium`; all by default. */
const PHASES = new Set((process.env.BENCH_PHASES ?? 'node,tls,chromium').split(','));
/** BENCH_CHROMIUM_PATHS: only these paths in the Chromium phase (socketgate, bridge, websockify, wisp). */
const CHROMIUM_PATHS = process.env.BENCH_CHROMIUM_PATHS?.split(',');
/**
 * BENCH_PROFILE=1: the gateway of the Node phase and every Node server of the Chromium phase run with
 * --cpu-prof into bench/profiles/ (a folder per process, named by path and session), with
 * their --trace-gc lines beside them, and are stopped with SIGTERM so that the profile is written.
 */
const PROFILE_DIR =
  process.env.BENCH_PROFILE === '1' ? join('bench', 'profiles', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;

/**
 * How a gateway's memory is read: RSS of one process, or summed over process trees. For a tree, also
 * PSS: forked children share the parent's pages, which the RSS sum counts once per process.
 */
interface Memory {
  rss(): number;
  pss?: () => number;
  /** False while processes of an earlier run are still there (websockify's children exit on their own). */
  settled?: () => boolean;
}
const processMemory = (child: ChildProcess): Memory => ({ rss: () => procKiB(child.pid ?? 0, 'status', 'VmRSS') });
const treeMemory = (roots: ChildProcess[]): Memory => {
  const pids = () => roots.flatMap((root) => (root.pid ? tree(root.pid) : []));
  return {
    rss: () => pids().reduce((sum, pid) => sum + procKiB(pid, 'status', 'VmRSS'), 0),
    pss: () => pids().reduce((sum, pid) => sum + procKiB(pid, 'smaps_rollup', 'Pss'), 0),
    settled: () => pids().length === roots.length,
  };
};

/**
 * How a server's CPU time is read: summed over its process trees, with the children it reaped
 * (websockify and socat fork one per connection); read once the children of a run have exited.
 */
interface Cpu {
  seconds(): number;
  settled(): boolean;
}
const processCpu = (roots: ChildProcess[]): Cpu => {
  const pids = () => roots.flatMap((root) => (root.pid ? tree(root.pid) : []));
  // The processes a server has when idle: itself, and for a server run by tsx its esbuild service.
  const idle = pids().length;
  return { seconds: () => cpuSeconds(pids()), settled: () => pids().length <= idle };
};
const settle = async (settled: () => boolean) => {
  for (let waited = 0; !settled() && waited < 20_000; waited += 100) await sleep(100);
};

type Result = Record<string, number | boolean | string>;

/**
 * Runs one client scenario; while it runs, samples the gateway's RSS, and with `cpu`, the CPU seconds
 * the server spent on it (serverCpuSeconds). Every run is bounded in time: a path that hangs
 * (websockify past a few hundred connections) is killed and recorded as failed, with how many sockets
 * it had opened by then.
 */
async function client(path: string, scenario: string, extra: object = {}, memory?: Memory, cpu?: Cpu): Promise<Result> {
  const options = {
    target: TARGET,
    gateway: `ws://127.0.0.1:${GATEWAY}/v1/socket`,
    token: TOKEN,
    websockify: WEBSOCKIFY,
    wisp: `ws://127.0.0.1:${WISP}/`,
    socketgateWisp: `ws://127.0.0.1:${GATEWAY}/wisp/`,
    relay: RELAY,
    socat: SOCAT,
    ...extra,
  };
  const rss = memory?.rss ?? (() => 0);
  const pss = memory?.pss;
  if (memory?.settled) await settle(memory.settled);
  if (cpu) await settle(cpu.settled);
  const cpuBefore = cpu?.seconds() ?? 0;
  const before = rss();
  let peak = before;
  const pssBefore = pss?.() ?? 0;
  let pssPeak = pssBefore;
  // While a client holds its sockets open ("held" on its stderr, then holdMs of quiet), the RSS
  // the sockets keep: sampled until shortly before the hold ends.
  const holdMs = Number((extra as { holdMs?: number }).holdMs ?? 0);
  let heldAt = 0;
  let held: number | undefined;
  const stopRss = every(25, () => {
    const now = rss();
    peak = Math.max(peak, now);
    if (heldAt > 0 && performance.now() - heldAt < holdMs - 150) held = now;
  });
  const stopPss = pss
    ? every(250, () => {
        pssPeak = Math.max(pssPeak, pss());
      })
    : () => {};
  // socketgate counts the bytes it holds (socketgate_buffered_bytes): its peak, next to the RSS.
  let heldPeak = 0;
  const stopHeld =
    memory && GATEWAY_PATHS.has(path)
      ? every(100, () => {
          fetch(`http://127.0.0.1:${GATEWAY}/metrics`)
            .then((response) => response.text())
            .then((text) => {
              heldPeak = Math.max(heldPeak, Number(/^socketgate_buffered_bytes (\d+)$/m.exec(text)?.[1] ?? 0));
            })
            .catch(() => {});
        })
      : () => {};
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
    if (heldAt === 0 && /^held$/m.test(err)) heldAt = performance.now();
  });
  const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  clearTimeout(limit);
  stopRss();
  stopPss();
  stopHeld();
  if (cpu) await settle(cpu.settled);
  const serverCpu = cpu ? { serverCpuSeconds: cpu.seconds() - cpuBefore } : {};
  const memoryKiB = {
    ...serverCpu,
    rssBeforeKiB: before,
    rssPeakKiB: peak,
    ...(held === undefined ? {} : { rssHeldKiB: held }),
    ...(memory && GATEWAY_PATHS.has(path) ? { gatewayHeldPeakBytes: heldPeak } : {}),
    ...(pss ? { pssBeforeKiB: pssBefore, pssPeakKiB: pssPeak } : {}),
  };
  if (code !== 0) {
    const lines = err.split('\n').filter((line) => line && !/^(opened \d+|held|stalled)$/.test(line));
    const tail = lines.slice(-12);
    const opened = Math.max(0, ...[...err.matchAll(/^opened (\d+)$/gm)].map((match) => Number(match[1])));
    const killed = child.signalCode === 'SIGKILL';
    const reason = killed ? 'killed after 120 s' : (lines.find((line) => /error/i.test(line)) ?? lines.at(-1) ?? `exit ${code}`);
    console.log(`${path} ${scenario}: failed (${reason})${tail.length ? `\n  ${tail.join('\n  ')}` : ''}`);
    return { failed: true, reason, opened, stderr: tail.join('\n'), ...memoryKiB };
  }
  return { ...(JSON.parse(out.trim().split('\n').at(-1) as string) as Result), ...memoryKiB };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Node's arguments to start the gateway on `port`, for the target's ports, with limits no benchmark reaches. */
const gatewayArgs = (port: number, origins: string[] = []) => [
  'apps/gateway/bin/socketgate.js',
  '--port',
  String(port),
  '--token',
  TOKEN,
  '--allow',
  `127.0.0.1/32:${TARGET}-${TARGET + 4}`,
  ...origins.flatMap((origin) => ['--origin', origin]),
  '--log-level',
  'warn',
  '--metrics-port',
  '0',
  '--max-opens-per-second',
  '100000',
  '--max-control-messages-per-second',
  '1000000',
  '--max-streams-per-session',
  '20000',
  '--wisp-path',
  '/wisp/',
];

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const n = (count: number) => count.toLocaleString('en');

/** What the Node phase gives the rest of the run: its tables, its data, and each server's CPU per GiB. */
interface NodePhase {
  markdown: string;
  results: Record<string, Record<string, Result[]>>;
  wispErrors: string[];
  /** Server CPU seconds per GiB, median over the rounds, by path and direction. */
  cpuPerGiB: Record<string, { upload: number; download: number }>;
}

/**
 * The Node phase: every path from Node clients, in rounds; the cost phase rides on its transfers
 * (each server's CPU time around every measured upload and download).
 */
async function nodePhase(websockify: string | undefined, socat: string | undefined): Promise<NodePhase> {
  const servers: ChildProcess[] = [];
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, 'socketgate-node')}`] : [];
  const gateway = await start(process.execPath, [...profile, ...gatewayArgs(GATEWAY)], /listening on/);
  const relay = await start(process.execPath, [...tsx, 'bench/relay.ts', String(RELAY), String(TARGET)], /ready/);
  servers.push(gateway, relay);
  const paths = ['raw', 'relay'];
  // Each server's CPU time, for the cost of a GiB.
  const cpu: Record<string, Cpu> = { relay: processCpu([relay]), socketgate: processCpu([gateway]) };
  if (socat) {
    // socat forks a process per connection, each relaying with 256 KiB buffers.
    const roots: ChildProcess[] = [];
    for (const offset of [0, 1, 2]) {
      const listen = `TCP-LISTEN:${SOCAT + offset},bind=127.0.0.1,reuseaddr,fork,backlog=4096`;
      roots.push(await start(socat, ['-d', '-d', '-b', '262144', listen, `TCP:127.0.0.1:${TARGET + offset}`], /listening on/));
    }
    servers.push(...roots);
    paths.push('socat');
    cpu.socat = processCpu(roots);
  } else {
    console.log('socat: not installed and cannot be installed here: skipped');
  }
  // socketgate-wisp: wisp-js's client through the gateway's Wisp endpoint, beside wisp-js's own server.
  paths.push('socketgate', 'socketgate-wisp');
  cpu['socketgate-wisp'] = cpu.socketgate as Cpu;
  // The gateway of each path, for its memory.
  const memory: Record<string, Memory> = { socketgate: processMemory(gateway), 'socketgate-wisp': processMemory(gateway) };
  if (websockify) {
    const roots: ChildProcess[] = [];
    for (const [target, port] of Object.entries(WEBSOCKIFY))
      roots.push(await start(websockify, [`127.0.0.1:${port}`, `127.0.0.1:${target}`], /proxying|Listen/i));
    servers.push(...roots);
    paths.push('websockify');
    memory.websockify = treeMemory(roots);
    cpu.websockify = processCpu(roots);
  } else {
    console.log('websockify: not installed and cannot be installed here: skipped');
  }
  // What the wisp-js server logs as errors (it runs at log level ERROR), kept with the results.
  const wispErrors: string[] = [];
  try {
    const wisp = await start(process.execPath, [...tsx, 'bench/wisp-server.ts', String(WISP), String(TARGET)], /ready/, {
      onLine: (line) => {
        if (/ error: /.test(line)) wispErrors.push(line.trim());
      },
    });
    servers.push(wisp);
    paths.push('wisp');
    memory.wisp = processMemory(wisp);
    cpu.wisp = processCpu([wisp]);
  } catch (error) {
    console.log(`wisp-js: its server does not start (is @mercuryworkshop/wisp-js installed?): skipped\n  ${String(error).split('\n')[0]}`);
  }
  const gateways = paths.filter((path) => memory[path]);
  const udpPaths = paths.filter((path) => path !== 'websockify' && path !== 'relay' && path !== 'socat');

  const results: Record<string, Record<string, Result[]>> = {};
  const record = (path: string, scenario: string, value: Result) => {
    const byScenario = results[path] ?? {};
    byScenario[scenario] = [...(byScenario[scenario] ?? []), value];
    results[path] = byScenario;
  };
  // One unmeasured upload and download per path first, on every path alike: the rounds then time
  // warm processes (compiled code, grown heaps), as a long-running gateway is.
  for (const path of paths) for (const scenario of ['upload', 'download']) await client(path, scenario, { bytes: BYTES });
  console.log('warm-up done');
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of ['upload', 'download', 'latency']) {
      for (const path of paths) record(path, scenario, await client(path, scenario, { bytes: BYTES, count: 2000 }, undefined, cpu[path]));
    }
    for (const path of udpPaths) record(path, 'udp', await client(path, 'udp', { count: 2000 }));
    for (const path of udpPaths) record(path, 'udpRate', await client(path, 'udpRate', { count: SMOKE ? 2000 : 20_000 }));
    console.log(`round ${round + 1} done`);
  }
  // Memory and flow control: each gateway's RSS per socket, then under a stalled target and a stalled
  // reader (last: a gateway that buffers without bound keeps the memory it grew to). websockify forks
  // a process per connection; it is asked for as many sockets as the others, bounded in time, and
  // closes those it cannot hold (past ~500), which the client counts.
  record('raw', 'concurrent', await client('raw', 'concurrent', { count: ACTIVE, holdMs: 200 }));
  for (const path of gateways) {
    const sample = memory[path];
    record(path, 'concurrent', await client(path, 'concurrent', { count: ACTIVE, holdMs: 1000 }, sample));
    record(path, 'idle', await client(path, 'idle', { count: IDLE, holdMs: 1500 }, sample));
    record(path, 'stalledTarget', await client(path, 'stalledTarget', { bytes: STALLED_TARGET_BYTES }, sample));
    record(path, 'stalled', await client(path, 'stalled', { bytes: STALLED_BYTES, stallMs: 5000 }, sample));
    console.log(`${path}: memory and flow control done`);
  }
  if (PROFILE_DIR) await stopAndWait(gateway, 'SIGTERM');
  for (const server of servers) stop(server);

  const pick = (path: string, scenario: string, key: string) => median((results[path]?.[scenario] ?? []).map((r) => Number(r[key])));
  /** A throughput median, marked when some round lost bytes or the close (the number is then what did arrive). */
  const throughput = (path: string, scenario: string) => {
    const runs = results[path]?.[scenario] ?? [];
    const lost = runs.filter((r) => r.failed || r.arrived === false || r.closeArrived === false).length;
    return `${fmt(pick(path, scenario, 'mbPerSecond'))}${lost ? ` (${lost}/${runs.length} lost bytes or the close)` : ''}`;
  };
  /** RSS growth: while the sockets were held where that was measured (the memory they keep), else at the peak. */
  const growthKiB = (r: Result | undefined) => Number(r?.rssHeldKiB ?? r?.rssPeakKiB) - Number(r?.rssBeforeKiB);
  /** A gateway's growth in KiB divided by `by`, with its PSS growth after it where measured (websockify). */
  const growth = (r: Result, by: number, digits: number) =>
    `${fmt(growthKiB(r) / by, digits)}${r.pssPeakKiB === undefined ? '' : ` (PSS ${fmt((Number(r.pssPeakKiB) - Number(r.pssBeforeKiB)) / by, digits)})`}`;
  /**
   * Gateway KiB per socket. When the gateway closed sockets it could not hold, over the most that were
   * open at once; for a run that failed part way, over the sockets it had opened.
   */
  const perSocket = (r: Result | undefined) => {
    if (!r) return '—';
    if (r.failed) {
      const opened = Number(r.opened);
      return opened > 0 ? `${growth(r, opened, 1)}, over ${opened} opened, then failed` : 'failed';
    }
    if (Number(r.closedEarly) > 0)
      return `${growth(r, Number(r.peakOpen), 1)}, over the ${r.peakOpen} open at most (it closed ${r.closedEarly} of ${r.sockets})`;
    return growth(r, Number(r.sockets), 1);
  };
  /** Seconds to open (and echo on) every socket, or how many the gateway kept open. */
  const openSeconds = (r: Result | undefined) => {
    if (!r) return '—';
    if (r.failed) return `failed (${r.opened} opened)`;
    const kept = Number(r.sockets) - Number(r.closedEarly);
    return Number(r.closedEarly) > 0 ? `failed: the gateway closed ${r.closedEarly}, kept ${kept}` : fmt(Number(r.seconds), 2);
  };
  /** Echoed datagrams per second, with the median loss when any round lost some. */
  const udpRate = (path: string) => {
    const lost = pick(path, 'udpRate', 'lost');
    return `${fmt(pick(path, 'udpRate', 'datagramsPerSecond'))}${lost > 0 ? ` (${fmt(lost)} lost)` : ''}`;
  };
  const rows = paths.map((path) => {
    const concurrent = results[path]?.concurrent?.[0];
    return [
      path,
      throughput(path, 'upload'),
      throughput(path, 'download'),
      fmt(pick(path, 'latency', 'p50us')),
      fmt(pick(path, 'latency', 'p99us')),
      openSeconds(concurrent),
      memory[path] ? perSocket(concurrent) : '—',
      memory[path] ? perSocket(results[path]?.idle?.[0]) : '—',
      results[path]?.udp ? fmt(pick(path, 'udp', 'p50us')) : '—',
      results[path]?.udp ? fmt(pick(path, 'udp', 'roundTripsPerSecond')) : '—',
      results[path]?.udpRate ? udpRate(path) : '—',
    ];
  });
  const table = [
    `| path | upload MB/s | download MB/s | echo p50 µs | echo p99 µs | ${n(ACTIVE)} sockets open+echo s | gateway KiB/socket (${n(ACTIVE)} active) | gateway KiB/socket (${n(IDLE)} idle) | UDP echo p50 µs | UDP round trips/s | UDP datagrams/s (32 in flight) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const mib = (r: Result | undefined) => (!r ? '—' : r.failed ? 'failed' : growth(r, 1024, 1));
  /** The peak of the gateway's own count of the bytes it holds (socketgate only). */
  const heldKiB = (r: Result | undefined) => (r?.gatewayHeldPeakBytes === undefined ? '—' : fmt(Number(r.gatewayHeldPeakBytes) / 1024));
  const yes = (value: unknown) => (value === true ? 'yes' : value === false ? 'no' : '—');
  const arrived = (r: Result | undefined, bytes: number) =>
    r?.failed
      ? `failed (${r.reason})`
      : r?.arrived === false && r.received !== undefined
        ? `no (${fmt(Number(r.received) / MiB, 1)} of ${fmt(bytes / MiB)} MiB)`
        : yes(r?.arrived);
  const flowRows = gateways.map((path) => {
    const stalled = results[path]?.stalled?.[0];
    const stalledTarget = results[path]?.stalledTarget?.[0];
    return [
      path,
      mib(stalled),
      heldKiB(stalled),
      arrived(stalled, STALLED_BYTES),
      stalled?.failed ? '—' : yes(stalled?.closeArrived),
      mib(stalledTarget),
      heldKiB(stalledTarget),
      arrived(stalledTarget, STALLED_TARGET_BYTES),
    ];
  });
  const flowTable = [
    '| path | stalled reader: gateway RSS growth MiB | held by the gateway, peak KiB | every byte arrived | close arrived | stalled target: gateway RSS growth MiB | held by the gateway, peak KiB | every byte arrived |',
    '| --- | ---: | ---: | --- | --- | ---: | ---: | --- |',
    ...flowRows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const flowNote = `Stalled reader: a ${n(STALLED_BYTES / MiB)} MiB download whose reader stops reading for 5 s (wisp: its client can only stop reading the whole WebSocket). Stalled target: a ${n(STALLED_TARGET_BYTES / MiB)} MiB upload to a target that reads nothing for its first 5 s. A close that has not arrived 5 s (upload: 20 s) after the last byte counts as lost. Held by the gateway: socketgate's own count of the bytes it holds (the socketgate_buffered_bytes metric, sampled every 100 ms); RSS growth also counts garbage not yet collected. websockify: the RSS summed over its processes (it forks one per connection, and the pages a child shares with its parent count in each), and in parentheses the PSS summed likewise, sampled less often.`;
  // socketgate against the issue's targets, as ratios within this run.
  const sg = (scenario: string, key: string) => pick('socketgate', scenario, key);
  const ratio = (path: string, scenario: string) => sg(scenario, 'mbPerSecond') / pick(path, scenario, 'mbPerSecond');
  const idleKiB = growthKiB(results.socketgate?.idle?.[0]) / IDLE;
  const targetLines = [
    ...['upload', 'download'].flatMap((scenario) => [
      check(ratio('raw', scenario) >= 0.5, `${scenario} ${fmt(ratio('raw', scenario), 2)} × raw (target 0.5 ×)`),
      ...(results.wisp
        ? [check(ratio('wisp', scenario) >= 1.5, `${scenario} ${fmt(ratio('wisp', scenario), 2)} × wisp (target 1.5 ×)`)]
        : []),
      ...(results.websockify
        ? [check(ratio('websockify', scenario) >= 1, `${scenario} ${fmt(ratio('websockify', scenario), 2)} × websockify (target 1 ×)`)]
        : []),
      `- for reference: ${scenario} ${fmt(ratio('relay', scenario), 2)} × the plain relay`,
    ]),
    check(
      sg('latency', 'p50us') - pick('raw', 'latency', 'p50us') <= 100,
      `echo p50 ${fmt(sg('latency', 'p50us') - pick('raw', 'latency', 'p50us'))} µs above raw (target 100 µs)`,
    ),
    check(
      sg('latency', 'p99us') / pick('raw', 'latency', 'p99us') <= 3,
      `echo p99 ${fmt(sg('latency', 'p99us') / pick('raw', 'latency', 'p99us'), 1)} × raw (target 3 ×)`,
    ),
    check(idleKiB <= 8, `${fmt(idleKiB, 1)} KiB of gateway RSS per idle socket (target 8 KiB)`),
  ];
  const tableNote = `Gateway KiB/socket: the gateway's RSS growth while the sockets are held open, per socket (its peak while they open is in the JSON). relay and socat are no gateways but references: a plain Node relay (bench/relay.ts) and socat (\`socat -b 262144\`, a process forked per connection) as a third process. Echo: ${n(2000)} in sequence after 200 unmeasured; before the rounds, one unmeasured upload and download per path.`;
  // The cost phase: each server's CPU time around every measured transfer, per GiB.
  const perGiB = (path: string, scenario: string) =>
    (results[path]?.[scenario] ?? []).map((r) => (r.failed ? Number.NaN : Number(r.serverCpuSeconds) / (BYTES / GiB)));
  const cpuPerGiB = Object.fromEntries(
    Object.keys(cpu).map((path) => [path, { upload: median(perGiB(path, 'upload')), download: median(perGiB(path, 'download')) }]),
  );
  const costTable = [
    '| server | upload CPU s/GiB | download CPU s/GiB | upload, each round | download, each round |',
    '| --- | ---: | ---: | --- | --- |',
    ...paths
      .filter((path) => cpu[path])
      .map(
        (path) =>
          `| ${path} | ${fmt(cpuPerGiB[path]?.upload ?? Number.NaN, 2)} | ${fmt(cpuPerGiB[path]?.download ?? Number.NaN, 2)} | ${perGiB(
            path,
            'upload',
          )
            .map((v) => fmt(v, 2))
            .join(', ')} | ${perGiB(path, 'download')
            .map((v) => fmt(v, 2))
            .join(', ')} |`,
      ),
  ].join('\n');
  const costNote = `The CPU seconds (user and system, from /proc/PID/stat, with the children a server forked and reaped) each server spent on a ${n(BYTES / MiB)} MiB transfer of the rounds above, per GiB, from Node clients; the target and the client are not counted.`;
  const markdown = `## From Node\n\n${table}\n\n${tableNote}\n\nFlow control:\n\n${flowTable}\n\n${flowNote}\n\nsocketgate against the targets:\n\n${targetLines.join('\n')}\n\n## Cost, from Node\n\n${costTable}\n\n${costNote}\n`;
  if (wispErrors.length) console.log(`wisp-js server errors (${wispErrors.length}):\n  ${wispErrors.slice(0, 10).join('\n  ')}`);
  return { markdown, results, wispErrors, cpuPerGiB };
}

const check = (ok: boolean, text: string) => `- ${ok ? 'met' : '**missed**'}: ${text}`;

/**
 * The targets of issue 17, computed within the run: from Chromium, socketgate's throughput against
 * the bridge's (1 ×) and websockify's and wisp-js's (1.2 ×) in every session (session i against
 * session i of the same round), its echo medians against the bridge's; the gateway's CPU per GiB
 * against the plain Node relay's (1.2 ×), from Node and from the browser, stated against socat's.
 */
function issueTargets(node: NodePhase | undefined, browser: ChromiumResults | undefined): string[] {
  const lines: string[] = [];
  if (browser) {
    const ours = sessionsOf(browser, 'socketgate');
    for (const scenario of ['upload', 'download']) {
      for (const [peer, factor] of [
        ['bridge', 1],
        ['websockify', 1.2],
        ['wisp', 1.2],
      ] as const) {
        if (!browser.paths.includes(peer)) {
          lines.push(`- not measured: ${scenario} against ${peer} (${browser.skipped[peer] ?? 'skipped'})`);
          continue;
        }
        const theirs = sessionsOf(browser, peer);
        const ratios = ours.map((session, i) => {
          const other = theirs[i];
          return other ? stepValue(session, scenario, 'mbPerSecond') / stepValue(other, scenario, 'mbPerSecond') : Number.NaN;
        });
        const ok = ratios.length > 0 && ratios.every((ratio) => ratio >= factor);
        lines.push(
          check(
            ok,
            `from Chromium, ${scenario} ${ratios.map((ratio) => fmt(ratio, 2)).join(', ')} × ${peer === 'bridge' ? 'the plain bridge' : peer}, session by session (target ${factor} × in every session)`,
          ),
        );
      }
    }
    if (browser.paths.includes('socketgate-baseline')) {
      const baseline = sessionsOf(browser, 'socketgate-baseline');
      for (const scenario of ['upload', 'download']) {
        const each = (value: (session: ChromiumSession) => number, digits: number) =>
          `${ours.map((session) => fmt(value(session), digits)).join(', ')} against ${baseline.map((session) => fmt(value(session), digits)).join(', ')}`;
        lines.push(
          `- for reference, from Chromium, ${scenario} against the baseline gateway (BENCH_BASELINE_GATEWAY), session by session: MB/s ${each((session) => stepValue(session, scenario, 'mbPerSecond'), 0)}; gateway CPU s/GiB ${each((session) => cpuPerGiB(session, scenario, CHROMIUM_BYTES), 2)}; full GCs ${each((session) => stepValue(session, scenario, 'fullGcs'), 0)}`,
        );
      }
    }
    for (const key of ['p50us', 'p99us']) {
      const ourMedian = medianOf(browser, 'socketgate', (session) => stepValue(session, 'latency', key));
      const bridgeMedian = medianOf(browser, 'bridge', (session) => stepValue(session, 'latency', key));
      lines.push(
        check(
          ourMedian <= bridgeMedian,
          `from Chromium, echo ${key.slice(0, 3)} ${fmt(ourMedian)} µs against the plain bridge's ${fmt(bridgeMedian)} µs, medians over the sessions (target: no worse)`,
        ),
      );
    }
  }
  if (!node) {
    lines.push('- not measured: gateway CPU per GiB against the plain Node relay (the Node phase did not run, BENCH_PHASES)');
    return lines;
  }
  const relay = node.cpuPerGiB.relay;
  const socat = node.cpuPerGiB.socat;
  for (const scenario of ['upload', 'download'] as const) {
    const against = (seconds: number, from: string) => {
      const ratio = seconds / (relay?.[scenario] ?? Number.NaN);
      const bySocat = socat
        ? `; socat ${fmt(socat[scenario], 2)} s/GiB, so the gateway takes ${fmt(seconds / socat[scenario], 1)} × socat's`
        : '; socat not measured';
      return check(
        ratio <= 1.2,
        `gateway CPU ${fmt(seconds, 2)} s/GiB ${scenario} ${from}, ${fmt(ratio, 2)} × the plain Node relay's ${fmt(relay?.[scenario] ?? Number.NaN, 2)} s/GiB from Node (target 1.2 ×)${bySocat}`,
      );
    };
    lines.push(against(node.cpuPerGiB.socketgate?.[scenario] ?? Number.NaN, 'from Node'));
    if (browser) {
      const seconds = medianOf(browser, 'socketgate', (session) => cpuPerGiB(session, scenario, CHROMIUM_BYTES));
      const bridge = medianOf(browser, 'bridge', (session) => cpuPerGiB(session, scenario, CHROMIUM_BYTES));
      lines.push(
        `${against(seconds, 'from Chromium (median over the sessions)')}; the plain bridge from Chromium: ${fmt(bridge, 2)} s/GiB`,
      );
    }
  }
  return lines;
}

/**
 * BENCH_BASELINE_GATEWAY: another build of the gateway's CLI module (say, dist/cli.js of the commit
 * before a change, built into a folder of its own), measured in the Chromium phase as the path
 * socketgate-baseline, interleaved with the others in the same run.
 */
const BASELINE_GATEWAY = process.env.BENCH_BASELINE_GATEWAY;
/** A run whose results do not replace bench/results.*: smoke sizes, a phase or path left out, or profiling. */
const PARTIAL =
  BASELINE_GATEWAY !== undefined ||
  SMOKE ||
  !PHASES.has('node') ||
  !PHASES.has('tls') ||
  !PHASES.has('chromium') ||
  CHROMIUM_PATHS !== undefined ||
  PROFILE_DIR !== undefined;
/** BENCH_SESSIONS: fresh sessions per path in the Chromium phase (at least 3; 5 unless smoke). */
const SESSIONS = Math.max(3, Number(process.env.BENCH_SESSIONS ?? (SMOKE ? 3 : 5)));
const CHROMIUM_BYTES = 128 * MiB * SCALE;

async function main(): Promise<void> {
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const load = { cores: cpus().length, before: loadAverage(), afterNode: '', after: '' };
  console.log(
    `socketgate benchmark: ${ROUNDS} rounds from Node, ${SESSIONS} Chromium sessions per path, ${load.cores} cores, load ${load.before}, Node ${process.version}${SMOKE ? ', smoke sizes' : ''}`,
  );
  const websockify = debianCommand('websockify', 'websockify');
  const socat = debianCommand('socat', 'socat');
  const chromium = debianCommand('chromium', 'chromium');
  await start(process.execPath, [...tsx, 'bench/target.ts', String(TARGET)], /ready/);
  const node = PHASES.has('node') ? await nodePhase(websockify, socat) : undefined;
  const tls = PHASES.has('tls')
    ? await tlsPhase({
        rounds: ROUNDS,
        bytes: BYTES,
        targetPort: TLS_TARGET,
        gatewayPort: TLS_GATEWAY,
        token: TOKEN,
        tsx,
        gatewayArgs: (port) => gatewayArgs(port),
      })
    : undefined;
  load.afterNode = loadAverage();
  let browser: ChromiumResults | undefined;
  if (!PHASES.has('chromium')) {
    console.log('chromium: left out by BENCH_PHASES');
  } else if (chromium) {
    browser = await chromiumPhase({
      chromium,
      websockify,
      target: TARGET,
      token: TOKEN,
      sessions: SESSIONS,
      bytes: CHROMIUM_BYTES,
      warmBytes: 32 * MiB * SCALE,
      stalledBytes: 256 * MiB * SCALE,
      tsx,
      gatewayArgs: (port, origin) => gatewayArgs(port, [origin]),
      ...(CHROMIUM_PATHS ? { paths: CHROMIUM_PATHS } : {}),
      ...(BASELINE_GATEWAY
        ? { baselineGatewayArgs: (port: number, origin: string) => [BASELINE_GATEWAY, ...gatewayArgs(port, [origin]).slice(1)] }
        : {}),
      ...(PROFILE_DIR ? { profileDir: PROFILE_DIR } : {}),
    });
  } else {
    console.log('chromium: not installed and cannot be installed here: the Chromium phase is skipped');
  }
  load.after = loadAverage();

  const sections = [node?.markdown ?? '## From Node\n\nLeft out by BENCH_PHASES.\n'];
  if (tls) sections.push(`## TLS\n\n${tlsMarkdown(tls)}`);
  if (browser) sections.push(`## From Chromium\n\n${chromiumMarkdown(browser, CHROMIUM_BYTES)}`);
  else if (!PHASES.has('chromium')) sections.push('## From Chromium\n\nLeft out by BENCH_PHASES.\n');
  else sections.push("## From Chromium\n\nSkipped: Debian's chromium is not installed and cannot be installed here.\n");
  sections.push(`## socketgate against the targets of issue 17\n\n${issueTargets(node, browser).join('\n')}\n`);
  const machine = `${load.cores} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; from Node: ${ROUNDS} rounds, medians; from Chromium: ${SESSIONS} sessions per path; client, server and target as separate processes on loopback.`;
  const loadLine = `Load (/proc/loadavg: 1, 5, 15 min, tasks): before ${load.before}; after the Node phase ${load.afterNode}; after ${load.after}; ${load.cores} cores.`;
  const markdown = `${sections.join('\n')}\nMachine: ${machine}\n\n${loadLine}\n`;
  const json = {
    machine,
    load,
    rounds: ROUNDS,
    results: node?.results,
    wispServerErrors: node?.wispErrors,
    cost: node?.cpuPerGiB,
    tls,
    chromium: browser,
  };
  // A smoke run's results are no results, nor are a partial or profiled run's: they go to a temporary
  // folder, never over the last real run.
  const folder = PARTIAL ? join(tmpdir(), 'socketgate-bench-smoke') : 'bench';
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'results.md'), markdown);
  writeFileSync(join(folder, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  // In the repository the results are formatted as the linter wants them.
  if (!PARTIAL)
    spawnSync(process.execPath, ['node_modules/@biomejs/biome/bin/biome', 'format', '--write', 'bench/results.json'], { stdio: 'ignore' });
  console.log(`\n${markdown}`);
  console.log(
    `results: ${join(folder, 'results.md')} and ${join(folder, 'results.json')}${PARTIAL ? ' (a smoke, partial or profiled run: not the bench/ results)' : ''}`,
  );
  if (PROFILE_DIR) console.log(`profiles: ${PROFILE_DIR}`);
}

// Every process the benchmark started is stopped when it ends, however it ends.
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.log(`\n${signal}: stopping every process the benchmark started`);
    process.exit(130);
  });
}
try {
  await main();
} catch (error) {
  console.error(error);
  process.exit(1);
}
process.exit(0);

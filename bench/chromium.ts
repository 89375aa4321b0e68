/**
 * The Chromium phase of `pnpm bench`: every browser path measured from a page in Debian's Chromium,
 * launched headless with no DevTools driver (a driver that copies every WebSocket frame would slow
 * every path). The page (bench/page.ts, bundled with esbuild) is served by a small HTTP server of the
 * benchmark's own on 127.0.0.1 and reports every result with fetch; the benchmark then kills Chromium.
 *
 * Each session is a fresh server process and a fresh browser (a new profile), sessions interleaved
 * across paths (A B C D, A B C D, …), so that a mode a process falls into shows as a session apart.
 * In each: an unmeasured upload and download, then upload, download, 2,000 echoes, and a download
 * while the page is busy for 5 s (the browser stops reading; the server has to hold back). For
 * socketgate also the SDK's own way to stop reading (a bounded read buffer left unread). Around each
 * step the server's CPU seconds (from /proc, with reaped children), its RSS and, for Node servers, its
 * full garbage collections (from --trace-gc) are read.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { PageConfig, Step } from './page.js';
import { cpuSeconds, every, procKiB, removeFolder, start, stopAndWait, temporaryFolder, tree } from './processes.js';

export type Result = Record<string, number | boolean | string | object>;

export interface ChromiumOptions {
  /** Debian's Chromium. */
  chromium: string;
  /** websockify's command, when it can be had. */
  websockify: string | undefined;
  /** Base port of bench/target.ts (running). */
  target: number;
  token: string;
  sessions: number;
  /** Bytes each way of a measured transfer; of a warm-up transfer; of a stalled download. */
  bytes: number;
  warmBytes: number;
  stalledBytes: number;
  /** Node's arguments to run a TypeScript file of the benchmark. */
  tsx: string[];
  /** Node's arguments to start the gateway on `port`, accepting pages from `origin`. */
  gatewayArgs(port: number, origin: string): string[];
  /** Only these paths (all that can run here when absent). */
  paths?: string[];
  /**
   * Node's arguments to start another build of the gateway (BENCH_BASELINE_GATEWAY), measured in the
   * same run as the path `socketgate-baseline`: the same page, sessions interleaved with the others.
   */
  baselineGatewayArgs?(port: number, origin: string): string[];
  /**
   * A folder for profiles (BENCH_PROFILE=1): every Node server runs with --cpu-prof into a folder
   * in it named by path and session, its --trace-gc lines are kept beside that, and it is stopped with SIGTERM so that its profile is written.
   */
  profileDir?: string;
}

export interface ChromiumSession {
  path: string;
  session: number;
  /** What the page said of itself (userAgent, crossOriginIsolated). */
  page?: Result;
  /** The measured steps by name; each with the server's CPU seconds, RSS and full GCs during it. */
  steps: Record<string, Result>;
  failed?: string;
  /** What the page logged (errors) and the last lines of the server's output when it failed. */
  log: string[];
}

export interface ChromiumResults {
  paths: string[];
  /** Paths left out, with why. */
  skipped: Record<string, string>;
  sessions: ChromiumSession[];
}

const PAGE = 19600;
const GATEWAY = 19610;
const BRIDGE = 19620;
const WEBSOCKIFY_BASE = 19630;
const WISP = 19640;
const STEP_LIMIT_MS = 180_000;

/** The Chromium flags: headless, no sandbox (root), nothing running in the background. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Bundles the page: the SDK from source, wisp-js's browser client (its package maps its Node parts to
 * browser ones). When wisp-js cannot be bundled, the page is built without it and says so.
 */
async function bundlePage(): Promise<{ code: Uint8Array; wispError?: string }> {
  const options = {
    entryPoints: [new URL('./page.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm' as const,
    platform: 'browser' as const,
    target: 'es2022',
    write: false,
    conditions: ['@socketgate/source'],
    logLevel: 'silent' as const,
  };
  try {
    const result = await build(options);
    return { code: result.outputFiles?.[0]?.contents ?? new Uint8Array() };
  } catch (error) {
    const withoutWisp: Plugin = {
      name: 'without-wisp',
      setup(plugin) {
        plugin.onResolve({ filter: /^@mercuryworkshop\/wisp-js/ }, () => ({ path: 'wisp', namespace: 'without-wisp' }));
        plugin.onLoad({ filter: /.*/, namespace: 'without-wisp' }, () => ({ contents: 'export const client = undefined;' }));
      },
    };
    const result = await build({ ...options, plugins: [withoutWisp] });
    return { code: result.outputFiles?.[0]?.contents ?? new Uint8Array(), wispError: String(error).split('\n')[0] ?? '' };
  }
}

/**
 * The page's side of a session: the page POSTs /step with each result and waits for the next step
 * in the answer, which the benchmark gives when it is ready to measure.
 */
class PageChannel {
  #reply: http.ServerResponse | undefined;
  #body: unknown;
  #hasBody = false;
  #waiter: { resolve: (body: unknown) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  readonly log: string[] = [];

  /** A POST /step from the page. */
  receive(body: unknown, reply: http.ServerResponse): void {
    this.#reply = reply;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter.resolve(body);
    else {
      this.#body = body;
      this.#hasBody = true;
    }
  }

  fail(error: Error): void {
    this.#failure = error;
    this.#waiter?.reject(error);
    this.#waiter = undefined;
  }

  /** The body of the page's next POST /step, within `ms`. */
  next(ms: number, what: string): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#hasBody) {
      this.#hasBody = false;
      return Promise.resolve(this.#body);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`${what}: no answer from the page within ${ms / 1000} s`));
      }, ms);
      this.#waiter = {
        resolve: (body) => {
          clearTimeout(timer);
          resolve(body);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /** Answers the page's pending POST /step. */
  send(step: Step): void {
    this.#reply?.end(JSON.stringify(step));
    this.#reply = undefined;
  }
}

/** The benchmark's HTTP server for the page: /, /page.js, /config, POST /step and POST /log. */
function pageServer(code: Uint8Array, current: () => Current | undefined, jsProfiling: boolean): Promise<http.Server> {
  // Cross-origin isolated, so that performance.now() in the page is precise to 5 µs, not 100 µs.
  const headers = {
    'cache-control': 'no-store',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    // Lets the page profile itself when profiling: the JS Self-Profiling API, no DevTools attached.
    ...(jsProfiling ? { 'document-policy': 'js-profiling' } : {}),
  };
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const session = current();
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (request.method === 'GET' && url.pathname === '/') {
        response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
        response.end('<!doctype html><title>socketgate benchmark</title><script type="module" src="/page.js"></script>');
      } else if (request.method === 'GET' && url.pathname === '/page.js') {
        response.writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8' });
        response.end(code);
      } else if (session && request.method === 'GET' && url.pathname === '/config') {
        response.writeHead(200, { ...headers, 'content-type': 'application/json' });
        response.end(JSON.stringify(session.config));
      } else if (session && request.method === 'POST' && url.pathname === '/step') {
        response.writeHead(200, { ...headers, 'content-type': 'application/json' });
        session.channel.receive(JSON.parse(body || 'null'), response);
      } else if (session && request.method === 'POST' && url.pathname === '/log') {
        session.channel.log.push(body.slice(0, 2000));
        response.writeHead(204, headers).end();
      } else {
        response.writeHead(404, headers).end();
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: PAGE }, () => resolve(server));
  });
}

/** A server under measurement: its processes, and full GCs counted from --trace-gc (Node servers). */
interface Server {
  roots: ChildProcess[];
  /** Where its --trace-gc lines go when profiling. */
  gcLog?: string;
  /** How many processes it has when idle: its roots, and for a server run by tsx their esbuild services. */
  idle: number;
  fullGcs: number;
  /** Full GCs that V8 started for external memory pressure (ArrayBuffers and Buffers outside the heap). */
  externalGcs: number;
  output: string[];
}

const pidsOf = (server: Server) => server.roots.flatMap((root) => (root.pid ? tree(root.pid) : []));
const rssKiB = (server: Server) => pidsOf(server).reduce((sum, pid) => sum + procKiB(pid, 'status', 'VmRSS'), 0);
const pssKiB = (server: Server) => pidsOf(server).reduce((sum, pid) => sum + procKiB(pid, 'smaps_rollup', 'Pss'), 0);
const settled = async (server: Server) => {
  for (let waited = 0; pidsOf(server).length > server.idle && waited < 20_000; waited += 100)
    await new Promise((resolve) => setTimeout(resolve, 100));
};

async function startServer(path: string, session: number, options: ChromiumOptions, origin: string): Promise<Server> {
  const server: Server = { roots: [], idle: 0, fullGcs: 0, externalGcs: 0, output: [] };
  const name = `${path}-session${session}`;
  // A folder per process: a server run by tsx has a second thread (its loader), with a profile of its own.
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(options.profileDir, name)}`] : [];
  if (options.profileDir) server.gcLog = join(options.profileDir, `${name}.gc.txt`);
  const onLine = (line: string) => {
    if (server.gcLog && /^\[\d+:0x/.test(line)) appendFileSync(server.gcLog, `${line}\n`);
    if (line.includes('Mark-Compact')) {
      server.fullGcs++;
      if (line.includes('external memory pressure')) server.externalGcs++;
    } else if (!line.includes('Scavenge')) server.output = [...server.output, line].slice(-20);
  };
  const node = (args: string[], ready: RegExp) => start(process.execPath, ['--trace-gc', ...profile, ...args], ready, { onLine });
  if (path === 'socketgate') server.roots.push(await node(options.gatewayArgs(GATEWAY, origin), /listening on/));
  else if (path === 'socketgate-baseline' && options.baselineGatewayArgs)
    server.roots.push(await node(options.baselineGatewayArgs(GATEWAY, origin), /listening on/));
  else if (path === 'bridge')
    server.roots.push(await node([...options.tsx, 'bench/bridge.ts', String(BRIDGE), String(options.target)], /ready/));
  else if (path === 'wisp')
    server.roots.push(await node([...options.tsx, 'bench/wisp-server.ts', String(WISP), String(options.target)], /ready/));
  else {
    for (const offset of [0, 1, 2]) {
      const args = [`127.0.0.1:${WEBSOCKIFY_BASE + offset}`, `127.0.0.1:${options.target + offset}`];
      server.roots.push(await start(options.websockify as string, args, /proxying|Listen/i, { onLine }));
    }
  }
  server.idle = pidsOf(server).length;
  return server;
}

/** The steps of one session, by name; stalled downloads last (a server that buffers keeps what it grew to). */
function stepsFor(path: string, options: ChromiumOptions): Array<[string, Step]> {
  const steps: Array<[string, Step]> = [
    ['warmUpload', { scenario: 'upload', bytes: options.warmBytes }],
    ['warmDownload', { scenario: 'download', bytes: options.warmBytes }],
    ['upload', { scenario: 'upload', bytes: options.bytes }],
    ['download', { scenario: 'download', bytes: options.bytes }],
    ['latency', { scenario: 'latency', count: 2000 }],
    ['stalledPage', { scenario: 'stalledPage', bytes: options.stalledBytes, stallMs: 5000 }],
  ];
  if (path.startsWith('socketgate'))
    steps.push(['stalledReader', { scenario: 'stalledReader', bytes: options.stalledBytes, stallMs: 5000 }]);
  return steps;
}

/** One step, with the server's CPU seconds, RSS (and PSS for a process tree) and full GCs during it. */
async function measure(server: Server, browser: ChildProcess, channel: PageChannel, name: string, step: Step): Promise<Result> {
  await settled(server);
  const cpuBefore = cpuSeconds(pidsOf(server));
  const browserPids = () => (browser.pid ? tree(browser.pid) : []);
  const browserCpuBefore = cpuSeconds(browserPids());
  const gcsBefore = server.fullGcs;
  const externalBefore = server.externalGcs;
  const rssBeforeKiB = rssKiB(server);
  let rssPeakKiB = rssBeforeKiB;
  // PSS where processes share pages (websockify's forks, each counting its parent's pages in its RSS).
  const withPss = server.roots.length > 1;
  const pssBeforeKiB = withPss ? pssKiB(server) : 0;
  let pssPeakKiB = pssBeforeKiB;
  const stopRss = every(25, () => {
    rssPeakKiB = Math.max(rssPeakKiB, rssKiB(server));
  });
  const stopPss = withPss
    ? every(250, () => {
        pssPeakKiB = Math.max(pssPeakKiB, pssKiB(server));
      })
    : () => {};
  let result: Result;
  try {
    channel.send(step);
    result = (await channel.next(STEP_LIMIT_MS, name)) as Result;
  } finally {
    stopRss();
    stopPss();
  }
  // A forked child's CPU time reaches its parent once it has exited and been reaped.
  await settled(server);
  return {
    ...result,
    serverCpuSeconds: cpuSeconds(pidsOf(server)) - cpuBefore,
    browserCpuSeconds: cpuSeconds(browserPids()) - browserCpuBefore,
    fullGcs: server.fullGcs - gcsBefore,
    externalMemoryGcs: server.externalGcs - externalBefore,
    rssBeforeKiB,
    rssPeakKiB,
    ...(withPss ? { pssBeforeKiB, pssPeakKiB } : {}),
  };
}

interface Current {
  config: PageConfig;
  channel: PageChannel;
}

async function runSession(
  path: string,
  index: number,
  options: ChromiumOptions,
  state: { current?: Current | undefined },
): Promise<ChromiumSession> {
  const origin = `http://127.0.0.1:${PAGE}`;
  const record: ChromiumSession = { path, session: index, steps: {}, log: [] };
  let server: Server | undefined;
  let chromium: ChildProcess | undefined;
  const profile = temporaryFolder('socketgate-bench-chromium-');
  const channel = new PageChannel();
  try {
    server = await startServer(path, index, options, origin);
    state.current = {
      channel,
      config: {
        // The baseline gateway's page is socketgate's.
        path: (path === 'socketgate-baseline' ? 'socketgate' : path) as PageConfig['path'],
        target: options.target,
        gateway: `ws://127.0.0.1:${GATEWAY}/v1/socket`,
        token: options.token,
        bridge: `ws://127.0.0.1:${BRIDGE}/`,
        websockify: Object.fromEntries([0, 1, 2].map((offset) => [options.target + offset, WEBSOCKIFY_BASE + offset])),
        wisp: `ws://127.0.0.1:${WISP}/`,
        ...(options.profileDir ? { jsProfile: true } : {}),
      },
    };
    const browserLines: string[] = [];
    const url = `${origin}/?path=${path}&session=${index}`;
    chromium = await start(options.chromium, [...FLAGS, `--user-data-dir=${profile}`, url], undefined, {
      detached: true,
      onLine: (line) => {
        browserLines.push(line);
        if (browserLines.length > 20) browserLines.shift();
      },
    });
    chromium.once('exit', (code, signal) =>
      channel.fail(new Error(`Chromium exited (${code ?? signal}) during the session:\n  ${browserLines.join('\n  ')}`)),
    );
    record.page = (await channel.next(60_000, 'loading the page')) as Result;
    for (const [name, step] of stepsFor(path, options)) {
      const result = await measure(server, chromium, channel, name, step);
      record.steps[name] = result;
      if (options.profileDir && result.jsProfile !== undefined) {
        writeFileSync(join(options.profileDir, `page-${path}-${index}-${name}.json`), `${JSON.stringify(result.jsProfile, null, 1)}\n`);
      }
      if (result.failed) console.log(`chromium ${path} session ${index} ${name}: failed (${result.reason})`);
    }
    channel.send({ scenario: 'done' });
  } catch (error) {
    record.failed = error instanceof Error ? error.message : String(error);
    console.log(`chromium ${path} session ${index}: failed (${record.failed.split('\n')[0]})`);
    if (server) record.log.push(...server.output.map((line) => `server: ${line}`));
  } finally {
    state.current = undefined;
    if (chromium) await stopAndWait(chromium);
    for (const root of server?.roots ?? []) await stopAndWait(root, options.profileDir ? 'SIGTERM' : 'SIGKILL');
    removeFolder(profile);
  }
  record.log.push(...channel.log);
  const mb = (step: string) => Math.round(stepValue(record, step, 'mbPerSecond'));
  console.log(
    `chromium ${path} session ${index}: upload ${mb('upload')} MB/s, download ${mb('download')} MB/s, echo p50 ${Math.round(stepValue(record, 'latency', 'p50us'))} µs`,
  );
  return record;
}

/**
 * Runs the phase: `options.sessions` sessions of every path, interleaved. Paths that cannot run here
 * (websockify not installed, wisp-js not bundled) are skipped with the reason.
 */
export async function chromiumPhase(options: ChromiumOptions): Promise<ChromiumResults> {
  const { code, wispError } = await bundlePage();
  const paths = ['socketgate', ...(options.baselineGatewayArgs ? ['socketgate-baseline'] : []), 'bridge'];
  const skipped: Record<string, string> = {};
  if (options.websockify) paths.push('websockify');
  else skipped.websockify = 'websockify is not installed and cannot be installed here';
  if (wispError) skipped.wisp = `wisp-js's browser client could not be bundled for the page: ${wispError}`;
  else paths.push('wisp');
  for (const path of [...paths]) {
    if (options.paths && !options.paths.includes(path)) {
      paths.splice(paths.indexOf(path), 1);
      skipped[path] = 'left out by BENCH_CHROMIUM_PATHS';
    }
  }
  for (const [path, why] of Object.entries(skipped)) console.log(`chromium ${path}: skipped (${why})`);
  const state: { current?: Current | undefined } = {};
  const server = await pageServer(code, () => state.current, options.profileDir !== undefined);
  const sessions: ChromiumSession[] = [];
  try {
    for (let index = 1; index <= options.sessions; index++) {
      for (const path of paths) sessions.push(await runSession(path, index, options, state));
      console.log(`chromium session ${index} done`);
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
  return { paths, skipped, sessions };
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** A step's number in one session; NaN when the step failed or did not run. */
export const stepValue = (session: ChromiumSession, step: string, key: string): number => {
  const result = session.steps[step];
  return !result || result.failed ? Number.NaN : Number(result[key]);
};
/** A path's sessions in order. */
export const sessionsOf = (results: ChromiumResults, path: string) => results.sessions.filter((session) => session.path === path);
/** The server's CPU seconds per GiB of a transfer step. */
export const cpuPerGiB = (session: ChromiumSession, step: string, bytes: number) =>
  stepValue(session, step, 'serverCpuSeconds') / (bytes / GiB);
/** Chromium's CPU seconds (all its processes) per GiB of a transfer step. */
const browserPerGiB = (session: ChromiumSession, step: string, bytes: number) =>
  stepValue(session, step, 'browserCpuSeconds') / (bytes / GiB);
/** The median over a path's sessions. */
export const medianOf = (results: ChromiumResults, path: string, value: (session: ChromiumSession) => number) =>
  median(sessionsOf(results, path).map(value));

const lost = (result: Result | undefined) => !result || result.failed || result.arrived === false || result.closeArrived === false;
const growthMiB = (result: Result | undefined, key: 'rss' | 'pss') =>
  (Number(result?.[`${key}PeakKiB`]) - Number(result?.[`${key}BeforeKiB`])) / 1024;
/** A stalled download: the server's growth, PSS where sampled, and whether every byte and the close arrived. */
const stalledCell = (result: Result | undefined) => {
  if (!result) return '—';
  if (result.failed) return `failed (${result.reason})`;
  const pss = result.pssPeakKiB === undefined ? '' : ` (PSS ${fmt(growthMiB(result, 'pss'), 1)})`;
  const arrived = result.arrived === true ? 'all bytes' : `${fmt(Number(result.received) / MiB, 1)} MiB arrived`;
  return `${fmt(growthMiB(result, 'rss'), 1)}${pss}; ${arrived}, close ${result.closeArrived === true ? 'arrived' : 'lost'}`;
};
const throughputCell = (session: ChromiumSession, step: string) =>
  `${fmt(stepValue(session, step, 'mbPerSecond'))}${lost(session.steps[step]) && session.steps[step] && !session.steps[step]?.failed ? ' (lost bytes or the close)' : ''}`;
const gcCell = (session: ChromiumSession, step: string) => {
  const result = session.steps[step];
  if (result?.fullGcs === undefined || session.path === 'websockify') return '—';
  return `${result.fullGcs} (${result.externalMemoryGcs})`;
};

/** The Chromium phase's tables: medians per path, then every session. */
export function chromiumMarkdown(results: ChromiumResults, bytes: number): string {
  const summary = [
    '| path | upload MB/s | download MB/s | echo p50 µs | echo p99 µs | server CPU s/GiB upload | server CPU s/GiB download | stalled page: server RSS growth MiB (PSS), most in a session |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.paths.map((path) => {
      const of = (value: (session: ChromiumSession) => number, digits = 0) => fmt(medianOf(results, path, value), digits);
      const most = (key: 'rss' | 'pss') =>
        Math.max(...sessionsOf(results, path).map((session) => growthMiB(session.steps.stalledPage, key)));
      const pss = sessionsOf(results, path).some((session) => session.steps.stalledPage?.pssPeakKiB !== undefined);
      return `| ${[
        path,
        of((s) => stepValue(s, 'upload', 'mbPerSecond')),
        of((s) => stepValue(s, 'download', 'mbPerSecond')),
        of((s) => stepValue(s, 'latency', 'p50us')),
        of((s) => stepValue(s, 'latency', 'p99us')),
        of((s) => cpuPerGiB(s, 'upload', bytes), 2),
        of((s) => cpuPerGiB(s, 'download', bytes), 2),
        `${fmt(most('rss'), 1)}${pss ? ` (PSS ${fmt(most('pss'), 1)})` : ''}`,
      ].join(' | ')} |`;
    }),
  ].join('\n');
  const rows = results.paths.flatMap((path) =>
    sessionsOf(results, path).map((session) =>
      session.failed && Object.keys(session.steps).length === 0
        ? `| ${path} | ${session.session} | failed: ${session.failed.split('\n')[0]} ||||||||||`
        : `| ${[
            path,
            session.session,
            throughputCell(session, 'upload'),
            throughputCell(session, 'download'),
            fmt(stepValue(session, 'latency', 'p50us')),
            fmt(stepValue(session, 'latency', 'p99us')),
            fmt(cpuPerGiB(session, 'upload', bytes), 2),
            fmt(cpuPerGiB(session, 'download', bytes), 2),
            `${fmt(browserPerGiB(session, 'upload', bytes), 2)} / ${fmt(browserPerGiB(session, 'download', bytes), 2)}`,
            gcCell(session, 'upload'),
            gcCell(session, 'download'),
            stalledCell(session.steps.stalledPage),
            path.startsWith('socketgate') ? stalledCell(session.steps.stalledReader) : '—',
          ].join(' | ')} |${session.failed ? ` then failed: ${session.failed.split('\n')[0]}` : ''}`,
    ),
  );
  const perSession = [
    '| path | session | upload MB/s | download MB/s | echo p50 µs | echo p99 µs | CPU s/GiB upload | CPU s/GiB download | browser CPU s/GiB up / down | full GCs in the upload (for external memory) | full GCs in the download (for external memory) | stalled page: RSS growth MiB | stalled reader (SDK read buffer): RSS growth MiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...rows,
  ].join('\n');
  const first = results.sessions.find((session) => session.page)?.page;
  const browser = /HeadlessChrome\/[\d.]+/.exec(String(first?.userAgent ?? ''))?.[0] ?? 'Chromium';
  const isolated = results.sessions.every((session) => !session.page || session.page.crossOriginIsolated === true);
  const skipped = Object.entries(results.skipped).map(([path, why]) => `- ${path} skipped: ${why}.`);
  const note = [
    `${browser} (Debian's), headless, no DevTools driver attached; a fresh server process and a fresh browser profile per session, sessions interleaved across paths. Each session: an unmeasured upload and download, then ${fmt(bytes / MiB)} MiB each way, 2,000 echoes of 64 bytes after 200 unmeasured, and stalled downloads.`,
    "Paths: socketgate (the SDK bundled into the page), bridge (the browser's WebSocket to bench/bridge.ts, a minimal `ws` server piping each WebSocket to one TCP connection with back-pressure: the clean reference), websockify (the browser's WebSocket, subprotocol binary, to Debian's websockify), wisp (wisp-js's browser client to its server).",
    'Server CPU: user and system seconds from /proc/PID/stat (with reaped children: websockify forks per connection) during the transfer, per GiB; browser CPU likewise, summed over every Chromium process. Full GCs: Mark-Compact collections of a Node server during the transfer (from --trace-gc), in parentheses those V8 started for external memory pressure.',
    "Stalled page: a download during which the page's main thread is busy for 5 s, so the browser stops reading the WebSocket; the server's RSS growth (peak over the start, sampled every 25 ms; PSS every 250 ms) and whether every byte and the close then arrived. Stalled reader: socketgate only, the SDK's way for an application to stop reading (a 64 KiB read buffer left unread for 5 s); a page cannot stop a plain WebSocket from delivering.",
    ...(isolated ? [] : ['The page was not cross-origin isolated in every session: its timer was then precise to 100 µs only.']),
    ...skipped,
  ].join('\n\n');
  return `Medians over the sessions:\n\n${summary}\n\nEvery session:\n\n${perSession}\n\n${note}\n`;
}

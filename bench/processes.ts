/**
 * The processes the benchmark starts and what it reads of them in /proc. Every process started here
 * is stopped with its descendants when the benchmark ends, also on a failure or a signal (run.ts
 * calls {@link stopAll} on exit), and every temporary folder made here is removed then.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set<ChildProcess>();
const detached = new WeakSet<ChildProcess>();
const folders = new Set<string>();

interface StartOptions {
  /** In a process group of its own, stopped as a group (Chromium and its helpers). */
  detached?: boolean;
  /** Called with every line the process prints on stdout or stderr, before and after it is ready. */
  onLine?: (line: string) => void;
}

/**
 * Starts a process and resolves once its output matches `ready` (at once without it); rejects when
 * it exits first. Its output is read to the end, and only its last lines are kept for messages.
 */
export function start(command: string, args: string[], ready?: RegExp, options: StartOptions = {}): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  running.add(child);
  if (options.detached) detached.add(child);
  child.once('exit', () => running.delete(child));
  let tail: string[] = [];
  let isReady = !ready;
  let output = '';
  return new Promise((resolve, reject) => {
    const look = (chunk: Buffer) => {
      const text = chunk.toString();
      if (options.onLine) for (const line of text.split('\n')) if (line) options.onLine(line);
      tail = [...tail, ...text.split('\n').filter(Boolean)].slice(-20);
      if (isReady) return;
      output += text;
      if (ready?.test(output)) {
        isReady = true;
        output = '';
        resolve(child);
      }
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('error', (error) => reject(new Error(`${command}: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (!isReady) reject(new Error(`${command} exited with ${code ?? signal} before it was ready:\n  ${tail.join('\n  ')}`));
    });
    if (isReady) resolve(child);
  });
}

/** The pid and all its descendants (websockify and socat fork a process per connection). */
export function tree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
        const children = readFileSync(`/proc/${pids[i]}/task/${task}/children`, 'utf8').trim();
        if (children) pids.push(...children.split(' ').map(Number));
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids;
}

/** Stops a process and its descendants at once (SIGKILL), and its group when it has one. */
export function stop(child: ChildProcess): void {
  if (!child.pid) return;
  const alive = child.exitCode === null && child.signalCode === null;
  const pids = alive ? tree(child.pid) : [];
  if (detached.has(child)) pids.unshift(-child.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Stops a process and waits (bounded) until it is gone, so that the next one starts on a quiet
 * machine. With SIGTERM the process may end on its own first (a Node server writing its
 * --cpu-prof profile); after 10 s it is killed.
 */
export async function stopAndWait(child: ChildProcess, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (signal === 'SIGTERM') {
    child.kill('SIGTERM');
    if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
  }
  stop(child);
  await Promise.race([exited, sleep(5000)]);
}

/** A new empty folder, removed when the benchmark ends (or earlier by {@link removeFolder}). */
export function temporaryFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  folders.add(folder);
  return folder;
}

export function removeFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
  folders.delete(folder);
}

/** Stops every process started here and removes every temporary folder; synchronous, for an exit handler. */
export function stopAll(): void {
  for (const child of running) stop(child);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  folders.clear();
}

/** A field of /proc/PID/status (VmRSS) or smaps_rollup (Pss), KiB; 0 once the process is gone. */
export const procKiB = (pid: number, file: string, field: string): number => {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU seconds of processes from /proc/PID/stat: utime + stime, plus cutime + cstime, so that the
 * children a process forked and reaped (websockify's and socat's, one per connection) count.
 */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces), from field 3 (state): 14-17 are
      // utime, stime, cutime and cstime.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // The process ended meanwhile: its times moved to its parent's cutime and cstime.
    }
  }
  return ticks / ticksPerSecond;
}

/** Calls `sample` every `ms`, or less often when sampling itself is slow (hundreds of processes). */
export function every(ms: number, sample: () => void): () => void {
  let timer: NodeJS.Timeout;
  const tick = () => {
    const start = performance.now();
    sample();
    timer = setTimeout(tick, Math.max(ms, 4 * (performance.now() - start)));
  };
  timer = setTimeout(tick, ms);
  return () => clearTimeout(timer);
}

const which = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).stdout.trim();

/**
 * The path of a command from a Debian package, installing the package when the command is missing
 * and the benchmark runs as root with apt-get; undefined when it cannot be had.
 */
export function debianCommand(command: string, debianPackage: string): string | undefined {
  const found = which(command);
  if (found || process.getuid?.() !== 0 || !which('apt-get')) return found || undefined;
  console.log(`installing Debian's ${debianPackage} for the benchmark`);
  const install = `apt-get install -y -qq --no-install-recommends ${debianPackage} >/dev/null 2>&1`;
  spawnSync('sh', ['-c', `${install} || (apt-get update -qq && ${install})`], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return which(command) || undefined;
}

/** /proc/loadavg: the 1, 5 and 15 minute load averages, and runnable/total tasks. */
export const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').trim();

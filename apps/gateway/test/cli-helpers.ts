import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/socketgate.js', import.meta.url));

/** Runs the socketgate CLI as a child process (killed when the test finishes) and collects its output lines. */
export function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; lines: string[]; line(pattern: RegExp): Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  const waiting: Array<() => void> = [];
  let partial = '';
  const take = (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiting.splice(0)) wake();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return {
    child,
    lines,
    async line(pattern) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const match = lines.map((line) => line.match(pattern)).find(Boolean);
        if (match) return match;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no line like ${pattern} in:\n${lines.join('\n')}`);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

/** A started process (killed when the test finishes), its stdout and stderr together, and its exit. */
export interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts `command` with `args` the way `run` does, for commands other than the workspace's CLI. */
export function start(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Started {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let output = '';
  const take = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => output, exited };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { closedPort } from './servers.js';

/** A long-running program a fixture starts (a server from Debian), with what it printed. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far, interleaved. */
  output(): string;
  /** Rejects when the program cannot start or exits, naming it and quoting its output; never resolves. */
  exited: Promise<never>;
  /** Resolves once `pattern` appears in its output; rejects if it exits first or after `timeoutMs`. */
  waitForOutput(pattern: string | RegExp, timeoutMs: number): Promise<void>;
  /** Sends it `signal` (SIGKILL unless given; SIGKILL after 3 s anyway) and resolves when it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const STOP_GRACE_MS = 3000;

/** Starts `command` with stdin, stdout and stderr piped; `what` names it in errors, with a hint to install it. */
export function startServiceProcess(
  command: string,
  args: string[],
  options: { what: string; cwd?: string; env?: NodeJS.ProcessEnv },
): ServiceProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  child.stdin?.on('error', () => {});
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`${options.what} could not start: ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`${options.what} exited (${code ?? signal}):\n${output}`)));
  });
  exited.catch(() => {});
  const matches = (pattern: string | RegExp): boolean => (typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output));
  return {
    child,
    output: () => output,
    exited,
    waitForOutput: (pattern, timeoutMs) => {
      let listener = (): void => {};
      let timer: NodeJS.Timeout | undefined;
      const seen = new Promise<void>((resolve, reject) => {
        listener = () => {
          if (matches(pattern)) resolve();
        };
        timer = setTimeout(() => reject(new Error(`${options.what} did not print ${pattern} in ${timeoutMs} ms:\n${output}`)), timeoutMs);
        listeners.add(listener);
        listener();
      });
      return Promise.race([seen, exited]).finally(() => {
        listeners.delete(listener);
        clearTimeout(timer);
      });
    },
    stop: (signal = 'SIGKILL') =>
      new Promise<void>((resolve) => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(signal);
      }),
  };
}

const PORT_TRIES = 3;

/**
 * Starts a server program on a port on 127.0.0.1 found free. Such programs cannot be told to pick
 * one themselves, so another process may take the port first: `start` then rejects with an error
 * that says "in use" (a program's bind error does), and it runs again on another port.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await closedPort();
    try {
      return await start(port);
    } catch (error) {
      if (attempt < PORT_TRIES && error instanceof Error && /in use/i.test(error.message)) continue;
      throw error;
    }
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GatewayChildOptions } from './gateway-child.js';

const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export type { GatewayChildOptions };

/** A gateway in a process of its own: an exception that escapes it ends that process, not the test. */
export interface GatewayProcess {
  child: ChildProcess;
  port: number;
  /** ws://127.0.0.1:port/v1/socket */
  url: string;
  /** What the process wrote to stderr (an uncaught exception's stack lands here). */
  readonly stderr: string;
  /** How the process ended, once it has: `code 1`, `signal SIGKILL`. */
  readonly exited: string | undefined;
  /**
   * Throws, with the process's stderr, unless the process is running and `/healthz` answers 200
   * within `timeoutMs`.
   */
  assertAlive(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after a moment; resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts a gateway child process (Node, the gateway's TypeScript sources through tsx) on
 * 127.0.0.1:0 with `options`; its resolver knows only `options.names`. The caller stops it.
 */
export async function startGatewayProcess(options: GatewayChildOptions = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--conditions=@socketgate/source', '--import', 'tsx', CHILD, JSON.stringify(options)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let exited: string | undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 1 << 16) stderr += chunk.toString();
  });
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal === null ? `code ${code}` : `signal ${signal}`;
      resolve();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the gateway process did not listen within 20 s:\n${stderr}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^\{"port":(\d+)\}$/m.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
    void gone.then(() => {
      clearTimeout(timer);
      reject(new Error(`the gateway process ended (${exited}) before it listened:\n${stderr}`));
    });
  });
  const dead = (why: string): Error => new Error(`the gateway process ${why}\n--- its stderr ---\n${stderr}`);
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}/v1/socket`,
    get stderr() {
      return stderr;
    },
    get exited() {
      return exited;
    },
    async assertAlive(timeoutMs = 5000) {
      if (exited !== undefined) throw dead(`ended (${exited})`);
      let status: number;
      try {
        status = (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) })).status;
      } catch (error) {
        // A process that just died fails the request: say so rather than "fetch failed".
        await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 200))]);
        throw dead(exited === undefined ? `did not answer /healthz: ${(error as Error).message}` : `ended (${exited})`);
      }
      if (status !== 200) throw dead(`answered /healthz with ${status}`);
      if (exited !== undefined) throw dead(`ended (${exited})`);
    },
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
}

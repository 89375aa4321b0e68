import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../apps/gateway/bin/socketgate.js', import.meta.url));

export interface GatewayProcess {
  /** The development token this start made (the gateway was given none). */
  token: string;
  /** The web terminal URL the gateway printed. */
  terminalUrl: string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** Sends `signal` and returns (SIGSTOP freezes the gateway, SIGCONT lets it go on). */
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal` (SIGKILL unless told) and waits for the process to exit (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the gateway's command as `pnpm start` does, with its demo services and the web terminal, on
 * 127.0.0.1:`port` (demo services on `demoPort` and the two after it), without a token: each start
 * makes and prints a new development token. Resolves once /readyz answers and the banner is out.
 */
export async function startGateway(port: number, demoPort: number): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, '--demo', '--port', String(port), '--demo-port', String(demoPort), '--log-level', 'warn'],
    // Metrics on the main port, never on the default metrics port a gateway the developer runs may hold.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SOCKETGATE_METRICS_PORT: '0' } },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (exited()) return;
    const exit = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(timer);
  };
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (exited()) throw new Error(`the gateway exited at start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the gateway was not ready within 20 s:\n${output}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
        (response) => response.ok,
        () => false,
      );
      const token = /^development token: (\S+)$/m.exec(output)?.[1];
      const terminalUrl = /^web terminal on (\S+)$/m.exec(output)?.[1];
      if (ready && token && terminalUrl) return { token, terminalUrl, exited, signal: (signal) => child.kill(signal), stop };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

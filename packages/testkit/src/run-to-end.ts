import { spawn } from 'node:child_process';

/**
 * Runs a command to its end without blocking this process (a test's own servers answer meanwhile),
 * killed after `timeoutMs`; resolves with its stdout on exit code 0, rejects with both outputs.
 */
export function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number; what?: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${options.what ?? `${command} ${args.join(' ')}`} failed (${code}):\n${stdout}\n${stderr}`));
    });
  });
}

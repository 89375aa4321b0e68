import { readFileSync } from 'node:fs';
import { hostProblem } from '@socketgate/protocol';

/** `host:port` or `[v6]:port`, as a ticket's `target` claim or a targets file names it; undefined when it is not one. */
export function parseTarget(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const host = (match[1] ?? match[2]) as string;
  const port = Number(match[3]);
  if (port < 1 || port > 65535 || hostProblem(host) !== undefined) return undefined;
  return { host, port };
}

/**
 * Reads a targets file in websockify's TokenFile form: one `token: host:port` per line (`[v6]:port`
 * for IPv6), blank lines and `#` comments ignored. Each token is a credential whose one destination
 * is its target. A line that is not of that form fails, naming the file and the line (never the token).
 */
export function readTargetsFile(file: string): Map<string, string> {
  const targets = new Map<string, string>();
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const token = colon < 0 ? '' : line.slice(0, colon).trim();
    const target = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (token.length < 8 || parseTarget(target) === undefined) {
      throw new Error(`${file} line ${index + 1}: expected "token: host:port" with a token of at least 8 characters`);
    }
    targets.set(token, target);
  });
  return targets;
}

/**
 * The TLS phase of `pnpm bench`: a TLS download (the target sends, the client reads) straight with
 * node:tls (raw, the ceiling) and through the gateway with the SDK's QSslSocket (the gateway does the
 * TLS, so the bytes it relays are decrypted there and sent on as plaintext frames). Target, gateway
 * and client each a process of their own, interleaved over the rounds; medians, and the gateway's CPU
 * seconds per GiB.
 */
import { makeTestPki } from '../packages/testkit/src/certs.js';
import { runToEnd } from '../packages/testkit/src/run-to-end.js';
import { cpuSeconds, start, stop } from './processes.js';

export interface TlsPhaseOptions {
  rounds: number;
  bytes: number;
  /** Ports for the TLS target and its gateway. */
  targetPort: number;
  gatewayPort: number;
  token: string;
  tsx: string[];
  /** Node's arguments to start a gateway on a port. */
  gatewayArgs: (port: number) => string[];
}

export interface TlsResults {
  bytes: number;
  raw: number[];
  socketgate: number[];
  /** The gateway's CPU seconds per GiB downloaded through TLS. */
  gatewayCpuPerGiB: number;
  /** Every byte arrived in every round. */
  complete: boolean;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Runs the TLS client once; resolves with its measurement. */
async function client(tsx: string[], path: 'raw' | 'socketgate', options: object): Promise<{ mbPerSecond: number; arrived: boolean }> {
  const out = await runToEnd(process.execPath, [...tsx, 'bench/tls-client.ts', path, JSON.stringify(options)], {
    cwd: process.cwd(),
    timeoutMs: 120_000,
    what: `tls ${path}: the client`,
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as { mbPerSecond: number; arrived: boolean };
}

export async function tlsPhase(options: TlsPhaseOptions): Promise<TlsResults> {
  const pki = makeTestPki();
  const target = await start(
    process.execPath,
    [...options.tsx, 'bench/tls-target.ts', String(options.targetPort), pki.valid.certFile, pki.valid.keyFile],
    /ready/,
  );
  const gateway = await start(
    process.execPath,
    [...options.gatewayArgs(options.gatewayPort), '--allow', `127.0.0.1/32:${options.targetPort}`],
    /listening on/,
  );
  try {
    const common = { port: options.targetPort, ca: pki.ca.pem, bytes: options.bytes };
    const through = { ...common, gateway: `ws://127.0.0.1:${options.gatewayPort}/v1/socket`, token: options.token };
    // One unmeasured download each way first.
    await client(options.tsx, 'raw', common);
    await client(options.tsx, 'socketgate', through);
    const results: TlsResults = { bytes: options.bytes, raw: [], socketgate: [], gatewayCpuPerGiB: Number.NaN, complete: true };
    let cpu = 0;
    for (let round = 0; round < options.rounds; round++) {
      const direct = await client(options.tsx, 'raw', common);
      const before = cpuSeconds([gateway.pid ?? 0]);
      const relayed = await client(options.tsx, 'socketgate', through);
      cpu += cpuSeconds([gateway.pid ?? 0]) - before;
      results.raw.push(direct.mbPerSecond);
      results.socketgate.push(relayed.mbPerSecond);
      results.complete &&= direct.arrived && relayed.arrived;
      console.log(`tls round ${round + 1}: raw ${direct.mbPerSecond.toFixed(0)} MB/s, socketgate ${relayed.mbPerSecond.toFixed(0)} MB/s`);
    }
    results.gatewayCpuPerGiB = cpu / ((options.rounds * options.bytes) / 1024 ** 3);
    return results;
  } finally {
    stop(gateway);
    stop(target);
    pki.remove();
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

export function tlsMarkdown(results: TlsResults): string {
  const raw = median(results.raw);
  const relayed = median(results.socketgate);
  return [
    `A ${results.bytes / 1024 ** 2} MiB download over TLS 1.3 (TLS_AES_256_GCM_SHA384), medians of ${results.raw.length} rounds:`,
    '',
    '| path | TLS download MB/s | × raw | gateway CPU s/GiB | every byte arrived |',
    '| --- | ---: | ---: | ---: | --- |',
    `| raw (node:tls straight to the target) | ${fmt(raw)} | 1.00 | — | ${results.complete ? 'yes' : 'no'} |`,
    `| socketgate (QSslSocket; the gateway does the TLS) | ${fmt(relayed)} | ${fmt(relayed / raw, 2)} | ${fmt(results.gatewayCpuPerGiB, 2)} | ${results.complete ? 'yes' : 'no'} |`,
    '',
  ].join('\n');
}

/**
 * A gateway in a process of its own (run with --expose-gc) for memory ceilings: it prints its port,
 * then answers each "mem" line on stdin with one JSON line of process.memoryUsage() after a full
 * collection (with its frame pool and open descriptors), and "stats" with the gateway's own counts.
 */
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGateway } from '@socketgate/gateway';
import { pooledFrameBytes } from '../../src/frame-pool.js';

const app = await createGateway({ tokens: ['test-token-0123456789'], allow: ['127.0.0.1/32'], streamIdleTimeoutMs: 0, metricsPort: 0 });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ port: Number(new URL(address).port) }));
const collect = globalThis.gc as (() => void) | undefined;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'mem') {
    for (let i = 0; i < 3; i++) {
      collect?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    console.log(
      JSON.stringify({ mem: { ...process.memoryUsage(), pooled: pooledFrameBytes(), fds: readdirSync('/proc/self/fd').length } }),
    );
  } else if (line === 'stats') {
    console.log(JSON.stringify({ stats: app.socketgate.stats() }));
  }
}
await app.close();

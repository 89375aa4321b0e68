/**
 * A gateway in a process of its own that counts what its JavaScript allocates in Buffers (for the
 * upload path's regression test): it prints its port, then answers each "allocated" line on stdin
 * with one JSON line: the bytes asked of Buffer.allocUnsafe, allocUnsafeSlow, alloc and concat so
 * far, the full collections V8 ran so far, and the bytes of ArrayBuffers alive after a full
 * collection (it runs with --expose-gc). Garbage collection is set as the socketgate command sets it.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { applyGcSettings, createGateway } from '@socketgate/gateway';

applyGcSettings({ incrementalMarking: false });

let bytes = 0;
let calls = 0;
for (const name of ['allocUnsafe', 'allocUnsafeSlow', 'alloc'] as const) {
  const original = Buffer[name] as (size: number, ...rest: unknown[]) => Buffer;
  (Buffer as unknown as Record<string, unknown>)[name] = (size: number, ...rest: unknown[]) => {
    bytes += size;
    calls++;
    return original.call(Buffer, size, ...rest);
  };
}
// Node's own concat allocates through its internal allocUnsafe, which the wrappers above do not see.
const concat = Buffer.concat;
Buffer.concat = (list: readonly Uint8Array[], totalLength?: number) => {
  const result = concat.call(Buffer, list, totalLength);
  bytes += result.byteLength;
  calls++;
  return result;
};
let majorGcs = 0;
let forced = 0;
new PerformanceObserver((entries) => {
  for (const entry of entries.getEntries()) if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 4) majorGcs++;
}).observe({ entryTypes: ['gc'] });

/**
 * The bytes of ArrayBuffers left after full collections: V8 frees their memory on a thread of its
 * own after a collection, so it collects until the count stops falling (at most ten times).
 */
async function liveArrayBuffers(): Promise<number> {
  let live = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    (globalThis as { gc: () => void }).gc();
    forced++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = process.memoryUsage().arrayBuffers;
    if (now >= live) break;
    live = now;
  }
  return live;
}

const app = await createGateway({ tokens: ['test-token-0123456789'], allow: ['127.0.0.1/32'], metricsPort: 0 });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ port: Number(new URL(address).port) }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'allocated') {
    // The collections asked for here are not counted (their entries arrive after this answer).
    const gcs = majorGcs - forced;
    console.log(JSON.stringify({ bytes, calls, majorGcs: gcs, arrayBuffers: await liveArrayBuffers() }));
  }
}
await app.close();

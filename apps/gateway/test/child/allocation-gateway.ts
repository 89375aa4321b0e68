/**
 * A gateway in a process of its own that counts what its JavaScript allocates in Buffers (for the
 * upload path's regression test): it prints its port, then answers each "allocated" line on stdin
 * with one JSON line: the bytes asked of Buffer.allocUnsafe, allocUnsafeSlow, alloc and concat so
 * far, and the full collections V8 ran so far (reported, never asserted: they depend on timing).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createGateway } from '@socketgate/gateway';

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
new PerformanceObserver((entries) => {
  for (const entry of entries.getEntries()) if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === 4) majorGcs++;
}).observe({ entryTypes: ['gc'] });

const app = await createGateway({ tokens: ['test-token-0123456789'], allow: ['127.0.0.1/32'], metricsPort: 0 });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ port: Number(new URL(address).port) }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'allocated') console.log(JSON.stringify({ bytes, calls, majorGcs }));
}
await app.close();

import { bundleSdk, measureSdkBundle, SDK_GZIP_LIMIT_BYTES } from '@socketgate/testkit';
import { expect, it } from 'vitest';

it('bundles for browsers under 15 KB minified and gzipped, with no Node built-in', async () => {
  const { bundle, minifiedBytes, gzippedBytes } = await measureSdkBundle();
  console.log(`@socketgate/sdk browser bundle: ${minifiedBytes} bytes minified, ${gzippedBytes} bytes gzipped`);
  expect(SDK_GZIP_LIMIT_BYTES).toBe(15 * 1024);
  expect(gzippedBytes).toBeLessThan(SDK_GZIP_LIMIT_BYTES);
  const inputs = Object.keys(bundle.metafile.inputs);
  expect(inputs.filter((input) => input.startsWith('node:') || /\/(ws|node-[a-z]+)\//.test(input))).toEqual([]);
  // Gateway messages are read with the protocol's light reader: the schema library stays out.
  const output = Object.values(bundle.metafile.outputs)[0];
  const zodBytes = Object.entries(output?.inputs ?? {}).reduce(
    (n, [input, { bytesInOutput }]) => n + (input.includes('/zod/') ? bytesInOutput : 0),
    0,
  );
  expect(zodBytes).toBe(0);
});

it('fails to bundle when a Node built-in sneaks in', async () => {
  await expect(
    bundleSdk("import { readFileSync } from 'node:fs'; export * from './index.ts'; export const x = readFileSync;"),
  ).rejects.toThrow(/node:fs/);
});

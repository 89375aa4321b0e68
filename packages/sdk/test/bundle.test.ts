import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const entry = new URL('../src/index.ts', import.meta.url).pathname;

/** The SDK as a browser bundles it: ESM, minified, every dependency inlined, browser platform. */
async function bundle(contents?: string) {
  return build({
    ...(contents === undefined
      ? { entryPoints: [entry] }
      : { stdin: { contents, resolveDir: new URL('../src/', import.meta.url).pathname, loader: 'ts' } }),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    write: false,
    metafile: true,
    conditions: ['@socketgate/source'],
    logLevel: 'silent',
  });
}

it('bundles for browsers under 15 KB minified and gzipped, with no Node built-in', async () => {
  const result = await bundle();
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  const gzipped = gzipSync(code).byteLength;
  console.log(`@socketgate/sdk browser bundle: ${code.byteLength} bytes minified, ${gzipped} bytes gzipped`);
  expect(gzipped).toBeLessThan(15 * 1024);
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.filter((input) => input.startsWith('node:') || /\/(ws|node-[a-z]+)\//.test(input))).toEqual([]);
  // Gateway messages are read with the protocol's light reader: the schema library stays out.
  const output = Object.values(result.metafile.outputs)[0];
  const zodBytes = Object.entries(output?.inputs ?? {}).reduce(
    (n, [input, { bytesInOutput }]) => n + (input.includes('/zod/') ? bytesInOutput : 0),
    0,
  );
  expect(zodBytes).toBe(0);
});

it('fails to bundle when a Node built-in sneaks in', async () => {
  await expect(
    bundle("import { readFileSync } from 'node:fs'; export * from './index.ts'; export const x = readFileSync;"),
  ).rejects.toThrow(/node:fs/);
});

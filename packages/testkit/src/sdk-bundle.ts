import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildResult, build } from 'esbuild';

const SDK_SOURCE = fileURLToPath(new URL('../../sdk/src/', import.meta.url));

/** The gzipped size the SDK's browser bundle must stay under. */
export const SDK_GZIP_LIMIT_BYTES = 15 * 1024;

export type SdkBundle = BuildResult<{ write: false; metafile: true }>;

/**
 * The SDK as a browser bundles it: ESM, minified, every dependency inlined, browser platform. With
 * `contents`, that module (resolved from the SDK's `src/`) is the entry instead of the SDK's index.
 */
export function bundleSdk(contents?: string): Promise<SdkBundle> {
  return build({
    ...(contents === undefined
      ? { entryPoints: [`${SDK_SOURCE}index.ts`] }
      : { stdin: { contents, resolveDir: SDK_SOURCE, loader: 'ts' } }),
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

/** The SDK's browser bundle and its sizes in bytes, minified and gzipped: the figures the docs quote. */
export async function measureSdkBundle(): Promise<{ bundle: SdkBundle; minifiedBytes: number; gzippedBytes: number }> {
  const bundle = await bundleSdk();
  const code = bundle.outputFiles[0]?.contents ?? new Uint8Array();
  return { bundle, minifiedBytes: code.byteLength, gzippedBytes: gzipSync(code).byteLength };
}

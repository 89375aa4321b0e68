import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as sdk from '@socketgate/sdk';
import { type BuildResult, build } from 'esbuild';

const SDK_SOURCE = fileURLToPath(new URL('../../sdk/src/', import.meta.url));

/** The gzipped size an app using the TCP/UDP API (no QSslSocket) bundles under. */
export const SOCKET_SDK_GZIP_LIMIT_BYTES = 15 * 1024;
/** The gzipped size the whole SDK, QSslSocket included, bundles under. */
export const SDK_GZIP_LIMIT_BYTES = 22 * 1024;

/** What the SDK exports for TLS (QSslSocket and its values), which an app of plain sockets leaves out. */
export const TLS_EXPORTS: readonly string[] = [
  'AlertLevel',
  'AlertType',
  'AlternativeNameEntryType',
  'EncodingFormat',
  'HashAlgorithm',
  'NextProtocolNegotiationStatus',
  'PeerVerifyMode',
  'QSslCertificate',
  'QSslCipher',
  'QSslConfiguration',
  'QSslError',
  'QSslSocket',
  'SslError',
  'SslMode',
  'SslProtocol',
  'SubjectInfo',
];
/** Every other value the SDK exports: the TCP/UDP API. */
export const SOCKET_EXPORTS: readonly string[] = Object.keys(sdk)
  .filter((name) => !TLS_EXPORTS.includes(name))
  .sort();

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

export interface MeasuredBundle {
  bundle: SdkBundle;
  minifiedBytes: number;
  gzippedBytes: number;
}

function measure(bundle: SdkBundle): MeasuredBundle {
  const code = bundle.outputFiles[0]?.contents ?? new Uint8Array();
  return { bundle, minifiedBytes: code.byteLength, gzippedBytes: gzipSync(code).byteLength };
}

/** The whole SDK's browser bundle and its sizes in bytes, minified and gzipped: the figures the docs quote. */
export async function measureSdkBundle(): Promise<MeasuredBundle> {
  return measure(await bundleSdk());
}

/** The bundle of an app that imports the TCP/UDP API only (every export but the TLS ones). */
export async function measureSocketBundle(): Promise<MeasuredBundle> {
  return measure(await bundleSdk(`export { ${SOCKET_EXPORTS.join(', ')} } from './index.ts';`));
}

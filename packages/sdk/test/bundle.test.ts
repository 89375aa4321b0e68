import * as sdk from '@socketgate/sdk';
import {
  bundleSdk,
  measureSdkBundle,
  measureSocketBundle,
  SDK_GZIP_LIMIT_BYTES,
  type SdkBundle,
  SOCKET_EXPORTS,
  SOCKET_SDK_GZIP_LIMIT_BYTES,
  TLS_EXPORTS,
} from '@socketgate/testkit';
import { describe, expect, it } from 'vitest';

const inputsOf = (bundle: SdkBundle) => Object.keys(bundle.metafile.inputs);

function expectBrowserOnly(bundle: SdkBundle): void {
  expect(inputsOf(bundle).filter((input) => input.startsWith('node:') || /\/(ws|node-[a-z]+)\//.test(input))).toEqual([]);
  // Gateway messages are read with the protocol's light reader: the schema library stays out.
  const output = Object.values(bundle.metafile.outputs)[0];
  const zodBytes = Object.entries(output?.inputs ?? {}).reduce(
    (n, [input, { bytesInOutput }]) => n + (input.includes('/zod/') ? bytesInOutput : 0),
    0,
  );
  expect(zodBytes).toBe(0);
}

describe('the browser bundle', () => {
  it('of an app using the TCP/UDP API stays under 15 KB minified and gzipped, without the TLS modules', async () => {
    expect(SOCKET_EXPORTS).toContain('QTcpSocket');
    expect(SOCKET_EXPORTS).toContain('QUdpSocket');
    expect(TLS_EXPORTS.every((name) => name in sdk)).toBe(true);
    const { bundle, minifiedBytes, gzippedBytes } = await measureSocketBundle();
    console.log(`@socketgate/sdk TCP/UDP browser bundle: ${minifiedBytes} bytes minified, ${gzippedBytes} bytes gzipped`);
    expect(SOCKET_SDK_GZIP_LIMIT_BYTES).toBe(15 * 1024);
    expect(gzippedBytes).toBeLessThan(SOCKET_SDK_GZIP_LIMIT_BYTES);
    expectBrowserOnly(bundle);
    const output = Object.values(bundle.metafile.outputs)[0];
    const tlsModules = Object.entries(output?.inputs ?? {})
      .filter(([input, { bytesInOutput }]) => bytesInOutput > 0 && (/\/sdk\/src\/ssl\//.test(input) || input.endsWith('tls-reader.ts')))
      .map(([input]) => input);
    expect(tlsModules).toEqual([]);
  });

  it('of the whole SDK, QSslSocket included, stays under 22 KB minified and gzipped', async () => {
    const { bundle, minifiedBytes, gzippedBytes } = await measureSdkBundle();
    console.log(`@socketgate/sdk browser bundle: ${minifiedBytes} bytes minified, ${gzippedBytes} bytes gzipped`);
    expect(SDK_GZIP_LIMIT_BYTES).toBe(22 * 1024);
    expect(gzippedBytes).toBeLessThan(SDK_GZIP_LIMIT_BYTES);
    expectBrowserOnly(bundle);
    expect(inputsOf(bundle).some((input) => input.endsWith('/sdk/src/ssl/ssl-socket.ts'))).toBe(true);
  });

  it('fails to bundle when a Node built-in sneaks in', async () => {
    await expect(
      bundleSdk("import { readFileSync } from 'node:fs'; export * from './index.ts'; export const x = readFileSync;"),
    ).rejects.toThrow(/node:fs/);
  });
});

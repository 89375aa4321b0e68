/**
 * The script a gateway child process runs (see gateway-process.ts): a real gateway from
 * `createGateway`, configured by the JSON in argv[2], listening on 127.0.0.1:0. It prints one line,
 * `{"port":N}`, once it listens. Nothing here catches errors: an exception that escapes the gateway
 * ends this process, which is what the tests that start it watch for.
 */
import { createGateway, type GatewayOptions, type ResolvedAddress } from '@socketgate/gateway';

export interface GatewayChildOptions extends Omit<GatewayOptions, 'resolver' | 'logger' | 'host' | 'port'> {
  /** The only names the gateway can resolve, with their addresses; every other name does not exist. */
  names?: Record<string, string[]>;
}

const { names = {}, ...options } = JSON.parse(process.argv[2] ?? '{}') as GatewayChildOptions;

// A fixed table instead of DNS: whatever a test sends, the gateway never asks the machine's resolver.
const resolver = async (hostname: string): Promise<ResolvedAddress[]> => {
  const addresses = Object.hasOwn(names, hostname) ? names[hostname] : undefined;
  if (addresses === undefined) throw Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const app = await createGateway({ metricsPort: 0, ...options, resolver, host: '127.0.0.1', port: 0 });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
// The test's end of stdin closes when the test process goes, however it goes: so does this one.
process.stdin.resume();
process.stdin.once('end', () => process.exit(0));

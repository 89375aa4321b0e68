import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const gatewayDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs test/netns/destinations.ts inside a new network namespace that has only loopback
 * (`unshare --net`, then `ip link set lo up`): a policy bug there can only meet a loopback
 * listener or fail with a network error; no packet can leave the machine.
 */
function inNetworkNamespace(script: string): string[] {
  const run = spawnSync(
    'unshare',
    [
      '--map-root-user',
      '--net',
      'sh',
      '-c',
      `ip link set lo up && exec "${process.execPath}" --conditions=@socketgate/source --import tsx ${script}`,
    ],
    { cwd: gatewayDir, encoding: 'utf8', timeout: 120_000 },
  );
  if (run.status !== 0) throw new Error(`the namespace run failed (${run.status}): ${run.stderr}`);
  return run.stdout.trim().split('\n');
}

it('refuses every special-purpose destination in every spelling through a real gateway, and tells refusals from network failures', () => {
  const lines = inNetworkNamespace('test/netns/destinations.ts').map((line) => JSON.parse(line));
  const results = lines.filter((line) => 'expect' in line) as Array<{
    host: string;
    port: number;
    expect: string;
    got: string;
    message: string;
  }>;
  const { accepted } = lines.find((line) => 'accepted' in line) as { accepted: string[] };
  expect(results.filter((r) => r.expect === 'refused').length).toBeGreaterThanOrEqual(60);
  for (const result of results)
    expect({ host: result.host, port: result.port, got: result.got }).toEqual({ host: result.host, port: result.port, got: result.expect });
  for (const result of results.filter((r) => r.expect === 'refused')) expect(result.message).toMatch(/^Permission denied: /);
  // Nothing ever reached the loopback listeners the refused spellings pointed at.
  expect(accepted).toEqual([]);
});

it("never connects to loopback when a name rebinds from a public-looking address to loopback (DNS server of the test's own)", () => {
  const lines = inNetworkNamespace('test/netns/rebinding.ts').map((line) => JSON.parse(line));
  const tcp = lines.filter((line) => line.transport === 'tcp');
  // First answer: public-looking, so the policy passes and the namespace has no route for it.
  expect(tcp[0]).toMatchObject({ attempt: 1, connected: false, error: 'NetworkError' });
  // Later answers: loopback, refused by the policy, for TCP and for a UDP datagram.
  for (const attempt of tcp.slice(1)) expect(attempt).toMatchObject({ connected: false, error: 'SocketAccessError' });
  expect(lines.find((line) => line.transport === 'udp')).toMatchObject({ error: 'SocketAccessError' });
  const { accepted, asked } = lines.at(-1) as { accepted: string[]; asked: number };
  expect(asked).toBeGreaterThanOrEqual(4);
  expect(accepted).toEqual([]);
});

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const gatewayDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs a script of test/netns inside a new network namespace that has only loopback
 * (`unshare --net`, then `ip link set lo up`), after `setup` (more commands inside the namespace):
 * a policy bug there can only meet a listener of the namespace or fail with a network error; no
 * packet can leave the machine.
 */
function inNetworkNamespace(script: string, setup: readonly string[] = []): string[] {
  const run = spawnSync(
    'unshare',
    [
      '--map-root-user',
      '--net',
      'sh',
      '-c',
      ['ip link set lo up', ...setup, `exec "${process.execPath}" --conditions=@socketgate/source --import tsx ${script}`].join(' && '),
    ],
    { cwd: gatewayDir, encoding: 'utf8', timeout: 120_000 },
  );
  if (run.status !== 0) throw new Error(`the namespace run failed (${run.status}): ${run.stderr}`);
  return run.stdout.trim().split('\n');
}

/**
 * Public-looking addresses of the namespace's own, on a veth pair (the kernel here has no dummy
 * links for user namespaces): the host's own interface addresses, as a server on the Internet has.
 */
const OWN_ADDRESSES = [
  'ip link add d0 type veth peer name d1',
  'ip addr add 93.184.216.34/32 dev d0',
  'ip addr add 2001:4860:4860::8888/128 dev d0 nodad',
  'ip link set d0 up',
  'ip link set d1 up',
];

it("refuses every special-purpose destination in every spelling, the host's own addresses and malformed names through real gateways", () => {
  const lines = inNetworkNamespace('test/netns/destinations.ts', OWN_ADDRESSES).map((line) => JSON.parse(line));
  const { interfaces } = lines.find((line) => 'interfaces' in line) as { interfaces: string[] };
  expect(interfaces).toEqual(expect.arrayContaining(['127.0.0.1', '93.184.216.34', '2001:4860:4860::8888']));
  const results = lines.filter((line) => 'expect' in line) as Array<{
    gateway: string;
    host: string;
    port: number;
    expect: string;
    got: string;
    message: string;
  }>;
  expect(results.filter((r) => r.expect === 'refused').length).toBeGreaterThanOrEqual(90);
  for (const result of results)
    expect({ gateway: result.gateway, host: result.host, port: result.port, got: result.got }).toEqual({
      gateway: result.gateway,
      host: result.host,
      port: result.port,
      got: result.expect,
    });
  for (const result of results.filter((r) => r.expect === 'refused')) expect(result.message).toMatch(/^Permission denied: /);
  for (const result of results.filter((r) => r.expect === 'HostNotFoundError')) expect(result.message).toBe('Host not found');
  expect(results.filter((r) => r.host.startsWith('93.184.216.34') && r.gateway === 'broad').map((r) => r.message)).toContainEqual(
    expect.stringContaining('is an address of the gateway host itself (93.184.216.34)'),
  );

  // Names with control characters, sent as raw protocol: a protocol error naming the host, TCP and UDP.
  const malformed = lines.filter((line) => 'malformed' in line) as Array<{ malformed: string; via: string; code: string; message: string }>;
  expect(malformed).toHaveLength(9 * 4);
  for (const reply of malformed) {
    const expected =
      reply.via === 'datagram' ? { code: 'BAD_FRAME', message: /^datagram host: / } : { code: 'BAD_MESSAGE', message: /^host: / };
    expect({ host: reply.malformed, via: reply.via, code: reply.code }).toEqual({
      host: reply.malformed,
      via: reply.via,
      code: expected.code,
    });
    expect(reply.message).toMatch(expected.message);
  }

  // Nothing reached a listener a refused or malformed destination pointed at; the exact rules reached theirs.
  const { ownAcceptedBeforeExactRules } = lines.find((line) => 'ownAcceptedBeforeExactRules' in line) as {
    ownAcceptedBeforeExactRules: string[];
  };
  expect(ownAcceptedBeforeExactRules).toEqual([]);
  const { accepted, ownAccepted, asked } = lines.at(-1) as { accepted: string[]; ownAccepted: string[]; asked: string[] };
  expect(accepted).toEqual([]);
  expect(ownAccepted).toEqual(['tcp 0.0.0.0 <- 93.184.216.34', 'tcp 0.0.0.0 <- 93.184.216.34', 'tcp :: <- 2001:4860:4860::8888']);
  // No name outside the host grammar, nor a cut-short one, was ever looked up.
  for (const name of asked) expect(name).toMatch(/^[a-z0-9.-]+$/);
  expect(asked).not.toContain('evil.test');
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

it('fails a UDP socket connected to an allowed address with no route, as Qt does, and the gateway goes on', () => {
  const lines = inNetworkNamespace('test/netns/udp-unroutable.ts').map((line) => JSON.parse(line));
  const cases = lines.filter((line) => 'host' in line);
  expect(cases.map(({ host }) => host)).toEqual(['2606:4700::1111', 'v6only.test', '93.184.216.35']);
  for (const result of cases) expect(result).toMatchObject({ state: 0, error: 'NetworkError' });
  expect(lines.at(-1)).toEqual({ echoed: 'still here' });
});

it('refuses the same destinations through the Wisp and websockify endpoints, and nothing is connected', () => {
  const lines = inNetworkNamespace('test/netns/front-doors.ts', OWN_ADDRESSES).map((line) => JSON.parse(line));
  const results = lines.filter((line) => 'door' in line) as Array<{
    door: string;
    host: string;
    port: number;
    expect: string;
    got: string;
  }>;
  for (const door of ['wisp', 'websockify']) {
    expect(results.filter((r) => r.door === door && r.expect === 'refused').length).toBeGreaterThanOrEqual(80);
  }
  // A name with control characters is not a hostname either door takes: Wisp answers 0x41, websockify 4403.
  const expected = (result: { expect: string }) => (result.expect === 'HostNotFoundError' ? 'invalid' : result.expect);
  for (const result of results) {
    expect({ door: result.door, host: result.host, port: result.port, got: result.got }).toEqual({
      door: result.door,
      host: result.host,
      port: result.port,
      got: expected(result),
    });
  }
  const { accepted, asked } = lines.at(-1) as { accepted: string[]; asked: string[] };
  expect(accepted).toEqual([]);
  for (const name of asked) expect(name).toMatch(/^[a-z0-9.-]+$/);
});

/**
 * Every spelling of a special-purpose destination, and the names behind which such addresses hide,
 * that a gateway with the broadest allow rules must refuse: shared by the namespace scripts that
 * drive them through each front door (destinations.ts: the SDK; front-doors.ts: Wisp and websockify).
 */
import net from 'node:net';

/** The namespace's own public-looking addresses (egress.test.ts puts them on the veth d0). */
export const OWN_V4 = '93.184.216.34';
export const OWN_V6 = '2001:4860:4860::8888';

export interface Case {
  host: string;
  port?: number;
  expect: 'refused' | 'network' | 'connected' | 'HostNotFoundError';
}

// Invented names resolve here, never through the machine's resolver. Like getaddrinfo, this reads
// a name as a C string (up to a NUL) and answers an IP literal with itself: a name that got this
// far with a NUL would be cut short, and `44.1.2.3\0…` would become that address.
export const NAMES: Record<string, string[]> = {
  'public.test': ['93.184.216.35'],
  'v6public.test': ['2606:4700::1111'],
  'loop.test': ['127.0.0.1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'private.test': ['10.1.2.3'],
  'metadata.test': ['169.254.169.254'],
  'mixed.test': ['127.0.0.1', '::1'],
  'nat64.test': ['64:ff9b::7f00:1'],
  'compat.test': ['::7f00:1'],
  'zero.test': ['0.0.0.0'],
  'own.test': [OWN_V4],
  'own6.test': [OWN_V6],
  'evil.test': [OWN_V4],
};
/** Answers from NAMES, recording each name asked in `asked`. */
export const tableResolver = (asked: string[]) => async (name: string) => {
  asked.push(name);
  const cString = name.split('\u0000')[0] as string;
  const found = net.isIP(cString) === 0 ? NAMES[cString] : [cString];
  if (!found) throw Object.assign(new Error(`${name} is not in the test's table`), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
};

/** The ports of the namespace's listeners: loopback (v4, v6), every address (v4, v6), and the one allowed. */
export interface Ports {
  P: number;
  P6: number;
  OWN4: number;
  OWN6: number;
  ALLOWED: number;
}

/** The cases for a gateway allowing `0.0.0.0/0`, `::/0`, `*` and `127.0.0.1/32:ALLOWED`. */
export function broadCases({ P, P6, OWN4, OWN6, ALLOWED }: Ports): Case[] {
  const refused = (host: string, port = P): Case => ({ host, port, expect: 'refused' });
  return [
    // loopback, every spelling
    ...[
      '127.0.0.1',
      '127.1',
      '127.0.1',
      '0177.0.0.1',
      '0x7f.0.0.1',
      '0x7f000001',
      '2130706433',
      '017700000001',
      '127.000.000.001',
      '127.255.255.254',
    ].map((h) => refused(h)),
    ...[
      '::1',
      '0:0:0:0:0:0:0:1',
      '[::1]',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '0:0:0:0:0:ffff:7f00:1',
      '::127.0.0.1',
      '[::ffff:127.0.0.1]',
    ].map((h) => refused(h, h.includes('ffff') || h.includes('::127') ? P : P6)),
    // unspecified
    ...['0', '0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::ffff:0.0.0.0', '::0.0.0.0', 'zero.test'].map((h) => refused(h)),
    // IPv4-compatible IPv6 (deprecated), every spelling
    ...['::7f00:1', '::2', '::a00:1', '::808:808', '::8.8.8.8', '0:0:0:0:0:0:7f00:1', 'compat.test'].map((h) => refused(h)),
    // names behind which loopback and other special ranges hide
    ...[
      'localhost',
      'LOCALHOST',
      'localhost.',
      'app.localhost',
      'loop.test',
      'mapped.test',
      'private.test',
      'metadata.test',
      'mixed.test',
      'nat64.test',
    ].map((h) => refused(h)),
    // private, CGNAT, link-local and cloud metadata
    ...[
      '10.0.0.1',
      '10.255.255.255',
      '172.16.0.1',
      '172.31.255.254',
      '192.168.0.1',
      '100.64.0.1',
      '100.100.100.200',
      '169.254.169.254',
      '169.254.0.1',
      '168.63.129.16',
      '192.0.0.192',
      'fd00:ec2::254',
      'fc00::1',
      'fe80::1',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '::ffff:10.0.0.1',
    ].map((h) => refused(h, 8080)),
    // multicast, broadcast, documentation, benchmarking, reserved
    ...[
      '224.0.0.1',
      '239.255.255.250',
      'ff02::1',
      '255.255.255.255',
      '192.0.2.1',
      '198.51.100.1',
      '203.0.113.1',
      '198.18.0.1',
      '240.0.0.1',
      '2001:db8::1',
    ].map((h) => refused(h, 8080)),
    // IPv4 embedded in IPv6: 6to4, Teredo, NAT64, IPv4-translated
    ...['2002:7f00:1::1', '2002:a9fe:a9fe::1', '2001::1', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '::ffff:0:7f00:1'].map((h) =>
      refused(h, 8080),
    ),
    // the host's own interface addresses, behind listeners on every address
    ...[OWN_V4, `::ffff:${OWN_V4}`, 'own.test'].map((h) => refused(h, OWN4)),
    ...[OWN_V6, `[${OWN_V6}]`, 'own6.test'].map((h) => refused(h, OWN6)),
    // a bad port on a public-looking address
    refused('public.test', 25),
    refused('8.8.8.8', 6667),
    // names the SDK never sends: they fail as Qt fails a name that does not resolve
    ...[
      'evil.test\u0000.example.org',
      `${OWN_V4}\u0000x`,
      'evil.test\t.example.org',
      'evil.test\u007f.example.org',
      'evil.test\u0085.example.org',
      'evil.test\u2028.example.org',
      'fe80::1%lo',
    ].map((host): Case => ({ host, port: OWN4, expect: 'HostNotFoundError' })),
    // allowed by the rules: the policy passes them and the namespace has no route, so the network fails
    { host: '8.8.8.8', port: 8080, expect: 'network' },
    { host: 'public.test', port: 8080, expect: 'network' },
    { host: '2606:4700::1111', port: 8080, expect: 'network' },
    { host: 'v6public.test', port: 443, expect: 'network' },
    // explicitly allowed loopback target
    { host: '127.0.0.1', port: ALLOWED, expect: 'connected' },
  ];
}

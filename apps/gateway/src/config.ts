import proxyAddr from '@fastify/proxy-addr';
import { ENDPOINT_PATH } from '@socketgate/protocol';
import * as z from 'zod';
import { GW_ERR_CONFIG_INVALID } from './errors.js';

const compileTrust = (list: string[]): unknown => proxyAddr.compile(list);

import { parseAllowRule } from './policy.js';

const MiB = 1024 * 1024;

/** One egress rule: CIDR[:ports] or host[:ports]. */
const AllowRule = z.string().superRefine((rule, ctx) => {
  try {
    parseAllowRule(rule);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const GatewaySettings = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('address to listen on'),
  port: z.int().min(0).max(65535).default(8080).describe('port to listen on; 0 picks a free port'),
  tokens: z.array(z.string().min(8, 'tokens must be at least 8 characters')).default([]).describe('static tokens accepted in hello'),
  jwt: z
    .strictObject({
      secret: z.string().min(32, 'an HS256 secret must be at least 32 characters').optional().describe('shared secret for HS256/384/512'),
      publicKeyFile: z.string().min(1).optional().describe('PEM (SPKI) public key for RS256, ES256 or EdDSA'),
      jwksFile: z.string().min(1).optional().describe('a JWKS JSON file of public keys'),
      algorithms: z
        .array(z.enum(['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA']))
        .min(1)
        .describe('the only algorithms accepted'),
      issuer: z.string().min(1).optional().describe('required iss claim'),
      audience: z.string().min(1).describe('required aud claim'),
      clockToleranceSec: z.int().min(0).max(300).default(5).describe('allowed clock skew for exp and nbf'),
      maxTokenAgeSec: z.int().min(1).optional().describe('refuse tokens issued longer ago than this'),
      typ: z.string().min(1).optional().describe('required typ header (for example JWT or socketgate+jwt), so no other kind of JWT passes'),
      requireJti: z.boolean().default(false).describe('require single-use tickets (a jti claim, remembered until expiry)'),
      replayCacheSize: z
        .int()
        .min(1)
        .max(10_000_000)
        .default(100_000)
        .describe('single-use ticket ids the in-process store remembers at most (Redis is bounded by its own memory)'),
    })
    .refine((jwt) => [jwt.secret, jwt.publicKeyFile, jwt.jwksFile].filter((key) => key !== undefined).length === 1, {
      message: 'give exactly one of secret, publicKeyFile or jwksFile',
    })
    .refine((jwt) => (jwt.secret === undefined) === jwt.algorithms.every((alg) => !alg.startsWith('HS')), {
      message: 'HS* algorithms go with a secret, the others with a public key',
      path: ['algorithms'],
    })
    .optional()
    .describe('signed tokens (JWT) accepted in hello, checked with pinned algorithms'),
  store: z
    .strictObject({
      redis: z
        .string()
        .refine(
          (url) => URL.canParse(url) && /^rediss?:$/.test(new URL(url).protocol),
          'must be redis://[user:password@]host:port[/db] or rediss://',
        )
        .optional()
        .describe(
          'keep single-use tickets and session limits in this Redis (redis://[user:password@]host:port[/db], rediss:// for TLS), shared by every gateway naming it; unset: in this process',
        ),
      keyPrefix: z.string().min(1).max(100).default('socketgate:').describe('prefix of every Redis key the gateway writes'),
      slotTtlMs: z
        .int()
        .min(1000)
        .max(3_600_000)
        .default(30_000)
        .describe("how long a session's place in a shared limit outlives a gateway that stopped without releasing it"),
      timeoutMs: z
        .int()
        .min(10)
        .max(60_000)
        .default(2000)
        .describe('how long a Redis command may take before the hello waiting on it is refused'),
    })
    .prefault({})
    .describe('where single-use tickets and per-credential and per-address session counts are kept'),
  origins: z
    .array(z.string().min(1))
    .default([])
    .describe(
      "Origin headers accepted from browsers (exact, e.g. https://app.example.org, or '*'); requests without Origin are not browsers",
    ),
  allow: z.array(AllowRule).default([]).describe('egress allow-list: CIDR[:ports] or host[:ports]; nothing else is reached'),
  tls: z
    .strictObject({
      caFiles: z
        .array(z.string().min(1))
        .default([])
        .describe('PEM files of CAs trusted for TLS streams besides the system store (a client may narrow trust to its own CAs)'),
      allowIgnoreErrors: z
        .boolean()
        .default(true)
        .describe("let a client go on despite its peer's certificate errors (Qt's ignoreSslErrors); false refuses every such handshake"),
      clientCertificates: z
        .boolean()
        .default(false)
        .describe('accept a client certificate and its private key from clients (the key is then sent to the gateway)'),
      decisionTimeoutMs: z
        .int()
        .min(100)
        .default(15_000)
        .describe('how long a handshake with certificate errors waits for the client to ignore them, or not'),
      required: z.array(AllowRule).default([]).describe("destinations (in the allow rules' form) that may be reached only through TLS"),
    })
    .prefault({})
    .describe('TLS streams (QSslSocket): the gateway does the TLS'),
  allowPorts: z
    .array(z.int().min(0).max(65535))
    .default([])
    .describe("ports of the Fetch standard's bad-port list (25, 22, 6667, …) to allow anyway"),
  nameResolver: z
    .enum(['dns', 'system'])
    .default('dns')
    .describe(
      "dns: ask DNS servers directly (c-ares; no threads, so names that never answer delay nothing else; no /etc/hosts); system: getaddrinfo (/etc/hosts, nsswitch) on at most half of libuv's threadpool, where names that never answer delay other lookups",
    ),
  dnsServers: z
    .array(z.string().min(1))
    .default([])
    .describe("DNS servers (host or host:port) the dns resolver asks; none: the system's, from /etc/resolv.conf"),
  dnsTimeoutMs: z
    .int()
    .min(1)
    .max(120_000)
    .default(5_000)
    .describe('longest a stream waits for a name lookup, queueing included; then HostNotFoundError'),
  maxLookups: z.int().min(1).max(100_000).default(256).describe('names the gateway asks at once; 8 times that more wait in order'),
  maxLookupsPerSession: z
    .int()
    .min(1)
    .max(10_000)
    .default(8)
    .describe('name lookups one session waits on at once; 8 times that more wait in order, beyond that SocketResourceError'),
  dnsCacheEntries: z
    .int()
    .min(0)
    .max(10_000_000)
    .default(4096)
    .describe('names whose answers are cached (and a quarter of that of names that do not exist); 0 caches nothing'),
  dnsMaxTtlSec: z.int().min(0).max(86_400).default(300).describe("longest an answer is cached, whatever its records' TTL"),
  dnsDefaultTtlSec: z
    .int()
    .min(0)
    .max(86_400)
    .default(30)
    .describe('how long an answer without TTLs (system, embedded resolvers) is cached'),
  dnsNegativeTtlSec: z.int().min(0).max(3_600).default(5).describe('how long a name that does not exist is remembered'),
  upstreamProxy: z
    .string()
    .regex(/^socks5h?:\/\/([^:@/]+(:[^@/]*)?@)?[^:/@]+:\d{1,5}\/?$/, 'must be socks5://[user:password@]host:port')
    .optional()
    .describe('send every outgoing TCP connection through this SOCKS5 proxy (socks5://[user:password@]host:port)'),
  clientProxies: z
    .boolean()
    .default(false)
    .describe('let clients name their own SOCKS5 proxy (QNetworkProxy); the proxy must pass the egress policy'),
  connectTimeoutMs: z.int().min(1).max(600_000).default(30_000).describe('per-address connect timeout, as Qt'),
  helloTimeoutMs: z.int().min(1).max(600_000).default(5_000).describe('time a new session has to send hello'),
  uploadWindowBytes: z
    .int()
    .min(128 * 1024)
    .max(256 * MiB)
    .default(MiB)
    .describe('unwritten bytes a stream may send ahead (at least 128 KiB, two full datagrams)'),
  maxMessageBytes: z
    .int()
    .min(1024)
    .max(64 * MiB)
    .default(MiB)
    .describe('largest WebSocket message accepted'),
  sessionBufferBytes: z
    .int()
    .min(64 * 1024)
    .max(1024 * MiB)
    .default(8 * MiB)
    .describe('WebSocket send buffer per session before reading pauses'),
  sessionUploadBytes: z
    .int()
    .min(128 * 1024)
    .max(1024 * MiB)
    .default(8 * MiB)
    .describe("upload bytes one session's streams may hold unwritten in all before the gateway stops reading its WebSocket"),
  closeTimeoutMs: z
    .int()
    .min(1)
    .max(60_000)
    .default(2_000)
    .describe('after the gateway closes a WebSocket, how long the client has to answer before the connection is cut'),
  handshakeTimeoutMs: z
    .int()
    .min(100)
    .max(600_000)
    .default(10_000)
    .describe('time a new connection has to send complete HTTP request headers'),
  pingIntervalMs: z
    .int()
    .min(0)
    .max(600_000)
    .default(30_000)
    .describe('WebSocket ping interval; a client that answers nothing for a whole interval is cut off; 0 never'),
  tcpKeepAliveMs: z
    .int()
    .min(0)
    .max(7_200_000)
    .default(60_000)
    .describe("TCP keepalive on clients' connections: idle time before the first probe; 0 off"),
  maxConnectionsPerAddress: z
    .int()
    .min(1)
    .default(512)
    .describe('TCP connections open at once from one client address, counted until each is really closed'),
  maxPendingSessionsPerAddress: z
    .int()
    .min(1)
    .default(16)
    .describe('WebSockets from one client address that have not said hello yet; past it the oldest is closed'),
  trustProxy: z
    .array(
      z.string().refine((cidr) => {
        try {
          compileTrust([cidr]);
          return true;
        } catch {
          return false;
        }
      }, 'must be an IP address or CIDR, or loopback, linklocal or uniquelocal'),
    )
    .default([])
    .describe(
      "proxies (addresses or CIDRs) whose X-Forwarded-For names the client: its limits and log lines then count the client's address; none by default",
    ),
  metricsPublic: z.boolean().default(false).describe('serve /metrics on the main port to anyone, and no separate metrics listener'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('log level'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto').describe('json, pretty, or auto: pretty in a terminal, JSON otherwise'),
    })
    .prefault({})
    .describe('logging'),
  incrementalMarking: z
    .boolean()
    .default(false)
    .describe(
      "V8's incremental marking in the socketgate command's process: off, since with it on, uploads set off a full collection after nearly every young one (docs/operations.md)",
    ),
  drainGraceMs: z.int().min(0).default(30_000).describe('on SIGTERM, how long open streams may finish before the rest are closed'),
  metricsHost: z.string().min(1).default('127.0.0.1').describe('address of the separate metrics listener (keep it private)'),
  metricsPort: z
    .int()
    .min(0)
    .max(65535)
    .default(9464)
    .describe('port of the separate metrics listener; 0 serves /metrics on the main port instead, to a direct loopback peer only'),
  maxStreamsPerSession: z.int().min(1).max(1_000_000).default(4096).describe('streams one session may hold open'),
  maxSessionsPerCredential: z.int().min(1).default(64).describe('sessions open at once with one token or JWT subject'),
  maxSessionsPerAddress: z.int().min(1).default(256).describe('sessions open at once from one client address'),
  maxOpensPerSecond: z.int().min(1).default(200).describe('new streams one session may open per second (bursts of twice that)'),
  maxProtocolErrorsPerSecond: z
    .int()
    .min(1)
    .default(100)
    .describe('bad messages one session may send per second (bursts of twice that) before it is closed with 4429'),
  maxControlMessagesPerSecond: z
    .int()
    .min(1)
    .default(2000)
    .describe('control messages one session may send per second (bursts of twice that)'),
  streamIdleTimeoutMs: z.int().min(0).default(300_000).describe('close a stream with no traffic either way for this long; 0 never'),
  sessionIdleTimeoutMs: z.int().min(0).default(600_000).describe('close a session with no streams and no messages for this long; 0 never'),
  maxDatagramBytes: z.int().min(1).max(65527).default(65507).describe('largest UDP payload sent (65507 fits IPv4)'),
  udpQueueBytes: z
    .int()
    .min(0)
    .max(64 * MiB)
    .default(256 * 1024)
    .describe('datagrams held per UDP socket for a client out of credit; more are dropped'),
  udpInbound: z
    .enum(['replies', 'any'])
    .default('replies')
    .describe('deliver datagrams only from peers the socket has sent to, or from any'),
  allowMulticast: z.boolean().default(false).describe('let UDP sockets join multicast groups'),
  wisp: z
    .strictObject({
      path: z
        .string()
        .regex(/^\/[\x21-\x3e\x40-\x7e]*\/$/, 'must start and end with / (the Wisp spec asks for the trailing slash), without ? or spaces')
        .optional()
        .describe('serve Wisp (v1 and v2) at this path, for example /wisp/; unset: no Wisp endpoint'),
      bufferPackets: z
        .int()
        .min(1)
        .max(65_535)
        .default(128)
        .describe("DATA packets a Wisp TCP stream may send ahead (its CONTINUE credit), within the gateway's upload byte budgets"),
      motd: z.string().min(1).max(1000).optional().describe('message of the day for Wisp v2 clients (the MOTD extension)'),
      udp: z.boolean().default(true).describe('offer UDP streams to Wisp clients (the UDP extension)'),
    })
    .prefault({})
    .describe("the Wisp endpoint: wisp-js, epoxy-tls and libcurl.js clients under the gateway's policy, auth and limits"),
  websockify: z
    .strictObject({
      path: z
        .string()
        .regex(/^\/[\x21-\x3e\x40-\x7e]*$/, 'must start with /, without ? or spaces')
        .optional()
        .describe('serve websockify (one TCP connection per WebSocket, its target named by the ticket) at this path; unset: off'),
      targetsFile: z
        .string()
        .min(1)
        .optional()
        .describe("a file of 'token: host:port' lines (websockify's TokenFile): each token a credential for its one target"),
    })
    .prefault({})
    .describe("the websockify endpoint: noVNC and other websockify clients under the gateway's policy, auth and limits"),
});

/** Every gateway setting, with its default. One schema for the CLI, config files and embedding. */
export const GatewayConfig = GatewaySettings.refine((config) => config.nameResolver === 'dns' || config.dnsServers.length === 0, {
  message: 'dnsServers are asked by the dns resolver only; the system resolver reads /etc/resolv.conf',
  path: ['dnsServers'],
})
  .refine(
    (config) =>
      new Set([ENDPOINT_PATH, config.wisp.path, config.websockify.path].filter(Boolean)).size ===
      1 + [config.wisp.path, config.websockify.path].filter(Boolean).length,
    {
      message: `the endpoints need paths of their own: ${ENDPOINT_PATH}, wisp.path and websockify.path must differ`,
      path: ['wisp'],
    },
  )
  .refine((config) => config.sessionUploadBytes >= config.uploadWindowBytes, {
    message: "must be at least uploadWindowBytes: a session's upload bound must hold one stream's whole window",
    path: ['sessionUploadBytes'],
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;

/** Validates settings, naming every bad field. */
export function parseConfig(input: unknown): GatewayConfig {
  const result = GatewayConfig.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`);
  throw new GW_ERR_CONFIG_INVALID(problems.join('; '));
}

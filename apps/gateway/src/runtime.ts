import type { FastifyBaseLogger } from 'fastify';
import { Authenticator } from './auth.js';
import type { GatewayConfig } from './config.js';
import { Lookups } from './lookups.js';
import { GatewayMetrics, type MeteredSession } from './metrics.js';
import { type AllowRule, EgressPolicy, parseAllowRule } from './policy.js';
import { dnsResolver, type Resolver, systemResolver } from './resolve.js';
import { parseProxyUrl, type Socks5Proxy } from './socks.js';
import type { SessionStore } from './store.js';
import { TrustStore } from './tls-trust.js';

/** What the gateway's shared parts ask of a live session: its streams and buffers, and to close it. */
export interface LiveSession extends MeteredSession {
  close(code: number, reason: string): void;
}

/** A session of any front door (native, Wisp, websockify), as the plugin drains, pings and counts it. */
export interface GatewaySession extends LiveSession {
  /** Tells the client the gateway is going away, where its protocol can say so. */
  goAway(graceMs: number): void;
  /** Pings the client, or cuts it off when it answered nothing since the last ping. */
  heartbeat(): void;
}

/** What sessions share: the gateway's settings and its registry of live sessions. */
export interface GatewayRuntime {
  readonly config: GatewayConfig;
  /** Replaced on reload: new streams of every session are checked against the rules in force. */
  policy: EgressPolicy;
  /** Replaced on reload: what TLS streams trust, and the destinations reached only through TLS. */
  tls: TlsRules;
  /** Name resolution, bounded and cached for every session. */
  readonly lookups: Lookups;
  readonly sessions: Set<LiveSession>;
  readonly log: FastifyBaseLogger;
  /** Datagrams not delivered since the gateway started. */
  readonly datagrams: { dropped: number; refused: number };
  /** Replaced on reload: new sessions are checked against the credentials in force. */
  authenticator: Authenticator;
  /** Sessions still waiting to say hello, per client address, oldest first. */
  readonly pendingPerAddress: Map<string, Set<LiveSession>>;
  /** Single-use tickets and the authenticated sessions per credential and per address, maybe shared with other gateways. */
  readonly store: SessionStore;
  readonly metrics: GatewayMetrics;
  readonly upstreamProxy: Socks5Proxy | undefined;
  /** Set while the gateway drains for shutdown: no new sessions or streams. */
  readonly draining: { value: boolean };
}

/** The gateway's TLS settings made ready: the trusted CAs read, the `tls.required` rules parsed. */
export interface TlsRules {
  readonly trust: TrustStore;
  readonly required: readonly AllowRule[];
}

/** Reads the operator's CA files and parses `tls.required`; a file that cannot be read fails, naming it. */
export function tlsRules(config: GatewayConfig): TlsRules {
  return { trust: TrustStore.fromFiles(config.tls.caFiles), required: config.tls.required.map(parseAllowRule) };
}

/** What the plugin has made before its sessions' shared parts can be built. */
export interface RuntimeParts {
  readonly config: GatewayConfig;
  /** A resolver of the embedder's own; else the one `nameResolver` names. */
  readonly resolver: Resolver | undefined;
  readonly store: SessionStore;
  readonly log: FastifyBaseLogger;
  readonly sessions: Set<LiveSession>;
}

/** Builds what one gateway's sessions share. */
export function createRuntime({ config, resolver, store, log, sessions }: RuntimeParts): GatewayRuntime {
  return {
    config,
    policy: new EgressPolicy(config.allow, { allowPorts: config.allowPorts }),
    tls: tlsRules(config),
    lookups: new Lookups({
      resolver:
        resolver ??
        (config.nameResolver === 'system' ? systemResolver : dnsResolver({ servers: config.dnsServers, timeoutMs: config.dnsTimeoutMs })),
      timeoutMs: config.dnsTimeoutMs,
      maxLookups: config.maxLookups,
      maxLookupsPerSession: config.maxLookupsPerSession,
      cacheEntries: config.dnsCacheEntries,
      maxTtlSec: config.dnsMaxTtlSec,
      defaultTtlSec: config.dnsDefaultTtlSec,
      negativeTtlSec: config.dnsNegativeTtlSec,
    }),
    sessions,
    log,
    datagrams: { dropped: 0, refused: 0 },
    authenticator: new Authenticator(config, store),
    pendingPerAddress: new Map(),
    store,
    metrics: new GatewayMetrics(sessions),
    draining: { value: false },
    upstreamProxy: config.upstreamProxy === undefined ? undefined : parseProxyUrl(config.upstreamProxy),
  };
}

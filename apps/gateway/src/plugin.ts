import http from 'node:http';
import websocket from '@fastify/websocket';
import { CloseCode, ENDPOINT_PATH, SUBPROTOCOL } from '@socketgate/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { Authenticator } from './auth.js';
import { type GatewayConfig, type GatewayConfigInput, parseConfig } from './config.js';
import { clientAddressOf, guardConnections } from './connection-guard.js';
import type { GatewayMetrics } from './metrics.js';
import { EgressPolicy } from './policy.js';
import { relayRoutes, subprotocolFor } from './relay-routes.js';
import type { Resolver } from './resolve.js';
import { createRuntime, type GatewaySession, tlsRules } from './runtime.js';
import { Session } from './session.js';
import { createStore } from './store.js';

/** What a gateway exposes about itself, as `app.socketgate`. */
export interface GatewayHandle {
  readonly config: GatewayConfig;
  /** Every open session: native, Wisp and websockify. */
  readonly sessions: ReadonlySet<GatewaySession>;
  readonly metrics: GatewayMetrics;
  /** False while draining: `/readyz` answers 503 and new sessions and streams are refused. */
  readonly ready: boolean;
  /** Live counts and the bytes the gateway holds in buffers, for tests and operators. */
  stats(): { sessions: number; streams: number; bufferedBytes: number; droppedDatagrams: number; refusedDatagrams: number };
  /**
   * Graceful drain: stop taking sessions and streams, tell every session it is going away, let open
   * streams finish for up to `graceMs`, then close what is left with 1001. Resolves when done.
   */
  drain(graceMs?: number): Promise<void>;
  /**
   * Applies new settings without dropping a session: allow rules, tokens, JWT keys, origins and
   * limits take effect for new sessions and new streams. Settings that cannot change while the
   * gateway runs are left as they are and named in `needRestart`.
   */
  reload(settings: GatewayConfigInput): { changed: Array<keyof GatewayConfig>; needRestart: string[] };
}

declare module 'fastify' {
  interface FastifyInstance {
    socketgate: GatewayHandle;
  }
}

export interface SocketgatePluginOptions extends GatewayConfigInput {
  /**
   * Replaces the gateway's resolver (for example, to use a directory of one's own). The gateway still
   * bounds it: `dnsTimeoutMs`, `maxLookups`, `maxLookupsPerSession`, the cache (its `ttlSec`, else
   * `dnsDefaultTtlSec`).
   */
  resolver?: Resolver;
}

/**
 * The gateway as a Fastify plugin: `app.register(socketgate, config)` mounts `/v1/socket`,
 * `/healthz`, `/readyz` and `/metrics` (on the main port when `metricsPort` is 0 or `metricsPublic` is set, otherwise on a listener of its own) on an existing Fastify app.
 */
const plugin: FastifyPluginAsync<SocketgatePluginOptions> = async (app, options) => {
  const { resolver, ...settings } = options;
  const config = parseConfig(settings);
  const sessions = new Set<GatewaySession>();
  const store = await createStore(config, app.log);
  // After preClose has closed every session, so their places are given back first.
  app.addHook('onClose', () => store.close());
  const runtime = createRuntime({ config, resolver, store, log: app.log, sessions });

  /** Resolves once every session's connection is really closed (a client that does not answer the close is cut after closeTimeoutMs). */
  const allClosed = async (): Promise<void> => {
    const closedBy = Date.now() + config.closeTimeoutMs + 1000;
    while (sessions.size > 0 && Date.now() < closedBy) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  const drain = async (graceMs = config.drainGraceMs): Promise<void> => {
    runtime.draining.value = true;
    for (const session of sessions) session.goAway(graceMs);
    const deadline = Date.now() + graceMs;
    const open = (): number => [...sessions].reduce((n, session) => n + session.streams.size, 0);
    while (open() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const session of [...sessions]) session.close(CloseCode.GOING_AWAY, 'the gateway is shutting down');
    await allClosed();
  };

  app.decorate('socketgate', {
    config,
    sessions,
    metrics: runtime.metrics,
    get ready() {
      return !runtime.draining.value;
    },
    stats() {
      let streams = 0;
      let bufferedBytes = 0;
      for (const session of sessions) {
        streams += session.streams.size;
        bufferedBytes += session.bufferedBytes;
      }
      return {
        sessions: sessions.size,
        streams,
        bufferedBytes,
        droppedDatagrams: runtime.datagrams.dropped,
        refusedDatagrams: runtime.datagrams.refused,
      };
    },
    drain,
    reload(settings) {
      const next = parseConfig(settings);
      const changed: Array<keyof GatewayConfig> = [];
      const needRestart: string[] = [];
      for (const key of Object.keys(next) as Array<keyof GatewayConfig>) {
        if (JSON.stringify(next[key]) === JSON.stringify(config[key])) continue;
        if (FIXED_SETTINGS.has(key)) needRestart.push(key);
        else changed.push(key);
      }
      // The in-process ticket store keeps the bound it was made with.
      if (next.jwt?.replayCacheSize !== config.jwt?.replayCacheSize && next.jwt !== undefined && config.jwt !== undefined) {
        needRestart.push('jwt.replayCacheSize');
      }
      // Built before anything changes, so that a key file that cannot be read changes nothing.
      const authenticator = new Authenticator(next, store);
      const policy = new EgressPolicy(next.allow, { allowPorts: next.allowPorts });
      const tls = tlsRules(next);
      // In place: every part of the gateway that reads the settings sees the new values.
      for (const key of changed) (config as Record<string, unknown>)[key] = next[key];
      runtime.authenticator = authenticator;
      runtime.policy = policy;
      runtime.tls = tls;
      return { changed, needRestart };
    },
  } satisfies GatewayHandle);

  if (!app.hasDecorator('websocketServer')) {
    await app.register(websocket, {
      options: {
        maxPayload: config.maxMessageBytes,
        perMessageDeflate: false,
        handleProtocols: (protocols: Set<string>, request: http.IncomingMessage) => subprotocolFor(config, protocols, request.url),
      },
    });
  }

  const clientAddress = clientAddressOf(config.trustProxy);
  guardConnections(app.server, config, runtime.metrics, clientAddress.trusted);
  if (config.pingIntervalMs > 0) {
    const heartbeat = setInterval(() => {
      for (const session of sessions) session.heartbeat();
    }, config.pingIntervalMs);
    heartbeat.unref();
    app.addHook('onClose', async () => clearInterval(heartbeat));
  }

  // An upgrade to any other path is answered 404 before the WebSocket opens (the demo's static files
  // answer every GET, and the upgrade would be accepted, then closed without a word).
  const relays = relayRoutes(config);
  app.addHook('onRequest', async (request, reply) => {
    if (request.ws && request.routeOptions.url !== ENDPOINT_PATH && !relays.paths.has(request.routeOptions.url ?? '')) {
      return reply.code(404).send({ error: 'Not Found', message: `no WebSocket endpoint here; the gateway's is ${ENDPOINT_PATH}` });
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) =>
    runtime.draining.value ? reply.code(503).send({ status: 'draining' }) : { status: 'ready', sessions: sessions.size },
  );
  const metricsText = async (): Promise<{ type: string; body: string }> => ({
    type: runtime.metrics.registry.contentType,
    body: await runtime.metrics.registry.metrics(),
  });
  if (config.metricsPort === 0 || config.metricsPublic) {
    app.get('/metrics', async (request, reply) => {
      // Metrics name the gateway's load and errors: by default only a process on this host that
      // connects directly (no proxy in between, which would forward the request) may read them.
      const direct = request.headers['x-forwarded-for'] === undefined && request.headers.forwarded === undefined;
      if (!config.metricsPublic && !(direct && isLoopback(request.socket.remoteAddress))) {
        return reply.code(404).send({ error: 'Not Found', message: 'Route GET:/metrics not found' });
      }
      const { type, body } = await metricsText();
      return reply.type(type).send(body);
    });
  } else {
    // Metrics on a port of their own, which can be kept off the public network.
    const { metricsHost, metricsPort } = config;
    const server = http.createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      metricsText().then(
        ({ type, body }) => response.writeHead(200, { 'content-type': type }).end(body),
        () => response.writeHead(500).end(),
      );
    });
    // Bound when the app is ready (before the main port listens): a metrics port that cannot be had
    // fails the start with the reason, never an unhandled error.
    app.addHook(
      'onReady',
      () =>
        new Promise<void>((resolve, reject) => {
          server.once('error', (error) =>
            reject(
              new Error(
                `metrics listener on ${metricsHost}:${metricsPort}: ${error.message} (set metricsPort to a free port, or to 0 to serve /metrics on the main port to loopback only)`,
              ),
            ),
          );
          server.listen(metricsPort, metricsHost, () => resolve());
        }),
    );
    app.addHook('onClose', () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
  }

  // Refused before the upgrade: a browser page from a foreign origin (cross-site WebSocket
  // hijacking), a client address over its session limit, and anyone while draining.
  const admitUpgrade = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (runtime.draining.value) return reply.code(503).send({ error: 'Service Unavailable', message: 'the gateway is shutting down' });
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(config.origins, origin)) {
      app.log.info(
        { origin, setting: 'origins' },
        `refused a WebSocket from the origin ${origin}: add it to origins (--origin ${origin}) to accept pages from there`,
      );
      return reply.code(403).send({ error: 'Forbidden', message: `origin ${origin} is not allowed` });
    }
    // Authenticated sessions on every gateway sharing the store; a store that cannot answer is
    // left to refuse the hello, with a close reason the client can read.
    const authenticated = await store.count(`address:${clientAddress(request.raw)}`).catch(() => 0);
    if (authenticated >= config.maxSessionsPerAddress) {
      return reply.code(429).send({ error: 'Too Many Requests', message: 'too many sessions from this address' });
    }
    return undefined;
  };
  app.get(ENDPOINT_PATH, { websocket: true, preValidation: admitUpgrade }, (socket, request) => {
    if (socket.protocol !== SUBPROTOCOL) {
      socket.close(CloseCode.PROTOCOL_ERROR, `the ${SUBPROTOCOL} subprotocol is required`);
      return;
    }
    new Session(socket, runtime, clientAddress(request.raw));
  });
  relays.register(app, { runtime, admitUpgrade, clientAddress });
  app.addHook('preClose', async () => {
    for (const session of [...sessions]) session.close(CloseCode.GOING_AWAY, 'the gateway is shutting down');
    await allClosed();
  });
};

/**
 * Whether a browser's `Origin` is accepted: an exact entry, `*` for any, or an entry whose port is
 * `*` (`http://localhost:*`), which accepts that scheme and host on any port.
 */
export function originAllowed(origins: readonly string[], origin: string): boolean {
  for (const entry of origins) {
    if (entry === '*' || entry === origin) return true;
    if (entry.endsWith(':*')) {
      const base = entry.slice(0, -1);
      if (origin.startsWith(base) && /^\d{1,5}$/.test(origin.slice(base.length))) return true;
    }
  }
  return false;
}

/** Settings the running gateway holds in sockets, timers or clients it made at the start. */
const FIXED_SETTINGS: ReadonlySet<keyof GatewayConfig> = new Set([
  'host',
  'port',
  'metricsHost',
  'metricsPort',
  // Where /metrics is served is decided at the start (the main port's route, or a listener of its own).
  'metricsPublic',
  'store',
  'nameResolver',
  'dnsServers',
  'dnsTimeoutMs',
  'maxLookups',
  'maxLookupsPerSession',
  'dnsCacheEntries',
  'dnsMaxTtlSec',
  'dnsDefaultTtlSec',
  'dnsNegativeTtlSec',
  'pingIntervalMs',
  'trustProxy',
  'upstreamProxy',
  'log',
  'maxMessageBytes',
  'handshakeTimeoutMs',
  // The endpoints' routes are made at the start.
  'wisp',
  'websockify',
]);

const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

export const socketgate = fastifyPlugin(plugin, { fastify: '5.x', name: '@socketgate/gateway' });

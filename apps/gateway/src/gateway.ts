import http from 'node:http';
import websocket from '@fastify/websocket';
import { CloseCode, ENDPOINT_PATH, SUBPROTOCOL } from '@socketgate/protocol';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { Authenticator } from './auth.js';
import { type GatewayConfig, type GatewayConfigInput, parseConfig } from './config.js';
import { Lookups } from './lookups.js';
import { GatewayMetrics } from './metrics.js';
import { EgressPolicy } from './policy.js';
import { dnsResolver, type Resolver, systemResolver } from './resolve.js';
import { type GatewayRuntime, Session } from './session.js';
import { parseProxyUrl } from './socks.js';

export interface GatewayOptions extends GatewayConfigInput {
  /** Fastify's logger setting; off by default when embedded. */
  logger?: FastifyServerOptions['logger'];
  /**
   * Replaces the gateway's resolver (for example, to use a directory of one's own). The gateway still
   * bounds it: `dnsTimeoutMs`, `maxLookups`, `maxLookupsPerSession`, the cache (its `ttlSec`, else
   * `dnsDefaultTtlSec`).
   */
  resolver?: Resolver;
}

/** What a gateway exposes about itself, as `app.socketgate`. */
export interface GatewayHandle {
  readonly config: GatewayConfig;
  readonly sessions: ReadonlySet<Session>;
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
}

declare module 'fastify' {
  interface FastifyInstance {
    socketgate: GatewayHandle;
  }
}

export interface SocketgatePluginOptions extends Omit<GatewayOptions, 'logger'> {}

/**
 * The gateway as a Fastify plugin: `app.register(socketgate, config)` mounts `/v1/socket`,
 * `/healthz`, `/readyz` and (unless `metricsPort` moves it) `/metrics` on an existing Fastify app.
 */
const plugin: FastifyPluginAsync<SocketgatePluginOptions> = async (app, options) => {
  const { resolver: givenResolver, ...settings } = options;
  const config = parseConfig(settings);
  const resolver =
    givenResolver ??
    (config.nameResolver === 'system' ? systemResolver : dnsResolver({ servers: config.dnsServers, timeoutMs: config.dnsTimeoutMs }));
  const sessions = new Set<Session>();
  const runtime: GatewayRuntime = {
    config,
    policy: new EgressPolicy(config.allow, { allowPorts: config.allowPorts }),
    lookups: new Lookups({
      resolver,
      timeoutMs: config.dnsTimeoutMs,
      maxLookups: config.maxLookups,
      maxLookupsPerSession: config.maxLookupsPerSession,
      cacheEntries: config.dnsCacheEntries,
      maxTtlSec: config.dnsMaxTtlSec,
      defaultTtlSec: config.dnsDefaultTtlSec,
      negativeTtlSec: config.dnsNegativeTtlSec,
    }),
    sessions,
    log: app.log,
    datagrams: { dropped: 0, refused: 0 },
    authenticator: new Authenticator(config),
    sessionsPerCredential: new Map(),
    sessionsPerAddress: new Map(),
    metrics: new GatewayMetrics(sessions),
    draining: { value: false },
    upstreamProxy: config.upstreamProxy === undefined ? undefined : parseProxyUrl(config.upstreamProxy),
  };

  const drain = async (graceMs = config.drainGraceMs): Promise<void> => {
    runtime.draining.value = true;
    for (const session of sessions) session.goAway(graceMs);
    const deadline = Date.now() + graceMs;
    const open = (): number => [...sessions].reduce((n, session) => n + session.streams.size, 0);
    while (open() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const session of [...sessions]) session.close(CloseCode.GOING_AWAY, 'the gateway is shutting down');
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
  } satisfies GatewayHandle);

  if (!app.hasDecorator('websocketServer')) {
    await app.register(websocket, {
      options: {
        maxPayload: config.maxMessageBytes,
        perMessageDeflate: false,
        handleProtocols: (protocols: Set<string>) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
      },
    });
  }

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) =>
    runtime.draining.value ? reply.code(503).send({ status: 'draining' }) : { status: 'ready', sessions: sessions.size },
  );
  const metricsText = async (): Promise<{ type: string; body: string }> => ({
    type: runtime.metrics.registry.contentType,
    body: await runtime.metrics.registry.metrics(),
  });
  if (config.metricsPort === undefined) {
    app.get('/metrics', async (_request, reply) => {
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
    app.addHook('onListen', () => new Promise<void>((resolve) => server.listen(metricsPort, metricsHost, resolve)));
    app.addHook('onClose', () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
  }

  app.get(
    ENDPOINT_PATH,
    {
      websocket: true,
      // Refused before the upgrade: a browser page from a foreign origin (cross-site WebSocket
      // hijacking), a client address over its session limit, and anyone while draining.
      preValidation: async (request, reply) => {
        if (runtime.draining.value) return reply.code(503).send({ error: 'Service Unavailable', message: 'the gateway is shutting down' });
        const origin = request.headers.origin;
        if (origin !== undefined && !config.origins.includes('*') && !config.origins.includes(origin)) {
          app.log.info({ origin }, 'refused a WebSocket from a foreign origin');
          return reply.code(403).send({ error: 'Forbidden', message: `origin ${origin} is not allowed` });
        }
        if ((runtime.sessionsPerAddress.get(request.ip) ?? 0) >= config.maxSessionsPerAddress) {
          return reply.code(429).send({ error: 'Too Many Requests', message: 'too many sessions from this address' });
        }
        return undefined;
      },
    },
    (socket, request) => {
      if (socket.protocol !== SUBPROTOCOL) {
        socket.close(CloseCode.PROTOCOL_ERROR, `the ${SUBPROTOCOL} subprotocol is required`);
        return;
      }
      new Session(socket, runtime, request.ip);
    },
  );
  app.addHook('preClose', async () => {
    for (const session of [...sessions]) session.close(CloseCode.GOING_AWAY, 'the gateway is shutting down');
  });
};

export const socketgate = fastifyPlugin(plugin, { fastify: '5.x', name: '@socketgate/gateway' });

/**
 * Builds a gateway: a ready Fastify instance, not yet listening, serving the socketgate protocol
 * at `/v1/socket`. Call `listen()` on it, or `inject()` in tests.
 */
export async function createGateway(options: GatewayOptions = {}): Promise<FastifyInstance> {
  const { logger = false, ...rest } = options;
  const app = Fastify({ logger });
  await app.register(socketgate, rest);
  await app.ready();
  return app;
}

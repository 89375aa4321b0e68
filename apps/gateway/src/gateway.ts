import websocket from '@fastify/websocket';
import { CloseCode, ENDPOINT_PATH, SUBPROTOCOL } from '@socketgate/protocol';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Authenticator } from './auth.js';
import { type GatewayConfig, type GatewayConfigInput, parseConfig } from './config.js';
import { EgressPolicy } from './policy.js';
import { dnsServerResolver, NameCache, type Resolver, systemResolver } from './resolve.js';
import { type GatewayRuntime, Session } from './session.js';

export interface GatewayOptions extends GatewayConfigInput {
  /** Fastify's logger setting; off by default when embedded. */
  logger?: FastifyServerOptions['logger'];
  /** Replaces the system resolver (for example, to use a DNS server of one's own). */
  resolver?: Resolver;
}

/** What a gateway exposes about itself, as `app.socketgate`. */
export interface GatewayHandle {
  readonly config: GatewayConfig;
  readonly sessions: ReadonlySet<Session>;
  /** Live counts and the bytes the gateway holds in buffers, for tests and operators. */
  stats(): { sessions: number; streams: number; bufferedBytes: number; droppedDatagrams: number; refusedDatagrams: number };
}

declare module 'fastify' {
  interface FastifyInstance {
    socketgate: GatewayHandle;
  }
}

/**
 * Builds a gateway: a ready Fastify instance, not yet listening, serving the socketgate protocol
 * at `/v1/socket`. Call `listen()` on it, or `inject()` in tests.
 */
export async function createGateway(options: GatewayOptions = {}): Promise<FastifyInstance> {
  const { logger = false, resolver: givenResolver, ...settings } = options;
  const config = parseConfig(settings);
  const resolver = givenResolver ?? (config.dnsServers.length > 0 ? dnsServerResolver(config.dnsServers) : systemResolver);
  const app = Fastify({ logger });
  const runtime: GatewayRuntime = {
    config,
    policy: new EgressPolicy(config.allow, { allowPorts: config.allowPorts }),
    resolver,
    names: new NameCache(resolver),
    sessions: new Set(),
    log: app.log,
    datagrams: { dropped: 0, refused: 0 },
    authenticator: new Authenticator(config),
    sessionsPerCredential: new Map(),
    sessionsPerAddress: new Map(),
  };
  app.decorate('socketgate', {
    config,
    sessions: runtime.sessions,
    stats() {
      let streams = 0;
      let bufferedBytes = 0;
      for (const session of runtime.sessions) {
        streams += session.streams.size;
        bufferedBytes += session.bufferedBytes;
      }
      return {
        sessions: runtime.sessions.size,
        streams,
        bufferedBytes,
        droppedDatagrams: runtime.datagrams.dropped,
        refusedDatagrams: runtime.datagrams.refused,
      };
    },
  } satisfies GatewayHandle);

  await app.register(websocket, {
    options: {
      maxPayload: config.maxMessageBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols: Set<string>) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    },
  });
  app.get(
    ENDPOINT_PATH,
    {
      websocket: true,
      // Refused before the upgrade: a browser page from a foreign origin (cross-site WebSocket
      // hijacking), and a client address over its session limit.
      preValidation: async (request, reply) => {
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
    for (const session of [...runtime.sessions]) session.close(CloseCode.GOING_AWAY, 'the gateway is shutting down');
  });
  await app.ready();
  return app;
}

import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { type SocketgatePluginOptions, socketgate } from './plugin.js';

export interface GatewayOptions extends SocketgatePluginOptions {
  /** Fastify's logger setting; off by default when embedded. */
  logger?: FastifyServerOptions['logger'];
}

/**
 * Request log lines without the query string: a credential that a client put in a URL never
 * reaches the log.
 */
export const requestSerializer = (request: FastifyRequest): Record<string, unknown> => ({
  method: request.method,
  url: request.url.replace(/[?#].*$/s, ''),
  host: request.headers.host,
  remoteAddress: request.ip,
  remotePort: request.socket?.remotePort,
});

/** Fastify logger options with the request serializer that drops query strings. */
type LoggerSetting = NonNullable<FastifyServerOptions['logger']>;
export function withSafeRequests(logger: LoggerSetting): LoggerSetting {
  if (logger === true) return { serializers: { req: requestSerializer } };
  if (typeof logger !== 'object' || logger === null) return logger;
  const options = logger as { serializers?: Record<string, unknown> };
  return { ...logger, serializers: { ...options.serializers, req: requestSerializer } } as LoggerSetting;
}

/**
 * Builds a gateway: a ready Fastify instance, not yet listening, serving the socketgate protocol
 * at `/v1/socket`. Call `listen()` on it, or `inject()` in tests.
 */
export async function createGateway(options: GatewayOptions = {}): Promise<FastifyInstance> {
  const { logger = false, ...rest } = options;
  const trustProxy = rest.trustProxy === undefined || rest.trustProxy.length === 0 ? false : [...rest.trustProxy];
  const app = Fastify({ logger: withSafeRequests(logger), trustProxy });
  await app.register(socketgate, rest);
  await app.ready();
  return app;
}

import type http from 'node:http';
import { ENDPOINT_PATH, SUBPROTOCOL } from '@socketgate/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from './config.js';
import type { GatewayRuntime } from './runtime.js';
import { WEBSOCKIFY_SUBPROTOCOL, WebsockifySession } from './websockify-session.js';
import { WISP_V2_SUBPROTOCOL, WispSession } from './wisp-session.js';

const pathOf = (url: string | undefined): string => (url ?? '').replace(/[?#].*$/s, '');

/**
 * The subprotocol the gateway picks for an upgrade, by its path: `socketgate.v1` on the native
 * endpoint, `wisp-v2` on the Wisp one (a v1 client asks for none), `binary` on the websockify one.
 * False picks none (ws then answers without the header).
 */
export function subprotocolFor(config: GatewayConfig, protocols: ReadonlySet<string>, url: string | undefined): string | false {
  const path = pathOf(url);
  // A Wisp client that offers any subprotocol speaks v2 (epoxy-tls offers a random one): it is
  // answered with `wisp-v2` when offered, else with the first it offered.
  if (path === config.wisp.path) return protocols.has(WISP_V2_SUBPROTOCOL) ? WISP_V2_SUBPROTOCOL : ([...protocols][0] ?? false);
  const wanted = path === config.websockify.path ? WEBSOCKIFY_SUBPROTOCOL : SUBPROTOCOL;
  return protocols.has(wanted) ? wanted : false;
}

/** A URL's query parameter (the credential a client without a hello carries), if it is given once. */
function queryParameter(request: FastifyRequest, name: string): string | undefined {
  const query = request.query as Record<string, string | string[] | undefined> | undefined;
  const value = query?.[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

interface RelayParts {
  runtime: GatewayRuntime;
  /** The native endpoint's checks before the upgrade: draining, the origin, the address's sessions. */
  admitUpgrade: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  clientAddress: (request: http.IncomingMessage) => string;
}

/**
 * The Wisp and websockify endpoints, where configured: their paths (the gateway answers 404 to
 * upgrades anywhere else), and their routes, checked before the upgrade as the native one is.
 * Their credential travels in the URL (`?token=`, dropped from every log line with the query) or,
 * for Wisp v2, as the password extension's password.
 */
export function relayRoutes(config: GatewayConfig): {
  paths: ReadonlySet<string>;
  register(app: FastifyInstance, parts: RelayParts): void;
} {
  const { wisp, websockify } = config;
  const paths = new Set([wisp.path, websockify.path].filter((path): path is string => path !== undefined && path !== ENDPOINT_PATH));
  return {
    paths,
    register(app, { runtime, admitUpgrade, clientAddress }) {
      if (wisp.path !== undefined) {
        app.get(wisp.path, { websocket: true, preValidation: admitUpgrade }, (socket, request) => {
          socket.binaryType = 'nodebuffer';
          new WispSession(socket, runtime, clientAddress(request.raw), {
            v2: socket.protocol !== '',
            token: queryParameter(request, 'token'),
          });
        });
      }
      if (websockify.path !== undefined) {
        app.get(websockify.path, { websocket: true, preValidation: admitUpgrade }, (socket, request) => {
          socket.binaryType = 'nodebuffer';
          new WebsockifySession(socket, runtime, clientAddress(request.raw), {
            token: queryParameter(request, 'token'),
            host: queryParameter(request, 'host'),
            port: queryParameter(request, 'port'),
          });
        });
      }
    },
  };
}

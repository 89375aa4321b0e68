import type http from 'node:http';
import type net from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';

/**
 * The client's address of a request: the direct peer's, or, when that peer is a trusted proxy
 * (`trustProxy`), the last address in X-Forwarded-For that is not itself a trusted proxy. A header
 * from any other peer is ignored.
 */
export function clientAddressOf(trustProxy: readonly string[]): ((request: http.IncomingMessage) => string) & {
  trusted: (address: string) => boolean;
} {
  const trust = proxyAddr.compile([...trustProxy]);
  const trusted = (address: string): boolean => trustProxy.length > 0 && trust(address, 0);
  const of = (request: http.IncomingMessage): string =>
    trustProxy.length === 0 ? (request.socket.remoteAddress ?? '') : proxyAddr(request, trust);
  return Object.assign(of, { trusted });
}

/**
 * Bounds what a client can hold before its WebSocket exists: TCP connections per address, counted
 * from accept until the socket is really closed (past `maxConnectionsPerAddress` a new one is cut at
 * once), and `handshakeTimeoutMs` to send a complete request (half-sent headers are cut). Client
 * connections get TCP keepalive, so that half-open ones are found.
 */
export function guardConnections(
  server: http.Server,
  config: GatewayConfig,
  metrics: GatewayMetrics,
  trusted: (address: string) => boolean,
): void {
  const perAddress = new Map<string, number>();
  server.headersTimeout = Math.min(server.headersTimeout || Number.POSITIVE_INFINITY, config.handshakeTimeoutMs);
  server.requestTimeout = Math.min(server.requestTimeout || Number.POSITIVE_INFINITY, config.handshakeTimeoutMs);
  const waiting = new WeakMap<net.Socket, NodeJS.Timeout>();
  const tls = 'setSecureContext' in server;
  const started = (request: http.IncomingMessage): void => {
    clearTimeout(waiting.get(request.socket));
    waiting.delete(request.socket);
  };
  server.on('request', started);
  server.on('upgrade', started);
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? '';
    if (config.tcpKeepAliveMs > 0) socket.setKeepAlive(true, config.tcpKeepAliveMs);
    // A trusted proxy carries many clients: they are counted by their own addresses at the upgrade.
    if (trusted(address)) return;
    const open = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, open);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
      clearTimeout(waiting.get(socket));
    });
    if (open > config.maxConnectionsPerAddress) {
      metrics.cuts.inc({ reason: 'connections' });
      socket.destroy();
      return;
    }
    // Over TLS the request arrives on another socket object; headersTimeout bounds it there.
    if (tls) return;
    const timer = setTimeout(() => {
      metrics.cuts.inc({ reason: 'handshake' });
      socket.destroy();
    }, config.handshakeTimeoutMs);
    timer.unref();
    waiting.set(socket, timer);
  });
}

import type net from 'node:net';
import type { ProxySpec } from '@socketgate/protocol';
import { SocksClient } from 'socks';
import { connectTimedOut, type Errno, errnoFailure, type SocketFailure, socketFailure, tabled } from './errno-table.js';

/** A SOCKS5 proxy to connect through. */
export interface Socks5Proxy {
  host: string;
  port: number;
  user?: string;
  password?: string;
}

/** Parses `socks5://[user:password@]host:port`. */
export function parseProxyUrl(url: string): Socks5Proxy {
  const parsed = new URL(url);
  const proxy: Socks5Proxy = { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port) };
  if (parsed.username) proxy.user = decodeURIComponent(parsed.username);
  if (parsed.password) proxy.password = decodeURIComponent(parsed.password);
  return proxy;
}

export const fromSpec = ({ host, port, user, password }: ProxySpec): Socks5Proxy => ({
  host,
  port,
  ...(user === undefined ? {} : { user }),
  ...(password === undefined ? {} : { password }),
});

/** The SOCKS5 replies (RFC 1928 §6) that report on the destination as an errno would. */
const DESTINATION_REPLIES: Readonly<Record<string, Errno>> = {
  ConnectionRefused: 'ECONNREFUSED',
  HostUnreachable: 'EHOSTUNREACH',
  NetworkUnreachable: 'ENETUNREACH',
};

/**
 * Maps what went wrong with a SOCKS5 proxy to Qt's names: the proxy's own failures are Qt's Proxy*
 * errors; the proxy's report about the destination is the error a direct connect would have given.
 * The socks library reports in text only, so the errno is read out of Node's message.
 */
export function proxyFailure(error: unknown): SocketFailure {
  const message = (error as Error | undefined)?.message ?? '';
  const code = /\b(E[A-Z][A-Z0-9_]+)\b/.exec(message)?.[1];
  if (code !== undefined && tabled(code, 'proxy')) return socketFailure({ code }, 'proxy');
  // The library's own words for the proxy's silence and for its close, the same events as the errnos.
  if (/timed out/i.test(message)) return errnoFailure('ETIMEDOUT', 'proxy');
  if (/Authentication failed|no accepted authentication type/i.test(message)) {
    return { error: 'ProxyAuthenticationRequiredError', message: 'Proxy authentication failed' };
  }
  const rejected = /rejected connection - (\w+)/.exec(message)?.[1] ?? '';
  const destination = DESTINATION_REPLIES[rejected];
  if (destination !== undefined) return errnoFailure(destination, 'connect');
  if (rejected === 'NotAllowed') return { error: 'SocketAccessError', message: 'Permission denied: the proxy refused the connection' };
  if (rejected === 'TTLExpired') return connectTimedOut;
  if (/Socket closed/.test(message)) return errnoFailure('EPIPE', 'proxy');
  return socketFailure({ message }, 'proxy');
}

/** Connects to `address`:`port` (an address the policy checked) through the proxy. */
export async function connectThrough(proxy: Socks5Proxy, address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  const { socket } = await SocksClient.createConnection({
    proxy: {
      host: proxy.host,
      port: proxy.port,
      type: 5,
      ...(proxy.user === undefined ? {} : { userId: proxy.user }),
      ...(proxy.password === undefined ? {} : { password: proxy.password }),
    },
    command: 'connect',
    destination: { host: address, port },
    timeout: timeoutMs,
  });
  return socket;
}

import type net from 'node:net';
import type { ProxySpec } from '@socketgate/protocol';
import { SocksClient } from 'socks';
import type { SocketFailure } from './errors.js';

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

/**
 * Maps what went wrong with a SOCKS5 proxy to Qt's names: the proxy's own failures are Qt's Proxy*
 * errors; the proxy's report about the destination is the error a direct connect would have given.
 */
export function proxyFailure(error: unknown): SocketFailure {
  const message = (error as Error | undefined)?.message ?? '';
  if (/ECONNREFUSED/.test(message)) return { error: 'ProxyConnectionRefusedError', message: 'Connection to proxy refused' };
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME/.test(message)) return { error: 'ProxyNotFoundError', message: 'Proxy host not found' };
  if (/timed out/i.test(message)) return { error: 'ProxyConnectionTimeoutError', message: 'Proxy connection timed out' };
  if (/Authentication failed|no accepted authentication type/i.test(message)) {
    return { error: 'ProxyAuthenticationRequiredError', message: 'Proxy authentication failed' };
  }
  const rejected = /rejected connection - (\w+)/.exec(message)?.[1];
  switch (rejected) {
    case 'ConnectionRefused':
      return { error: 'ConnectionRefusedError', message: 'Connection refused' };
    case 'HostUnreachable':
      return { error: 'NetworkError', message: 'Host unreachable' };
    case 'NetworkUnreachable':
      return { error: 'NetworkError', message: 'Network unreachable' };
    case 'NotAllowed':
      return { error: 'SocketAccessError', message: 'Permission denied: the proxy refused the connection' };
    case 'TTLExpired':
      return { error: 'SocketTimeoutError', message: 'Connection timed out' };
    default:
      break;
  }
  if (/Socket closed|ECONNRESET|EPIPE/.test(message))
    return { error: 'ProxyConnectionClosedError', message: 'Connection to proxy closed prematurely' };
  return { error: 'ProxyProtocolError', message: `Proxy protocol error: ${message}` };
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

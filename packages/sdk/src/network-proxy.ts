import type { ProxySpec } from '@socketgate/protocol';

/** Qt's `QNetworkProxy::ProxyType`. */
export const ProxyType = {
  DefaultProxy: 0,
  Socks5Proxy: 1,
  NoProxy: 2,
  HttpProxy: 3,
  HttpCachingProxy: 4,
  FtpCachingProxy: 5,
} as const;
export type ProxyType = (typeof ProxyType)[keyof typeof ProxyType];

let applicationProxy: QNetworkProxy | undefined;

/**
 * Qt's `QNetworkProxy`. A socket's SOCKS5 proxy is used by the gateway, which connects through it
 * where its policy allows client proxies; the other proxy types are not supported.
 */
export class QNetworkProxy {
  static readonly ProxyType = ProxyType;
  declare static readonly DefaultProxy: typeof ProxyType.DefaultProxy;
  declare static readonly Socks5Proxy: typeof ProxyType.Socks5Proxy;
  declare static readonly NoProxy: typeof ProxyType.NoProxy;
  declare static readonly HttpProxy: typeof ProxyType.HttpProxy;
  declare static readonly HttpCachingProxy: typeof ProxyType.HttpCachingProxy;
  declare static readonly FtpCachingProxy: typeof ProxyType.FtpCachingProxy;
  static {
    // The proxy types as Qt's enum values on the class (QNetworkProxy.Socks5Proxy).
    Object.assign(QNetworkProxy, ProxyType);
  }

  #type: ProxyType;
  #hostName: string;
  #port: number;
  #user: string;
  #password: string;

  constructor(type: ProxyType = ProxyType.DefaultProxy, hostName = '', port = 0, user = '', password = '') {
    this.#type = type;
    this.#hostName = hostName;
    this.#port = port;
    this.#user = user;
    this.#password = password;
  }

  type(): ProxyType {
    return this.#type;
  }
  setType(type: ProxyType): void {
    this.#type = type;
  }
  hostName(): string {
    return this.#hostName;
  }
  setHostName(hostName: string): void {
    this.#hostName = hostName;
  }
  port(): number {
    return this.#port;
  }
  setPort(port: number): void {
    this.#port = port;
  }
  user(): string {
    return this.#user;
  }
  setUser(user: string): void {
    this.#user = user;
  }
  password(): string {
    return this.#password;
  }
  setPassword(password: string): void {
    this.#password = password;
  }

  /** The proxy sockets use when theirs is DefaultProxy (NoProxy unless set). */
  static applicationProxy(): QNetworkProxy {
    return applicationProxy ?? new QNetworkProxy(ProxyType.NoProxy);
  }
  static setApplicationProxy(proxy: QNetworkProxy | null): void {
    applicationProxy = proxy ?? undefined;
  }
}

/** The proxy a socket's next connection goes through: its own, or the application's for DefaultProxy; undefined for none. */
export function connectionProxy(proxy: QNetworkProxy): QNetworkProxy | undefined {
  const chosen = proxy.type() === ProxyType.DefaultProxy ? QNetworkProxy.applicationProxy() : proxy;
  return chosen.type() === ProxyType.NoProxy || chosen.type() === ProxyType.DefaultProxy ? undefined : chosen;
}

/** A SOCKS5 proxy as an `open` message names it. */
export function proxySpec(proxy: QNetworkProxy): ProxySpec {
  return {
    type: 'socks5',
    host: proxy.hostName(),
    port: proxy.port(),
    ...(proxy.user() ? { user: proxy.user() } : {}),
    ...(proxy.password() ? { password: proxy.password() } : {}),
  };
}

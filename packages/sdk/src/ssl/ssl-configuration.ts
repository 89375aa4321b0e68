import { QSslCertificate } from './ssl-certificate.js';
import { QSslCipher } from './ssl-cipher.js';
import { NextProtocolNegotiationStatus, PeerVerifyMode, SslProtocol } from './ssl-enums.js';

/** What a handshake settled, which a socket's configuration reports (Qt's session fields). */
export interface SslSession {
  peerCertificateChain: QSslCertificate[];
  cipher: QSslCipher;
  protocol: SslProtocol;
  nextNegotiatedProtocol: string;
}

/** Records a session in a configuration, for QSslSocket. */
export let setSession: (configuration: QSslConfiguration, session: SslSession) => void;

/**
 * Qt's `QSslConfiguration` for a client. The CA certificates start as "the system's": the gateway's
 * store (Node's roots and its operator's CA files), which a page cannot list, so `caCertificates()`
 * is empty until the app sets some; `setCaCertificates` then replaces the system's, as in Qt, and
 * `addCaCertificates` adds to them.
 */
export class QSslConfiguration {
  static {
    setSession = (configuration, session) => {
      configuration.#session = session;
    };
  }
  /** ALPN's name for HTTP/2. */
  static readonly ALPNProtocolHTTP2 = 'h2';
  /** ALPN's name for HTTP/1.1. */
  static readonly NextProtocolHttp1_1 = 'http/1.1';
  static readonly NextProtocolNegotiationStatus = NextProtocolNegotiationStatus;
  #session: SslSession | undefined;
  #caCertificates: QSslCertificate[] = [];
  #systemCaCertificates = true;
  #protocol: SslProtocol = SslProtocol.SecureProtocols;
  #peerVerifyMode: PeerVerifyMode = PeerVerifyMode.AutoVerifyPeer;
  #peerVerifyDepth = 0;
  #allowedNextProtocols: string[] = [];
  #localCertificateChain: QSslCertificate[] = [];
  #privateKey = '';

  static defaultConfiguration(): QSslConfiguration {
    return new QSslConfiguration();
  }

  /** A copy (Qt's configurations are values). */
  clone(): QSslConfiguration {
    const copy = new QSslConfiguration();
    copy.#caCertificates = [...this.#caCertificates];
    copy.#systemCaCertificates = this.#systemCaCertificates;
    copy.#protocol = this.#protocol;
    copy.#peerVerifyMode = this.#peerVerifyMode;
    copy.#peerVerifyDepth = this.#peerVerifyDepth;
    copy.#allowedNextProtocols = [...this.#allowedNextProtocols];
    copy.#localCertificateChain = [...this.#localCertificateChain];
    copy.#privateKey = this.#privateKey;
    copy.#session = this.#session;
    return copy;
  }

  caCertificates(): QSslCertificate[] {
    return [...this.#caCertificates];
  }

  setCaCertificates(certificates: QSslCertificate[]): void {
    this.#caCertificates = [...certificates];
    this.#systemCaCertificates = false;
  }

  addCaCertificates(certificates: QSslCertificate[] | QSslCertificate): void {
    this.#caCertificates.push(...(Array.isArray(certificates) ? certificates : [certificates]));
  }

  /** Whether the gateway's own trusted CAs count too (false once setCaCertificates was called). */
  usesSystemCaCertificates(): boolean {
    return this.#systemCaCertificates;
  }

  protocol(): SslProtocol {
    return this.#protocol;
  }

  setProtocol(protocol: SslProtocol): void {
    this.#protocol = protocol;
  }

  peerVerifyMode(): PeerVerifyMode {
    return this.#peerVerifyMode;
  }

  setPeerVerifyMode(mode: PeerVerifyMode): void {
    this.#peerVerifyMode = mode;
  }

  peerVerifyDepth(): number {
    return this.#peerVerifyDepth;
  }

  setPeerVerifyDepth(depth: number): void {
    if (!Number.isInteger(depth) || depth < 0)
      throw new RangeError(`setPeerVerifyDepth() needs a depth of 0 or more, got ${String(depth)}`);
    this.#peerVerifyDepth = depth;
  }

  allowedNextProtocols(): string[] {
    return [...this.#allowedNextProtocols];
  }

  setAllowedNextProtocols(protocols: string[]): void {
    this.#allowedNextProtocols = [...protocols];
  }

  localCertificateChain(): QSslCertificate[] {
    return [...this.#localCertificateChain];
  }

  localCertificate(): QSslCertificate {
    return this.#localCertificateChain[0] ?? new QSslCertificate();
  }

  setLocalCertificate(certificate: QSslCertificate): void {
    this.#localCertificateChain = [certificate];
  }

  setLocalCertificateChain(chain: QSslCertificate[]): void {
    this.#localCertificateChain = [...chain];
  }

  /** The client's private key in PEM (Qt's QSslKey, as text); sent to the gateway only where it accepts client certificates. */
  privateKey(): string {
    return this.#privateKey;
  }

  setPrivateKey(pem: string): void {
    this.#privateKey = pem;
  }

  // ---- what a handshake settled (a socket's configuration, once encrypted) -------------------------
  peerCertificate(): QSslCertificate {
    return this.#session?.peerCertificateChain[0] ?? new QSslCertificate();
  }

  peerCertificateChain(): QSslCertificate[] {
    return [...(this.#session?.peerCertificateChain ?? [])];
  }

  sessionCipher(): QSslCipher {
    return this.#session?.cipher ?? new QSslCipher();
  }

  sessionProtocol(): SslProtocol {
    return this.#session?.protocol ?? SslProtocol.UnknownProtocol;
  }

  /** The ALPN protocol the peer chose, or `""`. */
  nextNegotiatedProtocol(): string {
    return this.#session?.nextNegotiatedProtocol ?? '';
  }

  nextProtocolNegotiationStatus(): NextProtocolNegotiationStatus {
    return this.#session?.nextNegotiatedProtocol
      ? NextProtocolNegotiationStatus.NextProtocolNegotiationNegotiated
      : NextProtocolNegotiationStatus.NextProtocolNegotiationNone;
  }
}

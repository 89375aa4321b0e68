import { QSslCertificate } from './ssl-certificate.js';
import { PeerVerifyMode, SslProtocol } from './ssl-enums.js';

/**
 * Qt's `QSslConfiguration` for a client. The CA certificates start as "the system's": the gateway's
 * store (Node's roots and its operator's CA files), which a page cannot list, so `caCertificates()`
 * is empty until the app sets some; `setCaCertificates` then replaces the system's, as in Qt, and
 * `addCaCertificates` adds to them.
 */
export class QSslConfiguration {
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
}

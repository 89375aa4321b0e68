import { SslProtocol } from './ssl-enums.js';

/** Qt's `QSslCipher`, as the gateway reports the session's: a null cipher until encrypted. */
export class QSslCipher {
  readonly #name: string;
  readonly #protocol: SslProtocol;
  readonly #bits: number;
  readonly #supportedBits: number;

  constructor(name = '', protocol: SslProtocol = SslProtocol.UnknownProtocol, bits = 0, supportedBits = 0) {
    this.#name = name;
    this.#protocol = protocol;
    this.#bits = bits;
    this.#supportedBits = supportedBits;
  }

  isNull(): boolean {
    return this.#name === '';
  }

  name(): string {
    return this.#name;
  }

  protocol(): SslProtocol {
    return this.#protocol;
  }

  /** Qt's text for the protocol: "TLSv1.2", "TLSv1.3", or empty. */
  protocolString(): string {
    return this.#protocol === SslProtocol.TlsV1_2 ? 'TLSv1.2' : this.#protocol === SslProtocol.TlsV1_3 ? 'TLSv1.3' : '';
  }

  usedBits(): number {
    return this.#bits;
  }

  supportedBits(): number {
    return this.#supportedBits;
  }
}

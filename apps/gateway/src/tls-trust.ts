/**
 * The certificates a TLS stream trusts: the system store (Node's bundled roots) and the operator's
 * `tls.caFiles`, or, when the client set its own CAs without the system's (Qt's setCaCertificates),
 * only the client's.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of PEM text; throws naming `what` when a block is not a certificate or there is none. */
export function parsePemCertificates(text: string, what: string): X509Certificate[] {
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${what}: no PEM certificate in it`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new Error(`${what}: certificate ${i + 1} cannot be read (${(error as Error).message})`);
    }
  });
}

export class TrustStore {
  readonly #operator: X509Certificate[];
  #system: X509Certificate[] | undefined;

  private constructor(operator: X509Certificate[]) {
    this.#operator = operator;
  }

  /** Reads the operator's CA files; a file that cannot be read or holds no certificate fails the start, naming it. */
  static fromFiles(caFiles: readonly string[]): TrustStore {
    const operator: X509Certificate[] = [];
    for (const file of caFiles) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new Error(`tls.caFiles: ${file}: ${(error as Error).message}`);
      }
      operator.push(...parsePemCertificates(text, `tls.caFiles: ${file}`));
    }
    return new TrustStore(operator);
  }

  /** The anchors for one stream: the system's and the operator's unless the client said otherwise, plus the client's. */
  anchors(client: { system: boolean; certificates: readonly string[] } | undefined): X509Certificate[] {
    const own = (client?.certificates ?? []).flatMap((pem, i) => parsePemCertificates(pem, `tls.ca.certificates[${i}]`));
    if (client !== undefined && !client.system) return own;
    this.#system ??= rootCertificates.map((pem) => new X509Certificate(pem));
    return [...this.#system, ...this.#operator, ...own];
  }
}

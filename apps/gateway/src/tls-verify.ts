/**
 * Certificate verification as a Qt client sees it: every error Qt's OpenSSL backend would report
 * for a peer's chain, in Qt's order, each naming the certificate it is about.
 *
 * Node's TLS socket reports one verification error at most (`authorizationError`); Qt collects all of
 * them, through OpenSSL's verification callback, and checks the host name itself. So the gateway
 * verifies the chain the peer sent again, here, with the same steps OpenSSL takes: build the chain
 * (trusted certificates first), check the issuers are CAs and the leaf may serve TLS, verify from the
 * top down (signatures and validity dates), then match the host name as Qt does and put a mismatch
 * first.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { domainToASCII } from 'node:url';

/** Qt's `QSslError::SslError` names the gateway can report. */
export type SslErrorName =
  | 'UnableToGetIssuerCertificate'
  | 'CertificateSignatureFailed'
  | 'CertificateNotYetValid'
  | 'CertificateExpired'
  | 'SelfSignedCertificate'
  | 'SelfSignedCertificateInChain'
  | 'UnableToGetLocalIssuerCertificate'
  | 'UnableToVerifyFirstCertificate'
  | 'InvalidCaCertificate'
  | 'InvalidPurpose'
  | 'NoPeerCertificate'
  | 'HostNameMismatch';

/** One verification error and the index, in `VerifiedChain.chain`, of the certificate it is about. */
export interface PeerVerifyError {
  error: SslErrorName;
  certificate: number;
}

export interface VerifiedChain {
  /** The chain as built: the leaf first, up to the root where one was found. */
  chain: X509Certificate[];
  /** In the order Qt's `sslErrors` lists them (a host name mismatch first). */
  errors: PeerVerifyError[];
  /** In the order Qt emits `peerVerifyError`: as found, the host name last. */
  found: PeerVerifyError[];
}

/** More certificates than any real chain has: a peer's chain is cut there. */
const MAX_CHAIN = 16;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

const sameCertificate = (a: X509Certificate, b: X509Certificate): boolean => a.raw.equals(b.raw);

/**
 * Issued by `issuer` as OpenSSL decides while building a chain: by the names and key identifiers;
 * the signature is checked later, on the chain built.
 */
function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  return certificate.checkIssued(issuer);
}

function signedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

const selfIssued = (certificate: X509Certificate): boolean => issuedBy(certificate, certificate);

/**
 * Verifies `peer` (the certificates the server sent, its leaf first) against `trusted` for a
 * connection to `peerName` at `now`, as a Qt client in `VerifyPeer` mode would.
 */
export function verifyPeerChain(
  peer: readonly X509Certificate[],
  trusted: readonly X509Certificate[],
  peerName: string,
  now: Date = new Date(),
): VerifiedChain {
  const leaf = peer[0];
  if (leaf === undefined) {
    const none: PeerVerifyError[] = [{ error: 'NoPeerCertificate', certificate: -1 }];
    return { chain: [], errors: none, found: none };
  }
  const found: PeerVerifyError[] = [];
  const report = (error: SslErrorName, certificate: number) => found.push({ error, certificate });
  const isTrusted = (certificate: X509Certificate) => trusted.some((anchor) => sameCertificate(anchor, certificate));

  // Build the chain: each certificate's issuer from the trusted ones first, then from what the
  // peer sent, until a self-issued certificate ends it.
  const chain: X509Certificate[] = [leaf];
  const fromPeer: boolean[] = [!isTrusted(leaf)];
  for (;;) {
    const top = chain.length - 1;
    const current = chain[top] as X509Certificate;
    if (selfIssued(current)) {
      if (!isTrusted(current)) report(top === 0 ? 'SelfSignedCertificate' : 'SelfSignedCertificateInChain', top);
      break;
    }
    const unused = (candidate: X509Certificate) => !chain.some((member) => sameCertificate(member, candidate));
    const anchor = trusted.find((candidate) => unused(candidate) && issuedBy(current, candidate));
    const sent = anchor ?? peer.slice(1).find((candidate) => unused(candidate) && issuedBy(current, candidate));
    if (sent === undefined) {
      report(fromPeer[top] ? 'UnableToGetLocalIssuerCertificate' : 'UnableToGetIssuerCertificate', top);
      break;
    }
    chain.push(sent);
    fromPeer.push(anchor === undefined);
  }

  // Extensions: every issuer must be a CA, and the leaf must be allowed to serve TLS.
  for (let i = 1; i < chain.length; i++) if (!chain[i]?.ca) report('InvalidCaCertificate', i);
  const usages = leaf.keyUsage;
  if (usages !== undefined && usages.length > 0 && !usages.includes(SERVER_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
    report('InvalidPurpose', 0);
  }

  // From the top down: each signature by the certificate above it, and each certificate's dates. A
  // top that is not self-issued is not checked itself, unless it is the only one.
  let n = chain.length - 1;
  const top = chain[n] as X509Certificate;
  if (!selfIssued(top)) {
    if (n === 0) report('UnableToVerifyFirstCertificate', 0);
    else n -= 1;
  }
  for (let i = n; i >= 0; i--) {
    const certificate = chain[i] as X509Certificate;
    const issuer = chain[i + 1];
    if (issuer !== undefined && !signedBy(certificate, issuer)) report('CertificateSignatureFailed', i);
    if (now < new Date(certificate.validFrom)) report('CertificateNotYetValid', i);
    else if (now > new Date(certificate.validTo)) report('CertificateExpired', i);
  }

  // Qt matches the host name itself, after OpenSSL's checks, and lists a mismatch first.
  const errors = [...found];
  if (!matchesPeerName(leaf, peerName)) {
    found.push({ error: 'HostNameMismatch', certificate: 0 });
    errors.unshift({ error: 'HostNameMismatch', certificate: 0 });
  }
  return { chain, errors, found };
}

/** The values of one attribute (`CN`, `O`, …) in a certificate name as Node prints it. */
export function nameEntries(name: string, attribute: string): string[] {
  return name
    .split('\n')
    .filter((line) => line.startsWith(`${attribute}=`))
    .map((line) => unquote(line.slice(attribute.length + 1)));
}

/** Node quotes a value with a special character in it as a JSON string. */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    return value;
  }
}

/** The subject alternative names, by kind (`DNS`, `IP Address`, `email`, `URI`). */
export function alternativeNames(certificate: X509Certificate): Array<{ kind: string; value: string }> {
  const text = certificate.subjectAltName;
  if (!text) return [];
  const names: Array<{ kind: string; value: string }> = [];
  // "DNS:a, IP Address:127.0.0.1, DNS:\"with, comma\""
  const entry = /\s*([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/g;
  for (const match of text.matchAll(entry)) names.push({ kind: match[1] as string, value: unquote(match[2] as string) });
  return names;
}

const ace = (name: string): string => (domainToASCII(name) || name).toLowerCase();

/** Qt's rule for one name in a certificate against the name connected to (lower-case ACE). */
function nameMatches(pattern: string, host: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return ace(pattern) === host;
  const firstDot = pattern.indexOf('.');
  const secondDot = pattern.indexOf('.', firstDot + 1);
  // A wildcard needs three labels, the star at the end of the first, only one star, no IDN label.
  if (secondDot === -1 || secondDot + 1 >= pattern.length) return false;
  if (star + 1 !== firstDot || pattern.lastIndexOf('*') !== star) return false;
  if (pattern.toLowerCase().startsWith('xn--')) return false;
  if (star > 0 && host.slice(0, star).toLowerCase() !== pattern.slice(0, star).toLowerCase()) return false;
  const hostRest = host.slice(host.indexOf('.') + 1);
  const patternRest = pattern.slice(firstDot + 1);
  if (hostRest !== patternRest && hostRest !== ace(patternRest)) return false;
  // Never a wildcard for an address.
  return isIP(host) === 0;
}

/** An IP address in a canonical form, to compare spellings. */
function canonicalAddress(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.split('.').map(Number).join('.');
  if (isIP(bare) !== 6) return undefined;
  const [head, tail = ''] = bare.split('::') as [string, string?];
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = groups(tail);
  const last = right.length > 0 ? right : left;
  // An embedded IPv4 tail (::ffff:1.2.3.4) as two groups.
  const at = last.length - 1;
  if (last[at]?.includes('.')) {
    const [a, b, c, d] = (last[at] as string).split('.').map(Number) as [number, number, number, number];
    last.splice(at, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const fill = bare.includes('::') ? Array(8 - left.length - right.length).fill('0') : [];
  return [...left, ...fill, ...right].map((group) => Number.parseInt(group, 16).toString(16)).join(':');
}

/**
 * Whether the leaf is for `peerName`, as Qt decides: any subject common name, then any DNS
 * alternative name, by Qt's wildcard rule; an address against the IP address alternative names.
 */
export function matchesPeerName(leaf: X509Certificate, peerName: string): boolean {
  const host = ace(peerName.replace(/^\[|\]$/g, ''));
  for (const commonName of nameEntries(leaf.subject, 'CN')) if (nameMatches(commonName, host)) return true;
  const names = alternativeNames(leaf);
  for (const { kind, value } of names) if (kind === 'DNS' && nameMatches(value, host)) return true;
  const address = canonicalAddress(host);
  if (address === undefined) return false;
  return names.some(({ kind, value }) => kind === 'IP Address' && canonicalAddress(value) === address);
}

/**
 * The certificates a TLS peer sent, its leaf first, as X509Certificate objects (Node may have
 * completed the chain from its own store; verifyPeerChain finds those among the trusted ones).
 */
export function peerCertificates(socket: TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  let at: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  while (at?.raw !== undefined && out.length < MAX_CHAIN) {
    const certificate = new X509Certificate(at.raw);
    if (out.some((member) => sameCertificate(member, certificate))) break;
    out.push(certificate);
    at = at.issuerCertificate;
  }
  return out;
}

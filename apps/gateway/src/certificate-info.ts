/** A peer's certificate described for the SDK's QSslCertificate, with Qt's forms of each value. */
import { createHash, type X509Certificate } from 'node:crypto';
import type { CertificateInfo } from '@socketgate/protocol';
import { alternativeNames } from './tls-verify.js';

/** Node's name text (`CN=a\nO=b`) as Qt's subjectInfo: attribute short names to their values. */
function nameInfo(name: string): Record<string, string[]> {
  const info: Record<string, string[]> = {};
  for (const line of name.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const attribute = line.slice(0, at);
    let value = line.slice(at + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {}
    }
    info[attribute] ??= [];
    info[attribute].push(value);
  }
  return info;
}

/** Qt's serial number form: the integer's bytes in lower-case hex, joined by colons. */
function serialNumber(hex: string): string {
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  return (even.toLowerCase().match(/../g) ?? []).join(':');
}

const KINDS: Record<string, string> = { DNS: 'DNS', 'IP Address': 'IP', email: 'email', URI: 'URI' };

export function describeCertificate(certificate: X509Certificate): CertificateInfo {
  const digest = (algorithm: string) => createHash(algorithm).update(certificate.raw).digest('hex');
  return {
    der: certificate.raw.toString('base64'),
    subject: nameInfo(certificate.subject),
    issuer: nameInfo(certificate.issuer),
    serialNumber: serialNumber(certificate.serialNumber),
    effectiveDate: new Date(certificate.validFrom).toISOString(),
    expiryDate: new Date(certificate.validTo).toISOString(),
    md5: digest('md5'),
    sha1: digest('sha1'),
    sha256: digest('sha256'),
    alternativeNames: alternativeNames(certificate)
      .filter(({ kind }) => KINDS[kind] !== undefined)
      .map(({ kind, value }) => ({ kind: KINDS[kind] as string, value })),
    selfSigned: certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey),
  };
}

import type { CertificateInfo } from '@socketgate/protocol';
import { AlternativeNameEntryType, EncodingFormat, HashAlgorithm, SubjectInfo } from './ssl-enums.js';

/** Qt's short name of each SubjectInfo attribute. */
const ATTRIBUTE: Record<SubjectInfo, string> = {
  [SubjectInfo.Organization]: 'O',
  [SubjectInfo.CommonName]: 'CN',
  [SubjectInfo.LocalityName]: 'L',
  [SubjectInfo.OrganizationalUnitName]: 'OU',
  [SubjectInfo.CountryName]: 'C',
  [SubjectInfo.StateOrProvinceName]: 'ST',
  [SubjectInfo.DistinguishedNameQualifier]: 'dnQualifier',
  [SubjectInfo.SerialNumber]: 'serialNumber',
  [SubjectInfo.EmailAddress]: 'emailAddress',
};
const KIND: Record<string, AlternativeNameEntryType> = {
  DNS: AlternativeNameEntryType.DnsEntry,
  IP: AlternativeNameEntryType.IpAddressEntry,
  email: AlternativeNameEntryType.EmailEntry,
};
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

const bytesOf = (base64: string): Uint8Array => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
const bytesOfHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
const base64Of = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));

/** PEM text of a DER certificate, in lines of 64 as Qt writes it. */
function pemOf(der: Uint8Array): string {
  const body = base64Of(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${body.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * Qt's `QSslCertificate`. A certificate the gateway received comes with everything Qt reads from it;
 * one the app made from PEM (for `setCaCertificates`) carries the PEM only: its subject, issuer,
 * dates and digests are not read in the browser (the SDK README lists this).
 */
export class QSslCertificate {
  static readonly SubjectInfo = SubjectInfo;
  readonly #info: CertificateInfo | undefined;
  readonly #pem: string;

  constructor(source?: CertificateInfo | string) {
    if (typeof source === 'string') {
      this.#pem = source.match(PEM_BLOCK)?.[0] ?? '';
      this.#info = undefined;
    } else {
      this.#info = source;
      this.#pem = source === undefined ? '' : pemOf(bytesOf(source.der));
    }
    if (this.#pem !== '' && !this.#pem.endsWith('\n')) this.#pem += '\n';
  }

  /** Every certificate in PEM text (Qt's fromData with the Pem format; DER is not read here). */
  static fromData(data: string, format: EncodingFormat = EncodingFormat.Pem): QSslCertificate[] {
    if (format !== EncodingFormat.Pem) throw new TypeError('QSslCertificate.fromData reads PEM only');
    return (data.match(PEM_BLOCK) ?? []).map((block) => new QSslCertificate(block));
  }

  isNull(): boolean {
    return this.#pem === '';
  }

  toPem(): string {
    return this.#pem;
  }

  toDer(): Uint8Array {
    const body = this.#pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    return body === '' ? new Uint8Array() : bytesOf(body);
  }

  /** The digest of the DER (MD5 by default, as Qt's); empty for an algorithm the gateway does not give. */
  digest(algorithm: HashAlgorithm = HashAlgorithm.Md5): Uint8Array {
    const info = this.#info;
    if (info === undefined) return new Uint8Array();
    const hex =
      algorithm === HashAlgorithm.Md5
        ? info.md5
        : algorithm === HashAlgorithm.Sha1
          ? info.sha1
          : algorithm === HashAlgorithm.Sha256
            ? info.sha256
            : '';
    return bytesOfHex(hex);
  }

  /** Qt's form: lower-case hex bytes joined by colons ("10:00"). */
  serialNumber(): string {
    return this.#info?.serialNumber ?? '';
  }

  subjectInfo(attribute: SubjectInfo | string): string[] {
    return [...(this.#info?.subject[typeof attribute === 'number' ? ATTRIBUTE[attribute] : attribute] ?? [])];
  }

  issuerInfo(attribute: SubjectInfo | string): string[] {
    return [...(this.#info?.issuer[typeof attribute === 'number' ? ATTRIBUTE[attribute] : attribute] ?? [])];
  }

  subjectInfoAttributes(): string[] {
    return Object.keys(this.#info?.subject ?? {});
  }

  issuerInfoAttributes(): string[] {
    return Object.keys(this.#info?.issuer ?? {});
  }

  /** The common name, else the organization, else the organizational unit, as Qt's. */
  subjectDisplayName(): string {
    return displayName(this.#info?.subject);
  }

  issuerDisplayName(): string {
    return displayName(this.#info?.issuer);
  }

  effectiveDate(): Date | null {
    return this.#info ? new Date(this.#info.effectiveDate) : null;
  }

  expiryDate(): Date | null {
    return this.#info ? new Date(this.#info.expiryDate) : null;
  }

  isSelfSigned(): boolean {
    return this.#info?.selfSigned ?? false;
  }

  /** By kind, each kind's names last first, as Qt's QMultiMap gives them. */
  subjectAlternativeNames(): Map<AlternativeNameEntryType, string[]> {
    const names = new Map<AlternativeNameEntryType, string[]>();
    for (const { kind, value } of this.#info?.alternativeNames ?? []) {
      const type = KIND[kind];
      if (type === undefined) continue;
      names.set(type, [value, ...(names.get(type) ?? [])]);
    }
    return names;
  }

  /** Qt's operator==: the same certificate (the same DER). */
  equals(other: QSslCertificate): boolean {
    return other.#pem.replace(/\s+/g, '') === this.#pem.replace(/\s+/g, '');
  }
}

function displayName(name: Record<string, string[]> | undefined): string {
  return name?.CN?.[0] ?? name?.O?.[0] ?? name?.OU?.[0] ?? '';
}

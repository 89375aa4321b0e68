/** Qt's TLS enums (QSsl, QSslSocket, QSslCertificate, QSslError), with Qt's numeric values. */

export const SslProtocol = {
  TlsV1_0: 0,
  TlsV1_1: 1,
  TlsV1_2: 2,
  AnyProtocol: 3,
  SecureProtocols: 4,
  TlsV1_0OrLater: 5,
  TlsV1_1OrLater: 6,
  TlsV1_2OrLater: 7,
  DtlsV1_0: 8,
  DtlsV1_0OrLater: 9,
  DtlsV1_2: 10,
  DtlsV1_2OrLater: 11,
  TlsV1_3: 12,
  TlsV1_3OrLater: 13,
  UnknownProtocol: -1,
} as const;
export type SslProtocol = (typeof SslProtocol)[keyof typeof SslProtocol];

export const PeerVerifyMode = { VerifyNone: 0, QueryPeer: 1, VerifyPeer: 2, AutoVerifyPeer: 3 } as const;
export type PeerVerifyMode = (typeof PeerVerifyMode)[keyof typeof PeerVerifyMode];

export const SslMode = { UnencryptedMode: 0, SslClientMode: 1, SslServerMode: 2 } as const;
export type SslMode = (typeof SslMode)[keyof typeof SslMode];

export const AlternativeNameEntryType = { EmailEntry: 0, DnsEntry: 1, IpAddressEntry: 2 } as const;
export type AlternativeNameEntryType = (typeof AlternativeNameEntryType)[keyof typeof AlternativeNameEntryType];

export const SubjectInfo = {
  Organization: 0,
  CommonName: 1,
  LocalityName: 2,
  OrganizationalUnitName: 3,
  CountryName: 4,
  StateOrProvinceName: 5,
  DistinguishedNameQualifier: 6,
  SerialNumber: 7,
  EmailAddress: 8,
} as const;
export type SubjectInfo = (typeof SubjectInfo)[keyof typeof SubjectInfo];

/** QCryptographicHash algorithms a certificate digest is given in. */
export const HashAlgorithm = { Md5: 1, Sha1: 2, Sha256: 4 } as const;
export type HashAlgorithm = (typeof HashAlgorithm)[keyof typeof HashAlgorithm];

export const EncodingFormat = { Pem: 0, Der: 1 } as const;
export type EncodingFormat = (typeof EncodingFormat)[keyof typeof EncodingFormat];

/** Qt's `QSslError::SslError`, in Qt's order (NoError 0, then each name; UnspecifiedError -1). */
export const SslError = {
  NoError: 0,
  UnableToGetIssuerCertificate: 1,
  UnableToDecryptCertificateSignature: 2,
  UnableToDecodeIssuerPublicKey: 3,
  CertificateSignatureFailed: 4,
  CertificateNotYetValid: 5,
  CertificateExpired: 6,
  InvalidNotBeforeField: 7,
  InvalidNotAfterField: 8,
  SelfSignedCertificate: 9,
  SelfSignedCertificateInChain: 10,
  UnableToGetLocalIssuerCertificate: 11,
  UnableToVerifyFirstCertificate: 12,
  CertificateRevoked: 13,
  InvalidCaCertificate: 14,
  PathLengthExceeded: 15,
  InvalidPurpose: 16,
  CertificateUntrusted: 17,
  CertificateRejected: 18,
  SubjectIssuerMismatch: 19,
  AuthorityIssuerSerialNumberMismatch: 20,
  NoPeerCertificate: 21,
  HostNameMismatch: 22,
  NoSslSupport: 23,
  CertificateBlacklisted: 24,
  CertificateStatusUnknown: 25,
  UnspecifiedError: -1,
} as const;
export type SslError = (typeof SslError)[keyof typeof SslError];

/** Qt's `QSsl::AlertLevel`: how grave a TLS alert is. */
export const AlertLevel = { Warning: 0, Fatal: 1, Unknown: 2 } as const;
export type AlertLevel = (typeof AlertLevel)[keyof typeof AlertLevel];

/** Qt's `QSsl::AlertType`: the alert's code from the TLS standard. */
export const AlertType = {
  CloseNotify: 0,
  UnexpectedMessage: 10,
  BadRecordMac: 20,
  RecordOverflow: 22,
  DecompressionFailure: 30,
  HandshakeFailure: 40,
  NoCertificate: 41,
  BadCertificate: 42,
  UnsupportedCertificate: 43,
  CertificateRevoked: 44,
  CertificateExpired: 45,
  CertificateUnknown: 46,
  IllegalParameter: 47,
  UnknownCa: 48,
  AccessDenied: 49,
  DecodeError: 50,
  DecryptError: 51,
  ExportRestriction: 60,
  ProtocolVersion: 70,
  InsufficientSecurity: 71,
  InternalError: 80,
  InappropriateFallback: 86,
  UserCancelled: 90,
  NoRenegotiation: 100,
  MissingExtension: 109,
  UnsupportedExtension: 110,
  CertificateUnobtainable: 111,
  UnrecognizedName: 112,
  BadCertificateStatusResponse: 113,
  BadCertificateHashValue: 114,
  UnknownPskIdentity: 115,
  CertificateRequired: 116,
  NoApplicationProtocol: 120,
  UnknownAlertMessage: 255,
} as const;
export type AlertType = (typeof AlertType)[keyof typeof AlertType];

/** Qt's `QSslConfiguration::NextProtocolNegotiationStatus` (ALPN's outcome). */
export const NextProtocolNegotiationStatus = {
  NextProtocolNegotiationNone: 0,
  NextProtocolNegotiationNegotiated: 1,
  NextProtocolNegotiationUnsupported: 2,
} as const;
export type NextProtocolNegotiationStatus = (typeof NextProtocolNegotiationStatus)[keyof typeof NextProtocolNegotiationStatus];

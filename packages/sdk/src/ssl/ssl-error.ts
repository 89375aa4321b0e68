import { QSslCertificate } from './ssl-certificate.js';
import { SslError } from './ssl-enums.js';

/** Qt's `QSslError::errorString()` for each error (Qt 6's texts). */
const TEXT: Record<SslError, string> = {
  [SslError.NoError]: 'No error',
  [SslError.UnableToGetIssuerCertificate]: 'The issuer certificate could not be found',
  [SslError.UnableToDecryptCertificateSignature]: 'The certificate signature could not be decrypted',
  [SslError.UnableToDecodeIssuerPublicKey]: 'The public key in the certificate could not be read',
  [SslError.CertificateSignatureFailed]: 'The signature of the certificate is invalid',
  [SslError.CertificateNotYetValid]: 'The certificate is not yet valid',
  [SslError.CertificateExpired]: 'The certificate has expired',
  [SslError.InvalidNotBeforeField]: "The certificate's notBefore field contains an invalid time",
  [SslError.InvalidNotAfterField]: "The certificate's notAfter field contains an invalid time",
  [SslError.SelfSignedCertificate]: 'The certificate is self-signed, and untrusted',
  [SslError.SelfSignedCertificateInChain]: 'The root certificate of the certificate chain is self-signed, and untrusted',
  [SslError.UnableToGetLocalIssuerCertificate]: 'The issuer certificate of a locally looked up certificate could not be found',
  [SslError.UnableToVerifyFirstCertificate]: 'No certificates could be verified',
  [SslError.CertificateRevoked]: 'Unknown error',
  [SslError.InvalidCaCertificate]: 'One of the CA certificates is invalid',
  [SslError.PathLengthExceeded]: 'The basicConstraints path length parameter has been exceeded',
  [SslError.InvalidPurpose]: 'The supplied certificate is unsuitable for this purpose',
  [SslError.CertificateUntrusted]: 'The root CA certificate is not trusted for this purpose',
  [SslError.CertificateRejected]: 'The root CA certificate is marked to reject the specified purpose',
  [SslError.SubjectIssuerMismatch]:
    'The current candidate issuer certificate was rejected because its subject name did not match the issuer name of the current certificate',
  [SslError.AuthorityIssuerSerialNumberMismatch]:
    'The current candidate issuer certificate was rejected because its issuer name and serial number was present and did not match the authority key identifier of the current certificate',
  [SslError.NoPeerCertificate]: 'The peer did not present any certificate',
  [SslError.HostNameMismatch]: 'The host name did not match any of the valid hosts for this certificate',
  [SslError.NoSslSupport]: '',
  [SslError.CertificateBlacklisted]: 'The peer certificate is blacklisted',
  [SslError.CertificateStatusUnknown]: 'Unknown error',
  [SslError.UnspecifiedError]: 'Unknown error',
};

/** Qt's `QSslError`: an error and the certificate it is about. Two are equal when both match. */
export class QSslError {
  static readonly SslError = SslError;
  readonly #error: SslError;
  readonly #certificate: QSslCertificate;

  constructor(error: SslError = SslError.NoError, certificate: QSslCertificate = new QSslCertificate()) {
    this.#error = error;
    this.#certificate = certificate;
  }

  error(): SslError {
    return this.#error;
  }

  errorString(): string {
    return TEXT[this.#error] ?? 'Unknown error';
  }

  certificate(): QSslCertificate {
    return this.#certificate;
  }

  /** Qt's operator==: the same error about an equal certificate. */
  equals(other: QSslError): boolean {
    return other.#error === this.#error && other.#certificate.equals(this.#certificate);
  }
}

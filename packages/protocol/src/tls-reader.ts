/**
 * The light reader's knowledge of TLS messages (`tls-errors`, `encrypted`), apart from the core
 * reader so that a browser bundle without QSslSocket does not carry Qt's certificate vocabulary.
 */
import { SSL_ERROR_NAMES, TLS_PROTOCOL_NAMES } from './names.js';
import { acceptServerMessages, type Fields, hasFields, isRecord } from './server-reader.js';

const sslErrors: ReadonlySet<unknown> = new Set(SSL_ERROR_NAMES);
const tlsProtocols: ReadonlySet<unknown> = new Set(TLS_PROTOCOL_NAMES);
const isTlsProtocol = (value: unknown) => tlsProtocols.has(value);
const isStringList = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string');
/** Subject and issuer: attribute names to lists of values. */
const isNameMap = (value: unknown) => isRecord(value) && Object.values(value).every(isStringList);
const isAlternativeNames = (value: unknown) =>
  Array.isArray(value) && value.every((name) => hasFields(name, { kind: 'string', value: 'string' }));

const CERTIFICATE: Fields = {
  der: 'string',
  subject: isNameMap,
  issuer: isNameMap,
  serialNumber: 'string',
  effectiveDate: 'string',
  expiryDate: 'string',
  md5: 'string',
  sha1: 'string',
  sha256: 'string',
  alternativeNames: isAlternativeNames,
  selfSigned: 'boolean',
};
const isChain = (value: unknown) => Array.isArray(value) && value.every((certificate) => hasFields(certificate, CERTIFICATE));
const isErrorList = (value: unknown) =>
  Array.isArray(value) &&
  value.every(
    (entry) =>
      isRecord(entry) && sslErrors.has(entry.error) && Number.isSafeInteger(entry.certificate) && (entry.certificate as number) >= -1,
  );

const isCipher = (value: unknown) => hasFields(value, { name: 'string', protocol: isTlsProtocol, bits: 'int', supportedBits: 'int' });

const ALERT_LEVELS: ReadonlySet<unknown> = new Set(['Warning', 'Fatal']);
/** The alert a TLS stream's `error` may carry. */
const isAlert = (value: unknown) =>
  hasFields(value, { level: (level) => ALERT_LEVELS.has(level), type: 'int', description: 'string' }) &&
  (value as { type: number }).type >= 0 &&
  (value as { type: number }).type <= 255;

/** Makes `readServerMessage` accept the TLS messages and the alert of a TLS stream's error (idempotent). */
export function acceptTlsMessages(): void {
  acceptServerMessages(
    {
      'tls-errors': { stream: 'u32', errors: isErrorList, chain: isChain },
      encrypted: { stream: 'u32', protocol: isTlsProtocol, cipher: isCipher, alpn: 'string', chain: isChain },
    },
    { error: { alert: isAlert }, 'tls-errors': { protocol: isTlsProtocol, cipher: isCipher, alpn: 'string' } },
  );
}

import { rawSession, startEchoServer, startGateway, TEST_TOKEN } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';

it('refuses TLS it does not do yet: an open asking for TLS is answered UNSUPPORTED for its stream and never connects in plaintext', async () => {
  const target = await startEchoServer();
  onTestFinished(() => target.close());
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  const session = await rawSession(gw.url, TEST_TOKEN);
  onTestFinished(() => session.close());
  session.send({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024, tls: {} });
  expect(await session.message('protocol-error', (m) => m.stream === 1)).toMatchObject({
    code: 'UNSUPPORTED',
    message: 'tls: this gateway does not encrypt streams',
  });
  session.send({ type: 'tls-verdict', stream: 1, proceed: true });
  expect(await session.message('protocol-error', (m) => m.message.includes('tls-verdict'))).toMatchObject({ code: 'UNSUPPORTED' });
  // The session goes on, and nothing reached the target.
  session.send({ type: 'open', stream: 2, transport: 'tcp', host: '127.0.0.1', port: target.port, window: 1024 });
  expect(await session.message('connected', (m) => m.stream === 2)).toMatchObject({ stream: 2 });
  expect(target.sockets.size).toBe(1);
});

describe("a peer's certificate as the SDK's QSslCertificate reads it", () => {
  it("gives Qt's answers for the certificate the gateway described", async () => {
    const { X509Certificate } = await import('node:crypto');
    const { makeTestPki } = await import('@socketgate/testkit');
    const { describeCertificate } = await import('../src/certificate-info.js');
    const { QSslCertificate } = await import('../../../packages/sdk/src/ssl/ssl-certificate.js');
    const { QSslError } = await import('../../../packages/sdk/src/ssl/ssl-error.js');
    const { AlternativeNameEntryType, HashAlgorithm, SslError, SubjectInfo } = await import('../../../packages/sdk/src/ssl/ssl-enums.js');
    const pki = makeTestPki();
    onTestFinished(() => pki.remove());
    const x509 = new X509Certificate(pki.valid.pem);
    const certificate = new QSslCertificate(describeCertificate(x509));
    // Qt 6.11.2's values for the same certificate.
    expect(certificate.isNull()).toBe(false);
    expect(certificate.subjectInfo(SubjectInfo.CommonName)).toEqual(['valid']);
    expect(certificate.subjectInfo('O')).toEqual(['socketgate tests']);
    expect(certificate.issuerInfo(SubjectInfo.CommonName)).toEqual(['socketgate test CA']);
    expect(certificate.subjectInfoAttributes()).toEqual(['CN', 'O']);
    expect(certificate.serialNumber()).toBe('10:00');
    expect(certificate.effectiveDate()?.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(certificate.expiryDate()?.toISOString()).toBe('2035-01-01T00:00:00.000Z');
    expect(certificate.isSelfSigned()).toBe(false);
    expect(certificate.subjectAlternativeNames()).toEqual(
      new Map([
        [AlternativeNameEntryType.DnsEntry, ['localhost']],
        [AlternativeNameEntryType.IpAddressEntry, ['127.0.0.1']],
      ]),
    );
    expect(Buffer.from(certificate.toDer()).equals(x509.raw)).toBe(true);
    expect(new X509Certificate(certificate.toPem()).raw.equals(x509.raw)).toBe(true);
    expect(Buffer.from(certificate.digest(HashAlgorithm.Sha256)).toString('hex')).toBe(
      x509.fingerprint256.replaceAll(':', '').toLowerCase(),
    );
    expect(certificate.digest().byteLength).toBe(16);
    expect(certificate.subjectDisplayName()).toBe('valid');
    // One made from PEM by the app equals the described one (the same DER).
    const [fromPem] = QSslCertificate.fromData(pki.valid.pem);
    expect(fromPem?.equals(certificate)).toBe(true);
    const wildcard = new QSslCertificate(describeCertificate(new X509Certificate(pki.wildcard.pem)));
    // Qt's QMultiMap order: the last name of a kind first.
    expect(wildcard.subjectAlternativeNames().get(AlternativeNameEntryType.DnsEntry)).toEqual([
      '*.0.0.1',
      '*.test',
      'a*.prefix.test',
      '*.example.test',
    ]);
    const error = new QSslError(SslError.HostNameMismatch, certificate);
    expect(error.errorString()).toBe('The host name did not match any of the valid hosts for this certificate');
    expect(error.equals(new QSslError(SslError.HostNameMismatch, fromPem))).toBe(true);
    expect(new QSslError().errorString()).toBe('No error');
  });
});

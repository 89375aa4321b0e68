import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { makeTestPki, type TestCertificate, type TestPki } from '@socketgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesPeerName, peerCertificates, verifyPeerChain } from './tls-verify.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.remove());

/** Connects to a real TLS server on loopback that sends `served`; returns what Qt would list. */
async function verify(served: TestCertificate, peerName: string, trustCa: boolean): Promise<string[]> {
  const server = tls.createServer({ cert: served.chain, key: served.key }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: peerName.includes(':') ? undefined : peerName,
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const peer = peerCertificates(socket);
    socket.destroy();
    const trusted = trustCa ? [new X509Certificate(pki.ca.pem)] : [];
    const { chain, errors } = verifyPeerChain(peer, trusted, peerName);
    const commonName = (index: number) => /(?:^|\n)CN=([^\n]*)/.exec(chain[index]?.subject ?? '')?.[1] ?? '-';
    return errors.map(({ error, certificate }) => `${error}:${commonName(certificate)}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

// Each expectation is what Qt 6.11.2 (PySide6, OpenSSL 3.0 backend) lists in sslErrors for the same
// certificate, name and trust.
describe("certificate errors, as Qt's sslErrors lists them", () => {
  const cases: Array<[string, (pki: TestPki) => TestCertificate, string, boolean, string[]]> = [
    ['a valid certificate', (p) => p.valid, 'localhost', true, []],
    ['a valid certificate, by its IP address', (p) => p.valid, '127.0.0.1', true, []],
    ['a valid certificate, the name in other case', (p) => p.valid, 'LocalHost', true, []],
    ['an expired certificate', (p) => p.expired, 'localhost', true, ['CertificateExpired:expired']],
    ['a certificate not yet valid', (p) => p.notYetValid, 'localhost', true, ['CertificateNotYetValid:not-yet-valid']],
    ['a certificate for another name', (p) => p.wrongName, 'localhost', true, ['HostNameMismatch:wrong-name']],
    [
      'an expired certificate for another name (the mismatch first)',
      (p) => p.expiredWrongName,
      'localhost',
      true,
      ['HostNameMismatch:expired-wrong-name', 'CertificateExpired:expired-wrong-name'],
    ],
    ['a self-signed certificate', (p) => p.selfSigned, 'localhost', true, ['SelfSignedCertificate:localhost']],
    ['a self-signed certificate, untrusted, by IP address', (p) => p.selfSigned, '127.0.0.1', false, ['SelfSignedCertificate:localhost']],
    [
      'an incomplete chain',
      (p) => p.incompleteChain,
      'localhost',
      true,
      ['UnableToGetLocalIssuerCertificate:behind-intermediate', 'UnableToVerifyFirstCertificate:behind-intermediate'],
    ],
    ['a complete chain', (p) => p.completeChain, 'localhost', true, []],
    ['a chain with an expired intermediate', (p) => p.expiredIntermediate, 'localhost', true, ['CertificateExpired:expired-intermediate']],
    ['a chain with its untrusted root', (p) => p.withRoot, 'localhost', false, ['SelfSignedCertificateInChain:socketgate test CA']],
    [
      'a certificate from an untrusted CA',
      (p) => p.valid,
      'localhost',
      false,
      ['UnableToGetLocalIssuerCertificate:valid', 'UnableToVerifyFirstCertificate:valid'],
    ],
    [
      'an expired certificate from an untrusted CA',
      (p) => p.expired,
      'localhost',
      false,
      ['UnableToGetLocalIssuerCertificate:expired', 'UnableToVerifyFirstCertificate:expired', 'CertificateExpired:expired'],
    ],
    ['a certificate for client authentication only', (p) => p.clientOnly, 'localhost', true, ['InvalidPurpose:client-only']],
  ];
  for (const [name, served, peerName, trustCa, expected] of cases) {
    it(`${name}: ${expected.join(', ') || 'none'}`, async () => {
      expect(await verify(served(pki), peerName, trustCa)).toEqual(expected);
    });
  }

  it('no certificate at all is NoPeerCertificate', () => {
    expect(verifyPeerChain([], [], 'localhost').errors).toEqual([{ error: 'NoPeerCertificate', certificate: -1 }]);
  });

  it('reports peerVerifyError in the order found, the host name last, and sslErrors with the mismatch first', () => {
    const leaf = new X509Certificate(pki.expiredWrongName.pem);
    const { found, errors } = verifyPeerChain([leaf], [new X509Certificate(pki.ca.pem)], 'localhost');
    expect(found.map((e) => e.error)).toEqual(['CertificateExpired', 'HostNameMismatch']);
    expect(errors.map((e) => e.error)).toEqual(['HostNameMismatch', 'CertificateExpired']);
  });
});

describe("host names, by Qt's rules", () => {
  it('matches names, addresses in any spelling, and wildcards only where Qt allows them', () => {
    const valid = new X509Certificate(pki.valid.pem);
    expect(matchesPeerName(valid, 'localhost')).toBe(true);
    expect(matchesPeerName(valid, 'LOCALHOST')).toBe(true);
    expect(matchesPeerName(valid, '127.0.0.1')).toBe(true);
    expect(matchesPeerName(valid, '127.0.0.2')).toBe(false);
    expect(matchesPeerName(valid, '::ffff:127.0.0.1')).toBe(false);
    expect(matchesPeerName(valid, 'sub.localhost')).toBe(false);
    // The common name counts too, as in Qt, even beside alternative names.
    expect(matchesPeerName(valid, 'valid')).toBe(true);
  });

  it("applies Qt's wildcard rule: one star ending the first of three or more labels, never for an address", () => {
    const wildcard = new X509Certificate(pki.wildcard.pem);
    // What Qt 6.11.2 decides for each name against DNS:*.example.test, a*.prefix.test, *.test, *.0.0.1.
    const qt = {
      'a.example.test': true,
      'A.Example.Test': true,
      'example.test': false,
      'a.b.example.test': false,
      'abc.prefix.test': true,
      'b.prefix.test': false,
      'x.test': false,
      '1.0.0.1': false,
      wildcard: true,
    };
    expect(Object.fromEntries(Object.keys(qt).map((name) => [name, matchesPeerName(wildcard, name)]))).toEqual(qt);
  });
});

describe('certificates described for QSslCertificate', () => {
  it("gives Qt's values: subject and issuer info, serial number, dates, digests, alternative names, self-signed", async () => {
    const { describeCertificate } = await import('./certificate-info.js');
    const { CertificateInfo } = await import('@socketgate/protocol');
    const valid = describeCertificate(new X509Certificate(pki.valid.pem));
    // What Qt 6.11.2 reports for the same certificate.
    expect(valid).toMatchObject({
      subject: { CN: ['valid'], O: ['socketgate tests'] },
      issuer: { CN: ['socketgate test CA'], O: ['socketgate tests'] },
      serialNumber: '10:00',
      effectiveDate: '2025-01-01T00:00:00.000Z',
      expiryDate: '2035-01-01T00:00:00.000Z',
      alternativeNames: [
        { kind: 'DNS', value: 'localhost' },
        { kind: 'IP', value: '127.0.0.1' },
      ],
      selfSigned: false,
    });
    expect(Buffer.from(valid.der, 'base64').equals(new X509Certificate(pki.valid.pem).raw)).toBe(true);
    const { spawnSync } = await import('node:child_process');
    const md5 = spawnSync('openssl', ['x509', '-in', pki.valid.certFile, '-noout', '-fingerprint', '-md5'], { encoding: 'utf8' }).stdout;
    expect(valid.md5).toBe(md5.trim().split('=')[1]?.replaceAll(':', '').toLowerCase());
    expect(valid.sha1).toBe(new X509Certificate(pki.valid.pem).fingerprint.replaceAll(':', '').toLowerCase());
    expect(valid.sha256).toBe(new X509Certificate(pki.valid.pem).fingerprint256.replaceAll(':', '').toLowerCase());
    expect(CertificateInfo.safeParse(valid).success).toBe(true);
    const selfSigned = describeCertificate(new X509Certificate(pki.selfSigned.pem));
    expect(selfSigned.selfSigned).toBe(true);
    expect(selfSigned.serialNumber).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
  });
});

describe('TLS failures, as Qt words them', () => {
  /** The error a Node TLS client gets from `server`, and whether it came before the handshake ended. */
  async function failureFrom(server: import('node:net').Server, options: tls.ConnectionOptions = {}) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      return await new Promise<{ error: Error; handshaking: boolean }>((resolve) => {
        let secure = false;
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ...options });
        socket.on('secureConnect', () => {
          secure = true;
        });
        socket.on('data', () => {});
        socket.on('error', (error) => resolve({ error, handshaking: !secure }));
      });
    } finally {
      server.close();
    }
  }

  // Each expectation is what Qt 6.11.2 reported against the same kind of server.
  it('a protocol the server does not speak, a plaintext server, a server that closes, a refused client', async () => {
    const { tlsFailure } = await import('./tls-failures.js');
    const net = await import('node:net');
    const key = pki.valid.key;
    const cert = pki.valid.chain;
    const old = await failureFrom(
      tls.createServer({ cert, key, maxVersion: 'TLSv1.2' }, (s) => s.end()),
      { minVersion: 'TLSv1.3' },
    );
    expect(tlsFailure(old.error, old.handshaking)).toEqual({
      error: 'SslHandshakeFailedError',
      message: 'Error during SSL handshake: error:0A00042E:SSL routines::tlsv1 alert protocol version',
    });
    const plain = await failureFrom(net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))));
    expect(tlsFailure(plain.error, plain.handshaking)).toEqual({
      error: 'SslHandshakeFailedError',
      message: 'Error during SSL handshake: error:0A00010B:SSL routines::wrong version number',
    });
    const closes = await failureFrom(net.createServer((s) => s.once('data', () => s.end())));
    expect(tlsFailure(closes.error, closes.handshaking)).toEqual({
      error: 'RemoteHostClosedError',
      message: 'The remote host closed the connection',
    });
    const refused = await failureFrom(
      tls.createServer({ cert, key, requestCert: true, rejectUnauthorized: true, ca: pki.ca.pem }, (s) => s.end()),
    );
    // TLS 1.3: the refusal arrives after the client's handshake ended, as a read error.
    expect(refused.handshaking).toBe(false);
    expect(tlsFailure(refused.error, refused.handshaking)).toEqual({
      error: 'SslInternalError',
      message: 'Error while reading: error:0A00045C:SSL routines::tlsv13 alert certificate required',
    });
  });
});

describe('the trust of a TLS stream', () => {
  it("is the system store and the operator's CA files, or only the client's CAs when it drops the system's", async () => {
    const { TrustStore } = await import('./tls-trust.js');
    const { rootCertificates } = await import('node:tls');
    const store = TrustStore.fromFiles([pki.ca.certFile]);
    const ca = new X509Certificate(pki.ca.pem);
    const all = store.anchors(undefined);
    expect(all).toHaveLength(rootCertificates.length + 1);
    expect(all.some((anchor) => anchor.raw.equals(ca.raw))).toBe(true);
    const own = store.anchors({ system: false, certificates: [pki.selfSigned.pem] });
    expect(own.map((anchor) => anchor.subject)).toEqual(['CN=localhost']);
    expect(store.anchors({ system: true, certificates: [pki.selfSigned.pem] })).toHaveLength(rootCertificates.length + 2);
  });

  it('names the file or the certificate that cannot be read', async () => {
    const { TrustStore } = await import('./tls-trust.js');
    expect(() => TrustStore.fromFiles([`${pki.dir}/missing.pem`])).toThrow(/^tls\.caFiles: .*missing\.pem: ENOENT/);
    expect(() => TrustStore.fromFiles([pki.valid.keyFile])).toThrow(/^tls\.caFiles: .*valid\.key: no PEM certificate in it$/);
    const store = TrustStore.fromFiles([]);
    expect(() =>
      store.anchors({ system: true, certificates: ['-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----'] }),
    ).toThrow(/^tls\.ca\.certificates\[0\]: certificate 1 cannot be read/);
  });
});

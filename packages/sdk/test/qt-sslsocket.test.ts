/**
 * QSslSocket through a real gateway to real TLS servers on loopback, against the signal orders Qt
 * 6.11.2 (PySide6, OpenSSL 3.0) shows for the same servers, certificates and calls. Each expected
 * trace is what Qt emitted; where the SDK cannot match, the SDK README's table says so.
 */
import { createHash } from 'node:crypto';
import {
  NextProtocolNegotiationStatus,
  nameOf,
  PeerVerifyMode,
  QAbstractSocket,
  QSslCertificate,
  QSslConfiguration,
  QSslError,
  QSslSocket,
  SslError,
  SslMode,
  SslProtocol,
} from '@socketgate/sdk';
import {
  makeTestPki,
  recordSignals,
  settled,
  startDovecot,
  startOpenSslServer,
  startServer,
  startTlsServer,
  type TestCertificate,
  type TestPki,
  text,
  until,
} from '@socketgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectedState, captureWarnings, gatewayForTest, sleep, stopAfter, UnconnectedState } from './helpers.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.remove());

const KiB = 1024;
const MiB = 1024 * KiB;
const cn = (certificate: QSslCertificate) => certificate.subjectInfo(QSslCertificate.SubjectInfo.CommonName).join(',');
const describeError = (error: QSslError) => `${nameOf(SslError, error.error())}:${cn(error.certificate())}`;

/** recordSignals, plus QSslSocket's own signals. */
function recordSsl(socket: QSslSocket, options: { bytesWritten?: boolean } = {}): string[] {
  const log = recordSignals(socket, options);
  socket.encrypted.connect(() => log.push('encrypted'));
  socket.modeChanged.connect((mode) => log.push(`modeChanged(${nameOf(SslMode, mode)})`));
  socket.peerVerifyError.connect((error) => log.push(`peerVerifyError(${describeError(error)})`));
  socket.sslErrors.connect((errors) => log.push(`sslErrors(${errors.map(describeError).join(',')})`));
  socket.alertReceived.connect((level, type, description) => log.push(`alertReceived(${level},${type},${description})`));
  if (options.bytesWritten) socket.encryptedBytesWritten.connect((n) => log.push(`encryptedBytesWritten(${n})`));
  return log;
}

/** A configuration that trusts the test CA only (Qt's setCaCertificates). */
function trustingTestCa(socket: QSslSocket): void {
  const configuration = socket.sslConfiguration();
  configuration.setCaCertificates(QSslCertificate.fromData(pki.ca.pem));
  socket.setSslConfiguration(configuration);
}

/** A gateway for the test and a QSslSocket on it, trusting the test CA unless told not to. */
async function sslSetup(options: { trust?: boolean; gateway?: Parameters<typeof gatewayForTest>[0] } = {}) {
  const gw = await gatewayForTest(options.gateway);
  const session = gw.client();
  const make = () => {
    const socket = new QSslSocket({ gateway: session });
    if (options.trust !== false) trustingTestCa(socket);
    return socket;
  };
  return { gw, socket: make(), make };
}

const CONNECTED = [
  'stateChanged(HostLookupState)',
  'stateChanged(ConnectingState)',
  'hostFound',
  'stateChanged(ConnectedState)',
  'modeChanged(SslClientMode)',
  'connected',
];
/** Qt's refusal of a chain that did not verify, after sslErrors. */
const REFUSED = [
  'errorOccurred(SslHandshakeFailedError)',
  'stateChanged(ClosingState)',
  'stateChanged(UnconnectedState)',
  'readChannelFinished',
  'disconnected',
];

describe('QSslSocket: a chain that verifies', () => {
  it('connected, then modeChanged before connected, encrypted, held writes out after it, the echo decrypted', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
    const { socket } = await sslSetup();
    const log = recordSsl(socket, { bytesWritten: true });
    expect(socket.mode()).toBe(QSslSocket.UnencryptedMode);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(log).toEqual(['stateChanged(HostLookupState)']);
    // Written before the handshake: it waits in the socket's buffer, as in Qt, which counts it from
    // modeChanged on (before, bytesToWrite() is its plain socket's).
    expect(socket.write('hello')).toBe(5);
    expect(socket.bytesToWrite()).toBe(0);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(socket.isEncrypted()).toBe(true);
    await until(() => socket.bytesAvailable() === 5, 5000, 'the echo');
    expect(text(socket.readAll())).toBe('hello');
    // Qt: …, encrypted, bytesWritten(5), encryptedBytesWritten(107 record bytes), readyRead.
    expect(log).toEqual([...CONNECTED, 'encrypted', 'bytesWritten(5)', 'encryptedBytesWritten(5)', 'readyRead']);
    expect(socket.mode()).toBe(SslMode.SslClientMode);
    expect(socket.sessionProtocol()).toBe(SslProtocol.TlsV1_3);
    expect(socket.sessionCipher().name()).toBe('TLS_AES_256_GCM_SHA384');
    expect(socket.sessionCipher().protocolString()).toBe('TLSv1.3');
    expect([socket.sessionCipher().usedBits(), socket.sessionCipher().supportedBits()]).toEqual([256, 256]);
    expect(cn(socket.peerCertificate())).toBe('valid');
    expect(socket.peerCertificateChain().map(cn)).toEqual(['valid']);
    expect(socket.sslHandshakeErrors()).toEqual([]);
    expect(socket.sslConfiguration().sessionProtocol()).toBe(SslProtocol.TlsV1_3);
    expect(await socket.waitForEncrypted(100)).toBe(false); // already encrypted, as Qt

    // Qt: Closing twice (its own and its TCP socket's); the SDK's once (README).
    log.length = 0;
    socket.disconnectFromHost();
    await until(() => socket.state() === UnconnectedState, 5000, 'Unconnected');
    expect(log).toEqual(['stateChanged(ClosingState)', 'stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected']);
    // Qt keeps the mode and the peer's certificate; the session is over.
    expect(socket.isEncrypted()).toBe(false);
    expect(socket.mode()).toBe(SslMode.SslClientMode);
    expect(cn(socket.peerCertificate())).toBe('valid');
    expect(socket.sessionProtocol()).toBe(SslProtocol.UnknownProtocol);
  });

  it('is no longer encrypted by the time disconnected is emitted, still encrypted at readChannelFinished', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
    const { socket } = await sslSetup();
    socket.connectToHostEncrypted('127.0.0.1', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    const seen: string[] = [];
    socket.readChannelFinished.connect(() => seen.push(`readChannelFinished:${socket.isEncrypted()}`));
    socket.disconnected.connect(() => seen.push(`disconnected:${socket.isEncrypted()}`));
    socket.abort();
    expect(seen).toEqual(['readChannelFinished:true', 'disconnected:false']);
  });

  it("trusts the gateway's CA files when the socket keeps the system's CAs (Qt's default configuration)", async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
    const { socket, make } = await sslSetup({ trust: false, gateway: { tls: { caFiles: [pki.ca.certFile] } } });
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(log).toEqual([...CONNECTED, 'encrypted']);
    // setCaCertificates replaces the system's: the same gateway then does not trust the chain.
    const other = make();
    const configuration = QSslConfiguration.defaultConfiguration();
    configuration.setCaCertificates([]);
    other.setSslConfiguration(configuration);
    const errors: string[] = [];
    other.sslErrors.connect((list) => errors.push(...list.map(describeError)));
    other.connectToHostEncrypted('localhost', server.port);
    expect(await other.waitForEncrypted(5000)).toBe(false);
    expect(errors).toEqual(['UnableToGetLocalIssuerCertificate:valid', 'UnableToVerifyFirstCertificate:valid']);
  });

  it('negotiates ALPN: nextNegotiatedProtocol and its status in the socket configuration', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid, alpn: ['http/1.1'] }));
    const { socket } = await sslSetup();
    const configuration = socket.sslConfiguration();
    configuration.setAllowedNextProtocols([QSslConfiguration.ALPNProtocolHTTP2, QSslConfiguration.NextProtocolHttp1_1]);
    socket.setSslConfiguration(configuration);
    expect(socket.sslConfiguration().nextProtocolNegotiationStatus()).toBe(NextProtocolNegotiationStatus.NextProtocolNegotiationNone);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(socket.sslConfiguration().nextNegotiatedProtocol()).toBe('http/1.1');
    expect(socket.sslConfiguration().nextProtocolNegotiationStatus()).toBe(NextProtocolNegotiationStatus.NextProtocolNegotiationNegotiated);
    expect((await server.nextAccepted()).alpn).toBe('http/1.1');
  });

  it('a server without ALPN: nothing negotiated, status None (as Qt)', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
    const { socket } = await sslSetup();
    const configuration = socket.sslConfiguration();
    configuration.setAllowedNextProtocols(['h2']);
    socket.setSslConfiguration(configuration);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(socket.sslConfiguration().nextNegotiatedProtocol()).toBe('');
    expect(socket.sslConfiguration().nextProtocolNegotiationStatus()).toBe(NextProtocolNegotiationStatus.NextProtocolNegotiationNone);
  });

  it('sends the name given to connectToHostEncrypted(host, port, sslPeerName) as SNI and verifies against it', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.wrongName }));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('127.0.0.1', server.port, 'elsewhere.test');
    expect(socket.peerVerifyName()).toBe('elsewhere.test');
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(log).toEqual([...CONNECTED, 'encrypted']);
  });
});

/** Each case: the certificate served, then what Qt emitted (peerVerifyError in found order, sslErrors with the mismatch first) and the errorString of the refusal. */
const CASES: Array<[string, (p: TestPki) => TestCertificate, boolean, string[], string[], string]> = [
  ['expired', (p) => p.expired, true, ['CertificateExpired:expired'], ['CertificateExpired:expired'], 'The certificate has expired'],
  [
    'notYetValid',
    (p) => p.notYetValid,
    true,
    ['CertificateNotYetValid:not-yet-valid'],
    ['CertificateNotYetValid:not-yet-valid'],
    'The certificate is not yet valid',
  ],
  [
    'wrongName',
    (p) => p.wrongName,
    true,
    ['HostNameMismatch:wrong-name'],
    ['HostNameMismatch:wrong-name'],
    'The host name did not match any of the valid hosts for this certificate',
  ],
  [
    'selfSigned (no CA added)',
    (p) => p.selfSigned,
    false,
    ['SelfSignedCertificate:localhost'],
    ['SelfSignedCertificate:localhost'],
    'The certificate is self-signed, and untrusted',
  ],
  [
    'incompleteChain',
    (p) => p.incompleteChain,
    true,
    ['UnableToGetLocalIssuerCertificate:behind-intermediate', 'UnableToVerifyFirstCertificate:behind-intermediate'],
    ['UnableToGetLocalIssuerCertificate:behind-intermediate', 'UnableToVerifyFirstCertificate:behind-intermediate'],
    'The issuer certificate of a locally looked up certificate could not be found',
  ],
  [
    'expiredWrongName (the mismatch found last, listed first)',
    (p) => p.expiredWrongName,
    true,
    ['CertificateExpired:expired-wrong-name', 'HostNameMismatch:expired-wrong-name'],
    ['HostNameMismatch:expired-wrong-name', 'CertificateExpired:expired-wrong-name'],
    'The host name did not match any of the valid hosts for this certificate',
  ],
];

describe('QSslSocket: certificate errors', () => {
  it.each(CASES)(
    '%s: peerVerifyError each, sslErrors, then refused as Qt: errorOccurred, Closing, Unconnected',
    async (_name, served, trust, found, listed, errorString) => {
      const server = stopAfter(await startTlsServer({ certificate: served(pki) }));
      const { socket } = await sslSetup({ trust });
      const log = recordSsl(socket);
      socket.connectToHostEncrypted('localhost', server.port);
      expect(await socket.waitForEncrypted(5000)).toBe(false);
      expect(log).toEqual([
        ...CONNECTED,
        ...found.map((error) => `peerVerifyError(${error})`),
        `sslErrors(${listed.join(',')})`,
        ...REFUSED,
      ]);
      expect(socket.state()).toBe(UnconnectedState);
      expect(socket.error()).toBe(QAbstractSocket.SslHandshakeFailedError);
      expect(socket.errorString()).toBe(errorString);
      expect(socket.sslHandshakeErrors().map(describeError)).toEqual(listed);
      expect(socket.isEncrypted()).toBe(false);
      expect(socket.isOpen()).toBe(true); // Qt's refusal disconnects; the device stays open
      expect(socket.mode()).toBe(SslMode.SslClientMode); // and the mode stays
      expect(cn(socket.peerCertificate())).toBe(listed[0]?.split(':')[1]);
    },
  );

  it.each(CASES)('%s: ignoreSslErrors() in the sslErrors slot goes on to encrypted; data flows', async (_name, served, trust) => {
    const server = stopAfter(await startTlsServer({ certificate: served(pki) }));
    const { socket } = await sslSetup({ trust });
    const log = recordSsl(socket);
    // What was negotiated is known in the slot, as in Qt; the socket is not encrypted yet.
    const inSlot: Array<[SslProtocol, string, boolean]> = [];
    socket.sslErrors.connect(() => {
      inSlot.push([socket.sessionProtocol(), socket.sessionCipher().name(), socket.isEncrypted()]);
      socket.ignoreSslErrors();
    });
    socket.connectToHostEncrypted('localhost', server.port);
    socket.write('early');
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(inSlot).toEqual([[SslProtocol.TlsV1_3, 'TLS_AES_256_GCM_SHA384', false]]);
    expect(log.slice(-1)).toEqual(['encrypted']);
    await until(() => socket.bytesAvailable() === 5, 5000, 'the echo');
    expect(text(socket.readAll())).toBe('early');
    expect(socket.state()).toBe(ConnectedState);
    expect(socket.sslHandshakeErrors().length).toBeGreaterThan(0);
  });

  it('ignoreSslErrors(list) before connecting: goes on when every error is in the list (equal error and certificate)', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expired }));
    const { socket } = await sslSetup();
    const leaf = QSslCertificate.fromData(pki.expired.pem)[0] as QSslCertificate;
    socket.ignoreSslErrors([new QSslError(SslError.CertificateExpired, leaf)]);
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(log).toEqual([
      ...CONNECTED,
      'peerVerifyError(CertificateExpired:expired)',
      'sslErrors(CertificateExpired:expired)',
      'encrypted',
    ]);
  });

  it('ignoreSslErrors(list) in the sslErrors slot with the list it was given goes on', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expiredWrongName }));
    const { socket } = await sslSetup();
    socket.sslErrors.connect((errors) => socket.ignoreSslErrors(errors));
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
  });

  it('ignoreSslErrors(list) that lacks an error, or names no certificate, does not ignore: refused as without it', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expiredWrongName }));
    const { make } = await sslSetup();
    const leaf = QSslCertificate.fromData(pki.expiredWrongName.pem)[0] as QSslCertificate;
    for (const list of [
      [new QSslError(SslError.CertificateExpired, leaf)], // the mismatch is not in it
      [new QSslError(SslError.CertificateExpired), new QSslError(SslError.HostNameMismatch)], // no certificates
      [new QSslError(SslError.HostNameMismatch, leaf), new QSslError(SslError.CertificateExpired, new QSslCertificate(pki.valid.pem))],
    ]) {
      const socket = make();
      socket.ignoreSslErrors(list);
      // A list decides instead of ignoreSslErrors() without one, as in Qt.
      socket.connected.connect(() => socket.ignoreSslErrors());
      const log = recordSsl(socket);
      socket.connectToHostEncrypted('localhost', server.port);
      expect(await socket.waitForEncrypted(5000)).toBe(false);
      expect(log.slice(-REFUSED.length)).toEqual(REFUSED);
    }
    // And with both errors about that certificate, it goes on.
    const socket = make();
    socket.ignoreSslErrors([new QSslError(SslError.HostNameMismatch, leaf), new QSslError(SslError.CertificateExpired, leaf)]);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
  });

  it('ignoreSslErrors() before connectToHostEncrypted is forgotten by it (Qt); after it, before the errors, it holds', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expired }));
    const { make } = await sslSetup();
    const before = make();
    before.ignoreSslErrors();
    before.connectToHostEncrypted('localhost', server.port);
    expect(await before.waitForEncrypted(5000)).toBe(false);
    expect(before.error()).toBe(QAbstractSocket.SslHandshakeFailedError);
    const after = make();
    after.connectToHostEncrypted('localhost', server.port);
    after.connected.connect(() => after.ignoreSslErrors());
    expect(await after.waitForEncrypted(5000)).toBe(true);
  });

  it('VerifyNone: no peerVerifyError, no sslErrors, encrypted; QueryPeer: both signals, then encrypted', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.selfSigned }));
    const { make } = await sslSetup({ trust: false });
    const none = make();
    none.setPeerVerifyMode(PeerVerifyMode.VerifyNone);
    const noneLog = recordSsl(none);
    none.connectToHostEncrypted('localhost', server.port);
    expect(await none.waitForEncrypted(5000)).toBe(true);
    expect(noneLog).toEqual([...CONNECTED, 'encrypted']);
    expect(none.sslHandshakeErrors()).toEqual([]);

    const query = make();
    query.setPeerVerifyMode(QSslSocket.QueryPeer);
    const queryLog = recordSsl(query);
    query.connectToHostEncrypted('localhost', server.port);
    expect(await query.waitForEncrypted(5000)).toBe(true);
    expect(queryLog).toEqual([
      ...CONNECTED,
      'peerVerifyError(SelfSignedCertificate:localhost)',
      'sslErrors(SelfSignedCertificate:localhost)',
      'encrypted',
    ]);
    expect(query.sslHandshakeErrors().map(describeError)).toEqual(['SelfSignedCertificate:localhost']);
  });

  it('PauseOnSslErrors: waits after sslErrors; resume() after ignoreSslErrors() goes on, resume() alone refuses', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expired }));
    const { make } = await sslSetup();
    const socket = make();
    socket.setPauseMode(QAbstractSocket.PauseOnSslErrors);
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('localhost', server.port);
    socket.write('x');
    await until(() => log.includes('sslErrors(CertificateExpired:expired)'), 5000, 'sslErrors');
    await sleep(200);
    expect(socket.state()).toBe(ConnectedState);
    expect(socket.isEncrypted()).toBe(false);
    socket.ignoreSslErrors();
    socket.resume();
    expect(log.at(-1)).toBe('sslErrors(CertificateExpired:expired)'); // Qt goes on from the event loop
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    await until(() => socket.bytesAvailable() === 1, 5000, 'the echo');
    expect(log.slice(-3)).toEqual(['sslErrors(CertificateExpired:expired)', 'encrypted', 'readyRead']);

    const refused = make();
    refused.setPauseMode(QAbstractSocket.PauseOnSslErrors);
    const refusedLog = recordSsl(refused);
    refused.connectToHostEncrypted('localhost', server.port);
    await until(() => refusedLog.includes('sslErrors(CertificateExpired:expired)'), 5000, 'sslErrors');
    refused.resume();
    await until(() => refused.state() === UnconnectedState, 5000, 'the refusal');
    expect(refusedLog.slice(-REFUSED.length - 1)).toEqual(['sslErrors(CertificateExpired:expired)', ...REFUSED]);
    expect(refused.errorString()).toBe('The certificate has expired');
  });

  it('disconnectFromHost() during the handshake, with a write held: the errors still come, and the refusal ends the close', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expired }));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('localhost', server.port);
    socket.write('held');
    socket.connected.connect(() => socket.disconnectFromHost());
    await until(() => socket.state() === UnconnectedState, 5000, 'Unconnected');
    expect(log.slice(CONNECTED.length)).toEqual([
      'stateChanged(ClosingState)',
      'peerVerifyError(CertificateExpired:expired)',
      'sslErrors(CertificateExpired:expired)',
      'errorOccurred(SslHandshakeFailedError)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect(socket.bytesToWrite()).toBe(0);
  });

  it('disconnectFromHost() during the handshake, with a write held: once encrypted the write goes, then the close', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid, mode: 'sink' }));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('localhost', server.port);
    socket.write('held');
    socket.connected.connect(() => socket.disconnectFromHost());
    await until(() => socket.state() === UnconnectedState, 5000, 'Unconnected');
    expect(log.slice(CONNECTED.length)).toEqual([
      'stateChanged(ClosingState)',
      'encrypted',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect((await server.received).bytes).toBe(4);
  });

  it('close() during the handshake drops the held writes, as Qt, and the connection closes', async () => {
    const warnings = captureWarnings();
    const server = stopAfter(await startTlsServer({ certificate: pki.valid, mode: 'sink' }));
    const { socket } = await sslSetup();
    socket.connectToHostEncrypted('localhost', server.port);
    socket.write('held');
    socket.connected.connect(() => socket.close());
    await until(() => socket.state() === UnconnectedState, 5000, 'Unconnected');
    expect(socket.bytesToWrite()).toBe(0);
    expect(socket.isOpen()).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('abort() in the sslErrors slot: Qt still reports the refusal, after the abort', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expired }));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.sslErrors.connect(() => socket.abort());
    socket.connectToHostEncrypted('localhost', server.port);
    await until(() => log.includes('errorOccurred(SslHandshakeFailedError)'), 5000, 'the refusal');
    expect(log.slice(-6)).toEqual([
      'sslErrors(CertificateExpired:expired)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
      'aboutToClose',
      'errorOccurred(SslHandshakeFailedError)',
    ]);
  });

  it("a gateway that forbids ignoring errors fails the socket that ignores them: SslHandshakeFailedError with the gateway's words", async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expired }));
    const { socket } = await sslSetup({ gateway: { tls: { allowIgnoreErrors: false } } });
    const log = recordSsl(socket);
    socket.sslErrors.connect(() => socket.ignoreSslErrors());
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(false);
    // A handshake the gateway fails takes Qt's abort path, as a failed handshake does.
    expect(log.slice(-6)).toEqual([
      'sslErrors(CertificateExpired:expired)',
      'errorOccurred(SslHandshakeFailedError)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
      'aboutToClose',
    ]);
    expect(socket.errorString()).toMatch(/allowIgnoreErrors/);
  });
});

describe('QSslSocket: what the gateway allows', () => {
  it("a socket paused on its errors past the gateway's decision timeout fails with SslHandshakeFailedError", async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.expired }));
    const { socket } = await sslSetup({ gateway: { tls: { decisionTimeoutMs: 200 } } });
    socket.setPauseMode(QAbstractSocket.PauseOnSslErrors);
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(false);
    expect(log.slice(-6)).toEqual([
      'sslErrors(CertificateExpired:expired)',
      'errorOccurred(SslHandshakeFailedError)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
      'aboutToClose',
    ]);
    expect(socket.errorString()).toMatch(/did not say within 200 ms/);
  });

  it('a client certificate and key reach the server where the gateway takes them (tls.clientCertificates)', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid, requestCert: true, rejectUnauthorized: true, ca: pki.ca.pem }));
    const { socket } = await sslSetup({ gateway: { tls: { clientCertificates: true } } });
    socket.setLocalCertificate(QSslCertificate.fromData(pki.clientOnly.pem)[0] as QSslCertificate);
    socket.setPrivateKey(pki.clientOnly.key);
    expect(cn(socket.localCertificate())).toBe(''); // read from PEM in the page: no subject (README)
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(await server.nextAccepted()).toMatchObject({ clientCn: 'client-only', clientAuthorized: true });
  });
});

describe('QSslSocket: handshake failures', () => {
  it("a server speaking only TLS 1.2 to a client asking for 1.3: alertReceived, then Qt's abort path (the device closes last)", async () => {
    const server = stopAfter(await startOpenSslServer({ certificate: pki.valid, only: 'TLSv1.2' }));
    const { socket } = await sslSetup();
    socket.setProtocol(SslProtocol.TlsV1_3OrLater);
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(false);
    expect(log).toEqual([
      ...CONNECTED,
      'alertReceived(1,70,protocol version)',
      'errorOccurred(SslHandshakeFailedError)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
      'aboutToClose',
    ]);
    expect(socket.errorString()).toBe('Error during SSL handshake: error:0A00042E:SSL routines::tlsv1 alert protocol version');
    expect(socket.isOpen()).toBe(false);
  });

  it('speaks TLS 1.2 with a server that offers no more, and reports it', async () => {
    const server = stopAfter(await startOpenSslServer({ certificate: pki.valid, only: 'TLSv1.2' }));
    const { socket } = await sslSetup();
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    expect(socket.sessionProtocol()).toBe(SslProtocol.TlsV1_2);
    expect(socket.sessionCipher().protocolString()).toBe('TLSv1.2');
  });

  it("DTLS or UnknownProtocol: SslInvalidUserDataError inside the call, with Qt's warning, nothing connected", async () => {
    const warnings = captureWarnings();
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.setProtocol(SslProtocol.DtlsV1_2);
    socket.connectToHostEncrypted('localhost', 1);
    expect(log).toEqual(['errorOccurred(SslInvalidUserDataError)']);
    expect(socket.errorString()).toBe('Attempted to use an unsupported protocol.');
    expect(socket.state()).toBe(UnconnectedState);
    expect(warnings).toEqual(['QSslSocket::connectToHostEncrypted: QSslConfiguration with unexpected protocol "DTLS"']);
  });
});

describe('QSslSocket: a peer that does not finish the handshake', () => {
  it('stays silent: waitForEncrypted times out with errorOccurred(SocketTimeoutError), still Connected', async () => {
    const server = stopAfter(await startServer(() => {}));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('127.0.0.1', server.port);
    expect(await socket.waitForEncrypted(500)).toBe(false);
    expect(log).toEqual([...CONNECTED, 'errorOccurred(SocketTimeoutError)']);
    expect(socket.errorString()).toBe('Network operation timed out');
    expect(socket.state()).toBe(ConnectedState);
  });

  it("closes after the ClientHello: Qt's remote-close sequence, the device open", async () => {
    const server = stopAfter(await startServer((peer) => peer.once('data', () => peer.end())));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('127.0.0.1', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(false);
    expect(log).toEqual([
      ...CONNECTED,
      'errorOccurred(RemoteHostClosedError)',
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
    expect(socket.errorString()).toBe('The remote host closed the connection');
    expect(socket.isOpen()).toBe(true);
  });

  it("is a plaintext server: SslHandshakeFailedError with OpenSSL's words, then the abort path", async () => {
    const server = stopAfter(await startServer((peer) => peer.once('data', () => peer.end('HTTP/1.0 400 Bad Request\r\n\r\n'))));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    socket.connectToHostEncrypted('127.0.0.1', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(false);
    expect(log.slice(CONNECTED.length)).toEqual([
      'errorOccurred(SslHandshakeFailedError)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
      'aboutToClose',
    ]);
    expect(socket.errorString()).toBe('Error during SSL handshake: error:0A00010B:SSL routines::wrong version number');
  });
});

describe('QSslSocket: data', () => {
  it('carries 16 MiB each way intact (SHA-256)', async () => {
    const upload = stopAfter(await startTlsServer({ certificate: pki.valid, mode: 'sink' }));
    const download = stopAfter(await startTlsServer({ certificate: pki.valid, mode: 'download', downloadBytes: 16 * MiB }));
    const { make } = await sslSetup();

    const sender = make();
    sender.connectToHostEncrypted('localhost', upload.port);
    const sent = createHash('sha256');
    let written = 0;
    sender.bytesWritten.connect((n) => {
      written += n;
    });
    for (let i = 0; i < 16; i++) {
      const chunk = createHash('sha512')
        .update(String(i))
        .digest()
        .subarray(0, 64)
        .toString('hex')
        .repeat(MiB / 128);
      sent.update(chunk);
      sender.write(chunk);
    }
    expect(await sender.waitForEncrypted(5000)).toBe(true);
    await until(() => written === 16 * MiB, 30_000, 'every byte written');
    sender.disconnectFromHost();
    expect(await upload.received).toEqual({ bytes: 16 * MiB, sha256: sent.digest('hex') });

    const receiver = make();
    const received = createHash('sha256');
    let count = 0;
    receiver.readyRead.connect(() => {
      const bytes = receiver.readAll();
      count += bytes.byteLength;
      received.update(bytes);
    });
    receiver.connectToHostEncrypted('localhost', download.port);
    receiver.write('go');
    await until(() => count === 16 * MiB, 30_000, 'the whole download');
    expect(received.digest('hex')).toBe(download.downloadSha256);
  });

  it('holds back a server writing to a socket nobody reads: readBufferSize in the SDK, a small bound on the gateway', async () => {
    const download = stopAfter(await startTlsServer({ certificate: pki.valid, mode: 'download', downloadBytes: 32 * MiB }));
    const { gw, socket } = await sslSetup();
    socket.setReadBufferSize(64 * KiB);
    socket.connectToHostEncrypted('localhost', download.port);
    socket.write('go');
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    await until(() => socket.bytesAvailable() === 64 * KiB, 5000, 'a full buffer');
    await sleep(500);
    expect(socket.bytesAvailable()).toBe(64 * KiB);
    expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(256 * KiB);
    // Reading resumes the flow; every byte arrives.
    const hash = createHash('sha256');
    let count = 0;
    const drain = () => {
      const bytes = socket.readAll();
      count += bytes.byteLength;
      hash.update(bytes);
    };
    socket.readyRead.connect(drain);
    drain();
    await until(() => count === 32 * MiB, 30_000, 'the whole download');
    expect(hash.digest('hex')).toBe(download.downloadSha256);
  });

  it('holds back the writer when the server stops reading: bytesToWrite grows, the gateway stays bounded', async () => {
    const sink = stopAfter(await startTlsServer({ certificate: pki.valid, mode: 'sink' }));
    sink.stallReads();
    const { gw, socket } = await sslSetup();
    socket.connectToHostEncrypted('localhost', sink.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    const block = new Uint8Array(MiB).fill(0x61);
    for (let i = 0; i < 32; i++) socket.write(block);
    await settled(() => socket.bytesToWrite());
    expect(socket.bytesToWrite()).toBeGreaterThan(16 * MiB);
    // The gateway holds at most the stream's upload window (its uploadWindowBytes, 1 MiB); the rest waits in the SDK.
    expect(gw.app.socketgate.stats().bufferedBytes).toBeLessThanOrEqual(MiB);
    sink.resumeReads();
    await until(() => socket.bytesToWrite() === 0, 30_000, 'the upload to drain');
    socket.disconnectFromHost();
    expect((await sink.received).bytes).toBe(32 * MiB);
  });
});

describe('QSslSocket: STARTTLS', () => {
  it('startClientEncryption on a plaintext IMAP connection (Dovecot): modeChanged inside the call, plaintext before, encrypted after', async () => {
    const dovecot = stopAfter(await startDovecot({ certificate: pki.completeChain }));
    const { socket } = await sslSetup();
    const log = recordSsl(socket);
    const lines: string[] = [];
    socket.readyRead.connect(() => {
      while (socket.canReadLine()) lines.push(text(socket.readLine()).trimEnd());
    });
    socket.connectToHost('localhost', dovecot.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    await until(() => lines.length > 0, 5000, 'the greeting');
    expect(lines[0]).toMatch(/^\* OK .*STARTTLS/);
    expect(log).toEqual([
      'stateChanged(HostLookupState)',
      'stateChanged(ConnectingState)',
      'hostFound',
      'stateChanged(ConnectedState)',
      'connected',
      'readyRead',
    ]);
    expect(await socket.waitForEncrypted(100)).toBe(false); // a plain connection, as Qt
    socket.write('a STARTTLS\r\n');
    await until(() => lines.some((line) => line.startsWith('a OK')), 5000, 'the STARTTLS answer');
    log.length = 0;
    socket.startClientEncryption();
    expect(log).toEqual(['modeChanged(SslClientMode)']);
    socket.write('b LOGIN tester secret\r\n'); // waits for the handshake
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    await until(() => lines.some((line) => line.startsWith('b ')), 5000, 'the LOGIN answer');
    expect(lines.find((line) => line.startsWith('b '))).toMatch(/^b OK/);
    expect(log.slice(0, 2)).toEqual(['modeChanged(SslClientMode)', 'encrypted']);
    expect(socket.peerCertificateChain().map(cn)).toEqual(['behind-intermediate', 'intermediate']);
    // Qt's warnings for a second start, and for one on an unconnected socket.
    const warnings = captureWarnings();
    socket.startClientEncryption();
    socket.abort();
    socket.startClientEncryption();
    expect(warnings).toEqual([
      'QSslSocket::startClientEncryption: cannot start handshake on non-plain connection',
      'QSslSocket::startClientEncryption: cannot start handshake on non-plain connection',
    ]);
  });
});

describe('QSslSocket: closing and state', () => {
  it("abort(): Unconnected, readChannelFinished, disconnected, then aboutToClose (QSslSocket's order, unlike QTcpSocket's)", async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
    const { socket } = await sslSetup();
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    const log = recordSsl(socket);
    socket.abort();
    expect(log).toEqual(['stateChanged(UnconnectedState)', 'readChannelFinished', 'disconnected', 'aboutToClose']);
    expect(socket.isOpen()).toBe(false);
  });

  it('close() on a plaintext QSslSocket: the connection closes first, then aboutToClose', async () => {
    const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
    const { socket } = await sslSetup();
    socket.connectToHost('127.0.0.1', server.port);
    expect(await socket.waitForConnected(5000)).toBe(true);
    const log = recordSsl(socket);
    socket.close();
    expect(log).toEqual([
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
      'aboutToClose',
    ]);
  });

  it('a server that closes after the handshake: the remote-close sequence, encrypted until disconnected', async () => {
    const server = stopAfter(await startOpenSslServer({ certificate: pki.valid }));
    const { socket } = await sslSetup();
    socket.connectToHostEncrypted('localhost', server.port);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
    const log = recordSsl(socket);
    socket.write('CLOSE\n');
    await until(() => socket.state() === UnconnectedState, 5000, 'the close');
    expect(log.filter((entry) => entry !== 'readyRead')).toEqual([
      'errorOccurred(RemoteHostClosedError)',
      'stateChanged(ClosingState)',
      'stateChanged(UnconnectedState)',
      'readChannelFinished',
      'disconnected',
    ]);
  });

  it("connectToHostEncrypted while connecting only warns, as Qt (no OperationError); a fresh socket's defaults are Qt's", async () => {
    const warnings = captureWarnings();
    const server = stopAfter(await startTlsServer({ certificate: pki.valid }));
    const { socket } = await sslSetup();
    expect(socket.peerVerifyMode()).toBe(PeerVerifyMode.AutoVerifyPeer);
    expect(socket.peerVerifyDepth()).toBe(0);
    expect(socket.peerVerifyName()).toBe('');
    expect(socket.protocol()).toBe(SslProtocol.SecureProtocols);
    expect(socket.sessionCipher().isNull()).toBe(true);
    expect(socket.peerCertificate().isNull()).toBe(true);
    expect(QSslSocket.supportsSsl()).toBe(true);
    expect(await socket.waitForEncrypted(100)).toBe(false);
    socket.setPeerVerifyDepth(-1);
    expect(socket.peerVerifyDepth()).toBe(0);
    socket.connectToHostEncrypted('127.0.0.1', server.port);
    socket.connectToHostEncrypted('127.0.0.1', server.port);
    expect(socket.error()).toBe(QAbstractSocket.UnknownSocketError);
    expect(warnings).toEqual([
      'QSslSocket::setPeerVerifyDepth: cannot set negative depth of -1',
      'QSslSocket::connectToHostEncrypted() called when already connecting/connected',
    ]);
    expect(await socket.waitForEncrypted(5000)).toBe(true);
  });
});

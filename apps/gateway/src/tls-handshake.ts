/**
 * The TLS handshake of one TCP stream, as a Qt client makes it: node:tls over the connected socket
 * (SNI from the peer name, TLS 1.2 at least), then the gateway's own verification of the chain in
 * Qt's order (tls-verify.ts). Certificate errors are held where Qt emits `sslErrors`: nothing is
 * read or written until the client says to go on or not, within the operator's timeout.
 *
 *   connected socket --ClientHello…Finished--> verify --errors?--> tls-errors --verdict--> encrypted
 *                                                    \--none-----------------------------> encrypted
 */
import type { X509Certificate } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type { Encrypted, TlsAlert, TlsErrors, TlsProtocolName, TlsSpec } from '@socketgate/protocol';
import { describeCertificate } from './certificate-info.js';
import { type TlsFailure, tlsFailure } from './tls-failures.js';
import { peerCertificates, verifyPeerChain } from './tls-verify.js';

/** How a handshake ended, as the metrics count it. */
export type TlsOutcome = 'verified' | 'ignored' | 'declined' | 'failed';

/** What the handshake reports to its stream. */
export interface HandshakeEvents {
  /** The chain did not verify: the client must answer with `verdict()`. */
  errors(message: Omit<TlsErrors, 'type' | 'stream'>): void;
  /** Done: the TLS socket carries the stream's bytes from now on. */
  encrypted(socket: tls.TLSSocket, message: Omit<Encrypted, 'type' | 'stream'>, outcome: 'verified' | 'ignored'): void;
  /** The handshake failed (or the client refused the errors): the stream ends with this. */
  failed(failure: TlsFailure & { alert?: TlsAlert }): void;
  /** The client said not to go on despite the errors: the stream closes. */
  refused(): void;
}

export interface HandshakeOptions {
  spec: TlsSpec;
  /** The host the client asked for: the peer name unless the spec names another. */
  host: string;
  /** The trusted certificates for this stream (tls-trust.ts). */
  anchors: readonly X509Certificate[];
  /** Whether the operator lets a client go on despite certificate errors. */
  allowIgnoreErrors: boolean;
  /** Whether the operator accepts a client certificate and key. */
  clientCertificates: boolean;
  decisionTimeoutMs: number;
}

const WIRE_PROTOCOLS: Record<string, TlsProtocolName> = { 'TLSv1.2': 'TlsV1_2', 'TLSv1.3': 'TlsV1_3' };

/** The lowest and highest versions node:tls may use for Qt's protocol setting (never below TLS 1.2). */
function versions(protocol: TlsProtocolName | undefined): Pick<tls.ConnectionOptions, 'minVersion' | 'maxVersion'> {
  switch (protocol) {
    case 'TlsV1_3':
    case 'TlsV1_3OrLater':
      return { minVersion: 'TLSv1.3' };
    case 'TlsV1_2':
      return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
    default:
      return { minVersion: 'TLSv1.2' };
  }
}

/** The key sizes of a cipher suite, from its name (Qt's usedBits and supportedBits). */
function cipherBits(name: string): number {
  if (/AES_?256|CHACHA20|CAMELLIA256|ARIA256/.test(name)) return 256;
  if (/AES_?128|CAMELLIA128|ARIA128/.test(name)) return 128;
  return 0;
}

const IGNORING_FORBIDDEN: TlsFailure = {
  error: 'SslHandshakeFailedError',
  message: "Permission denied: the gateway does not let clients ignore a peer's certificate errors (its tls.allowIgnoreErrors is off)",
};

/** What the session negotiated: Qt's sessionProtocol, sessionCipher and nextNegotiatedProtocol. */
function session(socket: tls.TLSSocket): Pick<Encrypted, 'protocol' | 'cipher' | 'alpn'> {
  const protocol = WIRE_PROTOCOLS[socket.getProtocol() ?? ''] ?? 'TlsV1_2';
  const cipher = socket.getCipher();
  const bits = cipherBits(cipher.standardName ?? cipher.name);
  return {
    protocol,
    cipher: { name: cipher.name, protocol, bits, supportedBits: bits },
    alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : '',
  };
}

/**
 * A TLS alert the peer sent, from OpenSSL's reason code (`error:0A00042E`: reasons from 1000 up are
 * alerts received, 1000 plus the alert's code), with OpenSSL's long description of it.
 */
export function receivedAlert(error: Error): TlsAlert | undefined {
  const match = /error:([0-9A-F]{8}):/.exec(error.message);
  if (!match) return undefined;
  const reason = Number.parseInt(match[1] as string, 16) & 0x7fffff;
  if (reason < 1000 || reason > 1255) return undefined;
  const type = reason - 1000;
  return { level: type === 0 || type === 90 ? 'Warning' : 'Fatal', type, description: ALERT_DESCRIPTIONS[type] ?? 'unknown' };
}

/** OpenSSL's `SSL_alert_desc_string_long` texts, by alert code, the words Qt passes to alertReceived. */
const ALERT_DESCRIPTIONS: Readonly<Record<number, string>> = {
  0: 'close notify',
  10: 'unexpected_message',
  20: 'bad record mac',
  21: 'decryption failed',
  22: 'record overflow',
  30: 'decompression failure',
  40: 'handshake failure',
  41: 'no certificate',
  42: 'bad certificate',
  43: 'unsupported certificate',
  44: 'certificate revoked',
  45: 'certificate expired',
  46: 'certificate unknown',
  47: 'illegal parameter',
  48: 'unknown CA',
  49: 'access denied',
  50: 'decode error',
  51: 'decrypt error',
  60: 'export restriction',
  70: 'protocol version',
  71: 'insufficient security',
  80: 'internal error',
  90: 'user canceled',
  100: 'no renegotiation',
  110: 'unsupported extension',
  111: 'certificate unobtainable',
  112: 'unrecognized name',
  113: 'bad certificate status response',
  114: 'bad certificate hash value',
  115: 'unknown PSK identity',
  120: 'no application protocol',
};

/** What in a TLS spec the gateway will not use: checked before anything is connected. */
export function refusedSpec(spec: TlsSpec, clientCertificates: boolean): TlsFailure | undefined {
  if ((spec.certificate !== undefined || spec.privateKey !== undefined) && !clientCertificates) {
    return {
      error: 'SslInvalidUserDataError',
      message: 'Permission denied: the gateway does not take client certificates and keys (its tls.clientCertificates is off)',
    };
  }
  if ((spec.certificate === undefined) !== (spec.privateKey === undefined)) {
    return { error: 'SslInvalidUserDataError', message: 'Cannot provide a certificate with no key' };
  }
  // TLS carries an ALPN name in at most 255 bytes; the protocol limits characters.
  for (const [i, name] of (spec.alpn ?? []).entries()) {
    const bytes = Buffer.byteLength(name);
    if (bytes > 255) {
      return { error: 'SslInvalidUserDataError', message: `tls.alpn[${i}]: ${bytes} bytes in UTF-8, more than the 255 TLS allows` };
    }
  }
  return undefined;
}

/**
 * One stream's handshake. `start` wraps the connected socket; the events say how it went. While
 * the client decides about certificate errors the TLS socket is paused and nothing is written.
 */
export class TlsHandshake {
  readonly #options: HandshakeOptions;
  readonly #events: HandshakeEvents;
  #socket: tls.TLSSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(options: HandshakeOptions, events: HandshakeEvents) {
    this.#options = options;
    this.#events = events;
  }

  /** The TLS socket while the handshake runs (its writable length counts as held). */
  get socket(): tls.TLSSocket | undefined {
    return this.#socket;
  }

  /** Whether the client's answer to `tls-errors` is awaited. */
  get awaitingVerdict(): boolean {
    return this.#timer !== undefined;
  }

  start(raw: Socket): void {
    const { spec, host } = this.#options;
    const refusal = refusedSpec(spec, this.#options.clientCertificates);
    if (refusal !== undefined) {
      this.#fail(refusal);
      return;
    }
    const peerName = spec.peerName ?? host;
    const bare = peerName.replace(/^\[|\]$/g, '');
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({
        socket: raw,
        // SNI carries names only; the chain is verified here, after the handshake, as Qt does.
        ...(isIP(bare) === 0 ? { servername: bare } : {}),
        rejectUnauthorized: false,
        ...versions(spec.protocol),
        ...(spec.alpn === undefined || spec.alpn.length === 0 ? {} : { ALPNProtocols: spec.alpn }),
        ...(spec.certificate === undefined ? {} : { cert: spec.certificate, key: spec.privateKey }),
      });
    } catch (error) {
      // A client certificate or key that cannot be used, an ALPN name too long: the client's data.
      this.#fail({ error: 'SslInvalidUserDataError', message: `Invalid TLS settings: ${(error as Error).message}` });
      return;
    }
    this.#socket = socket;
    // Verified on the next turn of the loop, never inside node:tls's own callback: a stream that
    // fails there destroys the sockets, which node:tls does not survive while it is on the stack.
    socket.once('secureConnect', () => setImmediate(() => this.#verify(socket, bare)));
    socket.once('error', (error: Error) => this.#fail({ ...tlsFailure(error, true), ...alertOf(error) }));
    socket.once('close', () => this.#fail({ error: 'RemoteHostClosedError', message: 'The remote host closed the connection' }));
  }

  #verify(socket: tls.TLSSocket, peerName: string): void {
    if (this.#done) return;
    const anchors = this.#options.anchors;
    const peer = peerCertificates(socket);
    const { errors, chain } = verifyPeerChain(peer, anchors, peerName);
    if (errors.length === 0) {
      this.#encrypted(socket, peer, 'verified');
      return;
    }
    // With VerifyNone Qt does not look at the errors: nothing to ask, unless going on is forbidden.
    if (this.#options.spec.verifyMode === 'VerifyNone') {
      if (this.#options.allowIgnoreErrors) this.#encrypted(socket, peer, 'ignored');
      else this.#fail(IGNORING_FORBIDDEN);
      return;
    }
    socket.pause();
    const sent = (certificate: X509Certificate | undefined) =>
      certificate === undefined ? -1 : peer.findIndex((candidate) => candidate.raw.equals(certificate.raw));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fail({
        error: 'SslHandshakeFailedError',
        message: `The client did not say within ${this.#options.decisionTimeoutMs} ms whether to ignore the certificate errors`,
      });
    }, this.#options.decisionTimeoutMs);
    this.#events.errors({
      errors: errors.map(({ error, certificate }) => ({ error, certificate: sent(chain[certificate]) })),
      chain: peer.map(describeCertificate),
      ...session(socket),
    });
  }

  /** The client's answer to `tls-errors`. */
  verdict(proceed: boolean): void {
    const socket = this.#socket;
    if (this.#timer === undefined || socket === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!proceed) {
      this.#done = true;
      this.#events.refused();
      return;
    }
    if (!this.#options.allowIgnoreErrors) {
      this.#fail(IGNORING_FORBIDDEN);
      return;
    }
    this.#encrypted(socket, peerCertificates(socket), 'ignored');
  }

  #encrypted(socket: tls.TLSSocket, peer: readonly X509Certificate[], outcome: 'verified' | 'ignored'): void {
    this.#done = true;
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    this.#events.encrypted(socket, { ...session(socket), chain: peer.map(describeCertificate) }, outcome);
  }

  #fail(failure: TlsFailure & { alert?: TlsAlert }): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#events.failed(failure);
  }

  /** The stream ended: no more events, and the timer is stopped. */
  cancel(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const alertOf = (error: Error): { alert?: TlsAlert } => {
  const alert = receivedAlert(error);
  return alert === undefined ? {} : { alert };
};

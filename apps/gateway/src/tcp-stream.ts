import type { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Open, SocketOptionName, TlsSpec } from '@socketgate/protocol';
import { connectTimedOut, errnoFailure, peerReset, type SocketFailure, socketFailure } from './errno-table.js';
import { READ_BUFFER } from './frame-pool.js';
import type { ResolvedAddress } from './resolve.js';
import { connectThrough, fromSpec, proxyFailure, type Socks5Proxy } from './socks.js';
import type { StreamHost, Violation } from './stream.js';
import { StreamLifecycle } from './stream-lifecycle.js';
import { tlsFailure } from './tls-failures.js';
import { refusedSpec, TlsHandshake } from './tls-handshake.js';

/** Options the gateway can apply to a real TCP socket; others read back as unsupported (`null`). */
const TCP_OPTIONS: ReadonlySet<SocketOptionName> = new Set(['LowDelayOption', 'KeepAliveOption']);

/**
 * One client stream and its real TCP socket, with credit-based flow control both ways:
 *
 *   target --data--> [pending <= one chunk] --DATA within credit--> client
 *   client --DATA within window--> socket.write --written--> ACK --> client
 *
 * The gateway holds at most one read chunk per stream beyond the client's credit (the socket is
 * paused meanwhile, so TCP pushes back on the target) and at most the upload window of unwritten
 * bytes; nothing buffers without bound. The states, the window and the ways a stream ends are the
 * shared lifecycle's (stream-lifecycle.ts); this class owns the socket: connect attempts, a SOCKS5
 * proxy, reads within credit, writes, the graceful close and the reset.
 *
 * A TLS stream (Qt's connectToHostEncrypted, or start-tls on a connected stream for STARTTLS) puts
 * a TLS socket over the TCP one (tls-handshake.ts): between the start and `encrypted` no DATA is
 * taken or delivered, and from then on DATA is the TLS socket's plaintext, with the same credit.
 */
export class TcpStream extends StreamLifecycle {
  readonly transport = 'tcp';
  #connectStartedAt = 0;
  #proxy: Socks5Proxy | undefined;
  readonly #request: Open;
  /** The socket the stream's bytes go through: the TCP socket, or the TLS socket over it. */
  #socket: net.Socket | undefined;
  /** Under a TLS socket, the TCP socket (for a reset and the peer's state). */
  #raw: net.Socket | undefined;
  /** The TLS handshake under way. */
  #handshake: TlsHandshake | undefined;
  /** The certificates a TLS stream trusts, read from its spec before it connects. */
  #anchors: X509Certificate[] = [];
  #connectTimer: NodeJS.Timeout | undefined;
  readonly #options = new Map<SocketOptionName, number>();
  #downloadCredit: number;
  #pending: Buffer | undefined;
  /**
   * What a socket read with 'data' events (TLS: a record of at most 16 KiB each, several per read of
   * the TCP socket, each its own callback) delivered in this turn of the loop, sent as one DATA frame
   * once its reads are done (setImmediate), or once it reaches BATCH_BYTES, instead of a frame and a
   * WebSocket write per record.
   */
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #batchQueued = false;
  #remoteEnded = false;
  /** The peer ended with a reset (RST) rather than a FIN. */
  #remoteReset = false;
  /** The size of the next read, reserved from the session's download budget. */
  #readReserved = 0;

  constructor(host: StreamHost, request: Open) {
    super(host, request.stream, 'resolving');
    this.#request = request;
    this.#downloadCredit = request.window;
    for (const [name, value] of Object.entries(request.options ?? {})) {
      if (TCP_OPTIONS.has(name as SocketOptionName)) this.#options.set(name as SocketOptionName, value ? 1 : 0);
    }
    const { host: name, port, family, proxy } = request;
    const refusal = request.tls === undefined ? undefined : this.#checkSpec(request.tls);
    if (refusal !== undefined) {
      this.fail(refusal);
      return;
    }
    this.reach(name, port, family ?? 'any', {
      ...(proxy === undefined ? {} : { prepare: () => this.#clientProxy() }),
      connect: (addresses) => {
        const required = request.tls === undefined ? this.host.tlsRequired(name, addresses, port) : undefined;
        if (required !== undefined) {
          this.fail({ error: 'SocketAccessError', message: `Permission denied: ${required}` });
          return;
        }
        this.#proxy ??= this.host.upstreamProxy;
        this.#connectStartedAt = performance.now();
        this.#attempt(addresses, 0, undefined);
      },
    }).catch((error: unknown) => this.host.fault(this, error));
  }

  /** Bytes the gateway holds for this stream: read but not yet sent, and received but not yet written. */
  get bufferedBytes(): number {
    const socket = this.#socket;
    const raw = this.#raw;
    return (
      (this.#pending?.byteLength ?? 0) +
      this.#batchBytes +
      (socket ? socket.writableLength + socket.readableLength : 0) +
      (raw ? raw.writableLength + raw.readableLength : 0)
    );
  }

  /** The client's own proxy, where the gateway allows it: the proxy must pass the egress policy too. */
  async #clientProxy(): Promise<SocketFailure | undefined> {
    const spec = this.#request.proxy;
    if (spec === undefined || !this.host.config.clientProxies) {
      return { error: 'SocketAccessError', message: 'Permission denied: the gateway does not allow client proxies' };
    }
    // An operator's upstream proxy is the only way out: a client's own proxy would go around it.
    if (this.host.upstreamProxy !== undefined) {
      return {
        error: 'SocketAccessError',
        message: "Permission denied: the gateway sends every connection through its own proxy, so it does not take the client's",
      };
    }
    const found = await this.allowedAddresses(spec.host, spec.port, 'any');
    if (!Array.isArray(found)) {
      return found.by === 'lookup'
        ? { error: 'ProxyNotFoundError', message: 'Proxy host not found' }
        : {
            error: 'SocketAccessError',
            message: `Permission denied: the egress policy does not allow the proxy ${spec.host} port ${spec.port}`,
          };
    }
    this.#proxy = { ...fromSpec(spec), host: (found[0] as ResolvedAddress).address };
    return undefined;
  }

  /** Connects through the SOCKS5 proxy to the address the policy checked (never to a name). */
  #attemptThroughProxy(proxy: Socks5Proxy, target: ResolvedAddress): void {
    connectThrough(proxy, target.address, this.#request.port, this.host.config.connectTimeoutMs).then(
      (socket) => {
        if (this.state !== 'connecting') {
          socket.destroy();
          return;
        }
        this.#socket = socket;
        this.#applyOptions(socket);
        this.#connected(socket);
      },
      (error: unknown) => this.fail(proxyFailure(error)),
    );
  }

  /** Tries each allowed address in order, each with its own connect timer, as Qt does. */
  #attempt(addresses: readonly ResolvedAddress[], index: number, last: SocketFailure | undefined): void {
    const target = addresses[index];
    if (this.state !== 'connecting') return;
    if (target === undefined) {
      this.fail(last ?? errnoFailure('ECONNREFUSED', 'connect'));
      return;
    }
    if (this.#proxy !== undefined) {
      this.#attemptThroughProxy(this.#proxy, target);
      return;
    }
    const socket = net.connect({
      host: target.address,
      port: this.#request.port,
      family: target.family,
      // A TLS socket reads the TCP socket itself.
      ...(this.#request.tls === undefined ? { onread: this.#reader() } : {}),
    });
    this.#socket = socket;
    this.#applyOptions(socket);
    const failed = (failure: SocketFailure): void => {
      this.#dropAttempt(socket);
      this.#attempt(addresses, index + 1, failure);
    };
    this.#connectTimer = setTimeout(() => failed(connectTimedOut), this.host.config.connectTimeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // A reset as the connect completes: the peer accepted (the kernel finished the handshake), then
      // reset. Qt connects, then closes with RemoteHostClosedError; a refusal is ECONNREFUSED instead.
      if (peerReset(error) && this.#request.tls === undefined) this.#resetAtAccept(socket, target);
      else failed(socketFailure(error));
    });
    socket.once('connect', () => {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      socket.removeAllListeners('error');
      this.#connected(socket);
    });
  }

  /** Lets go of the socket of one connect attempt and its timer. */
  #dropAttempt(socket: net.Socket): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    socket.removeAllListeners();
    socket.on('error', () => {});
    socket.destroy();
    this.#socket = undefined;
  }

  /** The peer accepted and reset at once: connected (its ends are gone with the socket), then the reset. */
  #resetAtAccept(socket: net.Socket, target: ResolvedAddress): void {
    this.#dropAttempt(socket);
    this.host.observeConnect((performance.now() - this.#connectStartedAt) / 1000);
    this.connected(
      { localAddress: '', localPort: 0, peerAddress: target.address, peerPort: this.#request.port },
      Object.fromEntries(TCP_OPTIONS_LIST.map((name) => [name, this.#options.get(name) ?? 0])),
    );
    this.finish({ type: 'end', stream: this.id, reset: true });
  }

  /** How a plain TCP socket reads: straight into the shared buffer, within credit and the session's budget. */
  #reader(): net.OnReadOpts {
    // Reads go straight into the shared buffer, at most the credit left (no chunk held back) and
    // at most the room left in the session's download budget. Node asks for the next read's size
    // right after each read, so that size is reserved from the budget until the read happens: a
    // stream paused with a read pending keeps its share, and no two streams count the same room.
    // With no room or no credit the read is small (a read of zero bytes is not possible).
    return {
      buffer: () => {
        const room = this.host.flow.downloadRoom() + this.#readReserved;
        const size =
          this.#downloadCredit > 0
            ? Math.min(this.#downloadCredit, READ_BUFFER.byteLength, Math.max(room, MIN_READ_BYTES))
            : MIN_READ_BYTES;
        this.#reserveRead(size);
        return READ_BUFFER.subarray(0, size);
      },
      callback: (bytes: number, buffer: Uint8Array) => {
        this.#reserveRead(0);
        return this.#onData(buffer.subarray(0, bytes));
      },
    };
  }

  #applyOptions(socket: net.Socket): void {
    socket.setNoDelay(this.#options.get('LowDelayOption') === 1);
    socket.setKeepAlive(this.#options.get('KeepAliveOption') === 1);
  }

  #connected(socket: net.Socket): void {
    this.host.observeConnect((performance.now() - this.#connectStartedAt) / 1000);
    const tls = this.#request.tls;
    if (tls === undefined) this.#read(socket);
    this.connected(
      {
        localAddress: socket.localAddress ?? '',
        localPort: socket.localPort ?? 0,
        peerAddress: socket.remoteAddress ?? '',
        peerPort: socket.remotePort ?? 0,
      },
      Object.fromEntries(TCP_OPTIONS_LIST.map((name) => [name, this.#options.get(name) ?? 0])),
    );
    if (tls !== undefined) this.#encrypt(socket, tls);
  }

  /**
   * Delivers what `socket` reads. A TLS socket and a socket made through a SOCKS5 proxy read with
   * 'data' events; a direct TCP socket through onread as well.
   */
  #read(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.#onData(chunk, true));
    socket.on('end', () => this.#onRemoteEnd());
    socket.on('error', (error: NodeJS.ErrnoException) => this.#onSocketError(error));
    socket.on('close', () => this.#onSocketClose());
    if (this.#downloadCredit === 0 || this.#pending !== undefined) socket.pause();
    else socket.resume();
  }

  /**
   * What in a TLS spec the gateway will not use (a client key it does not take, CA text that is not
   * a certificate), found before anything is connected; else the spec's trusted certificates are kept.
   */
  #checkSpec(spec: TlsSpec): SocketFailure | undefined {
    const refusal = refusedSpec(spec, this.host.config.tls.clientCertificates);
    if (refusal !== undefined) return refusal;
    try {
      this.#anchors = this.host.tlsTrust.anchors(spec.ca);
    } catch (error) {
      return { error: 'SslInvalidUserDataError', message: (error as Error).message };
    }
    return undefined;
  }

  /** Starts TLS over the connected TCP socket; its bytes flow again once the handshake is done. */
  #encrypt(raw: net.Socket, spec: TlsSpec): void {
    const tls = this.host.config.tls;
    const anchors = this.#anchors;
    this.#raw = raw;
    this.#handshake = new TlsHandshake(
      {
        spec,
        host: this.#request.host,
        anchors,
        allowIgnoreErrors: tls.allowIgnoreErrors,
        clientCertificates: tls.clientCertificates,
        decisionTimeoutMs: tls.decisionTimeoutMs,
      },
      {
        errors: (found) => this.host.send({ type: 'tls-errors', stream: this.id, ...found }),
        encrypted: (socket, done, outcome) => {
          this.host.countTlsHandshake(outcome);
          this.#handshake = undefined;
          this.#socket = socket;
          this.host.send({ type: 'encrypted', stream: this.id, ...done });
          this.#read(socket);
        },
        failed: (failure) => {
          this.host.countTlsHandshake('failed');
          this.fail(failure);
        },
        refused: () => {
          this.host.countTlsHandshake('declined');
          this.abort();
        },
      },
    );
    this.#handshake.start(raw);
  }

  /**
   * Qt's startClientEncryption on a connected plaintext stream (STARTTLS). Bytes read before it
   * are delivered as they were; the TCP socket is read by the TLS socket from now on.
   */
  startTls(spec: TlsSpec): Violation | undefined {
    const socket = this.#socket;
    if (this.state !== 'connected' || socket === undefined || this.#remoteEnded) {
      return { code: 'NOT_CONNECTED', message: `stream ${this.id}: start-tls on a stream that is not connected` };
    }
    if (this.#raw !== undefined) return { code: 'BAD_MESSAGE', message: `stream ${this.id}: start-tls on a stream that is already TLS` };
    const refusal = this.#checkSpec(spec);
    if (refusal !== undefined) {
      this.fail(refusal);
      return undefined;
    }
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.pause();
    this.#encrypt(socket, spec);
    return undefined;
  }

  /** The client's answer to `tls-errors`. */
  verdict(proceed: boolean): Violation | undefined {
    if (this.#handshake?.awaitingVerdict !== true) {
      return { code: 'BAD_MESSAGE', message: `stream ${this.id}: tls-verdict with no certificate errors waiting for one` };
    }
    this.#handshake.verdict(proceed);
    return undefined;
  }

  /**
   * Bytes read from the real socket. `chunk` may be a view into the shared read buffer: whatever is
   * kept must be copied (sendData copies it into the frame); a chunk of a 'data' event is the
   * stream's own, and is batched. Returns false when reading must pause.
   */
  #onData(chunk: Uint8Array, own = false): boolean {
    if (this.state !== 'connected' || this.#remoteEnded) return false;
    const credit = this.#downloadCredit;
    const send = own ? this.#batched : this.#sendNow;
    if (chunk.byteLength <= credit) {
      this.#downloadCredit = credit - chunk.byteLength;
      send(chunk);
    } else {
      if (credit > 0) send(chunk.subarray(0, credit));
      this.#downloadCredit = 0;
      this.#setPending(Buffer.from(chunk.subarray(credit)));
    }
    if (!this.host.flow.canSend()) {
      this.#socket?.pause();
      this.host.flow.block(this);
      return false;
    }
    if (this.#downloadCredit === 0) {
      this.#socket?.pause();
      return false;
    }
    return true;
  }

  readonly #sendNow = (payload: Uint8Array): void => {
    this.host.flow.sendData(this.id, payload);
  };

  readonly #batched = (payload: Uint8Array): void => {
    this.#batch.push(payload as Buffer);
    this.#batchBytes += payload.byteLength;
    if (this.#batchBytes >= BATCH_BYTES) this.#flushBatch();
    else if (!this.#batchQueued) {
      this.#batchQueued = true;
      setImmediate(this.#flushBatch);
    }
  };

  /** Sends what was batched; anything that follows the data (an end, a reset, an error) calls it first. */
  readonly #flushBatch = (): void => {
    this.#batchQueued = false;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    if (this.state === 'connected') this.host.flow.sendData(this.id, batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch));
  };

  /** The client granted `bytes` more of download credit. */
  addCredit(bytes: number): void {
    if (this.state !== 'connected' && this.state !== 'resolving' && this.state !== 'connecting') return;
    this.#downloadCredit += bytes;
    const pending = this.#pending;
    if (pending !== undefined && this.#downloadCredit > 0) {
      const n = Math.min(pending.byteLength, this.#downloadCredit);
      this.#downloadCredit -= n;
      this.#setPending(n === pending.byteLength ? undefined : pending.subarray(n));
      this.host.flow.sendData(this.id, n === pending.byteLength ? pending : pending.subarray(0, n));
    }
    if (this.#pending !== undefined) return;
    if (this.#remoteEnded) this.#finishRemoteEnd();
    else this.resume();
  }

  /** Sets the size of this stream's next read, counted against the session's download budget. */
  #reserveRead(bytes: number): void {
    this.host.flow.queueDownload(bytes - this.#readReserved);
    this.#readReserved = bytes;
  }

  /** Keeps (or drops) the chunk read beyond the client's credit, counted against the session. */
  #setPending(chunk: Buffer | undefined): void {
    this.host.flow.queueDownload((chunk?.byteLength ?? 0) - (this.#pending?.byteLength ?? 0));
    this.#pending = chunk;
  }

  /** Reads again if credit, the session's send buffer and the state allow it. */
  resume(): void {
    const socket = this.#socket;
    if (this.state !== 'connected' || socket === undefined || this.#pending !== undefined || this.#handshake !== undefined) return;
    if (this.#downloadCredit === 0) return;
    if (!this.host.flow.canSend()) {
      this.host.flow.block(this);
      return;
    }
    socket.resume();
  }

  #onRemoteEnd(): void {
    this.#flushBatch();
    if (this.state !== 'connected') return;
    this.#remoteEnded = true;
    const tcp = this.#raw ?? this.#socket;
    if (tcp !== undefined && lostPeer(tcp)) this.#remoteReset = true;
    if (this.#pending === undefined) this.#finishRemoteEnd();
  }

  #finishRemoteEnd(): void {
    this.finish(this.#remoteReset ? { type: 'end', stream: this.id, reset: true } : { type: 'end', stream: this.id });
  }

  /** The socket closed with no error event: after a FIN (handled by 'end') or while closing. */
  #onSocketClose(): void {
    if (this.state === 'closed' || this.#remoteEnded) return;
    if (this.state === 'closing') {
      this.finish({ type: 'closed', stream: this.id });
      return;
    }
    this.#onRemoteEnd();
  }

  #onSocketError(error: NodeJS.ErrnoException): void {
    this.#flushBatch();
    if (this.state === 'closed') return;
    // A reset seen while reading is Qt's remote close (buffered data stays readable), reported as
    // one so it is never taken for an orderly end; a failed write is its abort path (EPIPE).
    if (peerReset(error) && this.state === 'connected') {
      this.#remoteReset = true;
      this.#socket?.removeAllListeners('data');
      this.#onRemoteEnd();
      return;
    }
    // After the handshake a TLS failure is Qt's SslInternalError, "Error while reading: …".
    this.fail(this.#raw !== undefined && error.code?.startsWith('ERR_SSL') ? tlsFailure(error, false) : socketFailure(error));
  }

  /**
   * DATA from the client: its payload, or the pieces it arrived in, each written as it is (views of
   * the socket's reads, see ws-receive.ts), but for a piece that would pin a read more than twice
   * its size while the target takes it, which is copied (a client cutting its frames so that each
   * leaves a byte or two in a read of 64 KiB must not hold 64 KiB per byte its window counts).
   * Returns what was wrong when the client broke the protocol.
   */
  write(payload: Uint8Array | readonly Uint8Array[]): Violation | undefined {
    if (this.#handshake !== undefined) {
      return { code: 'NOT_CONNECTED', message: `stream ${this.id}: data before the TLS handshake is done (send it after encrypted)` };
    }
    if (this.state !== 'connected') {
      const when = this.state === 'closing' ? 'after close' : 'before the stream is connected';
      return { code: 'NOT_CONNECTED', message: `stream ${this.id}: data ${when}` };
    }
    const pieces = (payload instanceof Uint8Array ? [payload] : payload).filter((piece) => piece.byteLength > 0).map(unpinned);
    const length = pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
    const beyond = this.beyondWindow(length, 'data');
    if (beyond !== undefined) return beyond;
    const socket = this.#socket;
    if (length === 0 || socket === undefined) return undefined;
    this.hold(length, length);
    // Corked, pieces leave in one writev; the last one's callback says that all of them were taken.
    if (pieces.length > 1) socket.cork();
    for (const [i, piece] of pieces.entries()) {
      if (i < pieces.length - 1) socket.write(piece);
      else socket.write(piece, (error) => this.handedOn(length, length, !error));
    }
    if (pieces.length > 1) socket.uncork();
    return undefined;
  }

  /** Qt's disconnectFromHost: stop reading, write what was sent, then close the socket. */
  close(): void {
    const socket = this.#socket;
    // A handshake under way is cut: nothing was written through it.
    if (this.state !== 'connected' || socket === undefined || this.#handshake !== undefined) {
      this.abort();
      return;
    }
    this.move('closing');
    this.#setPending(undefined);
    socket.pause();
    socket.removeAllListeners('data');
    socket.end(() => {
      if (this.state === 'closing') this.finish({ type: 'closed', stream: this.id });
    });
  }

  /** Sets an option; answers with the effective value, or null when the gateway cannot set it. */
  setOption(option: SocketOptionName, value: number): void {
    let effective: number | null = null;
    if (TCP_OPTIONS.has(option) && this.state !== 'closing' && this.state !== 'closed') {
      effective = value ? 1 : 0;
      this.#options.set(option, effective);
      const tcp = this.#raw ?? this.#socket;
      if (tcp) this.#applyOptions(tcp);
    }
    this.host.send({ type: 'option', stream: this.id, option, value: effective });
  }

  /**
   * Closes the socket. Qt's abort closes the descriptor without lingering options, so on Linux the
   * peer gets what the kernel already holds and then a FIN (an RST only when received bytes lie
   * unread); `destroy()` does the same. A stream the client did not end is reset instead, so the
   * target cannot take a cut stream for a complete one (a FIN already on its way stays).
   */
  protected releaseSocket(reset: boolean): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#setPending(undefined);
    this.#reserveRead(0);
    const handshaking = this.#handshake?.socket;
    this.#handshake?.cancel();
    this.#handshake = undefined;
    // Under TLS: the TLS socket (made by the handshake, or the stream's socket once encrypted) and the TCP one.
    const tls: TLSSocket | undefined = this.#raw === undefined ? undefined : (handshaking ?? (this.#socket as TLSSocket));
    const socket = this.#raw ?? this.#socket;
    if (socket === undefined) return;
    for (const held of tls === undefined || tls === socket ? [socket] : [tls, socket]) {
      held.removeAllListeners('data');
      held.removeAllListeners('close');
      held.removeAllListeners('end');
      held.removeAllListeners('secureConnect');
      held.on('error', () => {});
    }
    // Once every byte is written and the FIN is on its way nothing is cut short, and libuv
    // cannot reset a socket that is shutting down.
    const finishing = (tls ?? socket).writableEnded && (tls ?? socket).writableLength === 0;
    if (reset && !socket.connecting && !socket.destroyed && !finishing) socket.resetAndDestroy();
    else socket.destroy();
    tls?.destroy();
  }
}

const TCP_OPTIONS_LIST = [...TCP_OPTIONS];
/** At most this much is batched before it is sent (a read of the TCP socket is at most 64 KiB). */
const BATCH_BYTES = 128 * 1024;

/**
 * `piece`, or a copy of it when it is a view of less than half of its memory: what a held piece
 * pins is then at most twice the bytes it carries.
 */
function unpinned(piece: Uint8Array): Uint8Array {
  if (piece.byteLength * 2 >= piece.buffer.byteLength) return piece;
  const copy = Buffer.allocUnsafeSlow(piece.byteLength);
  copy.set(piece);
  return copy;
}

/** The smallest read when the session's download budget is spent (a read cannot be of zero bytes). */
const MIN_READ_BYTES = 1024;

/**
 * Whether a socket that reported an end was in fact reset. libuv reports a reset that arrives
 * behind unread bytes as an end (a short read with POLLHUP); the socket then has no peer any more,
 * whereas after a FIN it is half-open (CLOSE_WAIT) and still has one.
 */
function lostPeer(socket: net.Socket): boolean {
  const handle = (socket as unknown as { _handle?: { getpeername?(out: object): number } | null })._handle;
  return typeof handle?.getpeername === 'function' && handle.getpeername({}) !== 0;
}

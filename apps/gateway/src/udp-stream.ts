import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { type Bind, type Connect, datagramCost, type Multicast, type Open, type SocketOptionName } from '@socketgate/protocol';
import { errnoFailure, type SocketFailure, socketFailure } from './errno-table.js';
import type { ResolvedAddress } from './resolve.js';
import type { StreamHost, Violation } from './stream.js';
import { StreamLifecycle } from './stream-lifecycle.js';

/** Remembered peers per stream, for delivering replies only from hosts the socket has sent to. */
const MAX_PEERS = 4096;
/** Datagrams held for a client that has no credit, besides the byte bound. */
const MAX_QUEUED_DATAGRAMS = 1024;

const ShareAddress = 0x1;
const ReuseAddressHint = 0x4;

interface Outgoing {
  host: string;
  port: number;
  payload: Uint8Array;
}
interface Incoming {
  host: string;
  port: number;
  payload: Buffer;
}

/** Qt's view of an address: IPv4-mapped IPv6 is the IPv4 address it carries. */
const plain = (address: string): string => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

/**
 * One client UDP socket and its real `dgram` socket. Every destination of every datagram passes
 * the egress policy; datagrams for a client without credit wait in a bounded queue and are dropped
 * beyond it, as an OS drops them; replies come only from peers the socket has sent to, unless the
 * gateway accepts any. The states, the window and the ways a stream ends are the shared
 * lifecycle's (stream-lifecycle.ts); this class owns the socket: bind, connect, datagrams each
 * way, multicast and options. A UDP stream has no graceful close: `close` is `abort`.
 */
export class UdpStream extends StreamLifecycle {
  readonly transport = 'udp';
  #socket: dgram.Socket | undefined;
  #family: 4 | 6 = 6;
  #credit: number;
  readonly #queue: Incoming[] = [];
  #queueBytes = 0;
  readonly #peers = new Set<string>();
  readonly #sends: Outgoing[] = [];
  #sendsBytes = 0;
  #sending = false;
  /** The session's shared-port key this socket holds, when bound with ShareAddress. */
  #sharedKey: string | undefined;
  readonly #options = new Map<SocketOptionName, number>();
  /**
   * What the client asked while the socket was still binding (a connect, multicast, an option): a
   * client's socket is bound from its bind() on, as in Qt, so these are done once bound, in order.
   */
  readonly #whenBound: Array<() => void> = [];
  /** Datagrams dropped because the client's queue was full. */
  dropped = 0;
  /** Datagrams dropped because they came from a host the socket never sent to. */
  refused = 0;

  constructor(host: StreamHost, request: Bind | Open) {
    super(host, request.stream, 'binding');
    this.#credit = request.window;
    if (request.type === 'bind') {
      this.#bind(request.address, request.port, request.flags ?? 0, undefined);
    } else {
      const wanted = request.family === 'ipv4' || isIP(request.host) === 4 ? '0.0.0.0' : '';
      this.#bind(wanted, 0, 0, {
        type: 'connect',
        stream: request.stream,
        host: request.host,
        port: request.port,
        family: request.family ?? 'any',
      });
    }
  }

  get bufferedBytes(): number {
    return this.#queueBytes + this.#sendsBytes;
  }

  #bind(address: string, port: number, flags: number, then: Connect | undefined): void {
    // What bind(2) answers a process without the privilege, whatever the gateway's own.
    if (port !== 0 && port < 1024) {
      this.fail(errnoFailure('EACCES', 'bind'));
      return;
    }
    const literal = address === '' ? 6 : isIP(address);
    if (literal === 0) {
      this.fail(errnoFailure('EADDRNOTAVAIL', 'bind'));
      return;
    }
    this.#family = literal === 4 ? 4 : 6;
    const where = address === '' ? '::' : address;
    const share = (flags & (ShareAddress | ReuseAddressHint)) !== 0;
    if (!share) {
      this.#bindSocket(where, address === '', port, false, then);
      return;
    }
    // Qt's ShareAddress is honoured between the sockets of one session only: sharing a port with a
    // service of the gateway host (or another client) would let this socket take its datagrams.
    // The first sharer proves the port is free by binding it without sharing first; for port 0 that
    // bind is where the kernel picks the port (a port picked for a sharing socket could be one that
    // another process shares).
    const key = `${where}|${port}`;
    if (this.host.sharedPorts.has(key)) {
      this.#bindSocket(where, address === '', port, true, then);
      return;
    }
    const probe =
      this.#family === 4 ? dgram.createSocket({ type: 'udp4' }) : dgram.createSocket({ type: 'udp6', ipv6Only: address !== '' });
    probe.once('error', (error) => {
      probe.close();
      this.fail(socketFailure(error, 'bind'));
    });
    probe.bind({ address: where, port, exclusive: true }, () => {
      const picked = probe.address().port;
      probe.close(() => {
        if (this.state === 'binding') this.#bindSocket(where, address === '', picked, true, then);
      });
    });
  }

  #bindSocket(address: string, dualStack: boolean, port: number, reuseAddr: boolean, then: Connect | undefined): void {
    const socket =
      this.#family === 4
        ? dgram.createSocket({ type: 'udp4', reuseAddr })
        : dgram.createSocket({ type: 'udp6', reuseAddr, ipv6Only: !dualStack });
    this.#socket = socket;
    socket.once('error', (error) => this.fail(socketFailure(error, 'bind')));
    socket.bind({ address, port, exclusive: true }, () => {
      socket.removeAllListeners('error');
      socket.on('error', (error: NodeJS.ErrnoException) => this.#onSocketError(error));
      socket.on('message', (payload, from) => this.#onMessage(payload, from));
      this.move('bound');
      const local = socket.address();
      if (reuseAddr) {
        this.#sharedKey = `${address}|${local.port}`;
        this.host.sharedPorts.set(this.#sharedKey, (this.host.sharedPorts.get(this.#sharedKey) ?? 0) + 1);
      }
      this.host.send({
        type: 'bound',
        stream: this.id,
        localAddress: plain(local.address),
        localPort: local.port,
        window: this.host.config.uploadWindowBytes,
        maxDatagramBytes: this.host.config.maxDatagramBytes,
      });
      if (then) this.connect(then);
      for (const asked of this.#whenBound.splice(0)) asked();
      this.#pumpSends().catch((error: unknown) => this.host.fault(this, error));
    });
  }

  connect(message: Connect): Violation | undefined {
    if (this.state === 'binding') return this.#afterBind(() => this.connect(message));
    if (this.state !== 'bound')
      return { code: 'NOT_CONNECTED', message: `stream ${this.id}: connect needs a bound UDP stream, this one is ${this.state}` };
    this.move('resolving');
    this.reach(message.host, message.port, message.family ?? 'any', {
      usable: this.#usable,
      connect: ([target]) => this.#connectSocket(message.port, target as ResolvedAddress),
    }).catch((error: unknown) => this.host.fault(this, error));
    return undefined;
  }

  /**
   * connect(2) to the one address allowed. A connect to an address the host has no route to fails
   * in its callback (ENETUNREACH, EADDRNOTAVAIL, …): the stream fails the way Qt's would; nothing is
   * read from a socket that is not connected.
   */
  #connectSocket(port: number, target: ResolvedAddress): void {
    const socket = this.#socket as dgram.Socket;
    socket.connect(port, this.#native(target.address), (error?: Error) => {
      if (this.state !== 'connecting') return;
      let local: { address: string; port: number };
      let remote: { address: string; port: number };
      try {
        if (error) throw error;
        local = socket.address();
        remote = socket.remoteAddress();
      } catch (failure) {
        this.fail(socketFailure(failure));
        return;
      }
      this.connected(
        { localAddress: plain(local.address), localPort: local.port, peerAddress: plain(remote.address), peerPort: remote.port },
        Object.fromEntries(this.#options),
      );
      this.#pumpSends().catch((error: unknown) => this.host.fault(this, error));
    });
  }

  #afterBind(asked: () => void): undefined {
    this.#whenBound.push(asked);
    return undefined;
  }

  /** The families of address this socket can send to: a dual-stack or IPv6 socket takes both. */
  readonly #usable = (family: 4 | 6): boolean => this.#family === 6 || family === 4;

  /** The address as this socket's family needs it (IPv4 on a dual-stack socket is IPv4-mapped). */
  #native(address: string): string {
    return this.#family === 6 && isIP(address) === 4 ? `::ffff:${address}` : address;
  }

  datagram(host: string, port: number, payload: Uint8Array): Violation | undefined {
    if (this.state === 'closed') return { code: 'NOT_CONNECTED', message: `stream ${this.id}: datagram after close` };
    const cost = datagramCost(payload.byteLength);
    const beyond = this.beyondWindow(cost, 'datagram');
    if (beyond !== undefined) return beyond;
    // A client's socket connecting to an address is connected from its connectToHost() on, as in Qt:
    // what it writes to its peer before the socket is connected waits for the connection.
    if (host === '' && this.state === 'bound') {
      return { code: 'NOT_CONNECTED', message: `stream ${this.id}: a datagram without a destination needs a connected socket` };
    }
    this.hold(cost, payload.byteLength);
    this.#sends.push({ host, port, payload });
    this.#sendsBytes += payload.byteLength;
    this.#pumpSends().catch((error: unknown) => this.host.fault(this, error));
    return undefined;
  }

  /** Sends queued datagrams in order; a name to resolve holds the ones behind it. */
  async #pumpSends(): Promise<void> {
    if (this.#sending || this.state === 'binding') return; // sent once bound
    this.#sending = true;
    try {
      while (this.#sends.length > 0 && this.state !== 'closed') {
        if (this.#sends[0]?.host === '' && this.state !== 'connected') return; // sent once connected
        const item = this.#sends.shift() as Outgoing;
        this.#sendsBytes -= item.payload.byteLength;
        await this.#sendOne(item);
      }
    } finally {
      this.#sending = false;
    }
  }

  async #sendOne({ host, port, payload }: Outgoing): Promise<void> {
    const cost = datagramCost(payload.byteLength);
    // Sent or failed, a datagram is acknowledged: the client never has more than its window out.
    const done = (failure?: SocketFailure): void => {
      if (this.handedOn(cost, payload.byteLength, true) && failure) this.host.send({ type: 'datagram-error', stream: this.id, ...failure });
    };
    const limit = this.#family === 4 ? 65507 : 65527;
    if (payload.byteLength > Math.min(limit, this.host.config.maxDatagramBytes)) {
      done(errnoFailure('EMSGSIZE', 'send'));
      return;
    }
    const socket = this.#socket as dgram.Socket;
    if (host === '') {
      try {
        socket.send(payload, (error) => done(error ? socketFailure(error, 'send') : undefined));
      } catch (error) {
        done(socketFailure(error, 'send'));
      }
      return;
    }
    const found = await this.allowedAddresses(host, port, 'any', this.#usable);
    if (this.state === 'closed') return;
    if (!Array.isArray(found)) {
      done(found.failure);
      return;
    }
    const target = found[0] as ResolvedAddress;
    if (this.#peers.size >= MAX_PEERS) this.#peers.delete(this.#peers.values().next().value as string);
    this.#peers.add(`${target.address}|${port}`);
    try {
      socket.send(payload, port, this.#native(target.address), (error) => done(error ? socketFailure(error, 'send') : undefined));
    } catch (error) {
      done(socketFailure(error, 'send'));
    }
  }

  #onMessage(payload: Buffer, from: dgram.RemoteInfo): void {
    if (this.state === 'closed' || this.state === 'binding') return;
    const host = plain(from.address);
    if (this.state !== 'connected' && this.host.config.udpInbound === 'replies' && !this.#peers.has(`${host}|${from.port}`)) {
      this.refused++;
      this.host.countDatagram('refused');
      return;
    }
    const cost = datagramCost(payload.byteLength);
    if (this.#queue.length === 0 && this.#credit >= cost && this.host.flow.canSend()) {
      this.#credit -= cost;
      this.host.flow.sendDatagram(this.id, host, from.port, payload);
      return;
    }
    if (
      this.#queueBytes + payload.byteLength > this.host.config.udpQueueBytes ||
      this.#queue.length >= MAX_QUEUED_DATAGRAMS ||
      this.host.flow.downloadRoom() < payload.byteLength
    ) {
      this.dropped++;
      this.host.countDatagram('dropped');
      return;
    }
    this.#queue.push({ host, port: from.port, payload });
    this.#queueBytes += payload.byteLength;
    this.host.flow.queueDownload(payload.byteLength);
    if (!this.host.flow.canSend()) this.host.flow.block(this);
  }

  addCredit(bytes: number): void {
    if (this.state === 'closed') return;
    this.#credit += bytes;
    this.resume();
  }

  resume(): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Incoming;
      const cost = datagramCost(head.payload.byteLength);
      if (this.#credit < cost) return;
      if (!this.host.flow.canSend()) {
        this.host.flow.block(this);
        return;
      }
      this.#queue.shift();
      this.#queueBytes -= head.payload.byteLength;
      this.host.flow.queueDownload(-head.payload.byteLength);
      this.#credit -= cost;
      this.host.flow.sendDatagram(this.id, head.host, head.port, head.payload);
    }
  }

  #onSocketError(error: NodeJS.ErrnoException): void {
    if (this.state === 'closed') return;
    // The socket goes on: the error was for one datagram (an ICMP port-unreachable, say).
    this.host.send({ type: 'datagram-error', stream: this.id, ...socketFailure(error, 'receive') });
  }

  multicast(message: Multicast): Violation | undefined {
    if (this.state === 'binding') return this.#afterBind(() => this.multicast(message));
    const socket = this.#socket;
    if (socket === undefined || this.state === 'closed') {
      return { code: 'NOT_CONNECTED', message: `stream ${this.id}: multicast needs a bound socket` };
    }
    if (!this.host.allowMulticast) {
      this.host.send({
        type: 'datagram-error',
        stream: this.id,
        error: 'SocketAccessError',
        message: "Permission denied: the gateway's policy does not allow multicast",
      });
      return undefined;
    }
    try {
      if (message.action === 'join') socket.addMembership(message.group);
      else socket.dropMembership(message.group);
    } catch (error) {
      this.host.send({ type: 'datagram-error', stream: this.id, ...socketFailure(error, 'multicast') });
    }
    return undefined;
  }

  setOption(option: SocketOptionName, value: number): void {
    if (this.state === 'binding') {
      this.#afterBind(() => this.setOption(option, value));
      return;
    }
    const socket = this.#socket;
    let effective: number | null = null;
    if (socket !== undefined && this.state !== 'closed') {
      try {
        switch (option) {
          case 'MulticastTtlOption':
            effective = Math.min(255, Math.max(0, value));
            socket.setMulticastTTL(effective);
            break;
          case 'MulticastLoopbackOption':
            effective = value ? 1 : 0;
            socket.setMulticastLoopback(effective === 1);
            break;
          case 'SendBufferSizeSocketOption':
            socket.setSendBufferSize(Math.max(1, value));
            effective = socket.getSendBufferSize();
            break;
          case 'ReceiveBufferSizeSocketOption':
            socket.setRecvBufferSize(Math.max(1, value));
            effective = socket.getRecvBufferSize();
            break;
          default:
            effective = null;
        }
      } catch {
        effective = null;
      }
      if (effective === null) this.#options.delete(option);
      else this.#options.set(option, effective);
    }
    this.host.send({ type: 'option', stream: this.id, option, value: effective });
  }

  close(): void {
    this.abort();
  }

  /** Lets go of the socket, its place among the session's shared ports and the datagrams queued either way (UDP has no reset). */
  protected releaseSocket(): void {
    if (this.#sharedKey !== undefined) {
      const left = (this.host.sharedPorts.get(this.#sharedKey) ?? 1) - 1;
      if (left > 0) this.host.sharedPorts.set(this.#sharedKey, left);
      else this.host.sharedPorts.delete(this.#sharedKey);
      this.#sharedKey = undefined;
    }
    this.host.flow.queueDownload(-this.#queueBytes);
    this.#queue.length = 0;
    this.#queueBytes = 0;
    this.#sends.length = 0;
    this.#sendsBytes = 0;
    const socket = this.#socket;
    if (socket) {
      socket.removeAllListeners();
      socket.on('error', () => {});
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
  }
}

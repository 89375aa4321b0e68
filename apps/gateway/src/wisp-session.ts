import { type Allocate, CloseCode, hostProblem, type ServerMessage } from '@socketgate/protocol';
import type { WebSocket } from 'ws';
import { RelaySession, type RelayStream } from './relay-session.js';
import type { GatewayRuntime } from './runtime.js';
import { WispCloseReason, wispCloseReason } from './wisp-close-reason.js';
import {
  encodeClose,
  encodeContinue,
  encodeInfo,
  encodeWispData,
  parseClose,
  parseConnect,
  parseInfo,
  parsePassword,
  parseWispPacket,
  type WispConnect,
  WispExtension,
  WispPacketType,
} from './wisp-packets.js';

/** The subprotocol a Wisp v2 client asks for; a client that asks for none speaks v1. */
export const WISP_V2_SUBPROTOCOL = 'wisp-v2';

/** Per TCP stream: how its DATA packets are written, for the CONTINUE credit. */
interface PacketCredit {
  /** Byte lengths of the packets received and not yet wholly written, oldest first. */
  pending: number[];
  /** Bytes written of the oldest pending packet. */
  written: number;
  /** Packets wholly written since the last CONTINUE. */
  done: number;
}

const encoder = new TextEncoder();

/** Client CLOSE reasons that end a stream gracefully: unknown (wisp-js's default) and voluntary. */
const GRACEFUL_CLOSE: ReadonlySet<number> = new Set([WispCloseReason.UNKNOWN, WispCloseReason.VOLUNTARY]);

/**
 * One Wisp connection (v1, or v2 when the client asks for the `wisp-v2` subprotocol): TCP and UDP
 * streams multiplexed on one WebSocket, each a gateway stream of its own (relay-session.ts).
 *
 *   v2 client                           gateway
 *     | <--- INFO 2.0 {UDP, password, MOTD, confirmation} |
 *     | ---- INFO {password: user, token} -->  |   within helloTimeoutMs, else close 4408
 *     |                                        |   credential refused: CLOSE 0 0xc0, close 4401
 *     | <--- CONTINUE 0 {bufferPackets} ------ |   the session is open
 *   v1 client: the credential is the URL's `token` query parameter; CONTINUE 0 once it is accepted.
 *
 * A stream's DATA packets count against its CONTINUE credit (`wisp.bufferPackets`), which is given
 * back as packets are written to the target; what waits for the target counts against the
 * session's upload budget too, so a client that ignores the credit is pushed back by TCP. Errors
 * close a stream with the CLOSE reason that matches the native protocol's error
 * (wisp-close-reason.ts).
 */
export class WispSession extends RelaySession {
  readonly #v2: boolean;
  readonly #queryToken: string | undefined;
  #udp = false;
  #confirmOpen = false;
  /** The CLOSE reason stream 0 gets when the credential is refused. */
  #authCloseReason: number = WispCloseReason.AUTH_BAD_PASSWORD;
  readonly #credit = new Map<number, PacketCredit>();

  constructor(ws: WebSocket, runtime: GatewayRuntime, address: string, { v2, token }: { v2: boolean; token: string | undefined }) {
    super(ws, runtime, address, 'wisp');
    this.#v2 = v2;
    this.#queryToken = token;
    const { wisp } = runtime.config;
    if (v2) {
      const extensions: Array<[number, Uint8Array]> = [];
      if (wisp.udp) extensions.push([WispExtension.UDP, new Uint8Array(0)]);
      // Required (1): a password is asked for unless the URL carried the credential.
      if (token === undefined) extensions.push([WispExtension.PASSWORD, Uint8Array.of(1)]);
      if (wisp.motd !== undefined) extensions.push([WispExtension.MOTD, encoder.encode(wisp.motd)]);
      extensions.push([WispExtension.STREAM_CONFIRMATION, new Uint8Array(0)]);
      ws.send(encodeInfo(2, 0, extensions));
      return;
    }
    this.#udp = wisp.udp;
    if (token === undefined) {
      this.close(CloseCode.UNAUTHORIZED, 'Wisp v1 has no credential of its own: add ?token=… to the URL, or speak Wisp v2 with a password');
      return;
    }
    this.presentCredential(token);
  }

  /** v2: the client's INFO, which names its extensions and carries its password. */
  protected greet(data: Buffer, isBinary: boolean): void {
    const parsed = isBinary ? parseWispPacket(data) : undefined;
    if (parsed?.ok !== true || parsed.value.type !== WispPacketType.INFO) {
      this.close(CloseCode.PROTOCOL_ERROR, 'the first Wisp v2 packet must be the INFO packet');
      return;
    }
    const info = parseInfo(parsed.value.payload);
    if (!info.ok) {
      this.#closeStreamZero(WispCloseReason.INVALID_INFO);
      this.close(CloseCode.PROTOCOL_ERROR, `bad INFO: ${info.message}`);
      return;
    }
    const { extensions } = info.value;
    this.#udp = this.config.wisp.udp && extensions.has(WispExtension.UDP);
    this.#confirmOpen = extensions.has(WispExtension.STREAM_CONFIRMATION);
    if (this.#queryToken !== undefined) {
      this.presentCredential(this.#queryToken);
      return;
    }
    const metadata = extensions.get(WispExtension.PASSWORD);
    if (metadata === undefined) {
      this.#closeStreamZero(WispCloseReason.AUTH_MISSING_CREDENTIALS);
      this.close(CloseCode.UNAUTHORIZED, 'no credential: send it as the password of the password extension');
      return;
    }
    const credentials = parsePassword(metadata);
    if (!credentials.ok) {
      this.#closeStreamZero(WispCloseReason.AUTH_MISSING_CREDENTIALS);
      this.close(CloseCode.UNAUTHORIZED, `bad password extension: ${credentials.message}`);
      return;
    }
    // The username is the client's to choose and names nobody: the password is the credential.
    this.presentCredential(credentials.value.password);
  }

  protected welcomed(): void {
    this.ws.send(encodeContinue(0, this.config.wisp.bufferPackets));
  }

  protected override beforeClose(code: number): void {
    if (this.#v2 && !this.handshake.authenticated && code === CloseCode.UNAUTHORIZED && this.#authCloseReason >= 0) {
      this.#closeStreamZero(this.#authCloseReason);
    }
  }

  /** Says once why the connection ends (stream 0), before the WebSocket closes. */
  #closeStreamZero(reason: number): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeClose(0, reason));
    // A reason already given is not given twice.
    this.#authCloseReason = -1;
  }

  protected receive(data: Buffer, isBinary: boolean): void {
    const parsed = isBinary ? parseWispPacket(data) : undefined;
    if (parsed?.ok !== true) {
      // Wisp has no word for a bad packet: it is dropped, and counted against the session's error rate.
      if (this.limits.takeProtocolError())
        this.log.debug(isBinary ? 'a Wisp packet of under 5 bytes was dropped' : 'a text frame was dropped');
      return;
    }
    const { type, stream: id, payload } = parsed.value;
    switch (type) {
      case WispPacketType.CONNECT:
        this.#connect(id, payload);
        return;
      case WispPacketType.DATA: {
        const stream = this.stream(id);
        if (stream?.transport === 'tcp' && !this.closedByClient(id)) {
          const credit = this.#credit.get(id);
          if (credit !== undefined) {
            if (payload.byteLength > 0) credit.pending.push(payload.byteLength);
            else credit.done++;
          }
        }
        this.upload(id, payload);
        return;
      }
      case WispPacketType.CLOSE: {
        // What the client sent before its CLOSE is written, then a FIN, unless the reason is an
        // error: the spec's "close at once" must not cut off bytes already on their way.
        const reason = parseClose(payload);
        this.closeStream(id, reason.ok && GRACEFUL_CLOSE.has(reason.value));
        return;
      }
      default:
        // CONTINUE and INFO travel to the client; packets of extensions the gateway does not know are dropped.
        return;
    }
  }

  #connect(id: number, payload: Buffer): void {
    const connect = this.#checkConnect(id, payload);
    if (typeof connect === 'string') {
      if (this.limits.takeProtocolError()) {
        this.log.debug({ stream: id }, `Wisp CONNECT refused: ${connect}`);
        this.ws.send(encodeClose(id, WispCloseReason.INVALID_INFO));
      }
      return;
    }
    const { transport, host, port } = connect;
    if (transport === 'tcp') this.#credit.set(id, { pending: [], written: 0, done: 0 });
    // A refusal (limits, the credential's transports) was delivered as the stream's CLOSE.
    if (this.openStream(id, transport, host, port) !== undefined) this.#credit.delete(id);
  }

  /** The CONNECT's destination, or what is wrong with it (answered with 0x41, invalid information). */
  #checkConnect(id: number, payload: Buffer): WispConnect | string {
    if (id === 0) return 'stream 0 is the connection itself';
    const live = this.stream(id);
    if (live !== undefined) {
      // Two streams cannot share an id: the one open ends, and the client hears it once.
      live.dispose();
      return `stream ${id} is already open`;
    }
    const connect = parseConnect(payload);
    if (!connect.ok) return connect.message;
    const { transport, host, port } = connect.value;
    if (transport === 'udp' && !this.#udp) return 'UDP streams are not offered on this connection';
    const problem = hostProblem(host);
    if (problem !== undefined) return `hostname: ${problem}`;
    if (port === 0) return 'port 0';
    return connect.value;
  }

  protected dataFrame(stream: number, payload: Uint8Array, allocate?: Allocate): Uint8Array {
    return encodeWispData(stream, payload, allocate);
  }

  /** Packets wholly written give their credit back: a CONTINUE once a quarter of it is back, or all is written. */
  protected override written(stream: RelayStream, bytes: number): Uint8Array | undefined {
    const credit = this.#credit.get(stream.id);
    if (credit === undefined) return undefined;
    credit.written += bytes;
    while (credit.pending.length > 0 && (credit.pending[0] as number) <= credit.written) {
      credit.written -= credit.pending.shift() as number;
      credit.done++;
    }
    const buffer = this.config.wisp.bufferPackets;
    if (credit.done === 0 || (credit.done < Math.ceil(buffer / 4) && credit.pending.length > 0)) return undefined;
    credit.done = 0;
    return encodeContinue(stream.id, Math.max(0, buffer - credit.pending.length));
  }

  protected override forgotten(id: number): void {
    this.#credit.delete(id);
  }

  protected deliver(message: ServerMessage, stream: RelayStream | undefined): void {
    if (!('stream' in message) || message.stream === undefined) return;
    const id = message.stream;
    if (this.closedByClient(id)) return;
    switch (message.type) {
      case 'connected': {
        // The stream-open confirmation: a TCP stream's CONTINUE once its target is connected.
        const credit = this.#credit.get(id);
        if (this.#confirmOpen && credit !== undefined) {
          this.ws.send(encodeContinue(id, Math.max(0, this.config.wisp.bufferPackets - credit.pending.length)));
        }
        return;
      }
      case 'end':
        this.ws.send(encodeClose(id, message.reset ? WispCloseReason.NETWORK_ERROR : WispCloseReason.VOLUNTARY));
        return;
      case 'error':
        this.ws.send(encodeClose(id, wispCloseReason(message.error, message.message, stream?.state === 'connected')));
        return;
      case 'closed':
        this.ws.send(encodeClose(id, WispCloseReason.VOLUNTARY));
        return;
      case 'protocol-error':
        this.ws.send(encodeClose(id, WispCloseReason.UNKNOWN));
        return;
      default:
        // resolved, bound, option, datagram-error, …: Wisp has no word for them.
        return;
    }
  }
}

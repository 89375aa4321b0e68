import { type Allocate, CloseCode, type ServerMessage } from '@socketgate/protocol';
import type { WebSocket } from 'ws';
import { RelaySession, type RelayStream } from './relay-session.js';
import type { GatewayRuntime } from './runtime.js';
import { parseTarget } from './websockify-targets.js';

/** The subprotocol websockify's binary clients (noVNC) ask for; a client may also ask for none. */
export const WEBSOCKIFY_SUBPROTOCOL = 'binary';

/** WebSocket close code when the target could not be reached or failed (RFC 6455's "unexpected condition"). */
export const TARGET_FAILED = 1011;

/** The one stream of a websockify connection. */
const STREAM = 1;

/**
 * One websockify connection: one WebSocket, one TCP connection, raw bytes in binary frames. The
 * destination is the credential's target (a ticket's `target` claim, or the token's line in
 * `websockify.targetsFile`), never the caller's choice; a URL that names a
 * host or port too must name the same. The egress policy, limits, audit and budgets are a native
 * stream's (relay-session.ts).
 *
 *   client                                 gateway                         target
 *     | -- upgrade /websockify?token=T ----> |  T: single-use ticket, {target: "host:port"}
 *     |                                      | -- resolve, policy, connect --> |
 *     | <====== binary frames <-> bytes ===> | <=============================> |
 *     | -- close ----------------------------> | -- what was sent, then FIN ---> |
 *     | <-- close 1000 ---------------------- | <-- FIN ----------------------- |
 *
 * Refusals close the WebSocket: 4401 (no or bad ticket), 4403 (no target, another target, or the
 * policy refuses it), 1011 (the target cannot be reached; the reason says Qt's error).
 */
export class WebsockifySession extends RelaySession {
  readonly #asked: { host: string | undefined; port: string | undefined };

  constructor(
    ws: WebSocket,
    runtime: GatewayRuntime,
    address: string,
    { token, host, port }: { token: string | undefined; host: string | undefined; port: string | undefined },
  ) {
    super(ws, runtime, address, 'websockify');
    this.#asked = { host, port };
    if (token === undefined) {
      this.close(CloseCode.UNAUTHORIZED, 'websockify needs a ticket naming its target: add ?token=… to the URL');
      return;
    }
    this.presentCredential(token);
  }

  /** Never called: the credential is presented at once. */
  protected greet(): void {}

  protected welcomed(): void {
    const claim = this.principal?.target;
    const target = claim === undefined ? undefined : parseTarget(claim);
    if (target === undefined) {
      const why = claim === undefined ? 'names no target (a target claim, host:port)' : `names a target that is not host:port (${claim})`;
      this.close(CloseCode.FORBIDDEN, `the credential ${why}`);
      return;
    }
    const { host, port } = this.#asked;
    if ((host !== undefined && host.toLowerCase() !== target.host.toLowerCase()) || (port !== undefined && Number(port) !== target.port)) {
      this.close(CloseCode.FORBIDDEN, 'the ticket names another target than the URL');
      return;
    }
    this.openStream(STREAM, 'tcp', target.host, target.port);
  }

  protected receive(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      this.close(CloseCode.PROTOCOL_ERROR, 'websockify carries binary frames only (the base64 subprotocol is not offered)');
      return;
    }
    this.upload(STREAM, data);
  }

  /** A frame is the bytes themselves, copied out of the shared read buffer. */
  protected dataFrame(_stream: number, payload: Uint8Array, allocate?: Allocate): Uint8Array {
    const frame = allocate === undefined ? new Uint8Array(payload.byteLength) : allocate(payload.byteLength);
    frame.set(payload);
    return frame;
  }

  /** A normal close lets the target have every byte the client sent, then a FIN. */
  protected override lingersOnClose(code: number): boolean {
    return code === 1000 || code === 1001 || code === 1005;
  }

  /** The connection's end is the WebSocket's, once the stream has let go of its socket in its own way. */
  protected deliver(message: ServerMessage, _stream: RelayStream | undefined): void {
    const closeSoon = (code: number, reason: string): void => {
      setImmediate(() => this.close(code, reason));
    };
    switch (message.type) {
      case 'end':
        closeSoon(1000, message.reset ? 'the target reset the connection' : 'the target closed the connection');
        return;
      case 'closed':
        closeSoon(1000, 'closed');
        return;
      case 'error':
        closeSoon(message.error === 'SocketAccessError' ? CloseCode.FORBIDDEN : TARGET_FAILED, `${message.error}: ${message.message}`);
        return;
      default:
        return;
    }
  }
}

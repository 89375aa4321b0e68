import {
  type Bind,
  CloseCode,
  encodeCredit,
  encodeDatagram,
  type Open,
  PROTOCOL_VERSION,
  readFrame,
  readServerMessage,
  type ServerMessage,
  type SocketErrorName,
  SUBPROTOCOL,
  serializeMessage,
} from '@socketgate/protocol';
import { toBytes } from './outgoing.js';

/**
 * The part of the WebSocket API the SDK uses: the browser's, or the `ws` package's in Node, both
 * accepted as they are (no cast). The SDK only sets the event handlers, never calls them, so their
 * parameters are `never` here: any WebSocket's own handler types fit, and the SDK's handlers say
 * what they read (`MessageEventLike`, `CloseEventLike`).
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}
/**
 * Every frame the SDK sends is built on an ArrayBuffer of its own (never a SharedArrayBuffer), which
 * is what the DOM's `send` takes; the codec's types do not say so.
 */
const onArrayBuffer = (data: string | Uint8Array): string | Uint8Array<ArrayBuffer> => data as string | Uint8Array<ArrayBuffer>;

/** What the SDK reads of a message event. */
export interface MessageEventLike {
  readonly data: unknown;
}
/** What the SDK reads of a close event. */
export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Download credit a socket with no readBufferSize keeps in flight, unless the Gateway is told otherwise. */
export const DEFAULT_RECEIVE_WINDOW = 4 * 1024 * 1024;

/** Gives the credential for a new WebSocket: called on every connect and reconnect. */
export type TokenProvider = () => string | Promise<string>;

export interface GatewayOptions {
  /**
   * The credential sent in `hello`: a string, or a function called before every connect and
   * reconnect (for single-use tickets: fetch a fresh one from the app's backend each time).
   */
  token: string | TokenProvider;
  /** A WebSocket constructor; defaults to `globalThis.WebSocket` (pass the `ws` package's in Node). */
  WebSocket?: WebSocketConstructor;
  /**
   * Bytes the gateway may send ahead on a socket whose `readBufferSize()` is 0 (unlimited).
   * Qt reads without limit; the SDK keeps this much in flight at most (default 4 MiB: on loopback a
   * 1 MiB window already stalls the download while a credit makes its round trip).
   */
  receiveWindowBytes?: number;
  /** Largest DATA frame the SDK sends (default 256 KiB; the gateway accepts messages up to its maxMessageBytes, 1 MiB by default). */
  maxFrameBytes?: number;
  /** First delay before opening a new WebSocket after one was lost (default 250 ms; doubles per failure). */
  reconnectDelayMs?: number;
  /** Longest delay between attempts (default 10 s). */
  maxReconnectDelayMs?: number;
}

/** How a socket hears about its stream. */
export interface StreamEndpoint {
  onMessage(message: ServerMessage): void;
  onData(payload: Uint8Array): void;
  onAck(bytes: number): void;
  onDatagram(host: string, port: number, payload: Uint8Array): void;
  /** The WebSocket went away; the stream is gone. */
  onTransportLost(error: SocketErrorName, message: string): void;
}

/** idle: no WebSocket; waiting: one will open after the backoff; connecting: opened, no welcome yet. */
type Phase = 'idle' | 'waiting' | 'connecting' | 'open';

let defaultGateway: Gateway | null = null;

const CONNECTING = 0;
const OPEN = 1;

/**
 * Qt's words for a proxy that failed (QSocks5SocketEngine's texts), which is what the gateway is to a
 * socket: each loss of the gateway session is one of these, with what happened in parentheses.
 */
const PROXY_TEXT = {
  ProxyConnectionRefusedError: 'Connection to proxy refused',
  ProxyConnectionClosedError: 'Connection to proxy closed prematurely',
  ProxyConnectionTimeoutError: 'Connection to proxy timed out',
  ProxyAuthenticationRequiredError: 'Proxy authentication failed',
  ProxyProtocolError: 'Proxy protocol error',
} as const satisfies Partial<Record<SocketErrorName, string>>;
type ProxyError = keyof typeof PROXY_TEXT;

const proxyFailure = (error: ProxyError, why: string): [SocketErrorName, string] => [error, `${PROXY_TEXT[error]} (${why})`];

/**
 * The Qt error for a gateway session that ended with `code`. The gateway is the socket's proxy in
 * Qt's terms: a session that never said welcome is a refused connection to the proxy, one lost
 * later closed prematurely; a refused or expired credential is a failed proxy authentication; a
 * credential that forbids the session is SocketAccessError, as a SOCKS ruleset's refusal is in Qt.
 */
function closeError(code: number, reason: string, url: string, welcomed: boolean): [SocketErrorName, string] {
  const closed = `gateway closed the session with ${code}${reason ? `: ${reason}` : ''}`;
  if (code === CloseCode.UNAUTHORIZED || code === CloseCode.CREDENTIAL_EXPIRED)
    return proxyFailure('ProxyAuthenticationRequiredError', closed);
  if (code === CloseCode.FORBIDDEN) return ['SocketAccessError', `Permission denied (${closed})`];
  if (code === CloseCode.PROTOCOL_ERROR || code === CloseCode.VERSION_MISMATCH) return proxyFailure('ProxyProtocolError', closed);
  if (code === CloseCode.HELLO_TIMEOUT) return proxyFailure('ProxyConnectionTimeoutError', closed);
  if (welcomed) return proxyFailure('ProxyConnectionClosedError', closed);
  if (code === 1006) {
    // The WebSocket never opened (or closed before the gateway said welcome): a browser tells a
    // page no more than that, so say what it can be.
    return proxyFailure(
      'ProxyConnectionRefusedError',
      `no session with the gateway at ${url}: check the URL and its path, that the gateway runs, and that it accepts this page's Origin`,
    );
  }
  return proxyFailure('ProxyConnectionRefusedError', closed);
}

/**
 * A session with a socketgate gateway: one WebSocket that carries every socket created with it.
 * The WebSocket opens when the first socket needs it and again after it was lost.
 */
export class Gateway {
  readonly url: string;
  readonly #token: string | TokenProvider;
  /** Counts WebSocket attempts, so that a token arriving for an attempt given up is not used. */
  #attempt = 0;
  readonly #WebSocket: WebSocketConstructor;
  readonly receiveWindowBytes: number;
  readonly #maxFrameBytes: number;
  /** What the gateway said it accepts (welcome.maxMessageBytes), once it said so. */
  #gatewayMaxMessage = Infinity;
  #ws: WebSocketLike | undefined;
  #phase: Phase = 'idle';
  /** Sessions lost in a row without a welcome: the exponent of the backoff. */
  #failures = 0;
  #retryAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #reconnectDelayMs: number;
  readonly #maxReconnectDelayMs: number;
  #queue: Array<string | Uint8Array> = [];
  readonly #streams = new Map<number, StreamEndpoint>();
  #nextStreamId = 1;
  #sessionId: string | undefined;
  #draining = false;

  constructor(url: string, options: GatewayOptions) {
    if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) {
      throw new TypeError(`Gateway needs a ws:// or wss:// URL, got ${String(url)}`);
    }
    const token = options?.token;
    if (!(typeof token === 'function' || (typeof token === 'string' && token.length > 0))) {
      throw new TypeError('Gateway needs { token }: the credential the gateway accepts, or a function that returns (or resolves to) it');
    }
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Ctor === undefined) {
      throw new TypeError("No WebSocket here: pass { WebSocket } (in Node, the ws package's WebSocket)");
    }
    this.url = url;
    this.#token = options.token;
    this.#WebSocket = Ctor;
    this.receiveWindowBytes = options.receiveWindowBytes ?? DEFAULT_RECEIVE_WINDOW;
    this.#maxFrameBytes = options.maxFrameBytes ?? 256 * 1024;
    this.#reconnectDelayMs = options.reconnectDelayMs ?? 250;
    this.#maxReconnectDelayMs = options.maxReconnectDelayMs ?? 10_000;
  }

  /** Largest DATA frame payload to send: the option, within what the gateway accepts. */
  get maxFrameBytes(): number {
    return Math.max(1024, Math.min(this.#maxFrameBytes, this.#gatewayMaxMessage - 64));
  }

  /** Sockets created without `{ gateway }` use this one. */
  static setDefault(gateway: Gateway | null): void {
    defaultGateway = gateway;
  }

  static default(): Gateway | null {
    return defaultGateway;
  }

  /** The session id the gateway gave this session, once it said welcome. */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  /** True once the gateway said it is shutting down (goaway), until the session ends. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Number of streams open on this session. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Registers a stream and asks the gateway to open it; returns the stream id. */
  openStream(endpoint: StreamEndpoint, request: Omit<Open, 'type' | 'stream'>): number {
    const stream = this.#register(endpoint);
    this.sendMessage({ type: 'open', stream, ...request });
    return stream;
  }

  /** Registers a UDP stream and asks the gateway to bind it; returns the stream id. */
  bindStream(endpoint: StreamEndpoint, request: Omit<Bind, 'type' | 'stream' | 'transport'>): number {
    const stream = this.#register(endpoint);
    this.sendMessage({ type: 'bind', stream, transport: 'udp', ...request });
    return stream;
  }

  #register(endpoint: StreamEndpoint): number {
    const stream = this.#nextStreamId;
    this.#nextStreamId = stream >= 0xffff_ffff ? 1 : stream + 1;
    this.#streams.set(stream, endpoint);
    this.#ensureOpen();
    return stream;
  }

  /** Forgets a stream; later messages for it are dropped. */
  releaseStream(stream: number): void {
    this.#streams.delete(stream);
  }

  sendMessage(message: Parameters<typeof serializeMessage>[0]): void {
    this.#send(serializeMessage(message));
  }

  /** Sends a frame already encoded (a DATA frame built in place by the socket's output queue). */
  sendFrame(frame: Uint8Array): void {
    this.#send(frame);
  }

  sendDatagram(stream: number, host: string, port: number, payload: Uint8Array): void {
    this.#send(encodeDatagram(stream, host, port, payload));
  }

  sendCredit(stream: number, bytes: number): void {
    this.#send(encodeCredit(stream, bytes));
  }

  /** Closes the session; every socket on it ends with ProxyConnectionClosedError. */
  close(): void {
    const ws = this.#ws;
    if (ws && (ws.readyState === CONNECTING || ws.readyState === OPEN)) ws.close(CloseCode.NORMAL, 'client closed the session');
    this.#lost(...proxyFailure('ProxyConnectionClosedError', 'the app closed the gateway session'));
    // A deliberate close is no failure: the next socket opens a WebSocket at once.
    this.#retryAt = 0;
    this.#failures = 0;
  }

  #send(data: string | Uint8Array): void {
    if (this.#phase === 'open' && this.#ws?.readyState === OPEN) this.#ws.send(onArrayBuffer(data));
    else this.#queue.push(data);
  }

  /**
   * Opens the WebSocket if none is open or coming. After a loss it waits out a backoff (doubling per
   * session lost without a welcome, up to the maximum) so a gateway that is down is not hammered;
   * sockets opened meanwhile wait in the queue.
   */
  #ensureOpen(): void {
    if (this.#phase !== 'idle') return;
    const wait = this.#retryAt - Date.now();
    if (wait > 0) {
      this.#phase = 'waiting';
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#phase = 'idle';
        this.#ensureOpen();
      }, wait);
      return;
    }
    this.#phase = 'connecting';
    const attempt = ++this.#attempt;
    const given = this.#token;
    if (typeof given === 'string') {
      this.#connect(given);
      return;
    }
    // A fresh credential for this attempt; the session waits for it (sockets queue meanwhile).
    let pending: Promise<string>;
    try {
      pending = Promise.resolve(given());
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (token) => {
        if (attempt !== this.#attempt || this.#phase !== 'connecting') return;
        if (typeof token !== 'string' || token.length === 0) {
          this.#lost(...proxyFailure('ProxyAuthenticationRequiredError', 'the token function gave no token'));
          return;
        }
        this.#connect(token);
      },
      (error: unknown) => {
        if (attempt !== this.#attempt || this.#phase !== 'connecting') return;
        this.#lost(
          ...proxyFailure('ProxyAuthenticationRequiredError', `the token function failed: ${(error as Error)?.message ?? String(error)}`),
        );
      },
    );
  }

  /** Opens the WebSocket of the current attempt and says hello with `token`. */
  #connect(token: string): void {
    let ws: WebSocketLike;
    try {
      ws = new this.#WebSocket(this.url, SUBPROTOCOL);
    } catch (error) {
      this.#phase = 'idle';
      queueMicrotask(() =>
        this.#lost(...proxyFailure('ProxyConnectionRefusedError', `no WebSocket to ${this.url}: ${(error as Error).message}`)),
      );
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => ws.send(serializeMessage({ type: 'hello', version: PROTOCOL_VERSION, token }));
    ws.onmessage = (event: MessageEventLike) => {
      if (ws === this.#ws) this.#onMessage(event.data);
    };
    ws.onclose = (event: CloseEventLike) => {
      if (ws !== this.#ws) return;
      const [error, message] = closeError(event.code, event.reason, this.url, this.#phase === 'open');
      this.#lost(error, message);
    };
    ws.onerror = () => {};
  }

  #onMessage(data: unknown): void {
    if (typeof data === 'string') {
      const parsed = readServerMessage(data);
      if (!parsed.ok) return; // a newer gateway's message this SDK does not know
      const message = parsed.value;
      if (message.type === 'welcome') {
        this.#sessionId = message.session;
        this.#gatewayMaxMessage = message.maxMessageBytes;
        this.#phase = 'open';
        this.#failures = 0;
        const queued = this.#queue;
        this.#queue = [];
        for (const item of queued) this.#ws?.send(onArrayBuffer(item));
        return;
      }
      if (message.type === 'goaway') {
        // The gateway is shutting down: open streams may finish; it refuses new ones.
        this.#draining = true;
        return;
      }
      if (message.type === 'protocol-error' && message.stream === undefined) return;
      this.#streams.get(message.stream as number)?.onMessage(message);
      return;
    }
    // Not a string here: an ArrayBuffer (binaryType) or a view (Node's ws gives Buffers), as bytes.
    const bytes = toBytes(data);
    if (bytes === undefined) return;
    const frame = readFrame(bytes);
    if (frame === undefined) return;
    const endpoint = this.#streams.get(frame.stream);
    if (frame.kind === 'data') endpoint?.onData(frame.payload);
    else if (frame.kind === 'ack') endpoint?.onAck(frame.bytes);
    else if (frame.kind === 'datagram') endpoint?.onDatagram(frame.host, frame.port, frame.payload);
  }

  #lost(error: SocketErrorName, message: string): void {
    if (this.#phase === 'connecting' || this.#phase === 'open') {
      const delay = Math.min(this.#maxReconnectDelayMs, this.#reconnectDelayMs * 2 ** this.#failures);
      this.#failures += 1;
      this.#retryAt = Date.now() + delay;
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const ws = this.#ws;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
    }
    this.#ws = undefined;
    this.#phase = 'idle';
    this.#queue = [];
    this.#sessionId = undefined;
    this.#draining = false;
    const endpoints = [...this.#streams.values()];
    this.#streams.clear();
    for (const endpoint of endpoints) endpoint.onTransportLost(error, message);
  }
}

import { decodeFrame, type Frame, PROTOCOL_VERSION, parseServerMessage, type ServerMessage, SUBPROTOCOL } from '@socketgate/protocol';
import { WebSocket } from 'ws';

export type Received = { kind: 'message'; message: ServerMessage } | { kind: 'frame'; frame: Frame };

/** A protocol-level client for gateway tests: speaks the wire format directly, no SDK. */
export interface RawSession {
  ws: WebSocket;
  /** Everything received so far, in order. */
  received: Received[];
  send(message: object): void;
  sendBinary(bytes: Uint8Array): void;
  /** The next received control message matching `test` (searching what already arrived first). */
  message<T extends ServerMessage['type']>(
    type: T,
    test?: (message: Extract<ServerMessage, { type: T }>) => boolean,
  ): Promise<Extract<ServerMessage, { type: T }>>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens a WebSocket to `url`, and (unless `hello` is false) says hello with `token` and waits for welcome. */
export async function rawSession(
  url: string,
  token: string,
  options: { hello?: boolean; protocol?: string | null } = {},
): Promise<RawSession> {
  const protocol = options.protocol === undefined ? SUBPROTOCOL : options.protocol;
  const ws = protocol === null ? new WebSocket(url) : new WebSocket(url, protocol);
  const received: Received[] = [];
  const wakers = new Set<() => void>();
  const taken = new Set<number>();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      const decoded = decodeFrame(new Uint8Array(data));
      if (decoded.ok) received.push({ kind: 'frame', frame: decoded.value });
    } else {
      const parsed = parseServerMessage(data.toString());
      if (parsed.ok) received.push({ kind: 'message', message: parsed.value });
    }
    for (const wake of wakers) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const session: RawSession = {
    ws,
    received,
    send: (message) => ws.send(JSON.stringify(message)),
    sendBinary: (bytes) => ws.send(bytes),
    message: (type, test = () => true) =>
      new Promise((resolve, reject) => {
        const look = (): boolean => {
          for (let i = 0; i < received.length; i++) {
            const item = received[i];
            if (!taken.has(i) && item?.kind === 'message' && item.message.type === type && test(item.message as never)) {
              taken.add(i);
              resolve(item.message as never);
              return true;
            }
          }
          return false;
        };
        if (look()) return;
        const timer = setTimeout(() => {
          wakers.delete(wake);
          reject(new Error(`no ${type} message within 10 s; received ${JSON.stringify(received.filter((_, i) => !taken.has(i)))}`));
        }, 10_000);
        const wake = (): void => {
          if (look()) {
            clearTimeout(timer);
            wakers.delete(wake);
          }
        };
        wakers.add(wake);
      }),
    closed,
    close: () => ws.close(),
  };
  if (options.hello !== false) {
    session.send({ type: 'hello', version: PROTOCOL_VERSION, token });
    await session.message('welcome');
  }
  return session;
}

/**
 * Says hello with `token` and sends, right behind it in one go, an open to 127.0.0.1:`port`, its
 * abort and an open of a name that does not exist; resolves with the types (and stream ids) of the
 * control messages the gateway answered, in order, once the last open was answered.
 */
export async function messagesBehindHello(url: string, token: string, port: number): Promise<string[]> {
  const session = await rawSession(url, token, { hello: false });
  try {
    session.send({ type: 'hello', version: PROTOCOL_VERSION, token });
    session.send({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port, window: 1024 });
    session.send({ type: 'abort', stream: 1 });
    session.send({ type: 'open', stream: 2, transport: 'tcp', host: 'nosuchhost.invalid', port: 80, window: 1024 });
    await session.message('error', (m) => m.stream === 2);
    return session.received.flatMap((r) =>
      r.kind === 'message' ? [`${r.message.type}${'stream' in r.message ? ` ${r.message.stream}` : ''}`] : [],
    );
  } finally {
    session.close();
  }
}

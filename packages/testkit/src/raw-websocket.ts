import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** WebSocket opcodes (RFC 6455 section 5.2). */
export const Opcode = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

export interface FrameOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV1-3 as a 3-bit number; default 0. */
  rsv?: number;
  /** Mask the payload as a client must; default true. */
  mask?: boolean;
}

/** One frame as WebSocket bytes, any opcode, any payload, any length (no check on what it says). */
export function encodeWebSocketFrame(opcode: number, payload: Uint8Array = new Uint8Array(0), options: FrameOptions = {}): Buffer {
  const { fin = true, rsv = 0, mask = true } = options;
  const length = payload.byteLength;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const head = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xf);
  head[1] = (mask ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) head.writeUInt16BE(length, 2);
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(length), 2);
  const body = Buffer.from(payload);
  if (mask) {
    const key = randomBytes(4);
    key.copy(head, 2 + lengthBytes);
    for (let i = 0; i < body.byteLength; i++) body[i] = (body[i] as number) ^ (key[i & 3] as number);
  }
  return Buffer.concat([head, body]);
}

/** A close frame's payload: the code, then the reason bytes as given (valid or not). */
export function closePayload(code: number, reason: Uint8Array | string = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

export interface ReceivedFrame {
  opcode: number;
  fin: boolean;
  payload: Buffer;
}

/**
 * A WebSocket client on a bare TCP socket that writes whatever bytes it is told, including frames no
 * library would send, and answers nothing by itself (no pong; the close handshake only when asked).
 */
export interface RawWebSocket {
  socket: net.Socket;
  /** Frames the server sent, in order (fragments as they came). */
  readonly frames: readonly ReceivedFrame[];
  /** Writes frames (built with `encodeWebSocketFrame`) in one write. */
  write(...frames: Uint8Array[]): void;
  /** A masked text frame of `text`, or of raw `bytes` that need not be UTF-8. */
  text(text: string | Uint8Array): Buffer;
  binary(bytes: Uint8Array): Buffer;
  /** The next frame with this opcode not taken before (searching what already arrived first), or undefined if the socket ends or `timeoutMs` passes. */
  next(opcode: number, timeoutMs?: number): Promise<ReceivedFrame | undefined>;
  /** The server's close frame as code and reason bytes; code 1006 when the connection ended without one. */
  readonly closed: Promise<{ code: number; reason: Buffer }>;
  /** Resolves once the TCP connection has ended. */
  readonly ended: Promise<void>;
  destroy(): void;
}

/**
 * Opens a WebSocket to `url` (ws://host:port/path) with `protocol`, by hand. With `answerClose`
 * (the default) it echoes the server's close frame and ends, as a client should; without it, it
 * keeps the connection open and silent.
 */
export async function rawWebSocket(
  url: string,
  options: { protocol?: string; answerClose?: boolean; timeoutMs?: number; origin?: string } = {},
): Promise<RawWebSocket> {
  const { protocol = 'socketgate.v1', answerClose = true, timeoutMs = 5000, origin } = options;
  const target = new URL(url);
  const socket = net.connect({ host: target.hostname, port: Number(target.port) });
  socket.on('error', () => {});
  const frames: ReceivedFrame[] = [];
  const wakers = new Set<() => void>();
  const taken = new Set<number>();
  let buffered = Buffer.alloc(0);
  let upgraded = false;
  let closeFrame: { code: number; reason: Buffer } | undefined;
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const handshake = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no WebSocket handshake within ${timeoutMs} ms`)), timeoutMs);
    void ended.then(() => reject(new Error('the connection ended during the WebSocket handshake')));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(head)) {
          clearTimeout(timer);
          reject(new Error(`the WebSocket upgrade was refused: ${head.split('\r\n')[0]}`));
          return;
        }
        upgraded = true;
        buffered = buffered.subarray(end + 4);
        clearTimeout(timer);
        resolve();
      }
      parse();
    });
  });
  const parse = (): void => {
    for (;;) {
      if (buffered.byteLength < 2) return;
      const second = buffered[1] as number;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.byteLength < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.byteLength < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      if (second & 0x80) offset += 4; // a server must not mask, but read it right if it does
      if (buffered.byteLength < offset + length) return;
      const first = buffered[0] as number;
      const frame = { opcode: first & 0xf, fin: (first & 0x80) !== 0, payload: Buffer.from(buffered.subarray(offset, offset + length)) };
      buffered = buffered.subarray(offset + length);
      frames.push(frame);
      if (frame.opcode === Opcode.CLOSE && closeFrame === undefined) {
        closeFrame =
          frame.payload.byteLength >= 2
            ? { code: frame.payload.readUInt16BE(0), reason: frame.payload.subarray(2) }
            : { code: 1005, reason: Buffer.alloc(0) };
        if (answerClose && !socket.destroyed) {
          socket.write(encodeWebSocketFrame(Opcode.CLOSE, frame.payload.subarray(0, 2)));
          socket.end();
        }
      }
      for (const wake of wakers) wake();
    }
  };
  socket.write(
    [
      `GET ${target.pathname}${target.search} HTTP/1.1`,
      `Host: ${target.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...(protocol === '' ? [] : [`Sec-WebSocket-Protocol: ${protocol}`]),
      ...(origin === undefined ? [] : [`Origin: ${origin}`]),
      '',
      '',
    ].join('\r\n'),
  );
  try {
    await handshake;
  } catch (error) {
    socket.destroy();
    throw error;
  }
  const closed = ended.then(() => closeFrame ?? { code: 1006, reason: Buffer.alloc(0) });
  return {
    socket,
    frames,
    write: (...parts) => {
      if (!socket.destroyed) socket.write(Buffer.concat(parts));
    },
    text: (text) => encodeWebSocketFrame(Opcode.TEXT, typeof text === 'string' ? Buffer.from(text) : text),
    binary: (bytes) => encodeWebSocketFrame(Opcode.BINARY, bytes),
    next: (opcode, waitMs = timeoutMs) =>
      new Promise((resolve) => {
        const look = (): boolean => {
          for (let i = 0; i < frames.length; i++) {
            const frame = frames[i] as ReceivedFrame;
            if (!taken.has(i) && frame.opcode === opcode) {
              taken.add(i);
              finish(frame);
              return true;
            }
          }
          return false;
        };
        const finish = (frame: ReceivedFrame | undefined): void => {
          clearTimeout(timer);
          wakers.delete(wake);
          resolve(frame);
        };
        const wake = (): void => {
          look();
        };
        const timer = setTimeout(() => finish(undefined), waitMs);
        wakers.add(wake);
        void ended.then(() => {
          if (!look()) finish(undefined);
        });
        look();
      }),
    closed,
    ended,
    destroy: () => socket.destroy(),
  };
}

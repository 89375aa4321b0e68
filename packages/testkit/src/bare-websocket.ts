import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { SUBPROTOCOL } from '@socketgate/protocol';

/**
 * A WebSocket client that does only what a test tells it: it never answers a ping or a close frame,
 * so a test can play a client that has gone away or misbehaves. Speaks to 127.0.0.1 only.
 */
export interface BareWebSocket {
  socket: net.Socket;
  /** The HTTP status line's code of the upgrade answer. */
  status: number;
  /** Opcodes of every frame received, in order (1 text, 2 binary, 8 close, 9 ping, 10 pong). */
  readonly opcodes: number[];
  /** Sends one masked frame with `opcode` (default text) and `payload` (bytes sent as they are). */
  send(payload: Uint8Array | string, opcode?: number): void;
  /** Resolves when the TCP connection is closed, by either side. */
  closed: Promise<void>;
  destroy(): void;
}

/** Writes one client frame: FIN, the opcode, the mask bit and length, the key, the masked payload. */
function frame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) header[1] = 0x80 | length;
  else if (length < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([header, mask, masked]);
}

/** Upgrades a TCP connection to 127.0.0.1:`port` at `path` by hand. */
export async function bareWebSocket(
  port: number,
  options: { path?: string; protocol?: string; origin?: string } = {},
): Promise<BareWebSocket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const headers = [
    `GET ${options.path ?? '/v1/socket'} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Protocol: ${options.protocol ?? SUBPROTOCOL}`,
    ...(options.origin === undefined ? [] : [`Origin: ${options.origin}`]),
    '',
    '',
  ];
  socket.write(headers.join('\r\n'));
  const opcodes: number[] = [];
  let buffered = Buffer.alloc(0);
  let upgraded = false;
  const status = await new Promise<number>((resolve, reject) => {
    socket.once('close', () => reject(new Error('the connection closed before the upgrade answer')));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        resolve(Number(buffered.subarray(9, 12).toString()));
        buffered = buffered.subarray(end + 4);
      }
      // Frames from the server are unmasked: note each opcode, skip its payload.
      for (;;) {
        if (buffered.length < 2) return;
        const short = (buffered[1] as number) & 0x7f;
        const lengthBytes = short === 126 ? 2 : short === 127 ? 8 : 0;
        if (buffered.length < 2 + lengthBytes) return;
        const length = short === 126 ? buffered.readUInt16BE(2) : short === 127 ? Number(buffered.readBigUInt64BE(2)) : short;
        if (buffered.length < 2 + lengthBytes + length) return;
        opcodes.push((buffered[0] as number) & 0x0f);
        buffered = buffered.subarray(2 + lengthBytes + length);
      }
    });
  });
  return {
    socket,
    status,
    opcodes,
    send: (payload, opcode = 1) => {
      socket.write(frame(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload));
    },
    closed,
    destroy: () => socket.destroy(),
  };
}

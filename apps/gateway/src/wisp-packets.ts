import type { Allocate } from '@socketgate/protocol';

/**
 * Wisp's packets (the Wisp protocol, v1 and v2): a type byte, a little-endian u32 stream id, and
 * the payload. The only place the Wisp endpoint turns bytes into packets and back; every read is
 * bounds-checked, and what does not parse is a result, never an exception.
 *
 *   | type u8 | stream u32 LE | payload ...                                   |
 *   CONNECT  0x01   | stream type u8 (1 TCP, 2 UDP) | port u16 LE | hostname UTF-8 |
 *   DATA     0x02   | bytes                                                      |
 *   CONTINUE 0x03   | packets the server still buffers u32 LE                    |
 *   CLOSE    0x04   | reason u8                                                  |
 *   INFO     0x05   | major u8 | minor u8 | extensions: (id u8, length u32 LE, bytes)* |
 */
export const WispPacketType = { CONNECT: 0x01, DATA: 0x02, CONTINUE: 0x03, CLOSE: 0x04, INFO: 0x05 } as const;

/** Wisp v2 extension ids the gateway knows. */
export const WispExtension = { UDP: 0x01, PASSWORD: 0x02, MOTD: 0x04, STREAM_CONFIRMATION: 0x05 } as const;

/** A Wisp packet's header is as long as the native protocol's: 5 bytes. */
export const WISP_HEADER_BYTES = 5;

export interface WispPacket {
  type: number;
  stream: number;
  payload: Buffer;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Splits one WebSocket message into its packet's parts. */
export function parseWispPacket(data: Buffer): Parsed<WispPacket> {
  if (data.byteLength < WISP_HEADER_BYTES) return { ok: false, message: `a packet needs at least 5 bytes, got ${data.byteLength}` };
  return { ok: true, value: { type: data.readUInt8(0), stream: data.readUInt32LE(1), payload: data.subarray(WISP_HEADER_BYTES) } };
}

export interface WispConnect {
  transport: 'tcp' | 'udp';
  port: number;
  host: string;
}

export function parseConnect(payload: Buffer): Parsed<WispConnect> {
  if (payload.byteLength < 3) return { ok: false, message: 'CONNECT needs a stream type and a port' };
  const kind = payload.readUInt8(0);
  if (kind !== 1 && kind !== 2) return { ok: false, message: `stream type ${kind} is neither TCP (1) nor UDP (2)` };
  let host: string;
  try {
    host = decoder.decode(payload.subarray(3));
  } catch {
    return { ok: false, message: 'the hostname is not UTF-8' };
  }
  return { ok: true, value: { transport: kind === 1 ? 'tcp' : 'udp', port: payload.readUInt16LE(1), host } };
}

export function parseClose(payload: Buffer): Parsed<number> {
  if (payload.byteLength < 1) return { ok: false, message: 'CLOSE needs a reason' };
  return { ok: true, value: payload.readUInt8(0) };
}

export interface WispInfo {
  major: number;
  minor: number;
  /** Each extension's metadata by id (a repeated id: the first). */
  extensions: Map<number, Buffer>;
}

export function parseInfo(payload: Buffer): Parsed<WispInfo> {
  if (payload.byteLength < 2) return { ok: false, message: 'INFO needs a major and a minor version' };
  const extensions = new Map<number, Buffer>();
  let at = 2;
  while (at < payload.byteLength) {
    if (payload.byteLength - at < 5) return { ok: false, message: `an extension at byte ${at} is cut short` };
    const id = payload.readUInt8(at);
    const length = payload.readUInt32LE(at + 1);
    if (length > payload.byteLength - at - 5)
      return { ok: false, message: `extension 0x${id.toString(16)} claims ${length} bytes, more than the packet has` };
    if (!extensions.has(id)) extensions.set(id, payload.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return { ok: true, value: { major: payload.readUInt8(0), minor: payload.readUInt8(1), extensions } };
}

/** The client's metadata of the password extension: username length u8, password length u16 LE, then both in UTF-8. */
export function parsePassword(metadata: Buffer): Parsed<{ username: string; password: string }> {
  if (metadata.byteLength < 3) return { ok: false, message: 'the password extension needs its two lengths' };
  const userBytes = metadata.readUInt8(0);
  const passwordBytes = metadata.readUInt16LE(1);
  if (3 + userBytes + passwordBytes > metadata.byteLength) return { ok: false, message: 'the username and password are cut short' };
  try {
    return {
      ok: true,
      value: {
        username: decoder.decode(metadata.subarray(3, 3 + userBytes)),
        password: decoder.decode(metadata.subarray(3 + userBytes, 3 + userBytes + passwordBytes)),
      },
    };
  } catch {
    return { ok: false, message: 'the username or password is not UTF-8' };
  }
}

function packet(type: number, stream: number, bodyBytes: number, allocate?: Allocate): Buffer {
  const bytes = allocate === undefined ? Buffer.alloc(WISP_HEADER_BYTES + bodyBytes) : allocate(WISP_HEADER_BYTES + bodyBytes);
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  buffer.writeUInt8(type, 0);
  buffer.writeUInt32LE(stream, 1);
  return buffer;
}

export function encodeWispData(stream: number, payload: Uint8Array, allocate?: Allocate): Buffer {
  const bytes = packet(WispPacketType.DATA, stream, payload.byteLength, allocate);
  bytes.set(payload, WISP_HEADER_BYTES);
  return bytes;
}

export function encodeContinue(stream: number, packets: number): Buffer {
  const bytes = packet(WispPacketType.CONTINUE, stream, 4);
  bytes.writeUInt32LE(packets, WISP_HEADER_BYTES);
  return bytes;
}

export function encodeClose(stream: number, reason: number): Buffer {
  const bytes = packet(WispPacketType.CLOSE, stream, 1);
  bytes.writeUInt8(reason, WISP_HEADER_BYTES);
  return bytes;
}

/** The server's INFO: its version and each extension it offers, with its metadata. */
export function encodeInfo(major: number, minor: number, extensions: ReadonlyArray<readonly [number, Uint8Array]>): Buffer {
  const body = extensions.reduce((n, [, metadata]) => n + 5 + metadata.byteLength, 2);
  const bytes = packet(WispPacketType.INFO, 0, body);
  bytes.writeUInt8(major, WISP_HEADER_BYTES);
  bytes.writeUInt8(minor, WISP_HEADER_BYTES + 1);
  let at = WISP_HEADER_BYTES + 2;
  for (const [id, metadata] of extensions) {
    bytes.writeUInt8(id, at);
    bytes.writeUInt32LE(metadata.byteLength, at + 1);
    bytes.set(metadata, at + 5);
    at += 5 + metadata.byteLength;
  }
  return bytes;
}

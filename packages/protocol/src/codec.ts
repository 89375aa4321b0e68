/**
 * The only place where bytes meet objects: binary hot-path frames and JSON control messages.
 *
 * Binary frame (big-endian):
 *
 *   0        1                 5
 *   +--------+-----------------+---------------------------+
 *   |  kind  |   stream (u32)  |  body                     |
 *   +--------+-----------------+---------------------------+
 *
 *   kind 0x01 DATA    body = payload bytes (may be empty)      both directions
 *   kind 0x02 CREDIT  body = u32 bytes the gateway may send     client -> gateway
 *   kind 0x03 ACK     body = u32 bytes written to the socket   gateway -> client
 *   kind 0x04 DATAGRAM body = u16 port, u8 address length,      both directions
 *                      the address (ASCII), then the payload
 *
 * A DATAGRAM from the client names its destination (a host of host.ts's grammar; empty with port 0
 * for a connected socket's peer); one from the gateway names the sender's IP address and port. A
 * decoded host is always empty or of that grammar; the encoder checks only that it fits the header.
 *
 * Decoders never throw: at a boundary, hostile input is normal.
 */
import type * as z from 'zod/mini';
import type { ProtocolErrorCode } from './codes.js';
import { hostProblem, isHost } from './host.js';
import { ClientMessage, ServerMessage } from './messages.js';

export const FrameKind = { DATA: 0x01, CREDIT: 0x02, ACK: 0x03, DATAGRAM: 0x04 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const HEADER_BYTES = 5;
const COUNT_FRAME_BYTES = HEADER_BYTES + 4;
/** Header of a DATAGRAM frame before its address: kind, stream, port, address length. */
export const DATAGRAM_HEADER_BYTES = HEADER_BYTES + 3;

export interface DataFrame {
  kind: 'data';
  stream: number;
  /** A view into the received message, not a copy. */
  payload: Uint8Array;
}
export interface CreditFrame {
  kind: 'credit';
  stream: number;
  bytes: number;
}
export interface AckFrame {
  kind: 'ack';
  stream: number;
  bytes: number;
}
export interface DatagramFrame {
  kind: 'datagram';
  stream: number;
  /** Destination (client to gateway) or sender (gateway to client); `''` for a connected peer. */
  host: string;
  port: number;
  /** A view into the received message, not a copy. */
  payload: Uint8Array;
}
export type Frame = DataFrame | CreditFrame | AckFrame | DatagramFrame;

export interface DecodeFailure {
  ok: false;
  code: ProtocolErrorCode;
  message: string;
  /** The stream the bad input named, when it could be read. */
  stream?: number;
}
export type Decoded<T> = { ok: true; value: T } | DecodeFailure;

/** Makes the bytes of one frame; every byte of it is then written, so it need not be zeroed. */
export type Allocate = (bytes: number) => Uint8Array;
const zeroed: Allocate = (bytes) => new Uint8Array(bytes);

function checkStream(stream: number): void {
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffff_ffff) {
    throw new RangeError(`stream id must be an unsigned 32-bit integer, got ${stream}`);
  }
}

function header(kind: number, stream: number, bodyBytes: number, allocate: Allocate = zeroed): { bytes: Uint8Array; view: DataView } {
  checkStream(stream);
  const bytes = allocate(HEADER_BYTES + bodyBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint8(0, kind);
  view.setUint32(1, stream);
  return { bytes, view };
}

/**
 * DATA frame carrying `payload` (copied once into the frame). `allocate` may hand out memory that
 * is not zeroed (Node's `Buffer.allocUnsafe`): the header and the payload overwrite all of it.
 */
export function encodeData(stream: number, payload: Uint8Array, allocate?: Allocate): Uint8Array {
  const { bytes } = header(FrameKind.DATA, stream, payload.byteLength, allocate);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/**
 * Writes a DATA header into the first bytes of `frame`, whose payload follows it: for a sender
 * that builds frames in place, with no copy of the payload.
 */
export function writeDataHeader(frame: Uint8Array, stream: number): void {
  checkStream(stream);
  if (frame.byteLength < HEADER_BYTES) throw new RangeError(`a frame needs at least ${HEADER_BYTES} bytes, got ${frame.byteLength}`);
  frame[0] = FrameKind.DATA;
  new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES).setUint32(1, stream);
}

function encodeCount(kind: number, stream: number, count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 1 || count > 0xffff_ffff) {
    throw new RangeError(`byte count must be an integer from 1 to 4294967295, got ${count}`);
  }
  const { bytes, view } = header(kind, stream, 4);
  view.setUint32(HEADER_BYTES, count);
  return bytes;
}

/** CREDIT frame: the client lets the gateway send `bytes` more on `stream`. */
export const encodeCredit = (stream: number, bytes: number): Uint8Array => encodeCount(FrameKind.CREDIT, stream, bytes);
/** ACK frame: the gateway wrote `bytes` more of `stream` to the real socket. */
export const encodeAck = (stream: number, bytes: number): Uint8Array => encodeCount(FrameKind.ACK, stream, bytes);

/** DATAGRAM frame: one datagram, never split or merged. */
export function encodeDatagram(stream: number, host: string, port: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be from 0 to 65535, got ${port}`);
  if (host.length > 255 || !/^[\x21-\x7e]*$/.test(host)) {
    throw new RangeError(`datagram address must be at most 255 printable ASCII characters, got ${JSON.stringify(host.slice(0, 40))}`);
  }
  const { bytes, view } = header(FrameKind.DATAGRAM, stream, 3 + host.length + payload.byteLength);
  view.setUint16(HEADER_BYTES, port);
  view.setUint8(HEADER_BYTES + 2, host.length);
  for (let i = 0; i < host.length; i++) bytes[DATAGRAM_HEADER_BYTES + i] = host.charCodeAt(i);
  bytes.set(payload, DATAGRAM_HEADER_BYTES + host.length);
  return bytes;
}

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.kind) {
    case 'data':
      return encodeData(frame.stream, frame.payload);
    case 'credit':
      return encodeCredit(frame.stream, frame.bytes);
    case 'ack':
      return encodeAck(frame.stream, frame.bytes);
    case 'datagram':
      return encodeDatagram(frame.stream, frame.host, frame.port, frame.payload);
  }
}

const badFrame = (message: string, stream?: number): DecodeFailure =>
  stream === undefined ? { ok: false, code: 'BAD_FRAME', message } : { ok: false, code: 'BAD_FRAME', message, stream };

/** Decodes one binary WebSocket message. Payloads are views into `bytes`. */
export function decodeFrame(bytes: Uint8Array): Decoded<Frame> {
  if (bytes.byteLength < HEADER_BYTES) {
    return badFrame(`binary frame of ${bytes.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  const stream = view.getUint32(1);
  switch (kind) {
    case FrameKind.DATA:
      return { ok: true, value: { kind: 'data', stream, payload: bytes.subarray(HEADER_BYTES) } };
    case FrameKind.CREDIT:
    case FrameKind.ACK: {
      const name = kind === FrameKind.CREDIT ? 'credit' : 'ack';
      if (bytes.byteLength !== COUNT_FRAME_BYTES) {
        return badFrame(`${name} frame must be ${COUNT_FRAME_BYTES} bytes, got ${bytes.byteLength}`, stream);
      }
      const count = view.getUint32(HEADER_BYTES);
      if (count === 0) return badFrame(`${name} frame must carry at least 1 byte`, stream);
      return { ok: true, value: { kind: name, stream, bytes: count } };
    }
    case FrameKind.DATAGRAM: {
      if (bytes.byteLength < DATAGRAM_HEADER_BYTES) {
        return badFrame(`datagram frame of ${bytes.byteLength} bytes is shorter than its ${DATAGRAM_HEADER_BYTES}-byte header`, stream);
      }
      const port = view.getUint16(HEADER_BYTES);
      const length = view.getUint8(HEADER_BYTES + 2);
      const end = DATAGRAM_HEADER_BYTES + length;
      if (end > bytes.byteLength) return badFrame(`datagram address of ${length} bytes runs past the end of the frame`, stream);
      let host = '';
      for (let i = DATAGRAM_HEADER_BYTES; i < end; i++) {
        const code = bytes[i] as number;
        if (code < 0x21 || code > 0x7e) {
          const at = i - DATAGRAM_HEADER_BYTES;
          return badFrame(`datagram host: byte 0x${code.toString(16).padStart(2, '0')} at index ${at} is not printable ASCII`, stream);
        }
        host += String.fromCharCode(code);
      }
      const problem = host === '' ? undefined : hostProblem(host);
      if (problem !== undefined) return badFrame(`datagram host: ${problem}`, stream);
      return { ok: true, value: { kind: 'datagram', stream, host, port, payload: bytes.subarray(end) } };
    }
    default:
      return badFrame(`unknown binary frame kind 0x${kind.toString(16).padStart(2, '0')}`, stream);
  }
}

/**
 * The SDK's light reader of binary frames: decodeFrame's acceptance (a test holds them to it on
 * every vector and on random input) without its words for what is wrong, which only the gateway
 * sends back. Undefined for a frame decodeFrame refuses; payloads are views into `bytes`.
 */
export function readFrame(bytes: Uint8Array): Frame | undefined {
  if (bytes.byteLength < HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = bytes[0];
  const stream = view.getUint32(1);
  if (kind === FrameKind.DATA) return { kind: 'data', stream, payload: bytes.subarray(HEADER_BYTES) };
  if (kind === FrameKind.CREDIT || kind === FrameKind.ACK) {
    const count = bytes.byteLength === COUNT_FRAME_BYTES ? view.getUint32(HEADER_BYTES) : 0;
    return count > 0 ? { kind: kind === FrameKind.CREDIT ? 'credit' : 'ack', stream, bytes: count } : undefined;
  }
  if (kind !== FrameKind.DATAGRAM || bytes.byteLength < DATAGRAM_HEADER_BYTES) return undefined;
  const end = DATAGRAM_HEADER_BYTES + (bytes[HEADER_BYTES + 2] as number);
  if (end > bytes.byteLength) return undefined;
  const host = String.fromCharCode(...bytes.subarray(DATAGRAM_HEADER_BYTES, end));
  if (!/^[\x21-\x7e]*$/.test(host) || (host !== '' && !isHost(host))) return undefined;
  return { kind: 'datagram', stream, host, port: view.getUint16(HEADER_BYTES), payload: bytes.subarray(end) };
}

// ---- JSON control messages -----------------------------------------------------------------------

type Issue = z.core.$ZodIssue;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let at = root;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** One issue as a sentence that names the field, e.g. `port: must be at most 65535, got 70000`. */
export function describeIssue(issue: Issue, input: unknown): string {
  const field = issue.path.length > 0 ? issue.path.join('.') : 'message';
  const got = show(valueAt(input, issue.path));
  switch (issue.code) {
    case 'invalid_type':
      return `${field}: expected ${issue.expected}, got ${got}`;
    case 'too_big':
      return issue.origin === 'string'
        ? `${field}: must be at most ${issue.maximum} characters`
        : `${field}: must be at most ${issue.maximum}, got ${got}`;
    case 'too_small':
      return issue.origin === 'string'
        ? `${field}: must be at least ${issue.minimum} characters`
        : `${field}: must be at least ${issue.minimum}, got ${got}`;
    case 'invalid_value':
      return `${field}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'unrecognized_keys':
      return `${field}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return 'discriminator' in issue && issue.path.length > 0
        ? `${field}: unknown message type ${got}`
        : `${field}: matches no allowed shape`;
    case 'invalid_key':
      return `${field}: unknown key`;
    default:
      return issue.path.length === 0 && issue.code === 'invalid_format' ? `${field}: bad format` : `${field}: ${issue.message}`;
  }
}

function streamOf(input: unknown): number | undefined {
  const stream = valueAt(input, ['stream']);
  return typeof stream === 'number' && Number.isInteger(stream) && stream >= 0 && stream <= 0xffff_ffff ? stream : undefined;
}

function parseWith<T>(schema: z.ZodMiniType<T>, text: string): Decoded<T> {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    return { ok: false, code: 'BAD_JSON', message: `text frame is not JSON: ${(error as Error).message}` };
  }
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const failure: DecodeFailure = {
    ok: false,
    code: 'BAD_MESSAGE',
    message: result.error.issues.map((issue) => describeIssue(issue, input)).join('; '),
  };
  const stream = streamOf(input);
  if (stream !== undefined) failure.stream = stream;
  return failure;
}

/** Parses and validates a text frame sent by a client. */
export const parseClientMessage = (text: string): Decoded<ClientMessage> => parseWith(ClientMessage, text);
/** Parses and validates a text frame sent by a gateway. */
export const parseServerMessage = (text: string): Decoded<ServerMessage> => parseWith(ServerMessage, text);

/** Serializes a control message for a text frame. */
export const serializeMessage = (message: ClientMessage | ServerMessage): string => JSON.stringify(message);

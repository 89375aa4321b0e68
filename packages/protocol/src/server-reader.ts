/**
 * A light reader of gateway messages for the SDK: the same acceptance as the `ServerMessage` zod
 * schema (a test holds them to it on every vector and on random input), in a few hundred bytes, so
 * the browser bundle does not carry the schema library.
 */
import type { Decoded } from './codec.js';
import type { ServerMessage } from './messages.js';
import { PROTOCOL_ERROR_CODES, SOCKET_ERROR_NAMES, SOCKET_OPTION_NAMES } from './names.js';

type Kind = 'u32' | 'port' | 'int' | 'string' | 'boolean' | 'error' | 'option' | 'intOrNull' | 'options' | 'code' | 'strings';
/** A field's kind, or a check of its own (for the messages an extension adds). */
export type FieldCheck = Kind | ((value: unknown) => boolean);
export type Fields = Record<string, FieldCheck>;
/** Message types the core reader knows; TLS messages come with `acceptTlsMessages()` (tls-reader.ts). */
type CoreType = Exclude<ServerMessage['type'], 'tls-errors' | 'encrypted'>;

const U32 = 0xffff_ffff;
const errors: ReadonlySet<unknown> = new Set(SOCKET_ERROR_NAMES);
const options: ReadonlySet<unknown> = new Set(SOCKET_OPTION_NAMES);
const codes: ReadonlySet<unknown> = new Set(PROTOCOL_ERROR_CODES);

const stream: Fields = { stream: 'u32' };
const CORE: Record<CoreType, Fields> = {
  welcome: { version: 'int', session: 'string', maxMessageBytes: 'u32' },
  goaway: { graceMs: 'u32' },
  bound: { ...stream, localAddress: 'string', localPort: 'port', window: 'u32', maxDatagramBytes: 'u32' },
  'datagram-error': { ...stream, error: 'error', message: 'string' },
  resolved: stream,
  connected: {
    ...stream,
    window: 'u32',
    localAddress: 'string',
    localPort: 'port',
    peerAddress: 'string',
    peerPort: 'port',
    options: 'options',
  },
  option: { ...stream, option: 'option', value: 'intOrNull' },
  end: stream,
  closed: stream,
  error: { ...stream, error: 'error', message: 'string' },
  'protocol-error': { code: 'code', message: 'string' },
};
const SHAPES: Partial<Record<ServerMessage['type'], Fields>> = { ...CORE };

/** Fields a message may leave out; when present they must fit. */
const OPTIONAL: Partial<Record<ServerMessage['type'], Fields>> = {
  welcome: { features: 'strings' },
  end: { reset: 'boolean' },
  'protocol-error': stream,
};

/**
 * Teaches the reader more message types, and optional fields of known ones (a module that needs
 * them calls this once).
 */
export function acceptServerMessages(
  shapes: Partial<Record<ServerMessage['type'], Fields>>,
  optional: Partial<Record<ServerMessage['type'], Fields>> = {},
): void {
  Object.assign(SHAPES, shapes);
  for (const [type, fields] of Object.entries(optional)) {
    OPTIONAL[type as ServerMessage['type']] = { ...OPTIONAL[type as ServerMessage['type']], ...fields };
  }
}

const isInt = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isStrings = (value: unknown): boolean => Array.isArray(value) && value.every((item) => typeof item === 'string');
/** Whether `value` is an object whose fields fit `fields`. */
export const hasFields = (value: unknown, fields: Fields): boolean =>
  isRecord(value) && Object.entries(fields).every(([field, kind]) => fits(kind, value[field]));

export function fits(kind: FieldCheck, value: unknown): boolean {
  if (typeof kind === 'function') return kind(value);
  switch (kind) {
    case 'u32':
      return isInt(value) && value >= 0 && value <= U32;
    case 'port':
      return isInt(value) && value >= 0 && value <= 65535;
    case 'int':
      return isInt(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'error':
      return errors.has(value);
    case 'option':
      return options.has(value);
    case 'code':
      return codes.has(value);
    case 'intOrNull':
      return value === null || isInt(value);
    case 'strings':
      return isStrings(value);
    case 'options':
      return (
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.entries(value).every(([name, v]) => options.has(name) && (v === undefined || isInt(v)))
      );
  }
}

/** Reads a gateway's text frame; the message names the first field that is wrong. */
export function readServerMessage(text: string): Decoded<ServerMessage> {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return { ok: false, code: 'BAD_JSON', message: 'text frame is not JSON' };
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, code: 'BAD_MESSAGE', message: 'message: not an object' };
  const record = input as Record<string, unknown>;
  const type = record.type;
  const shape = typeof type === 'string' && Object.hasOwn(SHAPES, type) ? SHAPES[type as ServerMessage['type']] : undefined;
  if (shape === undefined) return { ok: false, code: 'BAD_MESSAGE', message: `type: unknown message type ${JSON.stringify(record.type)}` };
  for (const [field, kind] of Object.entries(shape)) {
    if (!fits(kind, record[field])) return { ok: false, code: 'BAD_MESSAGE', message: `${field}: invalid` };
  }
  for (const [field, kind] of Object.entries(OPTIONAL[type as ServerMessage['type']] ?? {})) {
    if (record[field] !== undefined && !fits(kind, record[field])) return { ok: false, code: 'BAD_MESSAGE', message: `${field}: invalid` };
  }
  return { ok: true, value: record as ServerMessage };
}

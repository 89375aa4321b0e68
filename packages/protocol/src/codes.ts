import * as z from 'zod/mini';
import { PROTOCOL_ERROR_CODES, SOCKET_ERROR_NAMES } from './names.js';

/**
 * Qt's `QAbstractSocket::SocketError` names, the only error vocabulary on the wire.
 * The SDK maps each to its numeric enum; the gateway maps Node errors to these.
 */
export const SocketErrorName = z.enum(SOCKET_ERROR_NAMES);
export type SocketErrorName = z.infer<typeof SocketErrorName>;

/** Codes of `protocol-error` messages: what was wrong with a message the gateway received. */
export const ProtocolErrorCode = z.enum(PROTOCOL_ERROR_CODES);
export type ProtocolErrorCode = z.infer<typeof ProtocolErrorCode>;

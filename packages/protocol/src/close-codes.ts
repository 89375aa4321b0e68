/** WebSocket close codes the gateway uses, with what each means. */
export const CloseCode = {
  /** The client closed the session normally. */
  NORMAL: 1000,
  /** The gateway is shutting down. */
  GOING_AWAY: 1001,
  /** The session broke the protocol before `hello`: a first message that is not `hello`, a binary frame, too many early messages. */
  PROTOCOL_ERROR: 4400,
  /** The credential in `hello` was missing, unknown or invalid. */
  UNAUTHORIZED: 4401,
  /** The credential does not allow this session (for example, an origin it does not accept). */
  FORBIDDEN: 4403,
  /** No `hello` arrived in time. */
  HELLO_TIMEOUT: 4408,
  /** The client speaks a protocol version the gateway does not. */
  VERSION_MISMATCH: 4426,
  /** Too many sessions for this credential or client, or a flood of bad messages. */
  TOO_MANY_SESSIONS: 4429,
  /** The session had no streams and sent nothing for the gateway's idle timeout. */
  IDLE_TIMEOUT: 4410,
  /** The credential the session said hello with has expired. */
  CREDENTIAL_EXPIRED: 4440,
  /** The gateway failed internally; the session cannot go on. */
  INTERNAL_ERROR: 4500,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

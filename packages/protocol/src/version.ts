/** The wire protocol version carried in `hello` and `welcome`. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol both sides must agree on. */
export const SUBPROTOCOL = 'socketgate.v1';

/** The endpoint path of protocol v1 on a gateway. */
export const ENDPOINT_PATH = '/v1/socket';

/** @module @socketgate/testkit Helpers for socketgate's tests: loopback servers, gateways, signal recorders. */

export * from './certs.js';
export * from './chromium-fragments.js';
export * from './dovecot.js';
export * from './fake-dns.js';
export * from './gateway-process.js';
export * from './imap-client.js';
export * from './imap-server.js';
export * from './in-process-gateway.js';
export * from './raw-session.js';
export * from './raw-websocket.js';
export * from './redis.js';
export * from './run-to-end.js';
export * from './sdk-bundle.js';
export * from './servers.js';
export * from './service-process.js';
export * from './signals.js';
export * from './socks.js';
export * from './tls-servers.js';
export * from './udp.js';

/**
 * @module @socketgate/protocol
 * The wire protocol between the socketgate SDK and gateway: message schemas, binary codec, codes.
 */
export * from './close-codes.js';
export * from './codec.js';
export * from './codes.js';
export * from './flow-control.js';
export * from './host.js';
export * from './messages.js';
export * from './names.js';
export * from './server-reader.js';
export * from './tls-reader.js';
export * from './version.js';

/**
 * @module @socketgate/protocol
 * The wire protocol between the socketgate SDK and gateway: message schemas, binary codec, codes.
 */
export * from './codec.js';
export * from './codes.js';
export * from './messages.js';
export * from './version.js';

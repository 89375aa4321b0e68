/**
 * @module @socketgate/gateway
 * The socketgate gateway: a Fastify server that opens real sockets for socketgate clients.
 */
export { GatewayConfig, type GatewayConfigInput, parseConfig } from './config.js';
export { createGateway, type GatewayOptions } from './create-gateway.js';
export { socketFailure } from './errno-table.js';
export { GW_ERR_ALLOW_RULE, GW_ERR_CONFIG_INVALID, GW_ERR_STORE_UNAVAILABLE } from './errors.js';
export { applyGcSettings } from './gc-settings.js';
export { type GatewayHandle, type SocketgatePluginOptions, socketgate } from './plugin.js';
export { EgressPolicy, parseAllowRule } from './policy.js';
export { dnsResolver, type ResolvedAddress, type Resolver, resolveHost, systemResolver } from './resolve.js';

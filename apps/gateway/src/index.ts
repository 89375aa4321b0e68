/**
 * @module @socketgate/gateway
 * The socketgate gateway: a Fastify server that opens real sockets for socketgate clients.
 */
export { GatewayConfig, type GatewayConfigInput, parseConfig } from './config.js';
export { socketFailure } from './errno-table.js';
export { GW_ERR_ALLOW_RULE, GW_ERR_CONFIG_INVALID, GW_ERR_STORE_UNAVAILABLE } from './errors.js';
export { createGateway, type GatewayHandle, type GatewayOptions, type SocketgatePluginOptions, socketgate } from './gateway.js';
export { EgressPolicy, parseAllowRule } from './policy.js';
export { dnsResolver, type ResolvedAddress, type Resolver, resolveHost, systemResolver } from './resolve.js';

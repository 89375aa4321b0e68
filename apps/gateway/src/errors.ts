import createError from '@fastify/error';

// The errno → Qt failure table has a file of its own; these names stay importable from here.
export { type SocketFailure, SocketFailureError, socketFailure } from './errno-table.js';

/** The error codes the gateway throws for programmer or operator mistakes. */
export const GW_ERR_CONFIG_INVALID = createError<[string]>('GW_ERR_CONFIG_INVALID', 'Invalid gateway configuration: %s');
export const GW_ERR_ALLOW_RULE = createError<[string, string]>(
  'GW_ERR_ALLOW_RULE',
  'Invalid --allow rule "%s": %s. Use CIDR[:ports] or host[:ports], for example 127.0.0.1/32:7,8000-8100 or *.example.org:443',
);
/** The session store (Redis, or the memory store when full) could not answer: hellos are refused until it can. */
export const GW_ERR_STORE_UNAVAILABLE = createError<[string, { cause: unknown }?]>(
  'GW_ERR_STORE_UNAVAILABLE',
  'The session store is unavailable: %s',
);

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, importSPKI, type JWTVerifyGetKey, jwtVerify } from 'jose';
import * as z from 'zod';
import type { GatewayConfig } from './config.js';
import { EgressPolicy } from './policy.js';
import type { SessionStore } from './store.js';
import { readTargetsFile } from './websockify-targets.js';

/** Who a session belongs to, and what its credential lets it do (never more than the gateway allows). */
export interface Principal {
  /** A stable key for per-credential limits (a digest, never the credential itself). */
  key: string;
  /** For logs: `token:<digest>` or the JWT's `sub`. */
  subject: string;
  /** When the credential expires (ms since the epoch). */
  expiresAt?: number;
  /** Destinations the credential names; a destination must pass this and the gateway's policy. */
  policy?: EgressPolicy;
  transports?: ReadonlySet<'tcp' | 'udp'>;
  multicast?: boolean;
  maxStreams?: number;
  /** The destination the credential names for a websockify connection (`host:port`). */
  target?: string;
}

/** Why a credential was refused: the text goes into the close reason. */
export class AuthError extends Error {}

/** The claims a socketgate JWT may carry to narrow what its session may do. */
export const TokenClaims = z.object({
  sub: z.string().min(1).max(256),
  jti: z.string().min(1).max(256).optional(),
  exp: z.number().optional(),
  /** Destinations, in --allow syntax: CIDR[:ports] or host[:ports]. */
  allow: z.array(z.string().max(300)).max(256).optional(),
  transports: z
    .array(z.enum(['tcp', 'udp']))
    .max(2)
    .optional(),
  multicast: z.boolean().optional(),
  maxStreams: z.int().min(1).optional(),
  /** The one destination of a websockify connection, `host:port` (`[v6]:port`); it must pass the policy too. */
  target: z.string().min(1).max(300).optional(),
});
export type TokenClaims = z.infer<typeof TokenClaims>;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

type Key = Uint8Array | Awaited<ReturnType<typeof importSPKI>> | JWTVerifyGetKey;

/**
 * Checks `hello` credentials: static tokens (constant time) and signed JWTs (jose, pinned algorithms).
 * A JWT's `jti` is claimed in the session store, so a ticket is used once across every gateway
 * sharing the store; a store that cannot answer rejects with GW_ERR_STORE_UNAVAILABLE.
 */
export class Authenticator {
  readonly #tokens: readonly Buffer[];
  /** Tokens of `websockify.targetsFile`, by digest, each with its one target. */
  readonly #targets: ReadonlyArray<readonly [Buffer, string]>;
  readonly #jwt: GatewayConfig['jwt'];
  readonly #key: Promise<Key> | undefined;
  readonly #store: SessionStore;

  constructor(config: Pick<GatewayConfig, 'tokens' | 'jwt'> & { websockify?: { targetsFile?: string | undefined } }, store: SessionStore) {
    this.#tokens = config.tokens.map(digest);
    const file = config.websockify?.targetsFile;
    this.#targets = file === undefined ? [] : [...readTargetsFile(file)].map(([token, target]) => [digest(token), target] as const);
    this.#jwt = config.jwt;
    this.#store = store;
    const jwt = config.jwt;
    if (jwt === undefined) this.#key = undefined;
    else if (jwt.secret !== undefined) this.#key = Promise.resolve(new TextEncoder().encode(jwt.secret));
    else if (jwt.jwksFile !== undefined) this.#key = Promise.resolve(createLocalJWKSet(JSON.parse(readFileSync(jwt.jwksFile, 'utf8'))));
    else if (jwt.publicKeyFile !== undefined) this.#key = importSPKI(readFileSync(jwt.publicKeyFile, 'utf8'), jwt.algorithms[0] as string);
    else this.#key = undefined;
  }

  /** Resolves with the principal, or rejects with an AuthError saying why. */
  async authenticate(token: string): Promise<Principal> {
    const presented = digest(token);
    let matched = false;
    for (const known of this.#tokens) matched = timingSafeEqual(known, presented) || matched;
    if (matched) {
      const id = presented.subarray(0, 8).toString('hex');
      return { key: `token:${id}`, subject: `token:${id}` };
    }
    let fileTarget: string | undefined;
    for (const [known, to] of this.#targets) if (timingSafeEqual(known, presented)) fileTarget ??= to;
    if (fileTarget !== undefined) {
      // A targets file's token reaches its one target, over TCP, and nothing else, whatever the endpoint.
      const id = presented.subarray(0, 8).toString('hex');
      const policy = new EgressPolicy([fileTarget], { allowPorts: 'all' });
      return { key: `token:${id}`, subject: `token:${id}`, target: fileTarget, policy, transports: new Set(['tcp']) };
    }
    const jwt = this.#jwt;
    if (jwt === undefined || this.#key === undefined || token.split('.').length !== 3) throw new AuthError('the token is not accepted');
    let payload: unknown;
    try {
      const verified = await jwtVerify(token, (await this.#key) as never, {
        algorithms: [...jwt.algorithms],
        audience: jwt.audience,
        ...(jwt.issuer === undefined ? {} : { issuer: jwt.issuer }),
        ...(jwt.typ === undefined ? {} : { typ: jwt.typ }),
        clockTolerance: jwt.clockToleranceSec,
        requiredClaims: ['exp', ...(jwt.requireJti ? ['jti'] : [])],
        ...(jwt.maxTokenAgeSec === undefined ? {} : { maxTokenAge: jwt.maxTokenAgeSec }),
      });
      payload = verified.payload;
    } catch (error) {
      const { code = 'ERR_JWT_INVALID', claim } = error as { code?: string; claim?: string };
      // Which claim (or the typ header) failed, where jose's code alone does not say.
      throw new AuthError(`the token is not accepted (${code}${code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim ? `: ${claim}` : ''})`);
    }
    // Every credential has a session budget, and a JWT's is its subject's.
    if ((payload as { sub?: unknown }).sub === undefined) throw new AuthError('the token has no sub claim; a JWT must name its subject');
    const claims = TokenClaims.safeParse(payload);
    if (!claims.success) throw new AuthError(`the token's claims are invalid (${claims.error.issues[0]?.path.join('.')})`);
    const { sub, jti, exp, allow, transports, multicast, maxStreams, target } = claims.data;
    const expiresAt = exp === undefined ? undefined : exp * 1000;
    let policy: EgressPolicy | undefined;
    try {
      // A token's own rules never refuse a port for being "bad": that is the gateway policy's call.
      policy = allow === undefined ? undefined : new EgressPolicy(allow, { allowPorts: 'all' });
    } catch {
      throw new AuthError("the token's allow claim has an invalid rule");
    }
    // Claimed last, so a ticket refused for another reason is not used up.
    if (jti !== undefined && !(await this.#store.claimTicket(jti, (expiresAt ?? Date.now()) + jwt.clockToleranceSec * 1000))) {
      throw new AuthError('the ticket was already used');
    }
    const principal: Principal = { key: `jwt:${sub}`, subject: sub };
    if (expiresAt !== undefined) principal.expiresAt = expiresAt;
    if (policy !== undefined) principal.policy = policy;
    if (transports !== undefined) principal.transports = new Set(transports);
    if (multicast !== undefined) principal.multicast = multicast;
    if (maxStreams !== undefined) principal.maxStreams = maxStreams;
    if (target !== undefined) principal.target = target;
    return principal;
  }
}

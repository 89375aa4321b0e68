import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, importSPKI, type JWTVerifyGetKey, jwtVerify } from 'jose';
import * as z from 'zod';
import type { GatewayConfig } from './config.js';
import { EgressPolicy } from './policy.js';

/** Who a session belongs to, and what its credential lets it do (never more than the gateway allows). */
export interface Principal {
  /** A stable key for per-credential limits (a digest, never the credential itself). */
  key: string;
  /** For logs: `token:<digest>` or the JWT's subject. */
  subject: string;
  /** When the credential expires (ms since the epoch). */
  expiresAt?: number;
  /** Destinations the credential names; a destination must pass this and the gateway's policy. */
  policy?: EgressPolicy;
  transports?: ReadonlySet<'tcp' | 'udp'>;
  multicast?: boolean;
  maxStreams?: number;
}

/** Why a credential was refused: the text goes into the close reason. */
export class AuthError extends Error {}

/** The claims a socketgate JWT may carry to narrow what its session may do. */
export const TokenClaims = z.object({
  sub: z.string().max(256).optional(),
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
});
export type TokenClaims = z.infer<typeof TokenClaims>;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Remembers the `jti` of single-use tickets until they expire, in a bounded map: a replayed ticket is
 * refused, and when the map is full the ticket is refused too (fail closed) rather than forgotten.
 */
export class ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** True when `jti` is new (and records it until `expiresAt`). */
  claim(jti: string, expiresAt: number): boolean {
    const now = Date.now();
    if (this.#seen.size >= this.#maxEntries) {
      for (const [id, until] of this.#seen) if (until < now) this.#seen.delete(id);
    }
    const until = this.#seen.get(jti);
    if (until !== undefined && until >= now) return false;
    if (this.#seen.size >= this.#maxEntries) return false;
    this.#seen.set(jti, expiresAt);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}

type Key = Uint8Array | Awaited<ReturnType<typeof importSPKI>> | JWTVerifyGetKey;

/** Checks `hello` credentials: static tokens (constant time) and signed JWTs (jose, pinned algorithms). */
export class Authenticator {
  readonly #tokens: readonly Buffer[];
  readonly #jwt: GatewayConfig['jwt'];
  readonly #key: Promise<Key> | undefined;
  readonly #replay: ReplayCache;

  constructor(config: Pick<GatewayConfig, 'tokens' | 'jwt'>) {
    this.#tokens = config.tokens.map(digest);
    this.#jwt = config.jwt;
    this.#replay = new ReplayCache(config.jwt?.replayCacheSize ?? 100_000);
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
    const jwt = this.#jwt;
    if (jwt === undefined || this.#key === undefined || token.split('.').length !== 3) throw new AuthError('the token is not accepted');
    let payload: unknown;
    try {
      const verified = await jwtVerify(token, (await this.#key) as never, {
        algorithms: [...jwt.algorithms],
        audience: jwt.audience,
        ...(jwt.issuer === undefined ? {} : { issuer: jwt.issuer }),
        clockTolerance: jwt.clockToleranceSec,
        requiredClaims: ['exp', ...(jwt.requireJti ? ['jti'] : [])],
        ...(jwt.maxTokenAgeSec === undefined ? {} : { maxTokenAge: jwt.maxTokenAgeSec }),
      });
      payload = verified.payload;
    } catch (error) {
      throw new AuthError(`the token is not accepted (${(error as { code?: string }).code ?? 'ERR_JWT_INVALID'})`);
    }
    const claims = TokenClaims.safeParse(payload);
    if (!claims.success) throw new AuthError(`the token's claims are invalid (${claims.error.issues[0]?.path.join('.')})`);
    const { sub, jti, exp, allow, transports, multicast, maxStreams } = claims.data;
    const expiresAt = exp === undefined ? undefined : exp * 1000;
    if (jti !== undefined && !this.#replay.claim(jti, (expiresAt ?? Date.now()) + jwt.clockToleranceSec * 1000)) {
      throw new AuthError('the ticket was already used');
    }
    let policy: EgressPolicy | undefined;
    try {
      policy = allow === undefined ? undefined : new EgressPolicy(allow, { allowPorts: range(0, 65535) });
    } catch {
      throw new AuthError("the token's allow claim has an invalid rule");
    }
    const subject = sub ?? `jwt:${digest(token).subarray(0, 8).toString('hex')}`;
    const principal: Principal = { key: `jwt:${subject}`, subject };
    if (expiresAt !== undefined) principal.expiresAt = expiresAt;
    if (policy !== undefined) principal.policy = policy;
    if (transports !== undefined) principal.transports = new Set(transports);
    if (multicast !== undefined) principal.multicast = multicast;
    if (maxStreams !== undefined) principal.maxStreams = maxStreams;
    return principal;
  }
}

// A token's own rules never refuse a port for being "bad": that is the gateway policy's call.
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

import { CloseCode, PROTOCOL_VERSION, parseClientMessage, type ServerMessage } from '@socketgate/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { AuthError, type Principal } from './auth.js';
import { GW_ERR_STORE_UNAVAILABLE } from './errors.js';
import type { GatewayRuntime, LiveSession } from './runtime.js';

/** Messages a client may send while its credential is being checked, before `welcome`. */
const MAX_EARLY_MESSAGES = 64;

/** What the handshake needs of its session. */
export interface GreetedSession extends LiveSession {
  readonly id: string;
  /** The client's address, for the per-address limits. */
  readonly address: string;
  readonly log: FastifyBaseLogger;
  /** Whether the session has ended (a check of the credential may finish after that). */
  readonly disposed: boolean;
  send(message: ServerMessage): void;
}

/** What the session does for its handshake. */
export interface HandshakeHooks {
  /** Runs a handler of client input within the session's fault containment. */
  guarded(handle: () => void): void;
  /** The session is welcomed: `early` are the messages that waited, to be handled in order now. */
  welcomed(early: ReadonlyArray<readonly [Buffer, boolean]>): void;
}

/**
 * A session's way in: the first message is `hello`, its credential is checked, the session takes
 * its places in the credential's and the address's limits (across gateways, through the store),
 * and only then is it welcomed; its credential's expiry ends it.
 *
 *   client                          gateway
 *     | ---- hello {version, token} --> |   within helloTimeoutMs, else close 4408
 *     |      (messages sent now wait,   |   bad version 4426, bad hello 4400,
 *     |       64 at most, in order)     |   refused credential 4401, full limits 4429
 *     | <--- welcome ------------------ |   then the waiting messages are handled
 *
 * Until `hello`, the session counts among its address's sessions that have not said hello.
 */
export class Handshake {
  readonly #runtime: GatewayRuntime;
  readonly #session: GreetedSession;
  readonly #hooks: HandshakeHooks;
  #authenticated = false;
  #principal: Principal | undefined;
  #helloTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  /** Messages that arrived while the credential was being checked, handled in order after it. */
  #early: Array<[Buffer, boolean]> | undefined;

  constructor(runtime: GatewayRuntime, session: GreetedSession, hooks: HandshakeHooks) {
    this.#runtime = runtime;
    this.#session = session;
    this.#hooks = hooks;
  }

  /** Whether the session was welcomed. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Who the session belongs to, once its hello was accepted. */
  get principal(): Principal | undefined {
    return this.#principal;
  }

  /** The session is open: it waits for its hello, for `helloTimeoutMs` at most. */
  start(): void {
    const { config } = this.#runtime;
    this.#awaitHello();
    this.#helloTimer = setTimeout(
      () => this.#session.close(CloseCode.HELLO_TIMEOUT, `no hello within ${config.helloTimeoutMs} ms`),
      config.helloTimeoutMs,
    );
  }

  /** A message before `welcome`: the hello, or one that waits while the credential is checked. */
  receive(data: Buffer, isBinary: boolean): void {
    if (this.#early === undefined) {
      this.#onHello(data, isBinary);
      return;
    }
    // The credential is still being checked: keep the order, within a bound.
    if (this.#early.length >= MAX_EARLY_MESSAGES) {
      this.#session.close(CloseCode.PROTOCOL_ERROR, `more than ${MAX_EARLY_MESSAGES} messages before welcome`);
      return;
    }
    this.#early.push([data, isBinary]);
  }

  /**
   * Counts this session among its address's sessions that have not said hello. Past the limit the
   * oldest of them is closed, so that sockets that never say hello cannot lock a real client of the
   * same address out.
   */
  #awaitHello(): void {
    const { pendingPerAddress, config, metrics } = this.#runtime;
    const address = this.#session.address;
    let waiting = pendingPerAddress.get(address);
    if (waiting === undefined) {
      waiting = new Set();
      pendingPerAddress.set(address, waiting);
    }
    waiting.add(this.#session);
    if (waiting.size > config.maxPendingSessionsPerAddress) {
      const oldest = waiting.values().next().value as LiveSession;
      metrics.cuts.inc({ reason: 'pending' });
      oldest.close(CloseCode.TOO_MANY_SESSIONS, 'too many sessions from this address are waiting to say hello');
    }
  }

  #saidHello(): void {
    const { pendingPerAddress } = this.#runtime;
    const address = this.#session.address;
    const waiting = pendingPerAddress.get(address);
    if (waiting?.delete(this.#session) && waiting.size === 0) pendingPerAddress.delete(address);
  }

  #onHello(data: Buffer, isBinary: boolean): void {
    const session = this.#session;
    if (isBinary) {
      session.close(CloseCode.PROTOCOL_ERROR, 'the first message must be a hello text frame');
      return;
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      session.close(CloseCode.PROTOCOL_ERROR, `bad hello: ${parsed.message}`);
      return;
    }
    const hello = parsed.value;
    if (hello.type !== 'hello') {
      session.close(CloseCode.PROTOCOL_ERROR, `the first message must be hello, got ${hello.type}`);
      return;
    }
    if (hello.version !== PROTOCOL_VERSION) {
      session.close(
        CloseCode.VERSION_MISMATCH,
        `protocol version ${hello.version} is not supported; this gateway speaks ${PROTOCOL_VERSION}`,
      );
      return;
    }
    this.present(hello.token);
  }

  /**
   * Checks `token` as the session's credential: the hello's, or the one another front door (Wisp,
   * websockify) carried. Messages that arrive meanwhile wait, in order.
   */
  present(token: string): void {
    const { guarded } = this.#hooks;
    this.#early = [];
    this.#runtime.authenticator.authenticate(token).then(
      (principal) => guarded(() => this.#admit(principal)),
      (error: unknown) => guarded(() => this.#refuse(error)),
    );
  }

  /** Takes the session's places in its credential's and its address's limits (across gateways), then welcomes it. */
  #admit(principal: Principal): void {
    const session = this.#session;
    const { guarded } = this.#hooks;
    if (session.disposed) return;
    const { config, store } = this.#runtime;
    const credential = { key: `credential:${principal.key}`, limit: config.maxSessionsPerCredential };
    const address = { key: `address:${session.address}`, limit: config.maxSessionsPerAddress };
    store.acquire(session.id, [credential, address]).then(
      (full) =>
        guarded(() => {
          if (session.disposed) store.release(session.id);
          else if (full === credential)
            session.close(CloseCode.TOO_MANY_SESSIONS, `this credential already has ${full.limit} sessions, the gateway's limit`);
          else if (full === address)
            session.close(CloseCode.TOO_MANY_SESSIONS, `this address already has ${full.limit} sessions, the gateway's limit`);
          else this.#welcome(principal);
        }),
      (error: unknown) => guarded(() => this.#refuse(error)),
    );
  }

  #refuse(error: unknown): void {
    const session = this.#session;
    if (session.disposed) return;
    if (error instanceof GW_ERR_STORE_UNAVAILABLE) {
      // Fail closed: without the store, neither single use nor the limits can be checked. The
      // store itself warns once per outage.
      session.log.debug({ err: error }, 'hello refused: the session store is unavailable');
      session.close(CloseCode.INTERNAL_ERROR, 'the session store is unavailable');
      return;
    }
    const reason = error instanceof AuthError ? error.message : 'the credential could not be checked';
    this.#runtime.metrics.authFailures.inc();
    session.log.info({ reason }, 'hello refused');
    session.close(CloseCode.UNAUTHORIZED, reason);
  }

  #welcome(principal: Principal): void {
    const session = this.#session;
    this.#saidHello();
    this.#principal = principal;
    clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
    this.#authenticated = true;
    if (principal.expiresAt !== undefined) this.#armExpiry(principal.expiresAt);
    session.log.debug({ subject: principal.subject }, 'session authenticated');
    session.send({
      type: 'welcome',
      version: PROTOCOL_VERSION,
      session: session.id,
      maxMessageBytes: this.#runtime.config.maxMessageBytes,
      features: ['tls'],
    });
    const early = this.#early ?? [];
    this.#early = undefined;
    this.#hooks.welcomed(early);
  }

  /** Closes the session when its credential expires; timers longer than setTimeout's 24.8 days are re-armed. */
  #armExpiry(expiresAt: number): void {
    const left = Math.max(0, expiresAt - Date.now());
    this.#expiryTimer = setTimeout(
      () => {
        if (Date.now() < expiresAt) this.#armExpiry(expiresAt);
        else this.#session.close(CloseCode.CREDENTIAL_EXPIRED, 'the credential expired');
      },
      Math.min(left, 0x7fff_ffff),
    );
  }

  /** The session ended: it no longer waits for hello, and its timers and waiting messages go. */
  stop(): void {
    this.#saidHello();
    this.#early = undefined;
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
  }
}

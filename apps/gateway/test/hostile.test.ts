/**
 * The gateway attacked the way an internet-facing server is: property-based fuzzing (fast-check) of
 * every client message and binary frame, before `hello`, while a JWT is being verified and after
 * `welcome`, plus WebSocket-level abuse (close frames, pings, silent peers, storms of sockets).
 *
 * The gateway runs in a process of its own, so an exception that escapes it ends that process and
 * fails the test that follows. After every batch the process must still answer `/healthz`, a
 * bystander session opened before the batch (the SDK's QTcpSocket to a loopback echo server) must
 * still echo, and no hostile session may be left behind.
 *
 * The gateway may reach exactly two loopback ports and its resolver knows one name, so no input can
 * make it send a packet anywhere else.
 */
import { isUtf8 } from 'node:buffer';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CloseCode,
  decodeFrame,
  encodeAck,
  encodeCredit,
  encodeData,
  encodeDatagram,
  FrameKind,
  PROTOCOL_VERSION,
  parseClientMessage,
  parseServerMessage,
  type ServerMessage,
  SOCKET_OPTION_NAMES,
} from '@socketgate/protocol';
import { Gateway, QTcpSocket } from '@socketgate/sdk';
import {
  closePayload,
  encodeWebSocketFrame,
  type GatewayProcess,
  makeTestPki,
  Opcode,
  type RawWebSocket,
  rawWebSocket,
  startEchoServer,
  startGatewayProcess,
  startTlsServer,
  startUdpEcho,
  until,
} from '@socketgate/testkit';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';

const TOKEN = 'hostile-suite-token-0123456789';
const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const AUDIENCE = 'socketgate-hostile';
/** The gateway's maxMessageBytes here: small, so that messages at the limit are cheap to send. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Messages a session may send while its credential is checked (handshake.ts). */
const MAX_EARLY_MESSAGES = 64;
/** Bound on every wait for the gateway: longer means it hangs. */
const ANSWER_MS = 5000;
const RUNS = { numRuns: 300, endOnFailure: true } as const;

// ---- the arena: a gateway process, its targets and a bystander ---------------------------------------

interface Arena {
  gw: GatewayProcess;
  echoPort: number;
  udpPort: number;
  /** A TLS echo server whose certificate is self-signed: its handshakes wait for a verdict. */
  tlsPort: number;
  /** Handshakes the TLS server completed so far. */
  tlsHandshakes(): number;
  /** A signed JWT the gateway accepts. */
  jwt: string;
  /**
   * Asserts the process is alive, the bystander still echoes and (unless `sessionsLeft` is false,
   * while silent clients still hold their sockets) only the bystander's session is left.
   */
  check(options?: { sessionsLeft?: boolean }): Promise<void>;
  /**
   * Runs `body` (one run of a property), and `check` after every 50 runs; if the gateway process
   * died meanwhile, fails with its stderr (the crash's stack).
   */
  guard(body: () => Promise<void>): Promise<void>;
}

async function arena(): Promise<Arena> {
  const echo = await startEchoServer();
  onTestFinished(() => echo.close());
  const udp = await startUdpEcho();
  onTestFinished(() => udp.close());
  const pki = makeTestPki();
  onTestFinished(() => pki.remove());
  const tls = await startTlsServer({ certificate: pki.selfSigned });
  onTestFinished(() => tls.close());
  const gw = await startGatewayProcess({
    tokens: [TOKEN],
    jwt: { secret: SECRET, algorithms: ['HS256'], audience: AUDIENCE },
    allow: [`127.0.0.1/32:${echo.port}`, `127.0.0.1/32:${udp.port}`, `127.0.0.1/32:${tls.port}`],
    // Short, so that a held handshake nobody decides about ends within a run.
    tls: { decisionTimeoutMs: 200 },
    names: { 'echo.test': ['127.0.0.1'] },
    maxMessageBytes: MAX_MESSAGE_BYTES,
    // Every message is handled, never dropped by a rate limit, so the fuzz reaches every path.
    maxProtocolErrorsPerSecond: 1_000_000,
    maxControlMessagesPerSecond: 1_000_000,
    maxOpensPerSecond: 1_000_000,
  });
  onTestFinished(() => gw.stop());
  const jwt = await new SignJWT({ sub: 'hostile' })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
  const client = new Gateway(gw.url, { token: TOKEN, WebSocket: WebSocket });
  onTestFinished(() => client.close());
  const bystander = new QTcpSocket({ gateway: client });
  bystander.connectToHost('127.0.0.1', echo.port);
  expect(await bystander.waitForConnected(ANSWER_MS)).toBe(true);
  let round = 0;
  let runs = 0;
  const check = async ({ sessionsLeft = true } = {}): Promise<void> => {
    await gw.assertAlive();
    round++;
    const sent = Buffer.from(`bystander round ${round} €😀`);
    bystander.write(sent);
    const got: Uint8Array[] = [];
    let bytes = 0;
    while (bytes < sent.byteLength && (await bystander.waitForReadyRead(ANSWER_MS))) {
      const chunk = bystander.readAll();
      got.push(chunk);
      bytes += chunk.byteLength;
    }
    expect(Buffer.concat(got).toString(), 'the bystander session still echoes').toBe(sent.toString());
    if (!sessionsLeft) return;
    // Every hostile session has been let go: only the bystander's is left.
    const deadline = Date.now() + ANSWER_MS;
    let sessions = -1;
    while (Date.now() < deadline) {
      const ready = (await (await fetch(`http://127.0.0.1:${gw.port}/readyz`)).json()) as { sessions: number };
      sessions = ready.sessions;
      if (sessions === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(sessions, 'sessions left on the gateway').toBe(1);
    await gw.assertAlive();
  };
  return {
    gw,
    echoPort: echo.port,
    udpPort: udp.port,
    tlsPort: tls.port,
    tlsHandshakes: () => tls.connections,
    jwt,
    check,
    async guard(body) {
      try {
        await body();
        // The bystander is checked within a batch too: a gateway that hangs fails here, not at the end.
        if (++runs % 50 === 0) await check();
      } catch (error) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (gw.exited !== undefined) throw new Error(`the gateway process ended (${gw.exited}):\n${gw.stderr}`, { cause: error });
        throw error;
      }
    },
  };
}

// ---- inputs ------------------------------------------------------------------------------------------

/** One WebSocket message a client sends, optionally cut into fragments at these byte offsets. */
type Input = { text: Uint8Array; cuts?: number[] } | { binary: Uint8Array; cuts?: number[] };

const payloadOf = (input: Input): Uint8Array => ('text' in input ? input.text : input.binary);

/** The input's WebSocket frames: one, or a first fragment and continuations cut where it says. */
function framesOf(input: Input): Buffer[] {
  const payload = payloadOf(input);
  const opcode = 'text' in input ? Opcode.TEXT : Opcode.BINARY;
  const cuts = [...new Set(input.cuts ?? [])].filter((cut) => cut > 0 && cut < payload.byteLength).sort((a, b) => a - b);
  if (cuts.length === 0) return [encodeWebSocketFrame(opcode, payload)];
  const bounds = [0, ...cuts, payload.byteLength];
  return bounds.slice(0, -1).map((start, i) =>
    encodeWebSocketFrame(i === 0 ? opcode : Opcode.CONTINUATION, payload.subarray(start, bounds[i + 1]), {
      fin: i === bounds.length - 2,
    }),
  );
}

/** How `ws` itself closes on this input before the gateway sees it: 1009 too large, 1007 not UTF-8. */
function wsRefusal(input: Input): number | undefined {
  const payload = payloadOf(input);
  if (payload.byteLength > MAX_MESSAGE_BYTES) return 1009;
  if ('text' in input && !isUtf8(payload)) return 1007;
  return undefined;
}

/** The protocol-error code the gateway must answer to this input after `welcome`, if it is malformed. */
function malformed(input: Input): string | undefined {
  if ('text' in input) {
    const parsed = parseClientMessage(Buffer.from(input.text).toString('utf8'));
    return parsed.ok ? undefined : parsed.code;
  }
  const decoded = decodeFrame(input.binary);
  if (!decoded.ok) return decoded.code;
  return decoded.value.kind === 'ack' ? 'BAD_FRAME' : undefined;
}

const text = (value: string): Input => ({ text: Buffer.from(value) });

/** A number written as JSON text, for the values JSON.stringify cannot write (-0, 1e400 is Infinity). */
class Raw {
  constructor(readonly json: string) {}
}

/** JSON text of a generated value, with `Raw` numbers written as they are. */
function toJson(value: unknown): string {
  if (value instanceof Raw) return value.json;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, item]) => `${JSON.stringify(key)}:${toJson(item)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
/** Any character: every code point, lone surrogates, and the ones that break naive code. */
const anyChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
  {
    weight: 2,
    arbitrary: fc.constantFrom('€', '😀', '\u{10FFFF}', '\0', '"', '\\', '\u2028', '\uFEFF', '\uFFFF', '\r\n', '%00', '\u202E'),
  },
);
/** Text of any characters; lengths spread up to `maxLength`, not only the short ones fast-check favours. */
const anyText = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: anyChar, maxLength, size: 'max' });
/** A string of one character, near every length limit: bytes from 1 to 4 a character (an odd cut of 😀 leaves a lone surrogate). */
const longText = fc
  .record({
    char: fc.constantFrom('a', '€', '😀', '\uD83D', '\uDE00', '\0'),
    units: fc.constantFrom(63, 64, 65, 252, 253, 254, 255, 256, 8191, 8192, 8193),
  })
  .map(({ char, units }) => char.repeat(Math.ceil(units / char.length)).slice(0, units));

const extremeNumber = fc.oneof(
  fc.constantFrom(0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e308, -1e308),
  fc.constantFrom(5e-324, 0.5, 1023, 1024, 65535, 65536, 7, 8, 0x7fff_ffff * 2),
  fc
    .constantFrom('-0', '1e400', '-1e400', '1E2', '1.0', '-0.0', '1e-400', '4294967295.0000001', '9007199254740993')
    .map((json) => new Raw(json)),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** A value of any JSON type. */
const { anyValue } = fc.letrec<{ anyValue: unknown }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    extremeNumber,
    anyText(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('anyValue'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(anyText(8), fc.constantFrom('__proto__', 'constructor', 'type', 'stream')), tie('anyValue'), { maxKeys: 4 }),
  ),
}));

// Field values a real client would send, and the edges around them.
const streamId = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 0xffff_fffe, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff }));
const byteCount = fc.oneof(fc.constantFrom(0, 1, 65536, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff }));
const family = fc.option(fc.constantFrom('any', 'ipv4', 'ipv6'), { nil: undefined });
const option = fc.constantFrom(...SOCKET_OPTION_NAMES);

/** Valid client messages of every type, aimed at the arena's targets and at what it refuses. */
function validMessage(a: Pick<Arena, 'echoPort' | 'udpPort' | 'jwt'>): fc.Arbitrary<Record<string, unknown>> {
  const host = fc.oneof(
    fc.constantFrom('127.0.0.1', 'echo.test', 'localhost', '::1', '[::1]', '127.1', '0x7f.0.0.1', 'nosuchhost.invalid', 'unknown.test'),
    anyText(20).filter((h) => h.length > 0),
    longText.filter((h) => h.length > 0),
  );
  const port = fc.oneof(fc.constantFrom(0, 1, 65535, a.echoPort, a.udpPort), fc.integer({ min: 0, max: 65535 }));
  const strip = (message: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(message).filter(([, value]) => value !== undefined));
  return fc
    .oneof(
      fc.record({ type: fc.constant('hello'), version: fc.constant(PROTOCOL_VERSION), token: fc.constantFrom(TOKEN, a.jwt) }),
      fc.record({
        type: fc.constant('open'),
        stream: streamId,
        transport: fc.constantFrom('tcp', 'udp'),
        host,
        port,
        family,
        window: byteCount,
        options: fc.option(fc.dictionary(option, fc.integer()), { nil: undefined }),
        proxy: fc.option(
          fc.record({ type: fc.constant('socks5'), host, port, user: anyText(8) }, { requiredKeys: ['type', 'host', 'port'] }),
          {
            nil: undefined,
          },
        ),
      }),
      fc.record({
        type: fc.constant('bind'),
        stream: streamId,
        transport: fc.constant('udp'),
        // Ports below 1024 are refused; 0 picks any: a bind never takes a port another program uses.
        address: fc.constantFrom('', '127.0.0.1', '::1', '0.0.0.0', '::', 'echo.test', '::ffff:127.0.0.1', 'fe80::1%lo'),
        port: fc.constantFrom(0, 1, 80, 1023),
        flags: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
        window: byteCount,
      }),
      fc.record({ type: fc.constant('connect'), stream: streamId, host, port, family }),
      fc.record({
        type: fc.constant('multicast'),
        stream: streamId,
        action: fc.constantFrom('join', 'leave'),
        group: fc.constantFrom('239.1.2.3', 'ff02::1', '224.0.0.1', 'not-a-group'),
      }),
      fc.record({ type: fc.constantFrom('close', 'abort'), stream: streamId }),
      fc.record({
        type: fc.constant('set-option'),
        stream: streamId,
        option,
        value: fc.oneof(fc.integer(), fc.constantFrom(2 ** 53 - 1, -(2 ** 53 - 1))),
      }),
    )
    .map(strip);
}

/** A valid message with one thing wrong: a field of another type or value, a field gone, an unknown field. */
function nearValid(a: Pick<Arena, 'echoPort' | 'udpPort' | 'jwt'>): fc.Arbitrary<unknown> {
  return fc
    .record({
      base: validMessage(a),
      pick: fc.nat(),
      op: fc.constantFrom('replace', 'replace', 'delete', 'add', 'wrap'),
      value: fc.oneof({ weight: 4, arbitrary: anyValue }, { weight: 1, arbitrary: longText }),
      key: anyText(8),
    })
    .map(({ base, pick, op, value, key }) => {
      const keys = Object.keys(base);
      const field = keys[pick % keys.length] as string;
      const copy: Record<string, unknown> = { ...base };
      switch (op) {
        case 'replace':
          copy[field] = value;
          return copy;
        case 'delete':
          delete copy[field];
          return copy;
        case 'add':
          copy[key === field ? `${key}!` : key] = value;
          return copy;
        default:
          return [copy, value];
      }
    });
}

/** Split points for a payload: none mostly, else a few anywhere (inside a UTF-8 sequence too). */
const cuts = fc.option(fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 4 });
const withCuts = (input: fc.Arbitrary<Input>): fc.Arbitrary<Input> =>
  fc.tuple(input, cuts).map(([value, at]) => (at === undefined ? value : { ...value, cuts: at }));

/** Bytes that are not UTF-8: overlong, surrogates (CESU-8), past U+10FFFF, stray continuations, cut sequences. */
const badUtf8 = fc.constantFrom(
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xff],
  [0xfe],
  [0x80],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc3],
);

/** Text frames whose bytes may not be UTF-8: random bytes, and valid JSON with a bad sequence inside. */
const rawText: fc.Arbitrary<Input> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ text: bytes })),
  fc
    .tuple(fc.constantFrom('{"type":"', '{"type":"hello","version":1,"token":"', '{"type":"open","stream":1,"host":"'), badUtf8, anyText(4))
    .map(([head, bad, tail]) => ({ text: Buffer.concat([Buffer.from(head), Uint8Array.from(bad), Buffer.from(`${tail}"}`)]) })),
);

/** A text message of exactly `bytes` bytes (or one more), padded with a 4-byte character across the limit. */
const atTheLimit = fc
  .record({ over: fc.boolean(), pad: fc.constantFrom('😀', '€', 'a'), type: fc.constantFrom('hello', 'open', '€') })
  .map(({ over, pad, type }) => {
    const head = Buffer.from(`{"type":"${type}","host":"`);
    const tail = Buffer.from('"}');
    const room = MAX_MESSAGE_BYTES + (over ? 1 : 0) - head.byteLength - tail.byteLength;
    const unit = Buffer.from(pad);
    const fill = Buffer.from(pad.repeat(Math.floor(room / unit.byteLength)));
    return { text: Buffer.concat([head, fill, Buffer.alloc(room - fill.byteLength, 0x20), tail]) } as Input;
  });

/** Binary frames of every kind, well-formed and not, for live, closed and never-opened streams. */
function hostileFrame(a: Pick<Arena, 'echoPort' | 'udpPort'>): fc.Arbitrary<Input> {
  const datagramHost = fc.oneof(
    fc.constantFrom('', '127.0.0.1', 'echo.test', 'localhost', '::1', '::ffff:127.0.0.1', 'unknown.test', '0', 'x'.repeat(255)),
    fc.stringMatching(/^[\x21-\x7e]{0,40}$/),
  );
  const port = fc.oneof(fc.constantFrom(0, 1, 65535, a.echoPort, a.udpPort), fc.integer({ min: 0, max: 65535 }));
  const header = (kind: number, stream: number, body: Uint8Array): Uint8Array => {
    const bytes = Buffer.alloc(5 + body.byteLength);
    bytes[0] = kind;
    bytes.writeUInt32BE(stream, 1);
    bytes.set(body, 5);
    return bytes;
  };
  return fc
    .oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc
        .record({
          kind: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 })),
          stream: streamId,
          body: fc.uint8Array({ maxLength: 64 }),
        })
        .map(({ kind, stream, body }) => header(kind, stream, body)),
      fc
        .record({ stream: streamId, payload: fc.uint8Array({ maxLength: 1024 }) })
        .map(({ stream, payload }) => encodeData(stream, payload)),
      fc
        .record({ stream: streamId, bytes: fc.constantFrom(1, 2 ** 31, 0xffff_ffff) })
        .map(({ stream, bytes }) => encodeCredit(stream, bytes)),
      fc
        .record({ stream: streamId, count: fc.uint8Array({ maxLength: 8 }) })
        .map(({ stream, count }) => header(FrameKind.CREDIT, stream, count)),
      fc.record({ stream: streamId, bytes: fc.integer({ min: 1, max: 0xffff_ffff }) }).map(({ stream, bytes }) => encodeAck(stream, bytes)),
      fc
        .record({
          stream: streamId,
          host: datagramHost,
          port,
          payload: fc.oneof(
            { weight: 9, arbitrary: fc.uint8Array({ maxLength: 256 }) },
            { weight: 1, arbitrary: fc.constant(new Uint8Array(65508)) },
          ),
        })
        .map(({ stream, host, port, payload }) => encodeDatagram(stream, host, port, payload)),
      // A datagram header that lies: an address longer than the frame, or not printable ASCII.
      fc
        .record({ stream: streamId, port, length: fc.integer({ min: 0, max: 255 }), rest: fc.uint8Array({ maxLength: 32 }) })
        .map(({ stream, port, length, rest }) =>
          header(FrameKind.DATAGRAM, stream, Buffer.concat([Buffer.from([port >> 8, port & 0xff, length]), rest])),
        ),
    )
    .map((binary) => ({ binary }));
}

/** Any one hostile message, text or binary. */
function hostileInput(a: Pick<Arena, 'echoPort' | 'udpPort' | 'jwt'>, options: { big?: boolean } = {}): fc.Arbitrary<Input> {
  const json = fc.oneof(
    { weight: 3, arbitrary: validMessage(a) },
    { weight: 6, arbitrary: nearValid(a) },
    { weight: 2, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.record({ type: fc.oneof(anyText(60), longText) }) },
  );
  return withCuts(
    fc.oneof(
      { weight: 10, arbitrary: json.map((value) => text(toJson(value))) },
      { weight: 2, arbitrary: anyText(80).map(text) },
      { weight: 2, arbitrary: rawText },
      { weight: 6, arbitrary: hostileFrame(a) },
      { weight: options.big ? 1 : 0, arbitrary: atTheLimit },
    ),
  );
}

/** One step of a session's life: a message, or a pause that lets lookups, connects and binds finish. */
/** A message to send, a pause, or (in fixed examples only) waiting for the gateway's answer of a type. */
type Step = { send: Input } | { waitMs: number } | { awaitType: ServerMessage['type'] };

/**
 * Sequences of streams' lives on a few ids: opens and binds (each on the next id, or a used one),
 * connects, data, datagrams, credit, options, closes and aborts on the ids opened so far, with
 * pauses in between so that each message can meet each state (resolving, connecting, bound, ...).
 */
function lifecycle(a: Pick<Arena, 'echoPort' | 'udpPort' | 'tlsPort'>): fc.Arbitrary<Step[]> {
  const host = fc.constantFrom('127.0.0.1', '::1', 'localhost', 'echo.test', '::ffff:127.0.0.1', '127.1', '2130706433', '[::1]');
  // Mostly the allowed ports (either serves TCP or UDP: a rule names addresses and ports, not transports).
  const port = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(a.echoPort, a.udpPort, a.tlsPort) },
    { weight: 1, arbitrary: fc.constantFrom(1, 65535, 0) },
  );
  const payload = fc.uint8Array({ maxLength: 64 });
  // Which stream a step names: a new id, one opened before (by index), or one never opened.
  const which = fc.oneof(
    { weight: 3, arbitrary: fc.constant('new' as const) },
    { weight: 6, arbitrary: fc.nat(5) },
    { weight: 1, arbitrary: fc.constant('unknown' as const) },
  );
  type Make = (stream: number) => Input;
  const json = (message: Record<string, unknown>): Input =>
    text(JSON.stringify(Object.fromEntries(Object.entries(message).filter(([, value]) => value !== undefined))));
  const make: fc.Arbitrary<{ opens: boolean; make: Make }> = fc.oneof(
    fc
      .record({ transport: fc.constantFrom('tcp', 'udp'), host, port, family, window: fc.constantFrom(0, 1, 65536) })
      .map((m) => ({ opens: true, make: (stream: number) => json({ type: 'open', stream, ...m }) })),
    fc
      .record({
        address: fc.constantFrom('', '::', '::1', '127.0.0.1', '0.0.0.0', '::ffff:127.0.0.1'),
        flags: fc.integer({ min: 0, max: 7 }),
        window: fc.constantFrom(0, 1, 65536),
      })
      .map((m) => ({ opens: true, make: (stream: number) => json({ type: 'bind', stream, transport: 'udp', port: 0, ...m }) })),
    fc.record({ host, port, family }).map((m) => ({ opens: false, make: (stream: number) => json({ type: 'connect', stream, ...m }) })),
    fc.record({ host: fc.oneof(fc.constant(''), host), port, payload }).map(({ host, port, payload }) => ({
      opens: false,
      make: (stream: number) => ({ binary: encodeDatagram(stream, host.replace(/^\[|\]$/g, ''), port, payload) }),
    })),
    payload.map((bytes) => ({ opens: false, make: (stream: number) => ({ binary: encodeData(stream, bytes) }) })),
    fc
      .constantFrom(1, 65536, 0xffff_ffff)
      .map((bytes) => ({ opens: false, make: (stream: number) => ({ binary: encodeCredit(stream, bytes) }) })),
    fc.constantFrom('close', 'abort').map((type) => ({ opens: false, make: (stream: number) => json({ type, stream }) })),
    fc
      .record({
        option,
        value: fc.oneof(
          extremeNumber.filter((n): n is number => Number.isSafeInteger(n)),
          fc.integer(),
        ),
      })
      .map((m) => ({ opens: false, make: (stream: number) => json({ type: 'set-option', stream, ...m }) })),
    fc
      .record({ action: fc.constantFrom('join', 'leave'), group: fc.constantFrom('239.1.2.3', 'ff02::1') })
      .map((m) => ({ opens: false, make: (stream: number) => json({ type: 'multicast', stream, ...m }) })),
    // TLS requests: a TLS stream to whatever the host reaches (the echo server answers a ClientHello
    // with itself), refused specs, and start-tls and verdicts out of turn.
    fc
      .record({
        host,
        port,
        tls: fc.record(
          {
            peerName: host,
            verifyMode: fc.constantFrom('VerifyNone', 'QueryPeer', 'VerifyPeer', 'AutoVerifyPeer', 'Trust'),
            alpn: fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 3 }),
            ca: fc.record({ system: fc.boolean(), certificates: fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 2 }) }),
          },
          { requiredKeys: [] },
        ),
      })
      .map((m) => ({ opens: true, make: (stream: number) => json({ type: 'open', stream, transport: 'tcp', window: 65536, ...m }) })),
    fc
      .record({ tls: fc.record({ peerName: host }, { requiredKeys: [] }) })
      .map((m) => ({ opens: false, make: (stream: number) => json({ type: 'start-tls', stream, ...m }) })),
    fc.oneof(fc.boolean(), fc.constant('yes')).map((proceed) => ({
      opens: false,
      make: (stream: number) => json({ type: 'tls-verdict', stream, proceed }),
    })),
  );
  const step = fc.oneof(
    { weight: 3, arbitrary: fc.record({ which, make }) },
    { weight: 2, arbitrary: fc.constantFrom(0, 2, 10).map((waitMs) => ({ waitMs })) },
  );
  return fc.array(step, { minLength: 1, maxLength: 16 }).map((steps) => {
    const opened: number[] = [];
    let last = 0;
    return steps.map((item): Step => {
      if ('waitMs' in item) return item;
      const { which, make } = item;
      let stream: number;
      if (which === 'unknown') stream = 1000;
      else if (which === 'new' || opened.length === 0) stream = last + 1;
      else stream = opened[which % opened.length] as number;
      if (make.opens && stream > last) {
        last = stream;
        opened.push(stream);
      }
      return { send: make.make(stream) };
    });
  });
}

/**
 * A TLS stream to the TLS server (its certificate self-signed) that is encrypted before anything else
 * is sent on it: unverified, or after the client says to go on despite the errors.
 */
function tlsLife(a: Pick<Arena, 'tlsPort'>, verifyMode: 'VerifyNone' | 'VerifyPeer', abort: boolean): Step[] {
  const json = (message: object): Step => ({ send: text(JSON.stringify(message)) });
  const verdict = json({ type: 'tls-verdict', stream: 1, proceed: true });
  return [
    json({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port: a.tlsPort, window: 65536, tls: { verifyMode } }),
    ...(verifyMode === 'VerifyPeer' ? [{ awaitType: 'tls-errors' } as const, verdict] : []),
    { awaitType: 'encrypted' },
    { send: { binary: encodeData(1, new Uint8Array([1, 2, 3])) } },
    verdict,
    json({ type: 'start-tls', stream: 1 }),
    { waitMs: 2 },
    json({ type: abort ? 'abort' : 'close', stream: 1 }),
  ];
}

// ---- sessions and what the gateway must answer ---------------------------------------------------------

/** Asserts every frame the gateway sent is well-formed, and returns its control messages. */
function serverMessages(ws: RawWebSocket): ServerMessage[] {
  const messages: ServerMessage[] = [];
  for (const frame of ws.frames) {
    if (frame.opcode === Opcode.TEXT) {
      const parsed = parseServerMessage(frame.payload.toString());
      expect(parsed, `a control message the gateway sent: ${frame.payload.toString().slice(0, 200)}`).toMatchObject({ ok: true });
      if (parsed.ok) messages.push(parsed.value);
    } else if (frame.opcode === Opcode.BINARY) {
      expect(decodeFrame(frame.payload).ok, 'a binary frame the gateway sent decodes').toBe(true);
    } else if (frame.opcode === Opcode.CLOSE) {
      // A close reason fits a control frame and is UTF-8: ws on the other side would refuse it otherwise.
      expect(frame.payload.byteLength).toBeLessThanOrEqual(125);
      expect(isUtf8(frame.payload.subarray(2)), 'the close reason is UTF-8').toBe(true);
    }
  }
  return messages;
}

/** Control messages already returned by `waitFor`, per session. */
const claimed = new WeakMap<RawWebSocket, Set<number>>();

/** Waits for a control message from the gateway not returned before, or fails (the gateway hangs) after ANSWER_MS. */
async function waitFor(ws: RawWebSocket, test: (message: ServerMessage) => boolean, what: string): Promise<ServerMessage> {
  const taken = claimed.get(ws) ?? new Set<number>();
  claimed.set(ws, taken);
  const deadline = Date.now() + ANSWER_MS;
  for (;;) {
    for (const [i, frame] of ws.frames.entries()) {
      if (frame.opcode !== Opcode.TEXT || taken.has(i)) continue;
      const parsed = parseServerMessage(frame.payload.toString());
      if (parsed.ok && test(parsed.value)) {
        taken.add(i);
        return parsed.value;
      }
    }
    // Any new text frame wakes this loop up to look again.
    if (Date.now() >= deadline || (await ws.next(Opcode.TEXT, deadline - Date.now())) === undefined) {
      throw new Error(`no ${what} within ${ANSWER_MS} ms; received ${JSON.stringify(serverMessages(ws)).slice(0, 2000)}`);
    }
  }
}

/** The close code and reason, or fails (the gateway hangs) when the session is not closed within ANSWER_MS. */
async function closedWithin(ws: RawWebSocket): Promise<{ code: number; reason: string }> {
  const waiting = new AbortController();
  const closed = await Promise.race([ws.closed, sleep(ANSWER_MS, undefined, { signal: waiting.signal }).catch(() => undefined)]);
  waiting.abort();
  if (closed === undefined) {
    ws.destroy();
    throw new Error(`the session was not closed within ${ANSWER_MS} ms; received ${JSON.stringify(serverMessages(ws))}`);
  }
  return { code: closed.code, reason: closed.reason.toString() };
}

/**
 * Asserts `ws` (the library) closed the session with `code` for a message it refuses itself. When
 * bytes follow that message, ws may reset the connection instead, and the close frame is lost
 * (1006); the gateway process must still be alive then.
 */
async function expectRefusedByWs(a: Arena, ws: RawWebSocket, code: number): Promise<void> {
  const closed = await closedWithin(ws);
  if (closed.code === 1006) await a.gw.assertAlive();
  else expect(closed.code, 'the close code ws sends for a message it refuses').toBe(code);
  serverMessages(ws);
}

/** Sends a ping; resolves true on its pong, false when the session closed instead. Fails when neither comes in time. */
async function pings(ws: RawWebSocket): Promise<boolean> {
  ws.write(encodeWebSocketFrame(Opcode.PING, Buffer.from('sync')));
  const deadline = Date.now() + ANSWER_MS;
  for (;;) {
    const pong = await ws.next(Opcode.PONG, Math.max(1, deadline - Date.now()));
    if (pong?.payload.toString() === 'sync') return true;
    if (pong === undefined) {
      const ended = await Promise.race([ws.ended.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10))]);
      if (ended) return false;
      throw new Error(`no pong within ${ANSWER_MS} ms: the session hangs`);
    }
  }
}

/** Ends a session the normal way and waits until it is gone. */
async function leave(ws: RawWebSocket): Promise<void> {
  ws.write(encodeWebSocketFrame(Opcode.CLOSE, closePayload(1000)));
  await closedWithin(ws);
}

type FirstOutcome = 'welcome' | { code: number; reason?: string | RegExp };

/** What the gateway must do with `input` as the first message of a session. */
function firstOutcome(input: Input, a: Pick<Arena, 'jwt'>): FirstOutcome {
  const refused = wsRefusal(input);
  if (refused !== undefined) return { code: refused };
  if ('binary' in input) return { code: CloseCode.PROTOCOL_ERROR, reason: 'the first message must be a hello text frame' };
  const parsed = parseClientMessage(Buffer.from(input.text).toString('utf8'));
  if (!parsed.ok) return { code: CloseCode.PROTOCOL_ERROR, reason: /^bad hello: / };
  const message = parsed.value;
  if (message.type !== 'hello') return { code: CloseCode.PROTOCOL_ERROR, reason: `the first message must be hello, got ${message.type}` };
  if (message.version !== PROTOCOL_VERSION) return { code: CloseCode.VERSION_MISMATCH, reason: /^protocol version \d+ is not supported/ };
  return message.token === TOKEN || message.token === a.jwt
    ? 'welcome'
    : { code: CloseCode.UNAUTHORIZED, reason: /^the token is not accepted/ };
}

/** Sends `input` as the first message of a new session and checks the gateway's answer against `firstOutcome`. */
async function sendFirst(a: Arena, input: Input): Promise<void> {
  const ws = await rawWebSocket(a.gw.url);
  ws.write(...framesOf(input));
  const expected = firstOutcome(input, a);
  if (expected === 'welcome') {
    await waitFor(ws, (m) => m.type === 'welcome', 'welcome');
    await leave(ws);
    return;
  }
  if (expected.code === wsRefusal(input)) {
    await expectRefusedByWs(a, ws, expected.code);
    return;
  }
  const closed = await closedWithin(ws);
  expect(closed.code, `close code for a first message of ${payloadOf(input).byteLength} bytes`).toBe(expected.code);
  if (typeof expected.reason === 'string') expect(closed.reason).toBe(expected.reason);
  else if (expected.reason) expect(closed.reason).toMatch(expected.reason);
  expect(serverMessages(ws).filter((m) => m.type === 'welcome')).toEqual([]);
}

/**
 * A session past `welcome`; with `streams`, it holds stream 1 (TCP, connected to the echo server),
 * 2 (UDP, bound) and 3 (UDP, connected to the UDP echo server).
 */
async function authenticated(a: Arena, streams: boolean): Promise<RawWebSocket> {
  const ws = await rawWebSocket(a.gw.url);
  ws.write(ws.text(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token: TOKEN })));
  await waitFor(ws, (m) => m.type === 'welcome', 'welcome');
  if (!streams) return ws;
  ws.write(
    ws.text(JSON.stringify({ type: 'open', stream: 1, transport: 'tcp', host: '127.0.0.1', port: a.echoPort, window: 65536 })),
    ws.text(JSON.stringify({ type: 'bind', stream: 2, transport: 'udp', address: '', port: 0, window: 65536 })),
    ws.text(JSON.stringify({ type: 'open', stream: 3, transport: 'udp', host: 'echo.test', port: a.udpPort, window: 65536 })),
  );
  await waitFor(ws, (m) => m.type === 'connected' && m.stream === 1, 'stream 1 connected');
  await waitFor(ws, (m) => m.type === 'bound' && m.stream === 2, 'stream 2 bound');
  await waitFor(ws, (m) => m.type === 'connected' && m.stream === 3, 'stream 3 connected');
  return ws;
}

/** True when `wanted` appears in `within` in order (other items may come between). */
function isSubsequence(wanted: readonly string[], within: readonly string[]): boolean {
  let at = 0;
  for (const item of within) if (item === wanted[at]) at++;
  return at === wanted.length;
}

/**
 * After `welcome`, the gateway answers `inputs`: each malformed one with its protocol-error, in
 * order, and the session goes on (a ping after them is answered); or `ws` closes the session at the
 * first input it refuses itself (1009, 1007), with that code.
 */
async function expectAnswered(a: Arena, ws: RawWebSocket, inputs: readonly Input[]): Promise<void> {
  const refusedAt = inputs.findIndex((input) => wsRefusal(input) !== undefined);
  const answered = await pings(ws);
  if (refusedAt >= 0) {
    expect(answered, 'a ping after a message ws refuses').toBe(false);
    await expectRefusedByWs(a, ws, wsRefusal(inputs[refusedAt] as Input) as number);
    return;
  }
  expect(answered, `the session goes on; it closed with ${answered ? '' : JSON.stringify(await closedWithin(ws))}`).toBe(true);
  const wanted = inputs.flatMap((input) => malformed(input) ?? []);
  const errors = serverMessages(ws).flatMap((m) =>
    m.type === 'protocol-error' && ['BAD_JSON', 'BAD_MESSAGE', 'BAD_FRAME'].includes(m.code) ? [m.code] : [],
  );
  expect(isSubsequence(wanted, errors), `protocol-errors ${JSON.stringify(errors)} answer ${JSON.stringify(wanted)} in order`).toBe(true);
  await leave(ws);
}

/**
 * Writes `request` (a whole HTTP request, in bytes) on a new connection and reads the answer's
 * status; a 101 is then closed as a client would. Fails when the gateway neither answers nor closes.
 */
async function exchange(port: number, request: Uint8Array): Promise<number | undefined> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.write(request);
  let received = Buffer.alloc(0);
  const answer = await new Promise<number | undefined | 'hang'>((resolve) => {
    const timer = setTimeout(() => resolve('hang'), ANSWER_MS);
    const done = (status: number | undefined): void => {
      clearTimeout(timer);
      resolve(status);
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const head = /^HTTP\/1\.1 (\d{3}) /.exec(received.toString('latin1'));
      if (head && received.includes('\r\n\r\n')) done(Number(head[1]));
    });
    socket.once('close', () => done(undefined));
  });
  if (answer === 101) socket.write(encodeWebSocketFrame(Opcode.CLOSE, closePayload(1000)));
  socket.destroy();
  if (answer === 'hang')
    throw new Error(`no answer to an upgrade request within ${ANSWER_MS} ms: ${Buffer.from(request).toString('latin1').slice(0, 300)}`);
  return answer;
}

// ---- the suite -------------------------------------------------------------------------------------------

describe('before hello', () => {
  it('closes a session on any first message with its documented code and a reason that fits, never crashing', async () => {
    const a = await arena();
    await fc.assert(
      fc.asyncProperty(hostileInput(a), (input) => a.guard(() => sendFirst(a, input))),
      RUNS,
    );
    await a.check();
    // Text the session quotes into its close reason: multi-byte characters well past 123 bytes.
    for (const type of ['€'.repeat(50), '😀'.repeat(40), '\uD800'.repeat(60), 'é'.repeat(70)]) {
      await sendFirst(a, text(JSON.stringify({ type })));
    }
    await a.check();
  });

  it('closes on text frames that are not UTF-8 (1007), binary first frames (4400) and messages at the size limit', async () => {
    const a = await arena();
    await fc.assert(
      fc.asyncProperty(fc.oneof(withCuts(rawText), hostileFrame(a), atTheLimit), (input) => a.guard(() => sendFirst(a, input))),
      { ...RUNS, numRuns: 200 },
    );
    await a.check();
  });

  it('keeps up to 64 messages behind a hello whose JWT is being verified, handles them in order after welcome, and closes beyond', async () => {
    const a = await arena();
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(hostileInput(a), { maxLength: MAX_EARLY_MESSAGES + 6 }), (goodTicket, inputs) =>
        a.guard(async () => {
          const ws = await rawWebSocket(a.gw.url);
          const token = goodTicket ? a.jwt : `${a.jwt.slice(0, -4)}AAAA`;
          // One write: every message is there before the signature check can finish.
          ws.write(ws.text(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token })), ...inputs.flatMap(framesOf));
          // The first message that ends the session decides: one ws refuses, or the 65th while the check runs.
          const last = inputs.findIndex((input, i) => wsRefusal(input) !== undefined || i >= MAX_EARLY_MESSAGES);
          const ender = inputs[last];
          if (ender !== undefined && wsRefusal(ender) !== undefined) {
            await expectRefusedByWs(a, ws, wsRefusal(ender) as number);
          } else if (ender !== undefined) {
            expect(await closedWithin(ws)).toEqual({
              code: CloseCode.PROTOCOL_ERROR,
              reason: `more than ${MAX_EARLY_MESSAGES} messages before welcome`,
            });
          } else if (goodTicket) {
            await waitFor(ws, (m) => m.type === 'welcome', 'welcome');
            await expectAnswered(a, ws, inputs);
          } else {
            expect((await closedWithin(ws)).code).toBe(CloseCode.UNAUTHORIZED);
          }
          serverMessages(ws);
        }),
      ),
      { ...RUNS, numRuns: 200 },
    );
    await a.check();
  });
});

describe('after welcome', () => {
  it('answers every malformed message with a protocol-error and goes on, with live, closed and unknown streams', async () => {
    const a = await arena();
    await fc.assert(
      fc.asyncProperty(fc.array(hostileInput(a), { minLength: 1, maxLength: 8 }), (inputs) =>
        a.guard(async () => {
          const ws = await authenticated(a, true);
          for (const input of inputs) ws.write(...framesOf(input));
          await expectAnswered(a, ws, inputs);
        }),
      ),
      { ...RUNS, numRuns: 400 },
    );
    await a.check();
  });

  it('answers binary frames of every kind, and messages at the byte limits, without ending other sessions', async () => {
    const a = await arena();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(hostileFrame(a), withCuts(rawText), atTheLimit), { minLength: 1, maxLength: 8 }), (inputs) =>
        a.guard(async () => {
          const ws = await authenticated(a, true);
          for (const input of inputs) ws.write(...framesOf(input));
          await expectAnswered(a, ws, inputs);
        }),
      ),
      { ...RUNS, numRuns: 200 },
    );
    await a.check();
  });

  it('checks string limits in characters while the message limit counts bytes, before and after hello', async () => {
    const a = await arena();
    const limits: Array<[string, number, (value: string) => object]> = [
      ['token', 8192, (token) => ({ type: 'hello', version: PROTOCOL_VERSION, token })],
      ['host', 253, (host) => ({ type: 'open', stream: 9, transport: 'tcp', host, port: a.echoPort, window: 1 })],
      ['group', 64, (group) => ({ type: 'multicast', stream: 2, action: 'join', group })],
      ['address', 64, (address) => ({ type: 'bind', stream: 9, transport: 'udp', address, port: 0, window: 1 })],
      [
        'alpn',
        255,
        (protocol) => ({
          type: 'open',
          stream: 9,
          transport: 'tcp',
          host: 'echo.test',
          port: a.echoPort,
          window: 1,
          tls: { alpn: [protocol] },
        }),
      ],
      [
        'user',
        255,
        (user) => ({
          type: 'open',
          stream: 9,
          transport: 'tcp',
          host: 'echo.test',
          port: a.echoPort,
          window: 1,
          proxy: { type: 'socks5', host: 'echo.test', port: 1, user },
        }),
      ],
    ];
    for (const [field, limit, message] of limits) {
      // 1 to 4 bytes a character; a lone surrogate is one character of 3 bytes (U+FFFD) on the wire.
      for (const char of ['a', '€', '😀', '\uD83D', '\u0000']) {
        for (const count of [limit - 1, limit, limit + 1]) {
          // A host is an ASCII name of labels of at most 63 (here 50, with no dot at the cut): any
          // other character makes it malformed, whatever its length.
          const value = field === 'host' && char === 'a' ? `${'a'.repeat(50)}.`.repeat(6).slice(0, count) : char.repeat(count);
          const valid = count <= limit && (field !== 'host' || char === 'a');
          const json = JSON.stringify(message(value));
          expect(parseClientMessage(json).ok, `${field} of ${count} × ${JSON.stringify(char)}`).toBe(valid);
          // Before hello (the session quotes the problem in its close reason), then after.
          await sendFirst(a, text(json));
          const ws = await authenticated(a, true);
          ws.write(ws.text(json));
          await expectAnswered(a, ws, [text(json)]);
        }
      }
    }
    // Whole messages of exactly the limit in bytes and one byte more, a 4-byte character across the edge.
    for (const over of [false, true]) {
      for (const pad of ['😀', '€', 'a']) {
        const head = `{"type":"open","stream":9,"host":"`;
        const room = MAX_MESSAGE_BYTES + (over ? 1 : 0) - Buffer.byteLength(head) - 2;
        const fill = pad.repeat(Math.floor(room / Buffer.byteLength(pad)));
        const input = text(`${head}${fill}${' '.repeat(room - Buffer.byteLength(fill))}"}`);
        expect(payloadOf(input).byteLength).toBe(MAX_MESSAGE_BYTES + (over ? 1 : 0));
        await sendFirst(a, input);
        const ws = await authenticated(a, true);
        ws.write(...framesOf(input));
        await expectAnswered(a, ws, [input]);
      }
    }
    await a.check();
  });
});

describe('stream life cycles', () => {
  it('survives every order of opens, binds, connects, data, options and closes on live streams', async () => {
    const a = await arena();
    await fc.assert(
      fc.asyncProperty(lifecycle(a), (steps) =>
        a.guard(async () => {
          const ws = await authenticated(a, false);
          for (const step of steps) {
            if ('send' in step) ws.write(...framesOf(step.send));
            else if ('awaitType' in step) await waitFor(ws, (m) => m.type === step.awaitType, step.awaitType);
            else await new Promise((resolve) => setTimeout(resolve, step.waitMs));
          }
          await expectAnswered(
            a,
            ws,
            steps.flatMap((step) => ('send' in step ? [step.send] : [])),
          );
          // A fault in a callback that runs after the last answer ends the process by now.
          await a.gw.assertAlive();
        }),
      ),
      {
        ...RUNS,
        numRuns: 300,
        // Random runs finish a handshake only now and then (a session may end first): these always do,
        // then meet data, a verdict out of turn, a second start-tls and a close on the encrypted stream.
        examples: [[tlsLife(a, 'VerifyNone', false)], [tlsLife(a, 'VerifyPeer', true)]],
      },
    );
    // The runs reached real TLS handshakes, not only refusals.
    expect(a.tlsHandshakes()).toBeGreaterThan(0);
    await a.check();
  });

  it('connects a bound UDP stream of every address family to every spelling of an allowed peer, or says why not', async () => {
    const a = await arena();
    for (const address of ['', '::', '::1', '127.0.0.1', '0.0.0.0', '::ffff:127.0.0.1']) {
      for (const host of ['127.0.0.1', '::ffff:127.0.0.1', 'localhost', 'echo.test', '::1']) {
        for (const family of ['any', 'ipv4', 'ipv6']) {
          await a.guard(async () => {
            const ws = await authenticated(a, false);
            ws.write(ws.text(JSON.stringify({ type: 'bind', stream: 1, transport: 'udp', address, port: 0, window: 65536 })));
            const bound = await waitFor(ws, (m) => m.type === 'bound' || m.type === 'error', 'bound or error');
            if (bound.type === 'error') {
              expect(bound, `bind to ${JSON.stringify(address)}`).toMatchObject({ error: 'SocketAddressNotAvailableError' });
              await leave(ws);
              return;
            }
            ws.write(ws.text(JSON.stringify({ type: 'connect', stream: 1, host, port: a.udpPort, family })));
            // Connected (then a datagram comes back from the echo server), or one error for the stream.
            const outcome = await waitFor(ws, (m) => 'stream' in m && (m.type === 'connected' || m.type === 'error'), 'connected or error');
            if (outcome.type === 'connected') {
              ws.write(ws.binary(encodeDatagram(1, '', 0, Buffer.from('ping'))));
              await until(
                () => ws.frames.some((f) => f.opcode === Opcode.BINARY && decodeFrame(f.payload).ok),
                ANSWER_MS,
                `the echo for ${address} -> ${host}`,
              );
            }
            await a.gw.assertAlive();
            await leave(ws);
          });
        }
      }
    }
    await a.check();
  });
});

describe('the HTTP upgrade', () => {
  it('answers malformed upgrade requests with an HTTP error, never a crash or a 500', async () => {
    const a = await arena();
    const base: Array<[string, string]> = [
      ['Host', `127.0.0.1:${a.gw.port}`],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Protocol', 'socketgate.v1'],
    ];
    const value = fc.oneof(
      fc.constantFrom(
        '',
        ' ',
        'socketgate.v1, socketgate.v1',
        ',,,',
        'websocket, h2c',
        '8',
        '13, 8',
        'permessage-deflate',
        'null',
        'https://evil.test',
        'x'.repeat(8000),
      ),
      anyText(30),
    );
    const name = fc.constantFrom(
      'Sec-WebSocket-Extensions',
      'Origin',
      'Sec-WebSocket-Protocol',
      'X-Forwarded-For',
      'Content-Length',
      'Transfer-Encoding',
      'Expect',
      'Host',
    );
    const mutation = fc.oneof(
      fc.record({ drop: fc.nat(5) }),
      fc.record({ replace: fc.nat(5), value }),
      fc.record({ duplicate: fc.nat(5) }),
      fc.record({ add: name, value }),
    );
    const request = fc.record({
      method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'get'),
      path: fc.constantFrom(
        '/v1/socket',
        '/v1/socket?token=x',
        '//v1/socket',
        '/v1/socket/',
        '/v1/%73ocket',
        '/v1/socket%00',
        '*',
        `http://127.0.0.1/v1/socket`,
        `/${'a'.repeat(20_000)}`,
      ),
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'),
      mutations: fc.array(mutation, { maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(request, ({ method, path, version, mutations }) =>
        a.guard(async () => {
          const headers = [...base];
          for (const m of mutations) {
            if ('drop' in m) headers.splice(m.drop % headers.length, 1);
            else if ('replace' in m && headers.length > 0) (headers[m.replace % headers.length] as [string, string])[1] = m.value;
            else if ('duplicate' in m && headers.length > 0) headers.push(headers[m.duplicate % headers.length] as [string, string]);
            else if ('add' in m) headers.push([m.add, m.value]);
          }
          // Header values go out as UTF-8 bytes: whatever a client can put on the wire.
          const bytes = Buffer.from(`${method} ${path} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
          const status = await exchange(a.gw.port, bytes);
          if (status !== undefined) expect([101, 400, 403, 404, 405, 413, 417, 426, 431, 505]).toContain(status);
        }),
      ),
      { ...RUNS, numRuns: 200 },
    );
    await a.check();
  });
});

describe('WebSocket-level abuse', () => {
  it('survives 128 WebSockets that each send one hostile first message, then leave, vanish or never answer the close', async () => {
    const a = await arena();
    const firsts: Input[] = [
      text(JSON.stringify({ type: '€'.repeat(50) })),
      text(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token: '😀'.repeat(4096) })),
      text(JSON.stringify(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`€${i}`, i])))),
      { text: Uint8Array.of(0x7b, 0xed, 0xa0, 0x80, 0x7d) },
      { binary: encodeData(1, Buffer.from('before hello')) },
      { text: Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x61) },
      text('{"type":"hello","version":1e400,"token":"x"}'),
      text(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token: `${a.jwt.slice(0, -2)}xx` })),
    ];
    const silent: RawWebSocket[] = [];
    onTestFinished(() => {
      for (const ws of silent) ws.destroy();
    });
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(
        Array.from({ length: 32 }, async (_, i) => {
          const style = i % 3;
          const ws = await rawWebSocket(a.gw.url, { answerClose: style === 0 });
          ws.write(...framesOf(firsts[(batch * 32 + i) % firsts.length] as Input));
          if (style === 1) ws.destroy();
          else if (style === 2) silent.push(ws);
          else await closedWithin(ws);
        }),
      );
      await a.check({ sessionsLeft: false });
    }
    // The silent ones got their close frame and never answered; a new client is still welcome.
    for (const ws of silent) expect(ws.frames.some((frame) => frame.opcode === Opcode.CLOSE)).toBe(true);
    await leave(await authenticated(a, false));
    await a.check({ sessionsLeft: false });
    for (const ws of silent) ws.destroy();
    await a.check();
  });

  it('answers close frames with long, invalid or reserved codes and reasons, before and after hello', async () => {
    const a = await arena();
    const reason = (bytes: number, char = 'a'): string => char.repeat(Math.floor(bytes / Buffer.byteLength(char)));
    const cases: Array<[string, Buffer, number]> = [
      ['an empty close', Buffer.alloc(0), 1005],
      ['a 1-byte close', Buffer.of(0x03), 1002],
      ['a 123-byte reason', closePayload(1000, reason(123)), 1000],
      ['a 123-byte reason of 4-byte characters and ASCII', closePayload(4000, `${reason(120, '😀')}abc`), 4000],
      ['a 124-byte reason (a control frame over 125 bytes)', closePayload(1000, reason(124)), 1002],
      ['a 4000-byte reason', closePayload(1000, reason(4000, '€')), 1002],
      ['a reason that is not UTF-8', closePayload(1000, Uint8Array.of(0xed, 0xa0, 0x80)), 1007],
      ['a reason cut inside a character', closePayload(1000, Buffer.from('😀').subarray(0, 3)), 1007],
      ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code): [string, Buffer, number] => [
        `code ${code}`,
        closePayload(code, 'x'),
        1002,
      ]),
      ...[1001, 1003, 1011, 3000, 4400, 4999].map((code): [string, Buffer, number] => [`code ${code}`, closePayload(code, 'bye'), code]),
    ];
    for (const [name, payload, code] of cases) {
      for (const phase of ['before hello', 'after hello'] as const) {
        const ws = phase === 'before hello' ? await rawWebSocket(a.gw.url) : await authenticated(a, true);
        ws.write(encodeWebSocketFrame(Opcode.CLOSE, payload));
        expect((await closedWithin(ws)).code, `${name} ${phase}`).toBe(code);
        serverMessages(ws);
      }
    }
    await a.check();
  });

  it('pongs 125-byte pings, survives a ping flood, and closes with 1002 on frames the protocol forbids', async () => {
    const a = await arena();
    const ping125 = Buffer.alloc(125, '€');
    for (const phase of ['before hello', 'after hello'] as const) {
      const open = (): Promise<RawWebSocket> => (phase === 'before hello' ? rawWebSocket(a.gw.url) : authenticated(a, true));
      // A ping of the largest size a control frame allows, answered with the same bytes.
      const ws = await open();
      ws.write(encodeWebSocketFrame(Opcode.PING, ping125), encodeWebSocketFrame(Opcode.PONG, ping125));
      expect((await ws.next(Opcode.PONG))?.payload).toEqual(ping125);
      // A ping in the middle of a fragmented message, which the protocol allows.
      const hello = Buffer.from(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, token: TOKEN, '€': 1 }));
      ws.write(
        encodeWebSocketFrame(Opcode.TEXT, hello.subarray(0, 7), { fin: false }),
        encodeWebSocketFrame(Opcode.PING, ping125),
        encodeWebSocketFrame(Opcode.CONTINUATION, hello.subarray(7)),
      );
      expect((await ws.next(Opcode.PONG))?.payload).toEqual(ping125);
      if (phase === 'before hello') expect((await closedWithin(ws)).code).toBe(CloseCode.PROTOCOL_ERROR);
      else await expectAnswered(a, ws, [text(hello.toString())]);

      // A flood of pings from a client that never reads: ws answers or drops the connection; nothing else.
      const flood = await open();
      flood.socket.pause();
      flood.write(...Array.from({ length: 2000 }, () => encodeWebSocketFrame(Opcode.PING, ping125)));
      flood.socket.resume();
      await pings(flood);
      flood.destroy();
      await a.gw.assertAlive();

      const forbidden: Array<[string, Buffer[]]> = [
        ['a 126-byte ping', [encodeWebSocketFrame(Opcode.PING, Buffer.alloc(126))]],
        ['a fragmented ping', [encodeWebSocketFrame(Opcode.PING, Buffer.from('a'), { fin: false })]],
        ['an unmasked frame', [encodeWebSocketFrame(Opcode.TEXT, Buffer.from('{}'), { mask: false })]],
        ['RSV1 without compression', [encodeWebSocketFrame(Opcode.TEXT, Buffer.from('{}'), { rsv: 4 })]],
        ['reserved opcode 3', [encodeWebSocketFrame(0x3, Buffer.from('x'))]],
        ['reserved opcode 0xB', [encodeWebSocketFrame(0xb, Buffer.from('x'))]],
        ['a continuation with nothing to continue', [encodeWebSocketFrame(Opcode.CONTINUATION, Buffer.from('x'))]],
        [
          'a new message inside a fragmented one',
          [encodeWebSocketFrame(Opcode.TEXT, Buffer.from('{'), { fin: false }), encodeWebSocketFrame(Opcode.BINARY, Buffer.from('x'))],
        ],
      ];
      for (const [name, frames] of forbidden) {
        const ws = await open();
        ws.write(...frames);
        expect((await closedWithin(ws)).code, `${name} ${phase}`).toBe(1002);
        serverMessages(ws);
      }
      // A declared length of 2^63 - 1 bytes: refused as too large before any of it arrives.
      const huge = await open();
      huge.write(Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
      expect((await closedWithin(huge)).code).toBe(1009);
    }
    await a.check();
  });
});

/**
 * TLS streams under every order a client can make of them, against gateway processes (an exception
 * or a crash in the TLS code ends the process, which the test sees): random TLS settings over the
 * whole of Unicode where the protocol takes text, every certificate case, verdicts given, refused,
 * late, twice or never, aborts and closes at each point, data too early, with the operator letting
 * clients ignore errors and not.
 */
import { encodeData } from '@socketgate/protocol';
import { type GatewayProcess, makeTestPki, type RawSession, rawSession, startGatewayProcess, startTlsServer } from '@socketgate/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOKEN = 'tls-hostile-token-0123456789';
const CASES = ['valid', 'expired', 'selfSigned', 'wrongName', 'incompleteChain', 'notYetValid'] as const;
const pki = makeTestPki();
const servers: Array<{ port: number; close(): Promise<void> }> = [];
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  for (const name of CASES) servers.push(await startTlsServer({ certificate: pki[name], alpn: ['h2', 'imap'] }));
  for (const [allowIgnoreErrors, clientCertificates] of [
    [true, true],
    [false, false],
  ]) {
    gateways.push(
      await startGatewayProcess({
        tokens: [TOKEN],
        allow: servers.map((server) => `127.0.0.1/32:${server.port}`),
        names: { localhost: ['127.0.0.1'], 'tls.test': ['127.0.0.1'] },
        tls: { allowIgnoreErrors, clientCertificates, decisionTimeoutMs: 100 },
        maxProtocolErrorsPerSecond: 1_000_000,
        maxControlMessagesPerSecond: 1_000_000,
        maxOpensPerSecond: 1_000_000,
      }),
    );
  }
});
afterAll(async () => {
  await Promise.all([...gateways.map((gw) => gw.stop()), ...servers.map((server) => server.close())]);
  pki.remove();
});

/** Text from the whole of Unicode, lone surrogates included. */
const unicode = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
/** Mostly what a real client sends, sometimes what none would: the rare parts come with weights. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
const spec = fc
  .record({
    peerName: rarely(fc.constantFrom('localhost', 'tls.test', '127.0.0.1', 'elsewhere.test', '[::1]', 'xn--bcher-kva.test')),
    verifyMode: fc.constantFrom(undefined, 'VerifyNone', 'QueryPeer', 'VerifyPeer', 'AutoVerifyPeer'),
    verifyDepth: rarely(fc.integer({ min: 0, max: 64 })),
    ca: fc.oneof(
      fc.constant(undefined),
      fc.constant({ system: false, certificates: [pki.ca.pem] }),
      fc.record({
        system: fc.boolean(),
        certificates: fc.array(fc.oneof(fc.constant(pki.ca.pem), fc.constant(pki.selfSigned.pem), rarely(unicode(64))), { maxLength: 2 }),
      }),
    ),
    protocol: rarely(fc.constantFrom('TlsV1_2', 'TlsV1_3', 'TlsV1_2OrLater', 'TlsV1_3OrLater', 'SecureProtocols', 'AnyProtocol')),
    alpn: rarely(
      fc.array(
        fc.oneof(
          fc.constantFrom('h2', 'imap'),
          unicode(255).filter((name) => name.length > 0),
        ),
        { maxLength: 3 },
      ),
    ),
    key: rarely(
      fc.record({
        certificate: fc.constantFrom(pki.clientOnly.pem, 'not a certificate ✓'),
        privateKey: fc.constantFrom(pki.clientOnly.key, 'not a key ✓'),
      }),
    ),
  })
  .map(({ key, ca, ...rest }) => {
    const certificates = ca?.certificates.filter((pem): pem is string => typeof pem === 'string' && pem.length > 0);
    const fields = { ...rest, ...key, ...(ca === undefined ? {} : { ca: { system: ca.system, certificates: certificates ?? [] } }) };
    return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  });
/** What the client does once the gateway has said something about the stream, or at once. */
const reaction = fc.constantFrom('proceed', 'refuse', 'twice', 'ignore', 'abort', 'close', 'data', 'start-tls');
const run = fc.record({
  gateway: fc.nat(1),
  server: fc.nat(CASES.length - 1),
  how: fc.constantFrom('open', 'start-tls'),
  spec,
  reactions: fc.array(reaction, { minLength: 1, maxLength: 3 }),
  waitMs: fc.constantFrom(0, 5, 50),
});

const TERMINAL = new Set(['encrypted', 'error', 'closed', 'end', 'protocol-error']);

/** The control messages received for `stream` so far. */
const messagesOf = (raw: RawSession, stream: number) =>
  raw.received.flatMap((item) =>
    item.kind === 'message' && 'stream' in item.message && item.message.stream === stream ? [item.message] : [],
  );

async function settle(raw: RawSession, stream: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !messagesOf(raw, stream).some((message) => TERMINAL.has(message.type))) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('TLS streams against hostile clients', () => {
  it('answers every TLS request in every order, and the gateway lives', async () => {
    let stream = 0;
    const sessions = await Promise.all(gateways.map((gw) => rawSession(gw.url, TOKEN)));
    try {
      await fc.assert(
        fc.asyncProperty(run, async ({ gateway, server, how, spec: tls, reactions, waitMs }) => {
          const raw = sessions[gateway] as RawSession;
          const id = ++stream;
          const port = (servers[server] as { port: number }).port;
          const open = { type: 'open', stream: id, transport: 'tcp', host: 'localhost', port, window: 65536 };
          raw.send(how === 'open' ? { ...open, tls } : open);
          if (how === 'start-tls') {
            await raw.message('connected', (m) => m.stream === id).catch(() => undefined);
            raw.send({ type: 'start-tls', stream: id, tls });
          }
          for (const what of reactions) {
            await settle(raw, id, waitMs);
            if (what === 'proceed' || what === 'refuse' || what === 'twice') {
              raw.send({ type: 'tls-verdict', stream: id, proceed: what !== 'refuse' });
              if (what === 'twice') raw.send({ type: 'tls-verdict', stream: id, proceed: true });
            } else if (what === 'abort' || what === 'close') raw.send({ type: what, stream: id });
            else if (what === 'data') raw.sendBinary(encodeData(id, new TextEncoder().encode('€ early or not')));
            else if (what === 'start-tls') raw.send({ type: 'start-tls', stream: id, tls: {} });
          }
          // Every stream ends or is encrypted within the decision timeout and a handshake.
          await settle(raw, id, 3000);
          const types = messagesOf(raw, id).map((message) => message.type);
          expect(
            types.some((type) => TERMINAL.has(type)),
            `stream ${id}: ${types.join(', ')}`,
          ).toBe(true);
          raw.send({ type: 'abort', stream: id });
        }),
        { numRuns: 200 },
      );
      for (const gw of gateways) await gw.assertAlive();
    } finally {
      for (const raw of sessions) raw.close();
    }
  });
});

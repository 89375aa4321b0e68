import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Gateway, nameOf, QAbstractSocket, QTcpSocket, QUdpSocket, SocketState } from '@socketgate/sdk';
import { type FakeDns, nextSignal, startEchoServer, startFakeDns, startGateway, startUdpEcho, text, until } from '@socketgate/testkit';
import { describe, expect, it, onTestFinished } from 'vitest';

const gatewayDir = fileURLToPath(new URL('..', import.meta.url));

function stopAfter<T extends { close(): Promise<void> }>(server: T): T {
  onTestFinished(() => server.close());
  return server;
}

/** A fake DNS server: `*.never.test` never answers; the rest as given, with their TTLs. */
async function fakeDns(zone: Parameters<typeof startFakeDns>[0] = {}): Promise<FakeDns> {
  return stopAfter(await startFakeDns(zone, { silent: /\.never\.test$/ }));
}

async function gateway(dns: FakeDns, options: Parameters<typeof startGateway>[0] = {}) {
  const gw = await startGateway({ dnsServers: [dns.server], ...options });
  onTestFinished(() => gw.close());
  return gw;
}

const stateOf = (socket: QAbstractSocket): string => nameOf(SocketState, socket.state());
const tcpSocket = (session: Gateway): QTcpSocket => new QTcpSocket({ gateway: session });

async function echoes(socket: QTcpSocket, what: string): Promise<boolean> {
  socket.write(what);
  let got = '';
  while (got.length < what.length) {
    if (!(await socket.waitForReadyRead(5000))) return false;
    got += text(socket.readAll());
  }
  return got === what;
}

describe('name resolution through the gateway', () => {
  it("connects another session's socket while one session's lookups of names that never answer are pending, and holds that session to its cap", async () => {
    const echo = stopAfter(await startEchoServer());
    const dns = await fakeDns({ 'echo.test': { a: ['127.0.0.1'], ttlSec: 60 } });
    const gw = await gateway(dns, { maxLookupsPerSession: 4, dnsTimeoutMs: 60_000 });
    const events: string[] = [];

    const starving = gw.client();
    const stuck = Array.from({ length: 12 }, (_, i) => {
      const socket = tcpSocket(starving);
      socket.errorOccurred.connect(() => events.push(`stuck ${i} failed`));
      socket.connectToHost(`n${i}.never.test`, echo.port);
      return socket;
    });
    // The session's first four lookups reach the DNS server; the other eight wait in its queue.
    await until(() => dns.namesAsked(/never/).size === 4, 10_000, 'four names at the DNS server');

    const other = tcpSocket(gw.client());
    other.connected.connect(() => events.push(`other connected; stuck: ${[...new Set(stuck.map(stateOf))].join(',')}`));
    other.connectToHost('echo.test', echo.port);
    expect(await other.waitForConnected(10_000)).toBe(true);
    expect(await echoes(other, 'still served')).toBe(true);
    events.push(`names asked ${dns.namesAsked(/never/).size}`);
    expect(events).toEqual(['other connected; stuck: HostLookupState', 'names asked 4']);

    starving.close();
    await until(() => gw.app.socketgate.sessions.size === 1, 10_000, 'the starving session to close');
    // Its queued lookups were released with it, never asked.
    const again = tcpSocket(gw.client());
    again.connectToHost('echo.test', echo.port);
    expect(await again.waitForConnected(10_000)).toBe(true);
    expect(dns.namesAsked(/never/)).toEqual(new Set(['n0.never.test', 'n1.never.test', 'n2.never.test', 'n3.never.test']));
    // Served from the cache the second time: one A and one AAAA question in all.
    expect(dns.asked('echo.test')).toBe(2);
  });

  it('fails a TCP socket and a UDP datagram to a name that never answers with HostNotFoundError after dnsTimeoutMs', async () => {
    const dns = await fakeDns();
    const gw = await gateway(dns, { dnsTimeoutMs: 300 });
    const session = gw.client();
    const tcp = tcpSocket(session);
    const states: string[] = [];
    tcp.stateChanged.connect(() => states.push(stateOf(tcp)));
    tcp.connectToHost('slow.never.test', 7);
    await nextSignal(tcp.errorOccurred, 10_000);
    expect(tcp.error()).toBe(QAbstractSocket.SocketError.HostNotFoundError);
    expect(tcp.errorString()).toBe('Host not found: no answer within 300 ms');
    expect(states).toEqual(['HostLookupState', 'UnconnectedState']);

    const udp = new QUdpSocket({ gateway: session });
    expect(udp.writeDatagram('x', 'slow2.never.test', 7)).toBe(1);
    await nextSignal(udp.errorOccurred, 10_000);
    expect(udp.error()).toBe(QAbstractSocket.SocketError.HostNotFoundError);
    const connected = new QUdpSocket({ gateway: session });
    connected.connectToHost('slow3.never.test', 7);
    expect(await connected.waitForConnected(10_000)).toBe(false);
    expect(connected.error()).toBe(QAbstractSocket.SocketError.HostNotFoundError);
  });

  it('sends datagrams to a name on its cached answer within the TTL and asks again after it', async () => {
    const echo = stopAfter(await startUdpEcho());
    const dns = await fakeDns({ 'short.test': { a: ['127.0.0.1'], ttlSec: 1 } });
    const gw = await gateway(dns);
    const udp = new QUdpSocket({ gateway: gw.client() });
    const askedPerDatagram: number[] = [];
    for (let i = 0; i < 100 && dns.asked('short.test') <= 2; i++) {
      expect(udp.writeDatagram(`d${i}`, 'short.test', echo.port)).toBe(1 + String(i).length);
      expect(await udp.waitForReadyRead(5000)).toBe(true);
      expect(text(udp.readDatagram()[0])).toBe(`d${i}`);
      askedPerDatagram.push(dns.asked('short.test'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // One A and one AAAA question for the first datagram, none for those within the second, then again.
    expect(askedPerDatagram[0]).toBe(2);
    expect(askedPerDatagram.filter((n) => n === 2).length).toBeGreaterThan(2);
    expect(askedPerDatagram.at(-1)).toBe(4);
  });

  it('keeps at most dnsCacheEntries names: the least recently used is asked again, the latest is not', async () => {
    const echo = stopAfter(await startEchoServer());
    const zone = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`c${i}.test`, { a: ['127.0.0.1'], ttlSec: 300 }]));
    const dns = await fakeDns(zone);
    const gw = await gateway(dns, { dnsCacheEntries: 4 });
    const session = gw.client();
    const open = async (name: string): Promise<void> => {
      const socket = tcpSocket(session);
      socket.connectToHost(name, echo.port);
      expect(await socket.waitForConnected(10_000)).toBe(true);
      socket.abort();
    };
    for (let i = 0; i < 20; i++) await open(`c${i}.test`);
    expect(dns.queries).toHaveLength(40);
    await open('c19.test');
    expect(dns.asked('c19.test')).toBe(2);
    await open('c0.test');
    expect(dns.asked('c0.test')).toBe(4);
  });

  it('bounds an embedded resolver that never settles: the socket fails with HostNotFoundError and the session goes on', async () => {
    const echo = stopAfter(await startEchoServer());
    let asked = 0;
    const gw = await startGateway({
      dnsTimeoutMs: 200,
      maxLookups: 2,
      resolver: () => {
        asked++;
        return new Promise(() => {});
      },
    });
    onTestFinished(() => gw.close());
    const session = gw.client();
    const hung = Array.from({ length: 3 }, (_, i) => {
      const socket = tcpSocket(session);
      socket.connectToHost(`hung${i}.test`, echo.port);
      return socket;
    });
    for (const socket of hung) {
      expect(await socket.waitForConnected(10_000)).toBe(false);
      expect(socket.error()).toBe(QAbstractSocket.SocketError.HostNotFoundError);
    }
    // Two slots: the third waited in line for one that the resolver never gave back.
    expect(asked).toBeGreaterThanOrEqual(2);
    const before = asked;
    const after = tcpSocket(session);
    after.connectToHost('hung-again.test', echo.port);
    expect(await after.waitForConnected(10_000)).toBe(false);
    expect(after.error()).toBe(QAbstractSocket.SocketError.HostNotFoundError);
    expect(asked).toBe(before + 1);
    const literal = tcpSocket(session);
    literal.connectToHost('127.0.0.1', echo.port);
    expect(await literal.waitForConnected(10_000)).toBe(true);
    expect(await echoes(literal, 'alive')).toBe(true);
  });

  it("refuses a lookup beyond its session's queue at once with SocketResourceError while the others wait", async () => {
    const dns = await fakeDns();
    const gw = await gateway(dns, { maxLookupsPerSession: 1, dnsTimeoutMs: 60_000 });
    const session = gw.client();
    // One lookup runs and eight wait (eight times the cap); the tenth is refused.
    const sockets = Array.from({ length: 10 }, (_, i) => {
      const socket = tcpSocket(session);
      socket.connectToHost(`q${i}.never.test`, 7);
      return socket;
    });
    const last = sockets[9] as QTcpSocket;
    await nextSignal(last.errorOccurred, 10_000);
    expect(last.error()).toBe(QAbstractSocket.SocketError.SocketResourceError);
    expect(last.errorString()).toBe('Out of resources: this session already waits for 9 name lookups, its limit');
    expect(sockets.slice(0, 9).map(stateOf)).toEqual(Array(9).fill('HostLookupState'));
    expect(dns.namesAsked(/never/)).toEqual(new Set(['q0.never.test']));
  });
});

/**
 * Runs test/netns/resolvers.ts in new network and mount namespaces: only loopback, and the
 * namespace's own /etc/resolv.conf and /etc/hosts bound over the machine's, so the system's resolver
 * asks the script's DNS server on 127.0.0.1:53 and nothing leaves the machine.
 */
function inResolverNamespace(script: string): Array<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'socketgate-dns-'));
  try {
    // One try of 30 s (glibc's longest) per query: a name that never answers holds getaddrinfo.
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:30 attempts:1\n');
    writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost files.test\n::1 localhost\n');
    const run = spawnSync(
      'unshare',
      [
        '--map-root-user',
        '--net',
        '--mount',
        'sh',
        '-c',
        `ip link set lo up && mount --bind "${dir}/resolv.conf" /etc/resolv.conf && mount --bind "${dir}/hosts" /etc/hosts && exec "${process.execPath}" --conditions=@socketgate/source --import tsx ${script}`,
      ],
      { cwd: gatewayDir, encoding: 'utf8', timeout: 120_000 },
    );
    if (run.status !== 0) throw new Error(`the namespace run failed (${run.status}): ${run.stderr}`);
    return run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the system resolver and the default one', () => {
  it('keeps getaddrinfo to half the threadpool, so crypto, files and the dns resolver go on while names never answer', () => {
    const [files, threadpool, dns, closed] = inResolverNamespace('test/netns/resolvers.ts');
    // getaddrinfo reads /etc/hosts: no DNS question for a name it lists.
    expect(files).toEqual({ step: 'files', connected: true, asked: 0 });
    // Two of the eight lookups run (half of libuv's four threads), the rest wait; the threadpool's
    // other work finished while all eight still waited.
    expect(threadpool).toEqual({ step: 'threadpool', stuck: ['HostLookupState'], names: 2 });
    // The default resolver asks the servers of /etc/resolv.conf directly, with no thread to wait for.
    expect(dns).toEqual({ step: 'dns', connected: true, stuck: ['HostLookupState'], names: 2, asked: 2 });
    expect(closed).toEqual({ step: 'closed', names: 2 });
  });
});

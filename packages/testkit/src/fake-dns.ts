import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

/** What the fake server knows of one name: its addresses and their TTL, or silence. */
export type FakeDnsRecord = { a?: string[] | 'silent'; aaaa?: string[] | 'silent'; ttlSec?: number } | 'silent';

/** A DNS server of a test's own on loopback, which counts what it is asked. */
export interface FakeDns {
  host: string;
  port: number;
  /** `host:port`, as `dnsServers` takes it. */
  server: string;
  /** Every question received, in order (`name` lower-cased). */
  queries: Array<{ name: string; type: string }>;
  /** How many questions named `name`. */
  asked(name: string): number;
  /** Distinct names asked that match `pattern`. */
  namesAsked(pattern?: RegExp): Set<string>;
  /** Answers every question it held back so far with NXDOMAIN (so that getaddrinfo calls end). */
  answerHeld(): void;
  /** Changes or adds a name's record. */
  set(name: string, record: FakeDnsRecord): void;
  close(): Promise<void>;
}

/**
 * A DNS server on 127.0.0.1 (or `host`) built on dns-packet: answers A and AAAA from `zone` with the
 * given TTLs, never answers a name whose record is `'silent'` (or matches `silent`), and says NXDOMAIN
 * for every other name.
 */
export async function startFakeDns(
  zone: Record<string, FakeDnsRecord>,
  options: { silent?: RegExp; host?: string; port?: number } = {},
): Promise<FakeDns> {
  const { host = '127.0.0.1', port = 0, silent } = options;
  const records = new Map(Object.entries(zone).map(([name, record]) => [name.toLowerCase(), record]));
  const queries: FakeDns['queries'] = [];
  const held: Array<{ query: dnsPacket.Packet; port: number; address: string }> = [];
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (data, from) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(data);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase();
    queries.push({ name, type: question.type });
    const record = records.get(name);
    const typed =
      record === undefined || record === 'silent'
        ? undefined
        : question.type === 'A'
          ? record.a
          : question.type === 'AAAA'
            ? record.aaaa
            : [];
    if (record === 'silent' || typed === 'silent' || (record === undefined && silent?.test(name))) {
      held.push({ query, port: from.port, address: from.address });
      return;
    }
    const addresses = typed ?? [];
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (record === undefined ? 3 : 0), // rcode 3: NXDOMAIN
      questions: query.questions ?? [],
      answers: addresses.map((data) => ({
        type: question.type as 'A' | 'AAAA',
        name: question.name,
        ttl: record?.ttlSec ?? 60,
        data,
      })),
    });
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  const bound = socket.address().port;
  return {
    host,
    port: bound,
    server: host.includes(':') ? `[${host}]:${bound}` : `${host}:${bound}`,
    queries,
    asked: (name) => queries.filter((query) => query.name === name.toLowerCase()).length,
    namesAsked: (pattern) => new Set(queries.map((query) => query.name).filter((name) => pattern === undefined || pattern.test(name))),
    answerHeld: () => {
      for (const { query, port: to, address } of held.splice(0)) {
        const reply = dnsPacket.encode({
          type: 'response',
          id: query.id ?? 0,
          flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | 3,
          questions: query.questions ?? [],
        });
        socket.send(reply, to, address);
      }
    },
    set: (name, record) => records.set(name.toLowerCase(), record),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

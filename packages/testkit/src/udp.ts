import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

/** A UDP socket on loopback that a test starts and stops. */
export interface TestUdpServer {
  socket: dgram.Socket;
  host: string;
  port: number;
  /** Every datagram received, with its sender. */
  received: Array<{ data: Buffer; address: string; port: number }>;
  close(): Promise<void>;
}

/** Binds a UDP socket on 127.0.0.1 (or ::1) and calls `onMessage` for each datagram. */
export async function startUdpServer(
  onMessage: (data: Buffer, from: dgram.RemoteInfo, socket: dgram.Socket) => void = () => {},
  host = '127.0.0.1',
): Promise<TestUdpServer> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const received: TestUdpServer['received'] = [];
  socket.on('message', (data, from) => {
    received.push({ data, address: from.address, port: from.port });
    onMessage(data, from, socket);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  return {
    socket,
    host,
    port: socket.address().port,
    received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Echoes every datagram to its sender. */
export const startUdpEcho = (host?: string): Promise<TestUdpServer> =>
  startUdpServer((data, from, socket) => socket.send(data, from.port, from.address), host);

/** A free UDP port on 127.0.0.1 (bound briefly, then released). */
export async function freeUdpPort(): Promise<number> {
  const server = await startUdpServer();
  await server.close();
  return server.port;
}

/**
 * Debian's dnsmasq as a DNS server on 127.0.0.1, answering `--address` records only (no upstream,
 * no hosts file). Resolves when it answers; the test stops it.
 */
export async function startDnsmasq(records: Record<string, string>): Promise<{ port: number; close(): Promise<void> }> {
  // dnsmasq also listens on TCP at its port, which another test's connection may hold for a moment
  // (it then exits with 2): try a few ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDnsmasqOn(await freeUdpPort(), records);
    } catch (error) {
      if (attempt >= 5 || !/exited with 2/.test((error as Error).message)) throw error;
    }
  }
}

async function startDnsmasqOn(port: number, records: Record<string, string>): Promise<{ port: number; close(): Promise<void> }> {
  const args = [
    '--keep-in-foreground',
    '--no-daemon',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--pid-file=',
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ...Object.entries(records).map(([name, address]) => `--address=/${name}/${address}`),
  ];
  const child: ChildProcess = spawn('dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`dnsmasq could not start (install Debian's dnsmasq-base): ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`dnsmasq exited with ${code}: ${output}`)));
  });
  const started = new Promise<void>((resolve) => {
    const check = (): void => {
      if (output.includes('started')) resolve();
      else setTimeout(check, 20);
    };
    check();
  });
  await Promise.race([started, failed]);
  failed.catch(() => {});
  // "started" is logged before the socket is ready everywhere: ask until it answers.
  const probe = dgram.createSocket('udp4');
  try {
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'probe.invalid' }] });
    let answered = false;
    probe.on('message', () => {
      answered = true;
    });
    probe.on('error', () => {});
    for (let i = 0; i < 100 && !answered; i++) {
      probe.send(query, port, '127.0.0.1');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (!answered) throw new Error(`dnsmasq on port ${port} does not answer: ${output}`);
  } finally {
    probe.close();
  }
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Is Debian's dnsmasq on this machine? */
export const hasDnsmasq = (): boolean => spawnSync('dnsmasq', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * A DNS server on 127.0.0.1 answering A records for `records` (and their subdomains): Debian's
 * dnsmasq where it is installed (CI installs it, and sets SOCKETGATE_REQUIRE_DNSMASQ=1 so that it
 * must be used), else a small server built on dns-packet.
 */
export async function startDnsServer(records: Record<string, string>): Promise<{ port: number; kind: string; close(): Promise<void> }> {
  if (hasDnsmasq() || process.env.SOCKETGATE_REQUIRE_DNSMASQ === '1') return { ...(await startDnsmasq(records)), kind: 'dnsmasq' };
  const server = await startUdpServer((data, from, socket) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(data);
    } catch {
      return;
    }
    const answers = (query.questions ?? []).flatMap((question) => {
      const match = Object.entries(records).find(([name]) => question.name === name || question.name.endsWith(`.${name}`));
      return question.type === 'A' && match ? [{ type: 'A' as const, name: question.name, ttl: 0, data: match[1] }] : [];
    });
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.RECURSION_DESIRED | (answers.length ? 0 : 3),
      questions: query.questions ?? [],
      answers,
    });
    socket.send(reply, from.port, from.address);
  });
  return { port: server.port, kind: 'dns-packet', close: () => server.close() };
}

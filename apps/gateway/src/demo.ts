import dgram from 'node:dgram';
import net from 'node:net';

/** A demo target the gateway's quick start allows, on loopback. */
export interface DemoTarget {
  name: string;
  transport: 'tcp' | 'udp';
  host: string;
  port: number;
  close(): Promise<void>;
}

async function tcpService(name: string, host: string, port: number, onConnection: (socket: net.Socket) => void): Promise<DemoTarget> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, resolve);
  });
  return {
    name,
    transport: 'tcp',
    host,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every byte back. */
export const startEchoService = (host: string, port: number): Promise<DemoTarget> =>
  tcpService('echo', host, port, (socket) => socket.pipe(socket));

const FORTUNES = [
  'You will write a socket today.',
  'A closed port is also an answer.',
  'Flow control is kindness to buffers.',
  'Every byte arrives, in order, exactly once.',
  'The gateway resolved it once, and that was enough.',
];

/**
 * A line-based service to talk to: a greeting, then `fortune` gives a fortune, `time` the time,
 * `quit` closes, anything else is echoed in upper case.
 */
export const startFortuneService = (host: string, port: number): Promise<DemoTarget> =>
  tcpService('fortune', host, port, (socket) => {
    socket.write('Welcome to the socketgate fortune service. Commands: fortune, time, quit.\r\n> ');
    let line = '';
    let served = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char !== '\r' && char !== '\n') {
          line += char;
          continue;
        }
        if (char === '\n' && line === '') continue;
        const command = line.trim().toLowerCase();
        line = '';
        if (command === 'quit') {
          socket.end('Goodbye.\r\n');
          return;
        }
        const answer =
          command === 'fortune'
            ? (FORTUNES[served++ % FORTUNES.length] as string)
            : command === 'time'
              ? new Date().toISOString()
              : command.toUpperCase();
        socket.write(`${answer}\r\n> `);
      }
    });
  });

/** Echoes every datagram to its sender. */
export async function startUdpEchoService(host: string, port: number): Promise<DemoTarget> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (data, from) => socket.send(data, from.port, from.address));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return {
    name: 'udp-echo',
    transport: 'udp',
    host,
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

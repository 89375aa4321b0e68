/**
 * The benchmark's target, a process of its own on loopback. Ports (from a base):
 *   base+0  echo        every byte back
 *   base+1  sink        takes a line "N\n" then N bytes, answers the count and closes
 *   base+2  source      on a line "N\n" sends N bytes, then closes
 *   base+3  udp echo
 *   base+4  stalled sink  like the sink, but does not read for its first 5 s (a stalled target)
 * Prints "ready" once listening.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { serveDownload } from './source.js';

const base = Number(process.argv[2]);

function listen(port: number, onConnection: (socket: net.Socket) => void): Promise<void> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    onConnection(socket);
  });
  server.maxConnections = 20_000;
  return new Promise((resolve) => server.listen({ host: '127.0.0.1', port, backlog: 4096 }, resolve));
}

await listen(base, (socket) => socket.pipe(socket));
const sink = (stallMs: number) => (socket: net.Socket) => {
  if (stallMs > 0) {
    socket.pause();
    setTimeout(() => socket.resume(), stallMs);
  }
  // The first line says how many bytes follow; once they all arrived, the count goes back.
  let header = '';
  let expected = -1;
  let count = 0;
  socket.on('data', (chunk: Buffer) => {
    let data = chunk;
    if (expected < 0) {
      header += chunk.toString('latin1');
      const newline = header.indexOf('\n');
      if (newline < 0) return;
      expected = Number(header.slice(0, newline));
      data = Buffer.from(header.slice(newline + 1), 'latin1');
    }
    count += data.byteLength;
    if (count >= expected) socket.end(`${count}\n`);
  });
};
await listen(base + 1, sink(0));
await listen(base + 4, sink(5000));
await listen(base + 2, serveDownload);
const udp = dgram.createSocket('udp4');
udp.on('message', (data, from) => udp.send(data, from.port, from.address));
await new Promise<void>((resolve) => udp.bind(base + 3, '127.0.0.1', resolve));
console.log('ready');

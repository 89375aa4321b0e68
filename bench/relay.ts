/**
 * A reference, not a peer: the plainest user-space relay, Node sockets piped both ways with no
 * WebSocket, framing or flow control of its own (`relay.ts PORT TARGET-PORT`, for each TCP port of
 * bench/target.ts). It shows what a third process on the path costs on this machine before any
 * gateway work. Prints "ready" once listening.
 */
import net from 'node:net';

const [base, target] = process.argv.slice(2).map(Number) as [number, number];
for (const offset of [0, 1, 2, 4]) {
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: '127.0.0.1', port: target + offset, noDelay: true });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: base + offset, backlog: 4096 }, resolve));
}
console.log('ready');

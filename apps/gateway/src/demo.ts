import net from 'node:net';

/** A demo target the gateway's quick start allows: an echo service on loopback. */
export interface DemoTarget {
  name: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the TCP echo service the quick start lets clients reach. */
export async function startEchoService(host: string, port: number): Promise<DemoTarget> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, resolve);
  });
  const address = server.address() as net.AddressInfo;
  return {
    name: 'echo',
    host,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

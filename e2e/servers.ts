import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

/** A TCP server on 127.0.0.1:`port` (inside the gateway's allowed range) that the spec stops. */
export async function listen(port: number, onConnection: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port }, resolve));
  return {
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TLS echo server on 127.0.0.1:`port` presenting `certificate` (PEM chain and key), which the spec stops. */
export async function tlsEchoServer(port: number, certificate: { chain: string; key: string }) {
  const secure = tls.createServer({ cert: certificate.chain, key: certificate.key }, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  const server = await listen(port, (socket) => secure.emit('connection', socket));
  return { close: () => server.close() };
}

/** Sends `bytes` random bytes (honouring back-pressure) and hashes what it receives; reports both SHA-256s. */
export async function hashingServer(port: number, bytes: number) {
  const data = randomBytes(bytes);
  const sent = createHash('sha256').update(data).digest('hex');
  const received = createHash('sha256');
  let receivedBytes = 0;
  const server = await listen(port, (socket) => {
    socket.on('data', (chunk: Buffer) => {
      received.update(chunk);
      receivedBytes += chunk.byteLength;
    });
    let offset = 0;
    const pump = (): void => {
      while (offset < bytes) {
        const chunk = data.subarray(offset, offset + 64 * 1024);
        offset += chunk.byteLength;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  return { ...server, sent, received: () => ({ bytes: receivedBytes, sha256: received.copy().digest('hex') }) };
}

/**
 * The TLS download target, a process of its own: `tls-target.ts PORT CERT-CHAIN-FILE KEY-FILE`. On a
 * line "N\n" it sends N bytes over TLS, then closes (as bench/target.ts's source does in plaintext).
 * Prints "ready" once listening on 127.0.0.1:PORT.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

const [port = '0', chainFile = '', keyFile = ''] = process.argv.slice(2);
const block = Buffer.alloc(256 * 1024, 0x61);
const server = tls.createServer({ cert: readFileSync(chainFile), key: readFileSync(keyFile) }, (socket) => {
  socket.on('error', () => {});
  let request = '';
  socket.on('data', (chunk: Buffer) => {
    request += chunk.toString();
    if (!request.includes('\n')) return;
    let left = Number(request.trim());
    request = '';
    const pump = (): void => {
      while (left > 0) {
        const chunk = block.subarray(0, Math.min(left, block.byteLength));
        left -= chunk.byteLength;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
});
server.listen({ host: '127.0.0.1', port: Number(port) }, () => console.log('ready'));

/**
 * The TLS download target, a process of its own: `tls-target.ts PORT CERT-CHAIN-FILE KEY-FILE`. On a
 * line "N\n" it sends N bytes over TLS, then closes (as bench/target.ts's source does in plaintext).
 * Prints "ready" once listening on 127.0.0.1:PORT.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { serveDownload } from './source.js';

const [port = '0', chainFile = '', keyFile = ''] = process.argv.slice(2);
const server = tls.createServer({ cert: readFileSync(chainFile), key: readFileSync(keyFile) }, (socket) => {
  socket.on('error', () => {});
  serveDownload(socket);
});
server.listen({ host: '127.0.0.1', port: Number(port) }, () => console.log('ready'));

/**
 * The download source of the benchmark's targets, plaintext (bench/target.ts) and TLS
 * (bench/tls-target.ts): on a line "N\n" it sends N bytes, honouring back-pressure, then ends.
 */
import type { Duplex } from 'node:stream';

const block = Buffer.alloc(256 * 1024, 0x61);

export function serveDownload(socket: Duplex): void {
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
}

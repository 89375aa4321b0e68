import type net from 'node:net';
import { startServer, type TestServer } from './servers.js';

export const IMAP_GREETING = '* OK [CAPABILITY IMAP4rev1] socketgate test server ready\r\n';

/**
 * A small line-based server in the shape of the IMAP dialogue Qt's autotests use: a greeting, then
 * `TAG NOOP` → `TAG OK NOOP completed`, `TAG LOGOUT` → `* BYE …` and `TAG OK …` then close,
 * `QUIT` → `BYE` then close. Anything else gets `TAG BAD`.
 */
export function startImapServer(): Promise<TestServer> {
  return startServer((socket: net.Socket) => {
    socket.write(IMAP_GREETING);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end).replace(/\r$/, '');
        pending = pending.slice(end + 1);
        const [tag = '*', command = ''] = line.split(' ');
        if (line === 'QUIT') {
          socket.end('BYE\r\n');
          return;
        }
        if (command.toUpperCase() === 'NOOP') socket.write(`${tag} OK NOOP completed\r\n`);
        else if (command.toUpperCase() === 'LOGOUT') {
          socket.end(`* BYE LOGOUT received\r\n${tag} OK LOGOUT completed\r\n`);
          return;
        } else if (line.length > 0 && !line.startsWith('X')) socket.write(`${tag} BAD command unknown\r\n`);
      }
    });
  });
}

/** Serves one HTTP-like response of `bodyBytes` bytes with a Content-Length header, then closes. */
export function startDownloadServer(bodyBytes: number): Promise<TestServer> {
  return startServer((socket: net.Socket) => {
    socket.once('data', () => {
      socket.write(`HTTP/1.0 200 OK\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
      const block = Buffer.alloc(64 * 1024, 0x61);
      let left = bodyBytes;
      const pump = (): void => {
        while (left > 0) {
          const size = Math.min(left, block.byteLength);
          left -= size;
          if (!socket.write(block.subarray(0, size))) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    });
  });
}

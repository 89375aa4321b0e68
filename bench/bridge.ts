/**
 * The plain bridge, the Chromium phase's reference: each WebSocket piped to one TCP connection, with
 * back-pressure both ways and nothing else (no protocol of its own, no multiplexing, no policy).
 * `bridge.ts PORT TARGET-BASE`: ws://127.0.0.1:PORT/N reaches 127.0.0.1:N, for the TCP ports of
 * bench/target.ts only. Prints "ready" once listening.
 */
import net from 'node:net';
import { WebSocketServer } from 'ws';

const [port, target] = process.argv.slice(2).map(Number) as [number, number];
const targets = new Set([0, 1, 2, 4].map((offset) => target + offset));
/** Bytes either side may hold unsent before the bridge stops reading the other. */
const HIGH_WATER = 1024 * 1024;

const server = new WebSocketServer({ host: '127.0.0.1', port, backlog: 4096 });
server.on('connection', (ws, request) => {
  const to = Number(request.url?.slice(1));
  if (!targets.has(to)) return ws.close(1008, 'not a target port');
  const tcp = net.connect({ host: '127.0.0.1', port: to, noDelay: true });
  // Browser to TCP: stop reading the WebSocket while TCP holds HIGH_WATER unsent.
  ws.on('message', (data: Buffer) => {
    tcp.write(data);
    if (tcp.writableLength >= HIGH_WATER) ws.pause();
  });
  tcp.on('drain', () => ws.resume());
  // TCP to browser: stop reading TCP while the WebSocket holds HIGH_WATER unsent.
  const sent = () => {
    if (tcp.isPaused() && ws.bufferedAmount < HIGH_WATER) tcp.resume();
  };
  tcp.on('data', (chunk) => {
    ws.send(chunk, sent);
    if (ws.bufferedAmount >= HIGH_WATER) tcp.pause();
  });
  tcp.on('end', () => ws.close());
  tcp.on('error', () => ws.terminate());
  ws.on('close', () => tcp.end());
  ws.on('error', () => tcp.destroy());
});
server.on('listening', () => console.log('ready'));
// A SIGTERM (the benchmark's when profiling) ends the process normally, so that --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));

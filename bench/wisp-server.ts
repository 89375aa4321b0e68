/**
 * The peer gateway wisp-js (@mercuryworkshop/wisp-js, its library API), a process of its own:
 * `wisp-server.ts PORT TARGET-BASE`. Listens on 127.0.0.1:PORT; a WebSocket whose path ends in "/"
 * is one Wisp connection multiplexing streams. wisp-js refuses loopback destinations by default, so
 * loopback is allowed here, but only to 127.0.0.1 and the target's ports. Prints "ready" once listening.
 */
import http from 'node:http';
import { logging, server as wisp } from '@mercuryworkshop/wisp-js/server';

const port = Number(process.argv[2]);
const target = Number(process.argv[3]);

Object.assign(wisp.options, {
  allow_loopback_ips: true,
  allow_private_ips: false,
  hostname_whitelist: [/^127\.0\.0\.1$/],
  port_whitelist: [[target, target + 4]],
  allow_tcp_streams: true,
  allow_udp_streams: true,
  stream_limit_total: -1,
  stream_limit_per_host: -1,
});
logging.set_level(logging.ERROR);

const server = http.createServer((_request, response) => {
  response.writeHead(404);
  response.end();
});
server.on('upgrade', (request, socket, head) => wisp.routeRequest(request, socket, head));
server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => console.log('ready'));
// A SIGTERM (the benchmark's when profiling) ends the process normally, so that --cpu-prof writes its profile.
process.on('SIGTERM', () => process.exit(0));

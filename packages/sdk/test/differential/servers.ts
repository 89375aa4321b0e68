/**
 * @module
 * Starts the loopback servers the scenarios ask for (scenario.ts, ServerSpec): one server per
 * distinct spec, shared by every scenario that asks for it, each connection or datagram handled
 * afresh so that both runners meet the same behaviour.
 */
import type net from 'node:net';
import { closedPort, freeUdpPort, startBlackhole, startServer, startUdpServer } from '@socketgate/testkit';
import type { PlannedScenario, Scenario, ServerSpec } from './scenario.js';

interface Running {
  port: number;
  close(): Promise<void>;
}

const later = (ms: number, action: () => void): void => {
  setTimeout(action, ms);
};

/** RST: Node's resetAndDestroy, once the socket is connected. */
const reset = (socket: net.Socket): void => {
  if (!socket.destroyed) socket.resetAndDestroy();
};

function start(spec: ServerSpec): Promise<Running> {
  if ('udp' in spec) {
    switch (spec.udp) {
      case 'echo':
        return startUdpServer((data, from, socket) => socket.send(data, from.port, from.address), spec.host);
      case 'reply':
        return startUdpServer((_, from, socket) => {
          for (const datagram of spec.datagrams) socket.send(Buffer.from(datagram, 'latin1'), from.port, from.address);
        });
      case 'closed':
        return freeUdpPort().then((port) => ({ port, close: async () => {} }));
    }
  }
  switch (spec.tcp) {
    case 'echo':
      return startServer((socket) => socket.pipe(socket), spec.host);
    case 'send':
      return startServer((socket) =>
        later(spec.sendAfterMs ?? 0, () => {
          if (socket.destroyed) return;
          socket.write(Buffer.from(spec.data, 'latin1'));
          later(spec.delayMs ?? 0, () => {
            if (spec.after === 'echo') socket.pipe(socket);
            else if (spec.after === 'close') socket.end();
            else if (spec.after === 'reset') reset(socket);
            else socket.resume();
          });
        }),
      );
    case 'close-at-once':
      return startServer((socket) => socket.end());
    case 'reset-on-connect':
      return startServer(reset);
    case 'silent':
      return startServer((socket) => socket.resume());
    case 'sink':
      return startServer((socket) => {
        socket.pause();
        later(spec.delayMs ?? 0, () => socket.resume());
      });
    case 'command':
      return startServer((socket) => {
        let pending = '';
        socket.on('data', (chunk: Buffer) => {
          pending += chunk.toString('latin1');
          for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
            const line = pending.slice(0, end).replace(/\r$/, '');
            pending = pending.slice(end + 1);
            const [command = '', ...rest] = line.split(' ');
            const text = rest.join(' ');
            if (command === 'send') socket.write(`${text}\n`, 'latin1');
            else if (command === 'sendclose') socket.end(`${text}\n`, 'latin1');
            else if (command === 'close') socket.end();
            else if (command === 'reset') reset(socket);
          }
        });
      });
    case 'blackhole':
      return startBlackhole();
    case 'refused':
      return closedPort().then((port) => ({ port, close: async () => {} }));
  }
}

/**
 * Starts every server the scenarios need and returns the scenarios with their ports, and a function
 * that stops the servers.
 */
export async function startServers(scenarios: readonly Scenario[]): Promise<{ planned: PlannedScenario[]; close(): Promise<void> }> {
  const running = new Map<string, Running>();
  try {
    for (const scenario of scenarios)
      for (const spec of Object.values(scenario.servers)) {
        const key = JSON.stringify(spec);
        if (!running.has(key)) running.set(key, await start(spec));
      }
  } catch (error) {
    await Promise.all([...running.values()].map((server) => server.close()));
    throw error;
  }
  const planned = scenarios.map((scenario) => ({
    ...scenario,
    ports: Object.fromEntries(
      Object.entries(scenario.servers).map(([name, spec]) => [name, (running.get(JSON.stringify(spec)) as Running).port]),
    ),
  }));
  return { planned, close: async () => void (await Promise.all([...running.values()].map((server) => server.close()))) };
}

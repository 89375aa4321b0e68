/**
 * @module
 * Starts the loopback servers the scenarios ask for (scenario.ts, ServerSpec): one server per
 * distinct spec, shared by every scenario that asks for it, each connection or datagram handled
 * afresh so that both runners meet the same behaviour.
 */
import type net from 'node:net';
import tls from 'node:tls';
import {
  closedPort,
  freeUdpPort,
  makeTestPki,
  startBlackhole,
  startServer,
  startTlsServer,
  startUdpServer,
  type TestPki,
} from '@socketgate/testkit';
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

/** Echoes what a TLS socket decrypts; ends when its peer ends. */
const echoTls = (socket: tls.TLSSocket): void => {
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  socket.on('end', () => socket.end());
};

/** The STARTTLS line server (ServerSpec): READY, lines echoed, STARTTLS answered OK, then TLS. */
function startTls(socket: net.Socket, context: tls.SecureContext): void {
  socket.write('READY\r\n');
  let pending = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    pending = Buffer.concat([pending, chunk]);
    for (let end = pending.indexOf(10); end >= 0; end = pending.indexOf(10)) {
      const line = pending.subarray(0, end).toString('latin1').replace(/\r$/, '');
      pending = pending.subarray(end + 1);
      if (line !== 'STARTTLS') {
        socket.write(`${line}\r\n`, 'latin1');
        continue;
      }
      socket.off('data', onData);
      socket.pause();
      socket.write('OK\r\n');
      // A ClientHello that came with the line is the TLS socket's to read.
      if (pending.byteLength > 0) socket.unshift(pending);
      echoTls(new tls.TLSSocket(socket, { isServer: true, secureContext: context }));
      return;
    }
  };
  socket.on('data', onData);
  socket.on('error', () => {});
}

function start(spec: ServerSpec, pki: () => TestPki): Promise<Running> {
  if ('tls' in spec && spec.delayMs !== undefined) {
    const { chain, key } = pki()[spec.certificate];
    const secureContext = tls.createSecureContext({ cert: chain, key, ...(spec.maxVersion && { maxVersion: spec.maxVersion }) });
    const delayMs = spec.delayMs;
    return startServer((socket) => {
      socket.pause();
      later(delayMs, () => {
        if (!socket.destroyed)
          echoTls(new tls.TLSSocket(socket, { isServer: true, secureContext, ...(spec.alpn && { ALPNProtocols: spec.alpn }) }));
      });
    });
  }
  if ('tls' in spec) {
    return startTlsServer({
      certificate: pki()[spec.certificate],
      ...(spec.maxVersion && { maxVersion: spec.maxVersion }),
      ...(spec.alpn && { alpn: spec.alpn }),
    });
  }
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
    case 'starttls': {
      const certificate = pki()[spec.certificate];
      const context = tls.createSecureContext({ cert: certificate.chain, key: certificate.key });
      return startServer((socket) => startTls(socket, context));
    }
  }
}

/**
 * Starts every server the scenarios need and returns the scenarios with their ports and the test
 * CA's PEM, and a function that stops the servers. The certificates are made once per run, when a
 * TLS server first needs them.
 */
export async function startServers(scenarios: readonly Scenario[]): Promise<{ planned: PlannedScenario[]; close(): Promise<void> }> {
  const running = new Map<string, Running>();
  let made: TestPki | undefined;
  const pki = (): TestPki => {
    made ??= makeTestPki();
    return made;
  };
  const close = async (): Promise<void> => {
    await Promise.all([...running.values()].map((server) => server.close()));
    made?.remove();
  };
  try {
    for (const scenario of scenarios) {
      if (Object.values(scenario.sockets).includes('ssl')) pki();
      for (const spec of Object.values(scenario.servers)) {
        const key = JSON.stringify(spec);
        if (!running.has(key)) running.set(key, await start(spec, pki));
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  const caPem = made?.ca.pem ?? '';
  const planned = scenarios.map((scenario) => ({
    ...scenario,
    ports: Object.fromEntries(
      Object.entries(scenario.servers).map(([name, spec]) => [name, (running.get(JSON.stringify(spec)) as Running).port]),
    ),
    caPem,
  }));
  return { planned, close };
}

/**
 * The benchmark's client, a process of its own: `client.ts PATH SCENARIO JSON-OPTIONS`. Prints one
 * JSON line with its measurements. PATH is raw (Node sockets straight to the target), relay (Node
 * sockets through bench/relay.ts, a reference for the cost of a third process), socat (Node sockets
 * through socat, a reference in C), socketgate
 * (the SDK in Node through the gateway), websockify (one WebSocket per TCP connection) or wisp (the
 * wisp-js client: one WebSocket multiplexing streams, with Wisp's credit-based flow control upstream).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { WispConnection } from '@mercuryworkshop/wisp-js/client';
import { Gateway, QUdpSocket } from '@socketgate/sdk';
import { WebSocket } from 'ws';
import {
  closeOrQuiet,
  download,
  latency,
  percentile,
  type Conn as SharedConn,
  sleep,
  socketgateConnection,
  upload,
  WRITE_BOUND,
} from './scenarios.js';

interface Options {
  target: number; // base port of bench/target.ts
  gateway?: string; // ws URL of the gateway
  token?: string;
  websockify?: Record<string, number>; // target port -> websockify port
  wisp?: string; // ws URL of the wisp-js server (ends in "/")
  socketgateWisp?: string; // ws URL of the gateway's Wisp endpoint (the token is the password)
  relay?: number; // base port of bench/relay.ts (it mirrors the target's ports)
  socat?: number; // base port of the socat relays (they mirror the target's ports)
  bytes?: number;
  count?: number;
  holdMs?: number;
  stallMs?: number;
}

const [path = 'raw', scenario = 'upload', json = '{}'] = process.argv.slice(2);
const options = JSON.parse(json) as Options;
const ECHO = options.target;
const SINK = options.target + 1;
const SOURCE = options.target + 2;
const UDP_ECHO = options.target + 3;

/** The operations every TCP path offers the scenarios; from Node, each path can also end and pause. */
interface Conn extends SharedConn {
  end(): void;
  pause(): void;
  resume(): void;
}

let session: Gateway | undefined;
const gateway = (): Gateway => {
  session ??= new Gateway(options.gateway as string, {
    token: options.token as string,
    WebSocket: WebSocket,
  });
  return session;
};

let wispSession: Promise<WispConnection> | undefined;
/** The paths that speak Wisp with wisp-js's client: to wisp-js's own server, and to the gateway's Wisp endpoint. */
const WISP_PATHS = new Set(['wisp', 'socketgate-wisp']);
/**
 * One Wisp connection per client process, like socketgate's session. In Node, wisp-js opens it with
 * `ws`. The gateway's endpoint takes the token as the password of Wisp v2's password extension.
 */
const wisp = (): Promise<WispConnection> => {
  const url = (path === 'socketgate-wisp' ? options.socketgateWisp : options.wisp) as string;
  wispSession ??= import('@mercuryworkshop/wisp-js/client').then(
    ({ client, extensions }) =>
      new Promise<WispConnection>((resolve, reject) => {
        const connection =
          path === 'socketgate-wisp'
            ? new client.ClientConnection(url, {
                wisp_extensions: [
                  new extensions.UDPExtension({ client_config: {} }),
                  new extensions.PasswordAuthExtension({ client_config: { username: 'bench', password: options.token as string } }),
                ],
              })
            : new client.ClientConnection(url);
        connection.onopen = () => resolve(connection);
        connection.onerror = () => reject(new Error(`wisp: cannot connect to ${url}`));
        connection.onclose = () => reject(new Error('wisp: the connection closed'));
      }),
  );
  return wispSession;
};

async function connect(port: number): Promise<Conn> {
  if (path === 'raw' || path === 'relay' || path === 'socat') {
    const base = path === 'relay' ? options.relay : path === 'socat' ? options.socat : options.target;
    const to = (base as number) + (port - options.target);
    const socket = net.connect({ host: '127.0.0.1', port: to, noDelay: true });
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return {
      write: (bytes) => (socket.write(bytes) ? Promise.resolve() : new Promise((resolve) => socket.once('drain', () => resolve()))),
      onData: (listener) => socket.on('data', listener),
      onClose: (listener) => socket.on('close', listener),
      end: () => socket.end(),
      close: () => socket.destroy(),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    };
  }
  if (path === 'socketgate') return socketgateConnection(gateway(), port);
  if (WISP_PATHS.has(path)) {
    // Wisp has no reply to CONNECT: the stream is usable at once, a refusal comes back as CLOSE.
    const connection = await wisp();
    const stream = connection.create_stream('127.0.0.1', port, 'tcp');
    const listeners: Array<(bytes: Uint8Array) => void> = [];
    const closers: Array<() => void> = [];
    let closed = false;
    stream.onmessage = (bytes) => {
      for (const listener of listeners) listener(bytes);
    };
    stream.onclose = () => {
      closed = true;
      for (const closer of closers) closer();
    };
    // wisp-js's client queues without bound in send_buffer once the server's credit (in packets) is
    // used up, and the WebSocket buffers what was sent: both are bounded here, polled as for websockify.
    const held = () => stream.send_buffer.reduce((sum, bytes) => sum + bytes.byteLength, 0) + connection.ws.bufferedAmount;
    return {
      write: async (bytes) => {
        stream.send(bytes);
        while (held() > WRITE_BOUND && !closed) await sleep(1);
      },
      onData: (listener) => listeners.push(listener),
      onClose: (listener) => closers.push(listener),
      // Wisp has no half-close: ending a stream closes it.
      end: () => stream.close(),
      close: () => stream.close(),
      // Wisp has no flow control toward the client: the only way to stop reading is to stop reading
      // the whole WebSocket (every stream on it).
      pause: () => connection.ws.pause(),
      resume: () => connection.ws.resume(),
    };
  }
  // websockify: one WebSocket per connection, raw bytes in binary frames.
  const ws = new WebSocket(`ws://127.0.0.1:${options.websockify?.[port]}/`, 'binary');
  ws.binaryType = 'nodebuffer';
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    write: async (bytes) => {
      ws.send(bytes);
      while (ws.bufferedAmount > WRITE_BOUND) await sleep(1);
    },
    onData: (listener) => ws.on('message', (data: Buffer) => listener(data)),
    onClose: (listener) => ws.on('close', listener),
    end: () => ws.close(),
    close: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

async function concurrent(count: number, holdMs: number, echo: boolean) {
  const start = performance.now();
  const conns: Conn[] = [];
  // A gateway may close sockets it cannot hold (websockify past ~500: its select() takes no fd >= 1024).
  let holding = true;
  let open = 0;
  let peakOpen = 0;
  let closedEarly = 0;
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async () => {
        const conn = await connect(ECHO);
        peakOpen = Math.max(peakOpen, ++open);
        const closed = new Promise<void>((resolve) =>
          conn.onClose(() => {
            if (!holding) return;
            open--;
            closedEarly++;
            resolve();
          }),
        );
        if (echo) {
          const back = new Promise<void>((resolve) => conn.onData(() => resolve()));
          await conn.write(Uint8Array.of(1));
          await Promise.race([back, closed]);
        }
        return conn;
      }),
    );
    conns.push(...opened);
    // run.ts reads the last of these when a path fails part way.
    console.error(`opened ${conns.length}`);
  }
  const seconds = (performance.now() - start) / 1000;
  console.error('held');
  await sleep(holdMs);
  holding = false;
  for (const conn of conns) conn.close();
  return { seconds, sockets: conns.length, closedEarly, peakOpen };
}

async function stalled(bytes: number, stallMs: number) {
  const conn = await connect(SOURCE);
  let received = 0;
  let closed = false;
  conn.onData((data) => {
    received += data.byteLength;
  });
  conn.onClose(() => {
    closed = true;
  });
  conn.pause();
  await conn.write(new TextEncoder().encode(`${bytes}\n`));
  console.error('stalled');
  await sleep(stallMs);
  conn.resume();
  const closeArrived = await closeOrQuiet(
    () => closed,
    () => received,
    5000,
  );
  return { arrived: received === bytes, closeArrived, received };
}

/** The operations every UDP path offers the scenarios: datagrams to the UDP echo, and the echoes back. */
interface UdpConn {
  /** False when the path refused the datagram for now (the SDK's full window: Qt's TemporaryError). */
  send(payload: Uint8Array): boolean;
  onMessage(listener: () => void): void;
  close(): void;
}

async function udpConnect(): Promise<UdpConn> {
  if (path === 'raw') {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return {
      send: (payload) => {
        socket.send(payload, UDP_ECHO, '127.0.0.1');
        return true;
      },
      onMessage: (listener) => socket.on('message', () => listener()),
      close: () => socket.close(),
    };
  }
  if (WISP_PATHS.has(path)) {
    // Wisp v2 carries UDP as a stream of type UDP, each DATA packet one datagram.
    const connection = await wisp();
    if (!connection.udp_enabled) throw new Error('wisp: the server did not offer the UDP extension');
    const stream = connection.create_stream('127.0.0.1', UDP_ECHO, 'udp');
    const listeners: Array<() => void> = [];
    stream.onmessage = () => {
      for (const listener of listeners) listener();
    };
    return {
      send: (payload) => {
        stream.send(payload);
        return true;
      },
      onMessage: (listener) => listeners.push(listener),
      close: () => stream.close(),
    };
  }
  const socket = new QUdpSocket({ gateway: gateway() });
  const listeners: Array<() => void> = [];
  socket.readyRead.connect(() => {
    while (socket.hasPendingDatagrams()) {
      socket.readDatagram();
      for (const listener of listeners) listener();
    }
  });
  return {
    send: (payload) => socket.writeDatagram(payload, '127.0.0.1', UDP_ECHO) >= 0,
    onMessage: (listener) => listeners.push(listener),
    close: () => socket.abort(),
  };
}

/** 64-byte datagrams echoed one at a time: round-trip latency. */
async function udp(count: number) {
  const samples: number[] = [];
  const payload = new Uint8Array(64).fill(0x75);
  const conn = await udpConnect();
  let wake: () => void = () => {};
  conn.onMessage(() => wake());
  for (let i = 0; i < count; i++) {
    const back = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const start = performance.now();
    conn.send(payload);
    await back;
    samples.push((performance.now() - start) * 1000);
  }
  conn.close();
  const total = samples.reduce((a, b) => a + b, 0) / 1e6;
  return { p50us: percentile(samples, 0.5), roundTripsPerSecond: count / total };
}

/**
 * 64-byte datagrams with up to `window` in flight: how many echoes come back per second. A datagram
 * whose echo has not come back within 200 ms counts as lost and frees its place.
 */
async function udpRate(count: number, window = 32) {
  const payload = new Uint8Array(64).fill(0x72);
  const conn = await udpConnect();
  let sent = 0;
  let received = 0;
  let lost = 0;
  let lastEcho = performance.now();
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const fill = (): void => {
    while (sent < count && sent - received - lost < window && conn.send(payload)) sent++;
    if (received + lost >= count) done();
  };
  conn.onMessage(() => {
    received++;
    lastEcho = performance.now();
    fill();
  });
  const start = performance.now();
  fill();
  const watchdog = setInterval(() => {
    if (performance.now() - lastEcho < 200) return;
    // Nothing came back for 200 ms: what is in flight is lost.
    lost += sent - received - lost;
    lastEcho = performance.now();
    fill();
  }, 50);
  await finished;
  clearInterval(watchdog);
  const seconds = (performance.now() - start) / 1000;
  conn.close();
  return { datagramsPerSecond: received / seconds, lost };
}

const run: Record<string, () => Promise<object>> = {
  upload: () => upload(connect, SINK, options.bytes ?? 256 * 1024 * 1024),
  download: () => download(connect, SOURCE, options.bytes ?? 256 * 1024 * 1024),
  latency: () => latency(connect, ECHO, options.count ?? 2000),
  concurrent: () => concurrent(options.count ?? 1000, options.holdMs ?? 1000, true),
  idle: () => concurrent(options.count ?? 10_000, options.holdMs ?? 1500, false),
  stalled: () => stalled(options.bytes ?? 1024 * 1024 * 1024, options.stallMs ?? 5000),
  stalledTarget: () => upload(connect, options.target + 4, options.bytes ?? 512 * 1024 * 1024),
  udp: () => udp(options.count ?? 2000),
  udpRate: () => udpRate(options.count ?? 20_000),
};
const result = await (run[scenario] as () => Promise<object>)();
console.log(JSON.stringify(result));
session?.close();
if (wispSession) (await wispSession).close();
process.exit(0);

/**
 * The benchmark's client, a process of its own: `client.ts PATH SCENARIO JSON-OPTIONS`. Prints one
 * JSON line with its measurements. PATH is raw (Node sockets straight to the target), socketgate
 * (the SDK in Node through the gateway) or websockify (one WebSocket per TCP connection).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Gateway, QTcpSocket, QUdpSocket, type WebSocketConstructor } from '@socketgate/sdk';
import { WebSocket } from 'ws';

interface Options {
  target: number; // base port of bench/target.ts
  gateway?: string; // ws URL of the gateway
  token?: string;
  websockify?: Record<string, number>; // target port -> websockify port
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The operations every TCP path offers the scenarios. */
interface Conn {
  /** Resolves when the bytes are accepted for sending without piling up more than a bounded amount. */
  write(bytes: Uint8Array): Promise<void>;
  onData(listener: (bytes: Uint8Array) => void): void;
  onClose(listener: () => void): void;
  end(): void;
  close(): void;
  /** Stop or resume reading (back-pressure from the application). */
  pause(): void;
  resume(): void;
}

let session: Gateway | undefined;
const gateway = (): Gateway => {
  session ??= new Gateway(options.gateway as string, {
    token: options.token as string,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  return session;
};

async function connect(port: number): Promise<Conn> {
  if (path === 'raw') {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
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
  if (path === 'socketgate') {
    const socket = new QTcpSocket({ gateway: gateway() });
    socket.connectToHost('127.0.0.1', port);
    if (!(await socket.waitForConnected(30_000))) throw new Error(socket.errorString());
    socket.setSocketOption(QTcpSocket.LowDelayOption, 1);
    let paused = false;
    const listeners: Array<(bytes: Uint8Array) => void> = [];
    const deliver = (): void => {
      if (paused) return;
      const bytes = socket.readAll();
      if (bytes.byteLength > 0) for (const listener of listeners) listener(bytes);
    };
    socket.readyRead.connect(deliver);
    return {
      write: async (bytes) => {
        socket.write(bytes);
        while (socket.bytesToWrite() > 4 * 1024 * 1024) await socket.waitForBytesWritten(30_000);
      },
      onData: (listener) => listeners.push(listener),
      onClose: (listener) =>
        socket.disconnected.connect(() => {
          deliver();
          listener();
        }),
      end: () => socket.disconnectFromHost(),
      close: () => socket.abort(),
      pause: () => {
        paused = true;
        socket.setReadBufferSize(64 * 1024);
      },
      resume: () => {
        paused = false;
        socket.setReadBufferSize(0);
        deliver();
      },
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
      while (ws.bufferedAmount > 4 * 1024 * 1024) await sleep(1);
    },
    onData: (listener) => ws.on('message', (data: Buffer) => listener(data)),
    onClose: (listener) => ws.on('close', listener),
    end: () => ws.close(),
    close: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

const CHUNK = new Uint8Array(64 * 1024).fill(0x62);

async function upload(bytes: number, port = SINK) {
  const conn = await connect(port);
  let reply = '';
  const done = new Promise<void>((resolve) => {
    conn.onData((data) => {
      reply += Buffer.from(data).toString();
    });
    conn.onClose(() => resolve());
  });
  const start = performance.now();
  await conn.write(new TextEncoder().encode(`${bytes}\n`));
  for (let sent = 0; sent < bytes; sent += CHUNK.byteLength) await conn.write(CHUNK);
  await done;
  const seconds = (performance.now() - start) / 1000;
  return { mbPerSecond: bytes / 1e6 / seconds, arrived: Number(reply.trim()) === bytes };
}

async function download(bytes: number) {
  const conn = await connect(SOURCE);
  let received = 0;
  const done = new Promise<void>((resolve) => conn.onClose(() => resolve()));
  conn.onData((data) => {
    received += data.byteLength;
  });
  const start = performance.now();
  await conn.write(new TextEncoder().encode(`${bytes}\n`));
  await done;
  const seconds = (performance.now() - start) / 1000;
  return { mbPerSecond: bytes / 1e6 / seconds, arrived: received === bytes };
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;

async function latency(count: number) {
  const conn = await connect(ECHO);
  const message = new Uint8Array(64).fill(0x6c);
  let got = 0;
  let wake: () => void = () => {};
  conn.onData((data) => {
    got += data.byteLength;
    if (got >= 64) wake();
  });
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    got = 0;
    const echoed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const start = performance.now();
    await conn.write(message);
    await echoed;
    samples.push((performance.now() - start) * 1000);
  }
  conn.close();
  return { p50us: percentile(samples, 0.5), p99us: percentile(samples, 0.99) };
}

async function concurrent(count: number, holdMs: number, echo: boolean) {
  const start = performance.now();
  const conns: Conn[] = [];
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async () => {
        const conn = await connect(ECHO);
        if (echo) {
          const back = new Promise<void>((resolve) => conn.onData(() => resolve()));
          await conn.write(Uint8Array.of(1));
          await back;
        }
        return conn;
      }),
    );
    conns.push(...opened);
  }
  const seconds = (performance.now() - start) / 1000;
  console.error('held');
  await sleep(holdMs);
  for (const conn of conns) conn.close();
  return { seconds, sockets: conns.length };
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
  while (!closed) await sleep(10);
  return { arrived: received === bytes, closeArrived: closed };
}

async function udp(count: number) {
  const samples: number[] = [];
  const payload = new Uint8Array(64).fill(0x75);
  if (path === 'raw') {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    let wake: () => void = () => {};
    socket.on('message', () => wake());
    for (let i = 0; i < count; i++) {
      const back = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const start = performance.now();
      socket.send(payload, UDP_ECHO, '127.0.0.1');
      await back;
      samples.push((performance.now() - start) * 1000);
    }
    socket.close();
  } else {
    const socket = new QUdpSocket({ gateway: gateway() });
    let wake: () => void = () => {};
    socket.readyRead.connect(() => {
      while (socket.hasPendingDatagrams()) socket.readDatagram();
      wake();
    });
    for (let i = 0; i < count; i++) {
      const back = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const start = performance.now();
      socket.writeDatagram(payload, '127.0.0.1', UDP_ECHO);
      await back;
      samples.push((performance.now() - start) * 1000);
    }
    socket.abort();
  }
  const total = samples.reduce((a, b) => a + b, 0) / 1e6;
  return { p50us: percentile(samples, 0.5), roundTripsPerSecond: count / total };
}

const run: Record<string, () => Promise<object>> = {
  upload: () => upload(options.bytes ?? 256 * 1024 * 1024),
  download: () => download(options.bytes ?? 256 * 1024 * 1024),
  latency: () => latency(options.count ?? 2000),
  concurrent: () => concurrent(options.count ?? 1000, options.holdMs ?? 1000, true),
  idle: () => concurrent(options.count ?? 10_000, options.holdMs ?? 1500, false),
  stalled: () => stalled(options.bytes ?? 1024 * 1024 * 1024, options.stallMs ?? 5000),
  stalledTarget: () => upload(options.bytes ?? 512 * 1024 * 1024, options.target + 4),
  udp: () => udp(options.count ?? 2000),
};
const result = await (run[scenario] as () => Promise<object>)();
console.log(JSON.stringify(result));
session?.close();
process.exit(0);

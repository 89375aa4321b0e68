/**
 * @module bench/page
 * The Chromium phase's page, bundled by bench/chromium.ts with esbuild and served by the benchmark on
 * 127.0.0.1. It measures one path from the browser: it asks the benchmark for each step with a POST
 * to /step carrying the result of the step before (its own facts at first), until the answer is
 * `{ scenario: 'done' }`. Paths: socketgate (the SDK bundled in), bridge and websockify (the browser's
 * WebSocket, one per TCP connection), wisp (wisp-js's browser client: one WebSocket multiplexing
 * streams). No driver is attached to the browser: the page reports by fetch alone.
 */
import { client as wispClient } from '@mercuryworkshop/wisp-js/client';
import { Gateway } from '@socketgate/sdk';
import { type Conn, download, latency, sleep, socketgateConnection, upload, WRITE_BOUND } from './scenarios.js';

/** What the benchmark serves at /config for the session under way. */
export interface PageConfig {
  path: 'socketgate' | 'bridge' | 'websockify' | 'wisp';
  /** Base port of bench/target.ts. */
  target: number;
  /** ws URL of the gateway, and its token. */
  gateway: string;
  token: string;
  /** ws URL of bench/bridge.ts, to which the target port is appended. */
  bridge: string;
  /** Target port -> websockify port. */
  websockify: Record<string, number>;
  /** ws URL of the wisp-js server (ends in "/"). */
  wisp: string;
  /** BENCH_PROFILE: each measured step runs under the JS Self-Profiling API; its summary comes back with the result. */
  jsProfile?: boolean;
}

export interface Step {
  scenario: 'upload' | 'download' | 'latency' | 'stalledPage' | 'stalledReader' | 'done';
  bytes?: number;
  count?: number;
  stallMs?: number;
}

/** Messages the page's WebSockets sent and received, every path's (wisp-js's client opens its own). */
const messages = { sent: 0, received: 0 };
const BrowserWebSocket = globalThis.WebSocket;
globalThis.WebSocket = class CountingWebSocket extends BrowserWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    this.addEventListener('message', () => {
      messages.received++;
    });
  }
  override send(data: string | ArrayBuffer | Blob | ArrayBufferView<ArrayBuffer>): void {
    messages.sent++;
    super.send(data);
  }
};

const config = (await (await fetch('/config')).json()) as PageConfig;
const ECHO = config.target;
const SINK = config.target + 1;
const SOURCE = config.target + 2;

let session: Gateway | undefined;
let wispSession: Promise<WispConnection> | undefined;
type WispConnection = InstanceType<typeof wispClient.ClientConnection>;

/** One Wisp connection per page, like socketgate's session. */
const wisp = (): Promise<WispConnection> => {
  if (!wispClient) throw new Error('wisp-js is not in this page: its client could not be bundled');
  wispSession ??= new Promise<WispConnection>((resolve, reject) => {
    const connection = new wispClient.ClientConnection(config.wisp);
    connection.onopen = () => resolve(connection);
    connection.onerror = () => reject(new Error(`wisp: cannot connect to ${config.wisp}`));
    connection.onclose = () => reject(new Error('wisp: the connection closed'));
  });
  return wispSession;
};

/** A browser WebSocket carrying one TCP connection's bytes in binary frames (bridge, websockify). */
async function webSocket(url: string, protocol?: string): Promise<Conn> {
  const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot open ${url}`));
  });
  const listeners: Array<(bytes: Uint8Array) => void> = [];
  ws.onmessage = (event: MessageEvent<ArrayBuffer>) => {
    const bytes = new Uint8Array(event.data);
    for (const listener of listeners) listener(bytes);
  };
  return {
    write: async (bytes) => {
      ws.send(bytes);
      // The browser says nothing when its buffer drains: polled.
      while (ws.bufferedAmount > WRITE_BOUND) await sleep(1);
    },
    onData: (listener) => listeners.push(listener),
    onClose: (listener) => ws.addEventListener('close', listener),
    close: () => ws.close(),
  };
}

async function connect(port: number): Promise<Conn> {
  if (config.path === 'socketgate') {
    session ??= new Gateway(config.gateway, { token: config.token });
    return socketgateConnection(session, port);
  }
  if (config.path === 'wisp') {
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
    // wisp-js queues without bound once the server's credit is used up: bounded here, as in bench/client.ts.
    const held = () => stream.send_buffer.reduce((sum, bytes) => sum + bytes.byteLength, 0) + connection.ws.bufferedAmount;
    return {
      write: async (bytes) => {
        stream.send(bytes);
        while (held() > WRITE_BOUND && !closed) await sleep(1);
      },
      onData: (listener) => listeners.push(listener),
      onClose: (listener) => closers.push(listener),
      close: () => stream.close(),
    };
  }
  if (config.path === 'bridge') return webSocket(`${config.bridge}${port}`);
  return webSocket(`ws://127.0.0.1:${config.websockify[port]}/`, 'binary');
}

const MiB = 1024 * 1024;
const run = (step: Step): Promise<object> => {
  switch (step.scenario) {
    case 'upload':
      return upload(connect, SINK, step.bytes ?? 128 * MiB);
    case 'download':
      return download(connect, SOURCE, step.bytes ?? 128 * MiB);
    case 'latency':
      return latency(connect, ECHO, step.count ?? 2000);
    case 'stalledPage':
      return download(connect, SOURCE, step.bytes ?? 256 * MiB, { ms: step.stallMs ?? 5000, how: 'page' });
    case 'stalledReader':
      if (config.path !== 'socketgate') throw new Error(`${config.path}: a page cannot stop reading a WebSocket`);
      return download(connect, SOURCE, step.bytes ?? 256 * MiB, { ms: step.stallMs ?? 5000, how: 'reader' });
    case 'done':
      return Promise.resolve({});
  }
};

/** What the JS Self-Profiling API (behind Document-Policy: js-profiling) gives: samples of stacks of frames. */
interface ProfilerTrace {
  frames: Array<{ name?: string; resourceId?: number; line?: number; column?: number }>;
  stacks: Array<{ parentId?: number; frameId: number }>;
  samples: Array<{ timestamp: number; stackId?: number }>;
  resources: string[];
}
declare const Profiler: new (options: { sampleInterval: number; maxBufferSize: number }) => { stop(): Promise<ProfilerTrace> };

/**
 * Runs a step under the page's own sampling profiler (10 ms a sample in Chromium, no DevTools
 * attached): samples outside JavaScript (idle, or the browser's own work on the main thread), and
 * JavaScript's self and total samples per function, most first.
 */
async function profiled(step: Step): Promise<object> {
  const profiler = new Profiler({ sampleInterval: 10, maxBufferSize: 1_000_000 });
  const result = await run(step);
  const trace = await profiler.stop();
  const frameName = (id: number) => {
    const frame = trace.frames[id];
    const where = frame?.resourceId !== undefined ? `${trace.resources[frame.resourceId]?.replace(/^.*\//, '')}:${frame.line}` : 'native';
    return `${frame?.name || '(anonymous)'} ${where}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let outside = 0;
  for (const sample of trace.samples) {
    if (sample.stackId === undefined) {
      outside++;
      continue;
    }
    const seen = new Set<string>();
    let stack: (typeof trace.stacks)[number] | undefined = trace.stacks[sample.stackId];
    const top = frameName(stack?.frameId ?? 0);
    self.set(top, (self.get(top) ?? 0) + 1);
    while (stack) {
      const name = frameName(stack.frameId);
      if (!seen.has(name)) total.set(name, (total.get(name) ?? 0) + 1);
      seen.add(name);
      stack = stack.parentId === undefined ? undefined : trace.stacks[stack.parentId];
    }
  }
  const top = (counts: Map<string, number>) => [...counts].sort((a, b) => b[1] - a[1]).slice(0, 25);
  return { ...result, jsProfile: { samples: trace.samples.length, outsideJs: outside, self: top(self), total: top(total) } };
}

const report = (kind: string, text: string) => {
  fetch('/log', { method: 'POST', body: `${kind}: ${text}` }).catch(() => {});
};
addEventListener('error', (event) => report('error', String(event.error ?? event.message)));
addEventListener('unhandledrejection', (event) => report('unhandled rejection', String(event.reason)));

// performance.now() is precise to 5 µs only when the page is cross-origin isolated (the benchmark's
// server sends COOP and COEP); the page says whether it is.
let result: object = { ready: true, crossOriginIsolated, userAgent: navigator.userAgent };
for (;;) {
  const step = (await (await fetch('/step', { method: 'POST', body: JSON.stringify(result) })).json()) as Step;
  if (step.scenario === 'done') break;
  try {
    const sent = messages.sent;
    const received = messages.received;
    const measured = config.jsProfile ? await profiled(step) : await run(step);
    result = { ...measured, messagesSent: messages.sent - sent, messagesReceived: messages.received - received };
  } catch (error) {
    result = { failed: true, reason: String(error) };
  }
}

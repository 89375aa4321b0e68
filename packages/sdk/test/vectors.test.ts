import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Gateway, QTcpSocket, type WebSocketConstructor, type WebSocketLike } from '@socketgate/sdk';
import { recordSignals, text } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

const load = (name: string) =>
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`@socketgate/protocol/vectors/${name}`), 'utf8'));
const messages = load('messages.json') as { server: { valid: Array<{ name: string; message: Record<string, unknown> }> } };
const frames = load('frames.json') as { valid: Array<{ name: string; frame: string }> };
const recorded = (name: string) => JSON.stringify(messages.server.valid.find((v) => v.name === name)?.message);
const recordedFrame = (name: string) => Uint8Array.from(Buffer.from(frames.valid.find((v) => v.name === name)?.frame ?? '', 'hex')).buffer;

/** A scripted WebSocket that answers the SDK with the recorded gateway frames of the shared vectors. */
class RecordedGateway implements WebSocketLike {
  static sent: Array<string | Uint8Array> = [];
  /** The recorded `end` the stream finishes with. */
  static end = 'end';
  readyState = 0;
  binaryType = 'blob';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocol?: string | string[],
  ) {
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(data: string | Uint8Array): void {
    RecordedGateway.sent.push(data);
    if (typeof data !== 'string') return;
    const message = JSON.parse(data) as { type: string };
    const reply = (payload: string | ArrayBuffer) => setTimeout(() => this.onmessage?.({ data: payload }), 0);
    if (message.type === 'hello') reply(recorded('welcome'));
    if (message.type === 'open') {
      for (const name of ['resolved', 'connected']) reply(recorded(name));
      reply(recordedFrame('data with a payload'));
      reply(recordedFrame('data with an empty payload'));
      reply(recorded(RecordedGateway.end));
    }
  }
  close(): void {
    this.readyState = 3;
  }
}

it('decodes the recorded gateway frames of the shared vectors into Qt signals', async () => {
  const gateway = new Gateway('ws://recorded.test/v1/socket', {
    token: 'x',
    WebSocket: RecordedGateway as unknown as WebSocketConstructor,
  });
  const socket = new QTcpSocket({ gateway });
  const log = recordSignals(socket);
  const ends: string[] = [];
  socket.connected.connect(() =>
    ends.push(`${socket.localAddress()}:${socket.localPort()} -> ${socket.peerAddress()}:${socket.peerPort()}`),
  );
  socket.connectToHost('example.org', 7);
  expect(await socket.waitForDisconnected(2000)).toBe(true);
  expect(log).toEqual([
    'stateChanged(HostLookupState)',
    'stateChanged(ConnectingState)',
    'hostFound',
    'stateChanged(ConnectedState)',
    'connected',
    'readyRead',
    'errorOccurred(RemoteHostClosedError)',
    'stateChanged(ClosingState)',
    'stateChanged(UnconnectedState)',
    'readChannelFinished',
    'disconnected',
  ]);
  expect(text(socket.readAll())).toBe('hello');
  expect(ends).toEqual(['127.0.0.1:50000 -> 127.0.0.1:7']);
  expect(socket.peerPort()).toBe(0); // cleared after the close, as in Qt
  const [hello, open] = RecordedGateway.sent.slice(0, 2).map((item) => JSON.parse(item as string));
  expect(hello).toEqual({ type: 'hello', version: 1, token: 'x' });
  expect(open).toEqual({ type: 'open', stream: 1, transport: 'tcp', host: 'example.org', port: 7, family: 'any', window: 4 * 1024 * 1024 });
});

it("decodes the recorded end after a reset into Qt's remote close, with an errorString that says reset", async () => {
  RecordedGateway.end = 'end after a reset';
  onTestFinished(() => {
    RecordedGateway.end = 'end';
  });
  const gateway = new Gateway('ws://recorded.test/v1/socket', {
    token: 'x',
    WebSocket: RecordedGateway as unknown as WebSocketConstructor,
  });
  const socket = new QTcpSocket({ gateway });
  socket.connectToHost('example.org', 7);
  await socket.waitForConnected(2000);
  const log = recordSignals(socket);
  expect(await socket.waitForDisconnected(2000)).toBe(true);
  expect(log).toEqual([
    'readyRead',
    'errorOccurred(RemoteHostClosedError)',
    'stateChanged(ClosingState)',
    'stateChanged(UnconnectedState)',
    'readChannelFinished',
    'disconnected',
  ]);
  expect(socket.errorString()).toBe('The remote host closed the connection (connection reset by peer)');
  expect(text(socket.readAll())).toBe('hello');
});

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { expect, it, onTestFinished } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { receiveWithoutCopies } from './ws-receive.js';

/** A ws server on loopback whose connections take binary messages as fragments, without copies when `patched`. */
async function server(patched: boolean): Promise<{ url: string; messages: Array<{ data: Buffer | Buffer[]; isBinary: boolean }> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  onTestFinished(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await once(wss, 'listening');
  const messages: Array<{ data: Buffer | Buffer[]; isBinary: boolean }> = [];
  wss.on('connection', (ws) => {
    ws.binaryType = 'fragments';
    if (patched) expect(receiveWithoutCopies(ws)).toBe(true);
    ws.on('message', (data: Buffer | Buffer[], isBinary: boolean) => messages.push({ data, isBinary }));
  });
  const { port } = wss.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}`, messages };
}

async function client(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  onTestFinished(() => ws.terminate());
  await once(ws, 'open');
  return ws;
}

const joined = (data: Buffer | Buffer[]): Buffer => (Array.isArray(data) ? Buffer.concat(data) : data);

it('hands masked binary payloads that span reads on as views of the reads, unmasked, whole and in order', async () => {
  const { url, messages } = await server(true);
  const ws = await client(url);
  const large = randomBytes(1_000_003);
  const pieces = [randomBytes(70_001), randomBytes(3), randomBytes(200_000)];
  const text = '€😀'.repeat(40_000);
  ws.send(large);
  // One message in three frames: a fragment spanning reads, a tiny one, another spanning reads.
  pieces.forEach((piece, i) => {
    ws.send(piece, { binary: true, fin: i === pieces.length - 1 });
  });
  ws.send(text);
  ws.send(Buffer.alloc(0));
  for (let i = 0; i < 100 && messages.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(messages.map((m) => m.isBinary)).toEqual([true, true, false, true]);
  const [first, second, third, fourth] = messages;
  expect(joined(first?.data ?? []).equals(large)).toBe(true);
  // Held in the reads it arrived in: more than one piece, none of them a copy of the whole.
  expect(Array.isArray(first?.data) && first.data.length > 1).toBe(true);
  expect(joined(second?.data ?? []).equals(Buffer.concat(pieces))).toBe(true);
  expect(third?.data.toString()).toBe(text);
  expect(joined(fourth?.data ?? []).byteLength).toBe(0);
});

it("leaves a receiver it does not know as ws made it, and ws's own path gives the same bytes", async () => {
  expect(receiveWithoutCopies({} as WebSocket)).toBe(false);
  expect(receiveWithoutCopies({ _receiver: { getData: 1 } } as unknown as WebSocket)).toBe(false);
  const { url, messages } = await server(false);
  const ws = await client(url);
  const large = randomBytes(500_000);
  ws.send(large);
  for (let i = 0; i < 100 && messages.length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(joined(messages[0]?.data ?? []).equals(large)).toBe(true);
});

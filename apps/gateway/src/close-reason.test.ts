import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closeReason, MAX_CLOSE_REASON_BYTES } from './close-reason.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('closeReason', () => {
  it('keeps a reason that fits, and cuts one that does not at a character boundary, counting bytes', () => {
    expect(closeReason('bad hello: token')).toBe('bad hello: token');
    const euros = closeReason('€'.repeat(50));
    expect(bytes(euros)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    expect(euros).toBe(`${'€'.repeat(40)}...`);
    expect(closeReason('x'.repeat(123))).toBe('x'.repeat(123));
    expect(closeReason('x'.repeat(124))).toBe(`${'x'.repeat(120)}...`);
    expect(bytes(closeReason('😀'.repeat(40)))).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    expect(bytes(closeReason('\ud800'.repeat(60)))).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
  });

  it('always gives at most 123 bytes of UTF-8 and a prefix of the text (property, the whole of Unicode)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 200 }), (binary, graphemes) => {
        for (const text of [binary, graphemes, binary + graphemes]) {
          const reason = closeReason(text);
          expect(bytes(reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
          expect(text.startsWith(reason.endsWith('...') && reason !== text ? reason.slice(0, -3) : reason)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is accepted by ws for every such reason (no RangeError)', async () => {
    const { WebSocketServer, WebSocket } = await import('ws');
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const { port } = server.address() as { port: number };
    const reasons: string[] = [];
    server.on('connection', (ws) => {
      const reason = closeReason(`${'€'.repeat(50) + '😀'.repeat(30)}\udfff`);
      reasons.push(reason);
      ws.close(4400, reason);
    });
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [code, reason] = await new Promise<[number, string]>((resolve) => client.on('close', (c, r) => resolve([c, r.toString()])));
    expect(code).toBe(4400);
    expect(bytes(reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

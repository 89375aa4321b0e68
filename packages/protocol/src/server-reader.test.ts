import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseServerMessage } from './codec.js';
import { readServerMessage } from './server-reader.js';
import { acceptTlsMessages } from './tls-reader.js';

// The reader as QSslSocket uses it: every message type the schema has.
acceptTlsMessages();

const vectors = JSON.parse(readFileSync(new URL('../vectors/messages.json', import.meta.url), 'utf8')) as {
  server: { valid: Array<{ name: string; message: Record<string, unknown> }>; invalid: Array<{ name: string; frame: string }> };
};

describe("readServerMessage, the SDK's light reader", () => {
  it.each(vectors.server.valid.map((v) => [v.name, v.message] as const))('accepts %s as the schema does', (_name, message) => {
    const text = JSON.stringify(message);
    expect(readServerMessage(text)).toEqual(parseServerMessage(text));
  });

  it.each(vectors.server.invalid.map((v) => [v.name, v.frame] as const))('refuses %s as the schema does', (_name, frame) => {
    expect(readServerMessage(frame).ok).toBe(false);
    expect(parseServerMessage(frame).ok).toBe(false);
  });

  it('agrees with the schema on random values and on valid messages with one field replaced (property)', () => {
    const valid = vectors.server.valid.map((v) => v.message);
    const mutated = fc
      .tuple(fc.constantFrom(...valid), fc.string({ maxLength: 16 }), fc.jsonValue({ maxDepth: 2 }), fc.boolean())
      .map(([message, key, value, replaceExisting]) => {
        const keys = Object.keys(message);
        const field = replaceExisting ? (keys[key.length % keys.length] as string) : key;
        return { ...message, [field]: value };
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.jsonValue()), (value) => {
        const text = JSON.stringify(value) ?? 'null';
        expect(readServerMessage(text).ok).toBe(parseServerMessage(text).ok);
      }),
      { numRuns: 3000 },
    );
  });
});

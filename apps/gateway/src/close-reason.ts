import type { WebSocket } from 'ws';

/** A WebSocket close reason may hold at most 123 bytes of UTF-8 (RFC 6455 §5.5: 125 minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

const encoder = new TextEncoder();

/**
 * `text` as a close reason: at most 123 bytes of UTF-8, cut at a character boundary with an ellipsis
 * when longer. Lone surrogates count as the three bytes of U+FFFD they are sent as. Counts bytes,
 * never characters: 50 × "€" is 150 bytes.
 */
export function closeReason(text: string): string {
  if (encoder.encode(text).byteLength <= MAX_CLOSE_REASON_BYTES) return text;
  const room = MAX_CLOSE_REASON_BYTES - 3; // "..."
  let bytes = 0;
  let cut = '';
  for (const char of text) {
    const size = encoder.encode(char).byteLength;
    if (bytes + size > room) break;
    bytes += size;
    cut += char;
  }
  return `${cut}...`;
}

/**
 * Closes `ws` with `code` and a reason that always fits, and never throws: a socket that is already
 * closing, or any other refusal by `ws`, ends in `terminate()` instead. After `graceMs` without the
 * client's close frame the connection is terminated (and `onCut` told), so that a client that never
 * answers the close handshake does not hold the descriptor for ws's own 30 s.
 */
export function closeWebSocket(ws: WebSocket, code: number, reason: string, graceMs: number, onCut?: () => void): void {
  if (ws.readyState === ws.CLOSED) return;
  try {
    ws.close(code, closeReason(reason));
  } catch {
    ws.terminate();
    return;
  }
  const timer = setTimeout(() => {
    onCut?.();
    ws.terminate();
  }, graceMs);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}

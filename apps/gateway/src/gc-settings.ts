import v8 from 'node:v8';

/**
 * V8's garbage collection for a gateway process. With incremental marking on, a gateway relaying
 * an upload starts a full collection after nearly every young one: every byte received arrives in
 * a fresh ArrayBuffer (Node's socket reads), and once the heap is past V8's activation threshold
 * for incremental marking (a gateway's is, at about 20 MB; a plain relay's 6 MB is not) V8 counts
 * those buffers toward the point where it starts marking. Measured from Node on 512 MiB uploads:
 * 30 to 60 full collections and 3 to 5 CPU seconds per GiB with it on, 1 collection and 1.2 to 1.7
 * CPU seconds per GiB with it off; the same runs from Chromium are in the README's Benchmark section.
 * Off, old objects are still collected, in one pause when the old generation reaches its limit,
 * which a gateway's heap (its sessions and streams) reaches rarely.
 *
 * The flag is process-wide, so only the socketgate command applies it (config `incrementalMarking`);
 * an application that embeds the gateway decides for its own process.
 */
export function applyGcSettings(settings: { incrementalMarking: boolean }): void {
  v8.setFlagsFromString(settings.incrementalMarking ? '--incremental-marking' : '--no-incremental-marking');
}

/** The largest fragment Chromium sent in our captures of 256 KiB messages (issue 17). */
export const CHROMIUM_FRAGMENT_BYTES = 131_000;

/**
 * A binary message cut as Chromium sends one larger than about 128 KiB: fragments of at most
 * {@link CHROMIUM_FRAGMENT_BYTES}, views of `message`; a message that fits is its own one fragment.
 */
export function chromiumFragments(message: Uint8Array): Uint8Array[] {
  const fragments: Uint8Array[] = [];
  let offset = 0;
  do {
    const end = Math.min(offset + CHROMIUM_FRAGMENT_BYTES, message.byteLength);
    fragments.push(message.subarray(offset, end));
    offset = end;
  } while (offset < message.byteLength);
  return fragments;
}

import { HEADER_BYTES } from '@socketgate/protocol';
import { describe, expect, it } from 'vitest';
import { allocateFrame, READ_BYTES, releaseFrame } from './frame-pool.js';

describe('frame pool', () => {
  it('hands a released large frame out again, sized to the new request', () => {
    const first = allocateFrame(HEADER_BYTES + READ_BYTES);
    releaseFrame(first);
    const second = allocateFrame(HEADER_BYTES + 100_000);
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteLength).toBe(HEADER_BYTES + 100_000);
  });

  it('keeps no small frames and nothing that is not a whole pooled buffer', () => {
    const small = allocateFrame(100);
    releaseFrame(small);
    const view = allocateFrame(HEADER_BYTES + READ_BYTES).subarray(1);
    releaseFrame(view);
    const next = allocateFrame(HEADER_BYTES + READ_BYTES);
    expect(next.buffer).not.toBe(small.buffer);
    expect(next.buffer).not.toBe(view.buffer);
  });
});

import { expect, it } from 'vitest';
import { datagramCost } from './flow-control.js';

it('costs a datagram its payload size, and an empty one 1', () => {
  expect(datagramCost(0)).toBe(1);
  expect(datagramCost(1)).toBe(1);
  expect(datagramCost(1200)).toBe(1200);
  expect(datagramCost(65507)).toBe(65507);
});

/**
 * What one datagram costs against a flow-control window (credit and acknowledgements count
 * datagrams in the same bytes as TCP data): its payload size, and at least 1, so that empty
 * datagrams are counted too.
 */
export function datagramCost(payloadBytes: number): number {
  return Math.max(1, payloadBytes);
}

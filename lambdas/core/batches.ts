/**
 * Consecutive runs of `items`, in order, each of at most `maxItems` items and `maxBytes` by
 * `sizeOf` (an item larger than `maxBytes` alone makes a run of its own): how a list is cut into
 * requests that each fit an API's limits.
 */
export function greedyBatches<T>(items: readonly T[], sizeOf: (item: T) => number, limits: { readonly maxItems: number; readonly maxBytes: number }): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= limits.maxItems || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

import { describe, expect, it } from 'vitest';
import { greedyBatches } from '../../lambdas/core/batches.js';

describe('greedyBatches', () => {
  const cut = (sizes: number[], maxItems: number, maxBytes: number) => greedyBatches(sizes, (n) => n, { maxItems, maxBytes });
  it.each([
    ['nothing', [], 3, 10, []],
    ['cut by count', [1, 1, 1, 1, 1], 2, 100, [[1, 1], [1, 1], [1]]],
    ['cut by bytes, in order', [4, 4, 4, 1], 10, 9, [[4, 4], [4, 1]]],
    ['exactly the byte limit fits', [5, 5], 10, 10, [[5, 5]]],
    ['an item over the limit goes alone', [3, 20, 3], 10, 10, [[3], [20], [3]]],
  ])('%s', (_name, sizes, maxItems, maxBytes, expected) => {
    expect(cut(sizes as number[], maxItems as number, maxBytes as number)).toEqual(expected);
  });
});

/**
 * How many items the pull's index Queries ask for: a page that ends inside a Query's items
 * leaves the rest to be read again by the next page, so once a page holds records the Query asks
 * for about what the rest of the budget holds. What each page carries never depends on it.
 */
import { describe, expect, it } from 'vitest';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { pullChanges, type PullResponse } from '../../lambdas/core/pull.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import { NOW, readOnlyStore } from '../support/read-only-store.js';

const config = { pageBytes: 40_000, queryLimit: 1_000, indexLagMs: 5_000, inflightExpiryMs: 30_000, cursorTtlMs: 900_000, tombstoneRetentionMs: 90 * 86_400_000 };

// 400 activities of 150–650 bytes of notes: about 5 pages of 40 kB.
const records: StoredRecord[] = Array.from({ length: 400 }, (_, i) => ({
  table: 'activities',
  id: `q${String(i).padStart(3, '0')}`,
  data: { sport: 'running', started_at: 1_700_000_000_000 + i, notes: 'n'.repeat(150 + ((i * 37) % 500)) },
  created_at: NOW - 100_000 + i,
  updated_at: NOW - 100_000 + i,
  deleted_at: null,
}));

async function pullAll(queryLimit: number) {
  const store = readOnlyStore(records);
  const deps = { store, signer: hmacSigner('s'.repeat(32)), now: () => NOW, config: { ...config, queryLimit } };
  const pages: PullResponse[] = [];
  let cursor: string | undefined;
  do {
    const { stats: _stats, ...page } = await pullChanges('u1', { lastPulledAt: null, schemaVersion: 2, migration: null, cursor }, deps);
    pages.push(page);
    cursor = page.cursor;
  } while (cursor);
  const ids = (p: PullResponse) => p.changes.activities.updated.map((r) => r.id);
  return { pages: pages.map(ids), timestamps: new Set(pages.map((p) => p.timestamp)), itemsRead: store.queries.reduce((n, q) => n + q.items, 0), queries: store.queries };
}

describe('index Query limits of a paged pull', () => {
  it('pages carry the same records whatever the Query limit', async () => {
    const reference = await pullAll(1);
    expect(reference.pages.length).toBeGreaterThanOrEqual(5);
    expect(reference.pages.flat()).toEqual(records.map((r) => r.id));
    for (const limit of [7, 50, 1_000]) expect((await pullAll(limit)).pages).toEqual(reference.pages);
  });

  it('reads about every item once: the Query that ends a page asks for what the rest of its budget holds, not for the whole limit', async () => {
    const { pages, itemsRead, queries } = await pullAll(50);
    // Pages of ~55 records: a fixed limit of 50 would read 100 items for each (~700 in all).
    expect(pages.length).toBeGreaterThanOrEqual(5);
    expect(itemsRead).toBeLessThanOrEqual(records.length * 1.1);
    // A page's first Query knows no record sizes yet: it asks for the whole limit.
    expect(queries[0]?.limit).toBe(50);
    // Rarely more than one extra round trip per page.
    expect(queries.length).toBeLessThanOrEqual(pages.length * 3);
  });
});

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

describe('index Query limits past records a page does not send', () => {
  it('records the page skips (the device\'s own writes) do not shrink the Queries to a trickle', async () => {
    // A page nearly full of records sent, then 300 the pulling device wrote itself (not sent),
    // then more to send: the Queries through the skipped run ask for many items, not the few the
    // rest of the budget would hold if every item were sent.
    const own = { id: 'phone', exact: true, since: 0 };
    const mixed: StoredRecord[] = Array.from({ length: 400 }, (_, i) => ({
      table: 'activities',
      id: `m${String(i).padStart(3, '0')}`,
      data: { sport: 'running', started_at: 1_700_000_000_000 + i, notes: 'n'.repeat(400) },
      created_at: NOW - 100_000 + i,
      updated_at: NOW - 100_000 + i,
      deleted_at: null,
      ...(i >= 60 && i < 360 ? { device: own } : {}),
    }));
    const store = readOnlyStore(mixed);
    // 60 records of ~0.7 kB take ~43 of the 45 kB.
    const deps = { store, signer: hmacSigner('s'.repeat(32)), now: () => NOW, config: { ...config, pageBytes: 45_000, queryLimit: 50 } };
    const page = await pullChanges('u1', { lastPulledAt: NOW - 200_000, schemaVersion: 2, migration: null, deviceId: 'phone' }, deps);
    const sent = page.changes.activities.updated.map((r) => r.id);
    // The 60 first and some of the last fill the page; none of the device's own.
    expect(sent.slice(0, 60)).toEqual(mixed.slice(0, 60).map((r) => r.id));
    expect(sent.slice(60).every((id) => Number(id.slice(1)) >= 360)).toBe(true);
    // 360+ items read at up to 50 a Query: 8 would do; a limit reckoned per record sent (a few
    // items once the first 60 are in) would take 30 or more.
    expect(store.queries.length).toBeLessThanOrEqual(12);
  });
});

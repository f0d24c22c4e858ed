/**
 * The pull reads the next index page while it processes the one in hand (read-ahead): a pull then
 * costs about the time of its Queries, not their sum plus its own work. When to send a Query is all
 * that changes: what each page carries is the same (pull-query-limit.test.ts), and a page read
 * ahead that the pull ends up not using is awaited before the pull returns, never left running.
 */
import { describe, expect, it } from 'vitest';
import { hmacSigner } from '../../lambdas/adapters/hmac-signer.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import type { ChangesPage, ChangesQuery, SyncStore } from '../../lambdas/core/store.js';
import { NOW, readOnlyStore } from '../support/read-only-store.js';

const config = { pageBytes: 40_000, queryLimit: 50, indexLagMs: 5_000, inflightExpiryMs: 30_000, cursorTtlMs: 900_000, tombstoneRetentionMs: 90 * 86_400_000 };
const signer = hmacSigner('s'.repeat(32));

const activity = (i: number, notesBytes: number): StoredRecord => ({
  table: 'activities',
  id: `r${String(i).padStart(3, '0')}`,
  data: { sport: 'running', started_at: 1_700_000_000_000 + i, notes: 'n'.repeat(notesBytes) },
  created_at: NOW - 100_000 + i,
  updated_at: NOW - 100_000 + i,
  deleted_at: null,
});

/**
 * The read-only store, logging each Query as it is sent (`query N`) and each record as the pull
 * reads its data to shape it (`shape <id>`); `hold(n)` makes the n-th Query wait for a gate.
 */
function loggingStore(records: StoredRecord[], hold?: { query: number; gate: Promise<void> }) {
  const inner = readOnlyStore(records);
  const log: string[] = [];
  let queries = 0;
  const watch = (r: StoredRecord): StoredRecord => {
    const { data } = r;
    return Object.defineProperty({ ...r }, 'data', {
      enumerable: true,
      get: () => {
        log.push(`shape ${r.id}`);
        return data;
      },
    });
  };
  const store: SyncStore = {
    ...inner,
    queryChanges: async (user: string, q: ChangesQuery): Promise<ChangesPage> => {
      const n = ++queries;
      log.push(`query ${n}`);
      if (hold?.query === n) await hold.gate;
      const page = await inner.queryChanges(user, q);
      if (hold?.query === n) log.push(`query ${n} answered`);
      return { ...page, records: page.records.map(watch) };
    },
  };
  return { store, log };
}

describe('index read-ahead', () => {
  it('asks for the next index page before it has processed the one in hand', async () => {
    // 120 records of ~0.5 kB: one 100 kB page, three Queries of 50.
    const records = Array.from({ length: 120 }, (_, i) => activity(i, 200));
    const { store, log } = loggingStore(records);
    const res = await pullChanges('u1', { lastPulledAt: null, schemaVersion: 2, migration: null }, { store, signer, now: () => NOW, config: { ...config, pageBytes: 100_000 } });
    expect(res.changes.activities.updated.map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(res.cursor).toBeUndefined();
    expect(res.stats.roundTrips).toBe(3);
    // The second Query went out while the first page's records were still being shaped.
    const lastOfFirstQuery = `shape ${records[49]?.id}`;
    expect(log.indexOf('query 2')).toBeGreaterThan(log.indexOf(`shape ${records[0]?.id}`));
    expect(log.indexOf('query 2')).toBeLessThan(log.indexOf(lastOfFirstQuery));
    expect(log.indexOf('query 3')).toBeLessThan(log.indexOf(`shape ${records[99]?.id}`));
    // Shaped once each: nothing read ahead was processed twice.
    expect(log.filter((e) => e.startsWith('shape')).length).toBeGreaterThanOrEqual(records.length);
    expect(new Set(log.filter((e) => e.startsWith('shape'))).size).toBe(records.length);
  });

  it('awaits a page read ahead that it does not use (the page filled first) before it returns, and the next page starts where this one ended', async () => {
    // Small records, then one that fills the page while the second Query is out.
    const records = Array.from({ length: 120 }, (_, i) => activity(i, i === 30 ? 39_000 : 100));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { store, log } = loggingStore(records, { query: 2, gate });
    const pulling = pullChanges('u1', { lastPulledAt: null, schemaVersion: 2, migration: null }, { store, signer, now: () => NOW, config }).then((res) => {
      log.push('pull returned');
      return res;
    });
    // Opened only after every microtask the pull can run without the read ahead has run.
    const opened = new Promise<void>((resolve) =>
      setImmediate(() => {
        log.push('gate opened');
        open();
        resolve();
      }),
    );
    const res = await pulling;
    await opened;
    expect(log).toContain('query 2');
    expect(log.indexOf('pull returned')).toBeGreaterThan(log.indexOf('query 2 answered'));
    expect(log.indexOf('query 2 answered')).toBeGreaterThan(log.indexOf('gate opened'));
    // The read-ahead is counted (it was made), and its records are not in the page.
    expect(res.stats.roundTrips).toBe(2);
    expect(res.changes.activities.updated.map((r) => r.id)).toEqual(records.slice(0, 30).map((r) => r.id));
    expect(res.cursor).toBeDefined();
    const next = await pullChanges('u1', { lastPulledAt: null, schemaVersion: 2, migration: null, cursor: res.cursor }, { store: readOnlyStore(records), signer, now: () => NOW, config });
    expect(next.changes.activities.updated[0]?.id).toBe(records[30]?.id);
  });

  it('sends no read-ahead when the page in hand will fill the budget, or is the last', async () => {
    // 50 records of ~1 kB fill the 40 kB page from the first Query's items.
    const full = Array.from({ length: 120 }, (_, i) => activity(i, 900));
    const a = loggingStore(full);
    const first = await pullChanges('u1', { lastPulledAt: null, schemaVersion: 2, migration: null }, { store: a.store, signer, now: () => NOW, config });
    expect(first.cursor).toBeDefined();
    expect(a.log.filter((e) => e.startsWith('query'))).toEqual(['query 1']);
    // A page whose Query reached the end of the range (no `next`) asks for nothing more.
    const few = Array.from({ length: 30 }, (_, i) => activity(i, 100));
    const b = loggingStore(few);
    const last = await pullChanges('u1', { lastPulledAt: null, schemaVersion: 2, migration: null }, { store: b.store, signer, now: () => NOW, config });
    expect(last.changes.activities.updated).toHaveLength(30);
    expect(b.log.filter((e) => e.startsWith('query'))).toEqual(['query 1']);
  });
});

/** A `SyncStore` for unit tests of the pull alone: the reads a pull makes, from a list of records. */
import type { StoredRecord } from '../../lambdas/core/records.js';
import type { ChangesQuery, SyncStore } from '../../lambdas/core/store.js';

/** The clock the store reports is one minute before this: every write has settled long ago. */
export const NOW = 1_800_000_000_000;

export interface ReadOnlyStore extends SyncStore {
  /** Every index Query the pull made: the limit it asked for and how many items it got. */
  readonly queries: { limit: number; items: number }[];
}

/** Index pages in `updated_at` order; no journals (nothing settles within the index lag). */
export function readOnlyStore(records: StoredRecord[]): ReadOnlyStore {
  const sorted = [...records].sort((a, b) => a.updated_at - b.updated_at || (a.id < b.id ? -1 : 1));
  const queries: { limit: number; items: number }[] = [];
  const store: Pick<ReadOnlyStore, 'readClock' | 'queryChanges' | 'readJournals' | 'getRecords' | 'queries'> = {
    queries,
    readClock: async () => ({ clock: NOW - 60_000, inflight: [], settling: [], liveRecords: records.filter((r) => r.deleted_at === null).length }),
    queryChanges: async (_user: string, q: ChangesQuery) => {
      const inRange = sorted.filter((r) => r.updated_at > q.after && r.updated_at <= q.upTo && !(q.liveOnly && r.deleted_at !== null));
      const from = q.startAfter ? inRange.findIndex((r) => r.id === q.startAfter?.id) + 1 : 0;
      const page = inRange.slice(from, from + q.limit);
      queries.push({ limit: q.limit, items: page.length });
      const last = page.at(-1);
      const more = from + q.limit < inRange.length;
      // Copies, as a store reads them: the pull may not share objects with the store.
      return { records: page.map((r) => structuredClone(r)), ...(more && last ? { next: { table: last.table, id: last.id, updated_at: last.updated_at } } : {}) };
    },
    readJournals: async () => new Map(),
    getRecords: async () => [],
  };
  return store as ReadOnlyStore;
}

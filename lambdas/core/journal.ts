/**
 * A lease's journal names the records it writes. The copy a settling lease leaves on the clock item
 * also says at which version it writes each one, so that a pull finding the index already at (or
 * past) that version reads nothing more for it (docs/sync-protocol.md, P4). A record left without
 * its version is read from the base table, as every journaled record once was.
 */
import { recordKey } from './records.js';
import type { WriteLease } from './store.js';

/** The lease, each journaled record with the version planned for it (`stampOf`, by record key). */
export function stampJournal(lease: WriteLease, stampOf: ReadonlyMap<string, number>): WriteLease {
  if (!lease.journal) return lease;
  return {
    ...lease,
    journal: lease.journal.map((r) => {
      const stamp = stampOf.get(recordKey(r.table, r.id));
      return stamp === undefined ? { table: r.table, id: r.id } : { table: r.table, id: r.id, stamp };
    }),
  };
}

/** A lease of one stamp writes what it journals at that stamp. */
export function stampSingleWrite(lease: WriteLease): WriteLease {
  if (!lease.journal) return lease;
  return { ...lease, journal: lease.journal.map((r) => ({ table: r.table, id: r.id, stamp: lease.stamp })) };
}

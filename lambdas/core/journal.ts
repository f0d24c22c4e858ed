/**
 * A lease's journal names the records it writes. Writers say at which version they write each one
 * (`stampJournal`, `stampSingleWrite`), and the copy a settling lease leaves on the clock item keeps
 * it, so that a pull finding the index already at (or past) that version reads nothing more for it.
 * A pull merges the journals of the recent leases (`journaledRecords`). A record left without its
 * version is read from the base table, as every journaled record once was (docs/sync-protocol.md,
 * "Why a pull is exact").
 */
import { recordKey } from './records.js';
import type { JournalEntry, WriteLease } from './store.js';

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

/**
 * A journal read from its item, with the versions its lease wrote its records at when they run on
 * one by one from `first` in the journal's order (`ClockState.journalVersionRuns`); as read
 * otherwise (unversioned: such records are read from the base table).
 */
export function withVersionRun(refs: readonly JournalEntry[], first: number | undefined): JournalEntry[] {
  if (first === undefined) return [...refs];
  return refs.map((r, i) => ({ table: r.table, id: r.id, stamp: first + i }));
}

/**
 * The version the index must show a record at before it is up to date for it, from two writes of
 * it: the later one; unknown (`undefined`) if either write's version is.
 */
export function laterStamp(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : Math.max(a, b);
}

/**
 * The records of the given journals, each once, in key order (so pages can resume by offset), each
 * with the highest version any of the leases wrote it at: the index is up to date for a record only
 * from there (unknown if one of the leases did not say).
 */
export function journaledRecords(leases: readonly string[], journals: ReadonlyMap<string, readonly JournalEntry[]> | undefined): JournalEntry[] {
  const byKey = new Map<string, JournalEntry>();
  for (const lease of leases) {
    for (const ref of journals?.get(lease) ?? []) {
      const key = recordKey(ref.table, ref.id);
      const seen = byKey.get(key);
      const stamp = seen ? laterStamp(seen.stamp, ref.stamp) : ref.stamp;
      byKey.set(key, stamp === undefined ? { table: ref.table, id: ref.id } : { table: ref.table, id: ref.id, stamp });
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

/**
 * Merges the pages of one paged pull into the single change set `synchronize()` expects.
 *
 * Why: WatermelonDB requires each id at most once per table in a pull, but a record can appear
 * on two pages (a server may send a record again). The later page describes
 * the newer state, so its entry for an id replaces the earlier one, whatever the kinds were:
 * a record deleted on a later page leaves `updated`, one updated later leaves `deleted`.
 */
import type { ChangeSet, DirtyRaw, TableChangeSet } from './types.js';

type Entry = { kind: 'created' | 'updated'; raw: DirtyRaw } | { kind: 'deleted'; id: string };

export interface ChangeSetMerger {
  add(changes: ChangeSet): void;
  result(): ChangeSet;
}

export function createChangeSetMerger(): ChangeSetMerger {
  const tables = new Map<string, Map<string, Entry>>();
  const put = (entries: Map<string, Entry>, id: string, entry: Entry) => {
    // delete first, so the merged arrays list records in the order the server last sent them
    entries.delete(id);
    entries.set(id, entry);
  };
  return {
    add(changes) {
      for (const [table, set] of Object.entries(changes)) {
        let entries = tables.get(table);
        if (!entries) tables.set(table, (entries = new Map()));
        // `created` is kept apart (the server must never send it), so WatermelonDB still reports the misuse.
        for (const raw of set.created) put(entries, String(raw.id), { kind: 'created', raw });
        for (const raw of set.updated) put(entries, String(raw.id), { kind: 'updated', raw });
        for (const id of set.deleted) put(entries, id, { kind: 'deleted', id });
      }
    },
    result() {
      const out: ChangeSet = {};
      for (const [table, entries] of tables) {
        const set: TableChangeSet = { created: [], updated: [], deleted: [] };
        for (const e of entries.values()) {
          if (e.kind === 'deleted') set.deleted.push(e.id);
          else set[e.kind].push(e.raw);
        }
        out[table] = set;
      }
      return out;
    },
  };
}

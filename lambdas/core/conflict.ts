/**
 * Conflict policies: what happens when a pushed change meets a stored record that changed after
 * the client's `last_pulled_at`. Pure functions over plain records, shared by the server (push)
 * and, in later work, by the client's `conflictResolver`.
 *
 * This module holds the placeholder policy of the sync foundation: the client wins per changed
 * column, and a delete wins over an edit. The per-entity rules replace `resolveConflict` behind
 * the same interface.
 */
import type { StoredRecord } from './records.js';
import type { RecordData, TableDef } from './schema.js';

export interface UpsertConflict {
  readonly kind: 'upsert';
  readonly table: TableDef;
  readonly stored: StoredRecord;
  /** The client's values of the columns it changed. */
  readonly incoming: RecordData;
  readonly changedColumns: readonly string[];
}

export interface DeleteConflict {
  readonly kind: 'delete';
  readonly table: TableDef;
  readonly stored: StoredRecord;
}

export type Conflict = UpsertConflict | DeleteConflict;

export type Resolution =
  /** Store `data` as the live record. */
  | { readonly outcome: 'write'; readonly data: RecordData; readonly rule: string; readonly losing: RecordData; readonly winning: RecordData }
  /** Tombstone the record. */
  | { readonly outcome: 'delete'; readonly rule: string; readonly losing: RecordData; readonly winning: RecordData }
  /** Keep the stored record as it is; the client's change is discarded. */
  | { readonly outcome: 'keep'; readonly rule: string; readonly losing: RecordData; readonly winning: RecordData };

export type ConflictPolicy = (conflict: Conflict) => Resolution;

function pickColumns(data: RecordData, columns: readonly string[]): RecordData {
  return Object.fromEntries(columns.map((c) => [c, data[c] ?? null]));
}

/** Placeholder policy: client wins per changed column; a delete beats an edit. */
export const clientWinsPerColumn: ConflictPolicy = (c) => {
  if (c.kind === 'delete') {
    return { outcome: 'delete', rule: 'delete-wins', losing: c.stored.data, winning: {} };
  }
  if (c.stored.deleted_at !== null) {
    return { outcome: 'keep', rule: 'delete-wins', losing: c.incoming, winning: {} };
  }
  return {
    outcome: 'write',
    data: { ...c.stored.data, ...c.incoming },
    rule: 'client-wins-per-column',
    losing: pickColumns(c.stored.data, c.changedColumns),
    winning: c.incoming,
  };
};

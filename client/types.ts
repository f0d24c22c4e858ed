/**
 * The change-set shapes of WatermelonDB's sync protocol, declared here because WatermelonDB
 * 0.28's own `SyncDatabaseChangeSet` loses its index signature in TypeScript (it is keyed by a
 * generic alias, which TS does not accept there), so it cannot be indexed by table name.
 * These are structurally what `synchronize()` passes and expects.
 */

/** A record as sent over the wire: column values by name (plus `_status`/`_changed` when pushed). */
export type DirtyRaw = { [column: string]: any };

export interface TableChangeSet {
  created: DirtyRaw[];
  updated: DirtyRaw[];
  deleted: string[];
}

/** Changes by table name. */
export type ChangeSet = { [table: string]: TableChangeSet };

/** What `synchronize()` passes to `pushChanges`. */
export interface PushArgs {
  changes: ChangeSet;
  lastPulledAt: number | null;
}

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

/**
 * What `synchronize()` passes to `pullChanges` (WatermelonDB's `SyncPullArgs`, declared here so
 * the package's types do not load WatermelonDB's `sync` declarations, which do not type-check
 * under `skipLibCheck: false`; test/client/boundary.test.ts checks the two stay compatible).
 */
export interface PullArgs {
  lastPulledAt?: number | null | undefined;
  schemaVersion: number;
  /** A migration sync's tables and columns (WatermelonDB's `MigrationSyncChanges`), or null. */
  migration?: MigrationSyncChanges | null | undefined;
}

/** The tables and columns a schema migration added since the last sync. */
export interface MigrationSyncChanges {
  from: number;
  tables: string[];
  columns: { table: string; columns: string[] }[];
}

/** What `synchronize()` passes to `pushChanges`. */
export interface PushArgs {
  changes: ChangeSet;
  lastPulledAt: number | null;
}

/** WatermelonDB's `conflictResolver` signature. */
export type ConflictResolver = (table: string, local: DirtyRaw, remote: DirtyRaw, resolved: DirtyRaw) => DirtyRaw;

/**
 * The device's conflict bookkeeping for one sync (`createConflictSession` in `conflicts.ts`).
 * Declared here, apart from the rules it runs, so the package's type declarations never reach
 * the server's core (and its zod schemas).
 */
export interface ConflictSession {
  /**
   * Runs on the merged pull before WatermelonDB applies it; may drop pulled deletes a local edit
   * beats. `replacement`: the pull is the whole live set, so a record the device edited and the
   * pull lacks was deleted on the server: it is judged as a pulled delete.
   */
  beforeApply(changes: ChangeSet, lastPulledAt: number | null, replacement?: boolean): Promise<ChangeSet>;
  readonly conflictResolver: ConflictResolver;
  /** The base version of a pushed record, when it differs from the push's `last_pulled_at`. */
  baseVersionFor(table: string, id: string, kind: 'created' | 'updated' | 'deleted', lastPulledAt: number | null): number | undefined;
  /** Records the versions of an accepted push (all its requests), by table and id. */
  afterPush(versions: Record<string, Record<string, number>>, deleted: ReadonlyMap<string, readonly string[]>): Promise<void>;
  /** Sends the outbox; keeps what could not be delivered for the next sync. */
  flush(): Promise<void>;
}

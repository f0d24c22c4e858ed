/**
 * What an account owner may ask for: a copy of everything the service keeps about them (export)
 * and the removal of all of it (erasure). Pure orchestration over two small interfaces; the
 * DynamoDB and S3 adapters implement them (adapters/dynamo/account-store.ts,
 * adapters/s3/account-objects.ts).
 *
 * Export = what a fresh device pulls (every live record, at the current schema version, through
 * the pull itself, so the two cannot drift), the conflict log, and the user's stored objects.
 * Erasure removes every item of the user's partition (records, tombstones, clock, conflict log,
 * recording claims), the id claims of the user's records (items in other partitions) and every
 * object under the user's prefix, in bounded batches: each call does at most `maxItems` item
 * deletes and `maxObjects` object deletes and says whether anything is left, so a caller repeats
 * it until `complete`; a repeated or interrupted erasure is safe (deleting what is gone is a no-op).
 */
import type { ConflictEntry } from './conflict-log.js';
import type { CursorSigner } from './cursor.js';
import { pullChanges, type PullConfig } from './pull.js';
import type { PulledRaw } from './records.js';
import { SCHEMA_VERSION, TABLES, type TableName } from './schema.js';
import type { SyncStore } from './store.js';
import { userObjectsPrefix } from './uploads.js';

/** A key of an item to delete, as the store names it. */
export interface AccountItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** The items of one user, in the user's partition and outside it (id claims). */
export interface AccountStore {
  /**
   * One page of the user's items: those of the user's partition and, for each record of a table
   * whose ids are global, the id claim the user owns. `after`: the page's `next`.
   */
  listItems(userId: string, page: { readonly limit: number; readonly after?: string }): Promise<{ keys: AccountItemKey[]; next?: string }>;
  /** Deletes the items (absent ones are no-ops; an id claim only if `userId` owns it). */
  deleteItems(userId: string, keys: readonly AccountItemKey[]): Promise<void>;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

export interface AccountObjects {
  /** One page of at most `limit` objects under `prefix`; `next` only when more remain after them. */
  list(prefix: string, page: { readonly limit: number; readonly after?: string }): Promise<{ objects: StoredObject[]; next?: string }>;
  /** Deletes the objects (absent ones are no-ops). */
  deleteMany(keys: readonly string[]): Promise<void>;
}

export interface AccountExport {
  readonly user_id: string;
  readonly exported_at: number;
  readonly schema_version: number;
  /** Every live record by table, as a first sync pulls it. */
  readonly records: Record<TableName, PulledRaw[]>;
  readonly conflicts: ConflictEntry[];
  readonly objects: StoredObject[];
}

export interface ExportDeps {
  readonly store: SyncStore;
  readonly signer: CursorSigner;
  readonly objects: AccountObjects;
  readonly now: () => number;
  readonly pull: PullConfig;
}

export async function exportAccount(userId: string, deps: ExportDeps): Promise<AccountExport> {
  const records = Object.fromEntries(TABLES.map((t) => [t.name, [] as PulledRaw[]])) as Record<TableName, PulledRaw[]>;
  let cursor: string | undefined;
  do {
    const page = await pullChanges(userId, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null, ...(cursor ? { cursor } : {}) }, { store: deps.store, signer: deps.signer, now: deps.now, config: deps.pull });
    for (const t of TABLES) records[t.name as TableName].push(...page.changes[t.name as TableName].updated);
    cursor = page.cursor;
  } while (cursor);

  const conflicts: ConflictEntry[] = [];
  let after: { at: number; id: string } | undefined;
  do {
    const page = await deps.store.listConflicts(userId, { since: 0, limit: 100, ...(after ? { after } : {}) });
    conflicts.push(...page.entries);
    after = page.next;
  } while (after);

  const objects: StoredObject[] = [];
  let next: string | undefined;
  do {
    const page = await deps.objects.list(userObjectsPrefix(userId), { limit: 1000, ...(next ? { after: next } : {}) });
    objects.push(...page.objects);
    next = page.next;
  } while (next);

  return { user_id: userId, exported_at: deps.now(), schema_version: SCHEMA_VERSION, records, conflicts, objects };
}

export interface EraseDeps {
  readonly items: AccountStore;
  readonly objects: AccountObjects;
}

export interface EraseResult {
  readonly deletedItems: number;
  readonly deletedObjects: number;
  /** False when the budget ran out first: call again. */
  readonly complete: boolean;
}

/**
 * One bounded round of erasure. Objects go first, then items: a crash in between leaves the
 * records (and their `uploads` rows) that name objects already gone, never objects nothing names.
 * Items are listed from the start each round (what was deleted is gone), so no position is kept.
 */
export async function eraseAccount(userId: string, deps: EraseDeps, budget: { readonly maxItems: number; readonly maxObjects: number }): Promise<EraseResult> {
  if (budget.maxItems < 2 || budget.maxObjects < 1) throw new RangeError('eraseAccount: maxItems must be at least 2 and maxObjects at least 1');
  let deletedObjects = 0;
  let objectsLeft = true;
  while (deletedObjects < budget.maxObjects) {
    const page = await deps.objects.list(userObjectsPrefix(userId), { limit: Math.min(1000, budget.maxObjects - deletedObjects) });
    if (page.objects.length === 0) {
      objectsLeft = false;
      break;
    }
    await deps.objects.deleteMany(page.objects.map((o) => o.key));
    deletedObjects += page.objects.length;
  }
  if (objectsLeft) objectsLeft = (await deps.objects.list(userObjectsPrefix(userId), { limit: 1 })).objects.length > 0;
  if (objectsLeft) return { deletedItems: 0, deletedObjects, complete: false };

  let deletedItems = 0;
  // Each listed item may bring its id claim: half the remaining budget per page keeps within it.
  while (budget.maxItems - deletedItems >= 2) {
    const page = await deps.items.listItems(userId, { limit: Math.min(100, Math.floor((budget.maxItems - deletedItems) / 2)) });
    if (page.keys.length === 0) return { deletedItems, deletedObjects, complete: true };
    await deps.items.deleteItems(userId, page.keys);
    deletedItems += page.keys.length;
  }
  const left = (await deps.items.listItems(userId, { limit: 1 })).keys.length > 0;
  return { deletedItems, deletedObjects, complete: !left };
}

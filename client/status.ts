/**
 * What an app needs for a "synced / N pending / failed" indicator: local changes not pushed yet,
 * conflict reports not delivered yet, the upload queue's unfinished and failed jobs, and how the
 * last sync ended. Read from the database (and the queue) on demand: cheap enough to call after
 * each sync, each upload-queue event, or when a screen opens.
 */
import { Q, type Database } from '@nozbe/watermelondb';
import { OUTBOX_STORAGE_KEY } from './conflicts.js';
import { getRejectedRecords } from './rejections.js';
import { syncSchema } from './schema.js';
import type { UploadJob } from './uploads/types.js';

/** Where `synchronizeWithServer` keeps how the last sync ended (never synced). */
export const LAST_SYNC_STORAGE_KEY = 'runningcoach_sync.last_sync';
/** WatermelonDB's own key for the last pull's timestamp. */
const LAST_PULLED_AT_KEY = '__watermelon_last_pulled_at';

export interface LastSync {
  /** When it ended (device clock, epoch ms). */
  readonly at: number;
  /** Null when it succeeded; else the error's name and message. */
  readonly error: { readonly name: string; readonly message: string } | null;
}

export interface SyncStatus {
  /**
   * `failed`: the last sync failed, or an upload failed for good (see `failedUploads`);
   * `pending`: something waits to reach the server (changes, conflict reports, uploads);
   * `synced`: nothing does.
   */
  readonly state: 'synced' | 'pending' | 'failed';
  /** Records created, updated or deleted on the device and not pushed yet. */
  readonly unsyncedRecords: number;
  /** The same, per table (tables without any are left out). */
  readonly unsyncedByTable: Readonly<Record<string, number>>;
  /**
   * Of the unsynced records, those the server refused at the last push (they stay unsynced until
   * fixed or discarded; `getRejectedRecords` lists them with the reasons).
   */
  readonly rejectedRecords: number;
  /** Changes a conflict rule discarded on the device, not yet in the server's conflict log. */
  readonly pendingConflictReports: number;
  /** Upload jobs waiting or running (`pending`, `uploading`); 0 without `uploadQueue`. */
  readonly pendingUploads: number;
  /** Upload jobs that will not be retried (`failed`; `queue.retry(id)` puts one back). */
  readonly failedUploads: number;
  /** The server timestamp of the last completed pull; null before the first sync. */
  readonly lastPulledAt: number | null;
  /** How the last `synchronizeWithServer` ended; null if none ran on this database. */
  readonly lastSync: LastSync | null;
}

export interface SyncStatusOptions {
  readonly database: Database;
  /** The app's upload queue (anything with its `jobs()`), to count its jobs. */
  readonly uploadQueue?: { jobs(): Promise<readonly UploadJob[]> };
}

/**
 * @example
 * ```ts
 * import { getSyncStatus } from '@runningcoach/sync-client';
 *
 * const s = await getSyncStatus({ database, uploadQueue: queue });
 * label = s.state === 'synced' ? 'Synced' : s.state === 'failed' ? 'Sync failed' : `${s.unsyncedRecords + s.pendingUploads} pending`;
 * ```
 */
export async function getSyncStatus(options: SyncStatusOptions): Promise<SyncStatus> {
  const { database, uploadQueue } = options;
  const unsyncedByTable: Record<string, number> = {};
  let unsyncedRecords = 0;
  for (const table of Object.keys(syncSchema.tables)) {
    // Queries leave out records deleted locally; the adapter lists those apart.
    const changed = await database.get(table).query(Q.where('_status', Q.notEq('synced'))).fetchCount();
    const deleted = (await database.adapter.getDeletedRecords(table)).length;
    if (changed + deleted > 0) unsyncedByTable[table] = changed + deleted;
    unsyncedRecords += changed + deleted;
  }
  const outbox = await database.localStorage.get<unknown>(OUTBOX_STORAGE_KEY);
  const pendingConflictReports = Array.isArray(outbox) ? outbox.length : 0;
  const jobs = uploadQueue ? await uploadQueue.jobs() : [];
  const pendingUploads = jobs.filter((j) => j.status === 'pending' || j.status === 'uploading').length;
  const failedUploads = jobs.filter((j) => j.status === 'failed').length;
  const rejectedRecords = (await getRejectedRecords(database)).length;
  const pulledAt = Number(await database.adapter.getLocal(LAST_PULLED_AT_KEY));
  const lastSync = parseLastSync(await database.localStorage.get<unknown>(LAST_SYNC_STORAGE_KEY));
  const state =
    lastSync?.error || failedUploads > 0 ? 'failed' : unsyncedRecords + pendingConflictReports + pendingUploads > 0 ? 'pending' : 'synced';
  return {
    state,
    unsyncedRecords,
    unsyncedByTable,
    rejectedRecords,
    pendingConflictReports,
    pendingUploads,
    failedUploads,
    lastPulledAt: Number.isFinite(pulledAt) && pulledAt > 0 ? pulledAt : null,
    lastSync,
  };
}

/** True when anything waits to reach the server: local changes, conflict reports, or uploads. */
export async function hasPendingChanges(options: SyncStatusOptions): Promise<boolean> {
  const s = await getSyncStatus(options);
  return s.unsyncedRecords + s.pendingConflictReports + s.pendingUploads > 0;
}

/** Called by `synchronizeWithServer` when a sync ends (`error` undefined: it succeeded). */
export async function recordSyncOutcome(database: Database, error: unknown, now = Date.now()): Promise<void> {
  const failure =
    error === undefined ? null : { name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) };
  await database.localStorage.set(LAST_SYNC_STORAGE_KEY, { at: now, error: failure } satisfies LastSync);
}

function parseLastSync(stored: unknown): LastSync | null {
  if (typeof stored !== 'object' || stored === null) return null;
  const { at, error } = stored as { at?: unknown; error?: unknown };
  if (typeof at !== 'number') return null;
  const e = error as { name?: unknown; message?: unknown } | null;
  return { at, error: e && typeof e.name === 'string' && typeof e.message === 'string' ? { name: e.name, message: e.message } : null };
}

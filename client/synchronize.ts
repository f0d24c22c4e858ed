/**
 * One call that syncs a device database with the server using the options contract v1 needs.
 */
import type { Database } from '@nozbe/watermelondb';
import { synchronize } from '@nozbe/watermelondb/sync/index.js';
import { createSyncAdapter, type SyncAdapterOptions } from './adapter.js';
import { createConflictSession } from './conflicts.js';
import { deviceIdOf } from './device.js';
import { createTransport } from './http.js';
import { createProgressTracker } from './progress.js';
import { storeRejections } from './rejections.js';
import { adoptServerStamps, collectPushedStamps, type PushedStamps } from './server-stamps.js';
import { recordSyncOutcome } from './status.js';
import type { MigrationSyncChanges } from './types.js';

/**
 * What WatermelonDB fills in during a sync when given a `log` object (its `SyncLog`; `phase` is
 * free text, not a stable API).
 */
export interface SyncLog {
  startedAt?: Date;
  lastPulledAt?: number;
  lastPulledSchemaVersion?: number;
  migration?: MigrationSyncChanges | null;
  newLastPulledAt?: number;
  resolvedConflicts?: { local: Record<string, unknown>; remote: Record<string, unknown>; resolved: Record<string, unknown> }[];
  rejectedIds?: { [table: string]: string[] };
  finishedAt?: Date;
  remoteChangeCount?: number;
  localChangeCount?: number;
  phase?: string;
  error?: Error;
}

/**
 * The adapter's options plus what `synchronize()` takes except what this module owns: the
 * adapter pair, `sendCreatedAsUpdated` (the server sends every live record in `updated`) and
 * `conflictResolver` (the service's rules). `unsafeTurbo` is left out: it needs a raw JSON pull,
 * which a paged pull cannot give. (Declared here rather than derived from WatermelonDB's
 * `SyncArgs`, whose declarations do not type-check under `skipLibCheck: false`; a test checks
 * that every other `SyncArgs` option is here, with a compatible type.)
 */
export interface SynchronizeWithServerOptions extends SyncAdapterOptions {
  readonly database: Database;
  /** The schema version before the first migration that syncs (WatermelonDB's migration syncs). */
  readonly migrationsEnabledAtVersion?: number;
  readonly log?: SyncLog;
  readonly onDidPullChanges?: (info: object) => Promise<void>;
  readonly onWillApplyRemoteChanges?: (info: { remoteChangeCount: number }) => Promise<void>;
  /** WatermelonDB's workaround for memory pressure: applies the pull one table per batch. */
  readonly _unsafeBatchPerCollection?: boolean;
}

/**
 * Pulls, applies, and pushes the local changes of `database` through the sync API.
 * Rejects with the adapter's typed errors; a failed sync is simply run again later (pushes are
 * idempotent on the server, so a half-sent push does no harm). The outcome is kept for
 * `getSyncStatus` (its `lastSync`).
 *
 * Conflicts are resolved by the service's per-entity rules (`client/conflicts.ts`), the same
 * the server applies: the app writes no conflict code. What a rule discards on the device is
 * reported to the server's conflict log (and kept in the database until the report lands).
 *
 * @example
 * ```ts
 * import { synchronizeWithServer, SyncHttpError } from '@runningcoach/sync-client';
 *
 * try {
 *   await synchronizeWithServer({
 *     database,
 *     baseUrl: 'https://sync.example.com',
 *     getToken: () => auth.token(),
 *     onProgress: (p) => setProgress(p), // { phase, firstSync, pages, records, bytes, … }
 *   });
 * } catch (e) {
 *   if (e instanceof SyncHttpError && e.retryAfterSeconds !== undefined) scheduleSync(e.retryAfterSeconds);
 *   else throw e;
 * }
 * ```
 */
export async function synchronizeWithServer(options: SynchronizeWithServerOptions): Promise<void> {
  const { baseUrl, getToken, fetch, maxPushBytes, onProgress, onRejected, ...syncArgs } = options;
  const adapterOptions = {
    baseUrl,
    getToken,
    ...(fetch ? { fetch } : {}),
    ...(maxPushBytes !== undefined ? { maxPushBytes } : {}),
    ...(onRejected ? { onRejected } : {}),
  };
  const transport = createTransport(adapterOptions);
  const progress = createProgressTracker(onProgress);
  try {
    const conflicts = await createConflictSession(options.database, transport);
    const afterPush = (rejections: Parameters<typeof storeRejections>[1]) => storeRejections(options.database, rejections);
    const deviceId = await deviceIdOf(options.database);
    const stamps: PushedStamps = new Map();
    const pushed = (versions: Parameters<typeof collectPushedStamps>[1], created: Parameters<typeof collectPushedStamps>[2]) => collectPushedStamps(stamps, versions, created);
    const { pullChanges, pushChanges } = createSyncAdapter(adapterOptions, { transport, conflicts, progress, afterPush, deviceId, pushed });
    try {
      // Spread first, so no caller option can override the adapter, the resolver or the contract's mode.
      await synchronize({ ...syncArgs, pullChanges, pushChanges, conflictResolver: conflicts.conflictResolver, sendCreatedAsUpdated: true });
    } finally {
      // Also after a failed sync: the requests that were accepted are stored on the server.
      // Informational fields: failing to adopt them never fails (or masks the error of) a sync.
      await adoptServerStamps(options.database, stamps).catch(() => undefined);
    }
    // Reports wait in the database when the network fails here; the next sync sends them.
    await conflicts.flush().catch(() => undefined);
  } catch (e) {
    await recordSyncOutcome(options.database, e).catch(() => undefined);
    throw e;
  }
  // The status record is informational: failing to write it does not fail a sync that succeeded.
  await recordSyncOutcome(options.database, undefined).catch(() => undefined);
  progress.update({ phase: 'done' });
}

/**
 * One call that syncs a device database with the server using the options contract v1 needs.
 */
import { synchronize, type SyncArgs } from '@nozbe/watermelondb/sync/index.js';
import { createSyncAdapter, type SyncAdapterOptions } from './adapter.js';

/**
 * Everything `synchronize()` takes except what this module owns: the adapter pair, and
 * `sendCreatedAsUpdated` (the server sends every live record in `updated`). `unsafeTurbo` is
 * left out: it needs a raw JSON pull, which a paged pull cannot give.
 */
export type SynchronizeWithServerOptions = SyncAdapterOptions &
  Omit<SyncArgs, 'pullChanges' | 'pushChanges' | 'sendCreatedAsUpdated' | 'unsafeTurbo'>;

/**
 * Pulls, applies, and pushes the local changes of `database` through the sync API.
 * Rejects with the adapter's typed errors; a failed sync is simply run again later (pushes are
 * idempotent on the server, so a half-sent push does no harm).
 *
 * The conflict resolver of a later issue plugs in here; until then, a caller's
 * `conflictResolver` is passed through to WatermelonDB.
 *
 * @example
 * ```ts
 * import { synchronizeWithServer, SyncHttpError } from 'runningcoach-sync/client';
 *
 * try {
 *   await synchronizeWithServer({ database, baseUrl: 'https://sync.example.com', getToken: () => auth.token() });
 * } catch (e) {
 *   if (e instanceof SyncHttpError && e.retryAfterSeconds !== undefined) scheduleSync(e.retryAfterSeconds);
 *   else throw e;
 * }
 * ```
 */
export function synchronizeWithServer(options: SynchronizeWithServerOptions): Promise<void> {
  const { baseUrl, getToken, fetch, maxPushBytes, ...syncArgs } = options;
  const { pullChanges, pushChanges } = createSyncAdapter({ baseUrl, getToken, fetch, maxPushBytes });
  // Spread first, so no caller option can override the adapter or the contract's mode.
  return synchronize({ ...syncArgs, pullChanges, pushChanges, sendCreatedAsUpdated: true });
}

/**
 * One call that syncs a device database with the server using the options contract v1 needs.
 */
import { synchronize, type SyncArgs } from '@nozbe/watermelondb/sync/index.js';
import { createSyncAdapter, type SyncAdapterOptions } from './adapter.js';
import { createConflictSession } from './conflicts.js';
import { createTransport } from './http.js';

/**
 * Everything `synchronize()` takes except what this module owns: the adapter pair, and
 * `sendCreatedAsUpdated` (the server sends every live record in `updated`). `unsafeTurbo` is
 * left out: it needs a raw JSON pull, which a paged pull cannot give.
 */
export type SynchronizeWithServerOptions = SyncAdapterOptions &
  Omit<SyncArgs, 'pullChanges' | 'pushChanges' | 'sendCreatedAsUpdated' | 'unsafeTurbo' | 'conflictResolver'>;

/**
 * Pulls, applies, and pushes the local changes of `database` through the sync API.
 * Rejects with the adapter's typed errors; a failed sync is simply run again later (pushes are
 * idempotent on the server, so a half-sent push does no harm).
 *
 * Conflicts are resolved by the service's per-entity rules (`client/conflicts.ts`), the same
 * the server applies: the app writes no conflict code. What a rule discards on the device is
 * reported to the server's conflict log (and kept in the database until the report lands).
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
export async function synchronizeWithServer(options: SynchronizeWithServerOptions): Promise<void> {
  const { baseUrl, getToken, fetch, maxPushBytes, ...syncArgs } = options;
  const adapterOptions = { baseUrl, getToken, fetch, maxPushBytes };
  const transport = createTransport(adapterOptions);
  const conflicts = await createConflictSession(options.database, transport);
  const { pullChanges, pushChanges } = createSyncAdapter(adapterOptions, { transport, conflicts });
  // Spread first, so no caller option can override the adapter, the resolver or the contract's mode.
  await synchronize({ ...syncArgs, pullChanges, pushChanges, conflictResolver: conflicts.conflictResolver, sendCreatedAsUpdated: true });
  // Reports wait in the database when the network fails here; the next sync sends them.
  await conflicts.flush().catch(() => undefined);
}

/**
 * The `pullChanges` / `pushChanges` pair WatermelonDB's `synchronize()` calls, speaking contract v1.
 */
import type { SyncPullArgs } from '@nozbe/watermelondb/sync/index.js';
import type { ConflictSession } from './conflicts.js';
import { assertTransportOptions, createTransport, type FetchLike, type Transport } from './http.js';
import { pullAllPages, type PullResult } from './pull.js';
import { DEFAULT_MAX_PUSH_BYTES, pushInRequests, type PushVersions } from './push.js';
import type { PushArgs } from './types.js';

export interface SyncAdapterOptions {
  /** Origin of the sync API, e.g. `https://sync.example.com` (no `/api/v1`). */
  readonly baseUrl: string;
  /** Returns the user's current JWT; called before each request. */
  readonly getToken: () => string | Promise<string>;
  /** Defaults to the global `fetch`; tests and apps with their own HTTP stack inject one. */
  readonly fetch?: FetchLike;
  /** Upper bound of one push request body in UTF-8 bytes; larger pushes are split. Default 3,000,000. */
  readonly maxPushBytes?: number;
}

/** What `synchronizeWithServer` wires in: a shared transport and the device's conflict bookkeeping. */
export interface SyncAdapterInternals {
  readonly transport?: Transport;
  readonly conflicts?: ConflictSession;
}

export interface SyncAdapter {
  pullChanges(args: SyncPullArgs): Promise<PullResult>;
  pushChanges(args: PushArgs): Promise<void>;
}

/**
 * Creates the adapter for `synchronize()`: pulls follow every page and merge them, pushes are
 * split below `maxPushBytes`, failures throw `SyncHttpError` / `SyncNetworkError` /
 * `SyncProtocolError`. Prefer `synchronizeWithServer`, which also sets the options the
 * contract requires.
 *
 * @example
 * ```ts
 * import { synchronize } from '@nozbe/watermelondb/sync';
 * import { createSyncAdapter } from 'runningcoach-sync/client';
 *
 * const { pullChanges, pushChanges } = createSyncAdapter({
 *   baseUrl: 'https://sync.example.com',
 *   getToken: () => auth.currentToken(),
 * });
 * await synchronize({ database, pullChanges, pushChanges, sendCreatedAsUpdated: true });
 * ```
 */
export function createSyncAdapter(options: SyncAdapterOptions, internals: SyncAdapterInternals = {}): SyncAdapter {
  const maxPushBytes = options.maxPushBytes ?? DEFAULT_MAX_PUSH_BYTES;
  assertTransportOptions('createSyncAdapter', options);
  if (!Number.isSafeInteger(maxPushBytes) || maxPushBytes <= 0) {
    throw new TypeError(`createSyncAdapter: maxPushBytes must be a positive integer, got ${String(maxPushBytes)}`);
  }
  const transport = internals.transport ?? createTransport(options);
  const { conflicts } = internals;
  return {
    async pullChanges(args) {
      const result = await pullAllPages(transport, args);
      return conflicts ? { ...result, changes: await conflicts.beforeApply(result.changes, args.lastPulledAt ?? null) } : result;
    },
    async pushChanges(args) {
      const lastPulledAt = args.lastPulledAt ?? null;
      const baseOf = conflicts && ((table: string, id: string, kind: 'created' | 'updated' | 'deleted') => conflicts.baseVersionFor(table, id, kind, lastPulledAt));
      const versions: PushVersions = {};
      let pushed = false;
      try {
        await pushInRequests(transport, args, maxPushBytes, baseOf, versions);
        pushed = true;
      } finally {
        // The versions of the requests that were accepted count even when a later one failed; a
        // delete's base is dropped only once the whole push is in (a failed one is pushed again).
        const deleted = pushed ? new Map(Object.entries(args.changes).map(([table, set]) => [table, set.deleted])) : new Map<string, string[]>();
        if (conflicts) await conflicts.afterPush(versions, deleted);
      }
    },
  };
}

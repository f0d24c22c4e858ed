/**
 * The `pullChanges` / `pushChanges` pair WatermelonDB's `synchronize()` calls, speaking contract v1.
 */
import { Q } from '@nozbe/watermelondb';
import { assertTransportOptions, createTransport, type FetchLike, type Transport } from './http.js';
import { createProgressTracker, type ProgressTracker, type SyncProgressListener } from './progress.js';
import { pullAllPages, type PullResult } from './pull.js';
import { DEFAULT_MAX_PUSH_BYTES, pushInRequests, type PushVersions } from './push.js';
import { rejectedIdsOf, type SyncRejection, type SyncRejectionListener } from './rejections.js';
import type { ConflictSession, PullArgs, PushArgs } from './types.js';

export interface SyncAdapterOptions {
  /** Origin of the sync API, e.g. `https://sync.example.com` (no `/api/v1`). */
  readonly baseUrl: string;
  /** Returns the user's current JWT; called before each request. */
  readonly getToken: () => string | Promise<string>;
  /** Defaults to the global `fetch`; tests and apps with their own HTTP stack inject one. */
  readonly fetch?: FetchLike;
  /** Upper bound of one push request body in UTF-8 bytes; larger pushes are split. Default 3,000,000. */
  readonly maxPushBytes?: number;
  /**
   * Told how the sync goes: after each pull page, when the pull is complete (`applying`), before
   * and after each push request; see `SyncProgress`. Called synchronously: keep it cheap (set
   * state, do not await).
   */
  readonly onProgress?: SyncProgressListener;
  /**
   * Told, after a push, the records the server refused to store (a value over a column's limit,
   * an unknown enum value…), each with the server's reasons; the rest of the push is stored.
   * WatermelonDB keeps them dirty and every sync pushes them again until they are fixed or
   * discarded. `getRejectedRecords(database)` reads the same list later.
   */
  readonly onRejected?: SyncRejectionListener;
}

/** What `synchronizeWithServer` wires in: a shared transport and the device's conflict bookkeeping. */
export interface SyncAdapterInternals {
  readonly transport?: Transport;
  readonly conflicts?: ConflictSession;
  /** One tracker for the whole `synchronizeWithServer` call (it reports `done`); else one per pull. */
  readonly progress?: ProgressTracker;
  /** Told every completed push's rejections (also when there are none), to keep them. */
  readonly afterPush?: (rejections: readonly SyncRejection[]) => Promise<void>;
  /** This device's id (contract `device_id`), sent with every pull and push. */
  readonly deviceId?: string;
  /** Told the versions of every accepted push request and the ids the push sent as created. */
  readonly pushed?: (versions: PushVersions, created: ReadonlyMap<string, ReadonlySet<string>>) => void;
}

/**
 * WatermelonDB's replacement strategy as the adapter hands it over: every table replaced, but only
 * records in sync with the server are subject to replacement, so a record the device changed and
 * has not pushed stays (and is pushed); see `SyncPullResult`.
 */
export interface ReplacementStrategy {
  readonly default: 'replacement';
  readonly override: Record<string, 'incremental' | 'replacement'>;
  readonly experimentalQueryRecordsForReplacement: Record<string, () => ReturnType<typeof Q.where>[]>;
}

/** What `pullChanges` hands WatermelonDB (its `SyncPullResult`). */
export interface SyncPullResult {
  changes: PullResult['changes'];
  timestamp: number;
  /**
   * Present after a long absence (the server answered a replacement sync): the pulled set is the
   * whole live data; WatermelonDB removes the device's synced records that are not in it and keeps
   * its unpushed creates, edits and deletes, which it pushes next.
   */
  experimentalStrategy?: ReplacementStrategy | 'replacement';
}

export interface SyncAdapter {
  pullChanges(args: PullArgs): Promise<SyncPullResult>;
  /** Resolves with WatermelonDB's push result: the ids it must keep dirty, when there are any. */
  pushChanges(args: PushArgs): Promise<PushResult>;
}

/** What `pushChanges` hands WatermelonDB (its `SyncPushResult`). */
export interface PushResult {
  experimentalRejectedIds?: Record<string, string[]>;
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
 * import { createSyncAdapter } from '@runningcoach/sync-client';
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
  let progress = internals.progress ?? createProgressTracker(options.onProgress);
  return {
    async pullChanges(args) {
      const firstSync = !args.lastPulledAt;
      if (internals.progress) progress.update({ phase: 'pulling', firstSync });
      else (progress = createProgressTracker(options.onProgress, firstSync)).update({});
      const result = await pullAllPages(transport, args, (received) => progress.update(received), internals.deviceId);
      const replacement = result.experimentalStrategy === 'replacement';
      const changes = conflicts ? await conflicts.beforeApply(result.changes, args.lastPulledAt ?? null, replacement) : result.changes;
      progress.update({ phase: 'applying' });
      if (!replacement) return { changes, timestamp: result.timestamp };
      // Without the conflict session (a bare adapter) WatermelonDB's own replacement applies: an
      // unpushed edit of a record the server deleted is dropped with it (a delete beats an edit).
      return { changes, timestamp: result.timestamp, experimentalStrategy: conflicts ? replacementStrategy(Object.keys(changes)) : 'replacement' };
    },
    async pushChanges(args) {
      const lastPulledAt = args.lastPulledAt ?? null;
      const baseOf = conflicts && ((table: string, id: string, kind: 'created' | 'updated' | 'deleted') => conflicts.baseVersionFor(table, id, kind, lastPulledAt));
      const versions: PushVersions = {};
      const rejections: SyncRejection[] = [];
      let pushed = false;
      try {
        await pushInRequests(
          transport,
          args,
          maxPushBytes,
          baseOf,
          versions,
          {
            planned: (records) => progress.update({ phase: 'pushing', recordsToPush: records, pushedRecords: 0 }),
            accepted: (records) => progress.update({ phase: 'pushing', pushedRecords: progress.current.pushedRecords + records }),
          },
          rejections,
          internals.deviceId,
        );
        pushed = true;
      } finally {
        // The versions of the requests that were accepted count even when a later one failed; a
        // delete's base is dropped only once the whole push is in (a failed one is pushed again),
        // and not for a delete the server rejected (it stays dirty and is pushed again).
        const rejected = new Set(rejections.map((r) => `${r.table}#${r.id}`));
        const deleted = pushed
          ? new Map(Object.entries(args.changes).map(([table, set]) => [table, set.deleted.filter((id) => !rejected.has(`${table}#${id}`))]))
          : new Map<string, string[]>();
        if (conflicts) await conflicts.afterPush(versions, deleted);
        internals.pushed?.(versions, new Map(Object.entries(args.changes).map(([table, set]) => [table, new Set(set.created.map((r) => String((r as { id?: unknown }).id)))])));
      }
      await internals.afterPush?.(rejections);
      if (rejections.length === 0) return {};
      options.onRejected?.(rejections);
      return { experimentalRejectedIds: rejectedIdsOf(rejections) };
    },
  };
}

/** Replacement limited to synced records: the device's unpushed changes are not replaced. */
function replacementStrategy(tables: readonly string[]): ReplacementStrategy {
  const synced = () => [Q.where('_status', 'synced')];
  return { default: 'replacement', override: {}, experimentalQueryRecordsForReplacement: Object.fromEntries(tables.map((t) => [t, synced])) };
}

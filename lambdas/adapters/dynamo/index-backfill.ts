/**
 * Backfill of the sparse index attributes on a table written before its indexes existed
 * (docs/deploy.md, "Upgrading a stack deployed before the three indexes"): record items written
 * before `live_by_updated_at` lack `live_at`, live activities written before `by_started_at` lack
 * a top-level `started_at`, and tombstones written before the tombstone horizon lack `expires_at`.
 * An index holds only the items carrying its key, so such records are missing from first and
 * replacement syncs (and from FIT matching) until they are written again.
 *
 * One (parallel) Scan; for each record item, the attributes the write path would give it
 * (`indexAttributesOf`, the same function the sync store writes with) that it lacks are SET with
 * one conditional UpdateItem: `updated_at` unchanged since the scan read it, and each attribute
 * still absent. A failed condition means a newer write replaced the item (and set them itself,
 * or an old-code write did not: a later run finds it) or another run got there first: counted,
 * never retried, never overwritten. Stamps, data and everything else of the item stay as they
 * are, so the backfill is invisible to pulls except that the records become findable.
 * Idempotent (a second run finds nothing missing) and resumable (`startAfter`: the scan position
 * each page reports).
 */
import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { withTombstoneExpiry } from '../../core/records.js';
import { isConditionalCheckFailed } from './errors.js';
import { indexAttributesOf, type IndexAttributes } from './index-attributes.js';
import { recordOfItem } from './sync-store.js';

export const BACKFILLED_ATTRIBUTES = ['live_at', 'started_at', 'expires_at'] as const satisfies readonly (keyof IndexAttributes)[];
export type BackfilledAttribute = (typeof BACKFILLED_ATTRIBUTES)[number];

export interface BackfillOptions {
  readonly tableName: string;
  /** Parallel scan: this worker's segment of `totalSegments` (both or neither). */
  readonly segment?: number;
  readonly totalSegments?: number;
  /** Count what would be set, write nothing. */
  readonly dryRun?: boolean;
  /**
   * The deployment's TOMBSTONE_RETENTION: tombstones without `expires_at` get their delete stamp
   * plus this. Absent: tombstones are left without expiry (counted in `tombstonesWithoutExpiry`);
   * a value shorter than the deployed horizon would let TTL remove tombstones a delta pull still
   * owes a device, so the caller must pass it deliberately.
   */
  readonly tombstoneRetentionMs?: number;
  /** Items per Scan page. @default 500 */
  readonly pageSize?: number;
  /** Conditional updates in flight. @default 8 */
  readonly concurrency?: number;
  /** Resume after this scan position (a page's `lastKey`). */
  readonly startAfter?: Record<string, unknown>;
  /** Told after each page, with the totals so far and the position to resume after. */
  readonly onPage?: (progress: { readonly counts: BackfillCounts; readonly lastKey?: Record<string, unknown> }) => void;
}

export interface BackfillCounts {
  /** Items the scan read (all kinds). */
  scanned: number;
  /** Of them, synced record items. */
  records: number;
  /** Record items lacking at least one attribute they should carry. */
  missing: number;
  /** Of those, updated by this run (dry run: would be). */
  updated: number;
  /** Of those, whose condition failed: written (or backfilled) concurrently; left alone. */
  changedConcurrently: number;
  /** Attributes set (dry run: that would be), by name. */
  set: Record<BackfilledAttribute, number>;
  /** Tombstones without `expires_at`, left so because no retention was given. */
  tombstonesWithoutExpiry: number;
}

/** Projection of what the attributes derive from (a record's columns other than `started_at` are not read). */
const PROJECTION = '#pk, #sk, #tbl, #rid, #created, #updated, #deleted, #data.#started, #started, #live, #expires';
const PROJECTION_NAMES = {
  '#pk': 'pk',
  '#sk': 'sk',
  '#tbl': 'tbl',
  '#rid': 'rid',
  '#created': 'created_at',
  '#updated': 'updated_at',
  '#deleted': 'deleted_at',
  '#data': 'data',
  '#started': 'started_at',
  '#live': 'live_at',
  '#expires': 'expires_at',
};

export async function backfillIndexAttributes(db: DynamoDBDocumentClient, options: BackfillOptions): Promise<BackfillCounts> {
  if ((options.segment === undefined) !== (options.totalSegments === undefined)) throw new RangeError('segment and totalSegments go together');
  if (options.totalSegments !== undefined && !(Number.isInteger(options.totalSegments) && options.totalSegments >= 1 && options.totalSegments <= 1_000_000)) {
    throw new RangeError('totalSegments must be an integer from 1 to 1000000');
  }
  if (options.segment !== undefined && !(Number.isInteger(options.segment) && options.segment >= 0 && options.segment < (options.totalSegments ?? 0))) {
    throw new RangeError('segment must be an integer from 0 to totalSegments - 1');
  }
  if (options.tombstoneRetentionMs !== undefined && !(Number.isSafeInteger(options.tombstoneRetentionMs) && options.tombstoneRetentionMs > 0)) {
    throw new RangeError('tombstoneRetentionMs must be a positive integer');
  }
  const counts: BackfillCounts = { scanned: 0, records: 0, missing: 0, updated: 0, changedConcurrently: 0, set: { live_at: 0, started_at: 0, expires_at: 0 }, tombstonesWithoutExpiry: 0 };
  let start = options.startAfter;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: options.tableName,
        ProjectionExpression: PROJECTION,
        ExpressionAttributeNames: PROJECTION_NAMES,
        Limit: options.pageSize ?? 500,
        ExclusiveStartKey: start,
        ...(options.totalSegments !== undefined ? { Segment: options.segment, TotalSegments: options.totalSegments } : {}),
      }),
    );
    const items = (page.Items ?? []) as Record<string, unknown>[];
    counts.scanned += items.length;
    const work: { item: Record<string, unknown>; missing: Partial<Record<BackfilledAttribute, number>> }[] = [];
    for (const item of items) {
      const found = recordOfItem(item);
      if (!found) continue;
      counts.records++;
      const { record } = found;
      if (record.deleted_at !== null && item.expires_at === undefined && options.tombstoneRetentionMs === undefined) counts.tombstonesWithoutExpiry++;
      const wanted = indexAttributesOf(options.tombstoneRetentionMs !== undefined && item.expires_at === undefined ? withTombstoneExpiry(record, options.tombstoneRetentionMs) : record);
      const missing = Object.fromEntries(Object.entries(wanted).filter(([name]) => item[name] === undefined)) as Partial<Record<BackfilledAttribute, number>>;
      if (Object.keys(missing).length > 0) work.push({ item, missing });
    }
    counts.missing += work.length;
    await inParallel(work, options.concurrency ?? 8, async ({ item, missing }) => {
      const names = Object.keys(missing) as BackfilledAttribute[];
      if (!options.dryRun) {
        try {
          await db.send(
            new UpdateCommand({
              TableName: options.tableName,
              Key: { pk: item.pk, sk: item.sk },
              UpdateExpression: `SET ${names.map((n, i) => `#a${i} = :a${i}`).join(', ')}`,
              // The version the attributes were derived from, and none of them set meanwhile.
              ConditionExpression: ['#updated = :seen', ...names.map((_n, i) => `attribute_not_exists(#a${i})`)].join(' AND '),
              ExpressionAttributeNames: { '#updated': 'updated_at', ...Object.fromEntries(names.map((n, i) => [`#a${i}`, n])) },
              ExpressionAttributeValues: { ':seen': item.updated_at, ...Object.fromEntries(names.map((n, i) => [`:a${i}`, missing[n]])) },
            }),
          );
        } catch (e) {
          if (!isConditionalCheckFailed(e)) throw e;
          counts.changedConcurrently++;
          return;
        }
      }
      counts.updated++;
      for (const n of names) counts.set[n]++;
    });
    start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
    options.onPage?.({ counts: structuredClone(counts), ...(start ? { lastKey: start } : {}) });
  } while (start);
  return counts;
}

async function inParallel<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, worker));
}

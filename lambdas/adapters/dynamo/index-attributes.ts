/**
 * The top-level attributes a record item carries for the table's sparse indexes and its TTL,
 * derived from the record alone: the sync store spreads them into every record item it writes,
 * and the index backfill (index-backfill.ts) sets them on items written before an index existed.
 * One rule for both, so the two cannot drift.
 */
import type { StoredRecord } from '../../core/records.js';
import { LIVE_AT_ATTRIBUTE, TABLE_KEYS } from './keys.js';
import { activityStartAttribute } from './recordings-store.js';

export interface IndexAttributes {
  /** Live activities: `data.started_at` (the `by_started_at` index). */
  started_at?: number;
  /** Live records: `updated_at` again (the `live_by_updated_at` index). */
  live_at?: number;
  /** Tombstones with an expiry (`withTombstoneExpiry`): the TTL, epoch seconds. */
  expires_at?: number;
}

/** Live records are in the live index; tombstones leave it and carry their expiry instead. */
export function indexAttributesOf(record: StoredRecord): IndexAttributes {
  return {
    ...activityStartAttribute(record),
    ...(record.deleted_at === null ? { [LIVE_AT_ATTRIBUTE]: record.updated_at } : record.expires_at !== undefined ? { [TABLE_KEYS.ttlAttribute]: record.expires_at } : {}),
  };
}

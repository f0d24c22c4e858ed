/** Item layout of the single sync table (see docs/data-model.md). */
import type { TableName } from '../../core/schema.js';

/** Name of the GSI serving delta pulls: partition = user, sort = `updated_at`. */
export const UPDATED_AT_INDEX = 'by_updated_at';

/**
 * Name of the GSI of activities by start time: partition = user, sort = `started_at` (a copy of
 * the column, top-level, on live activity items only: sparse; keys only). The FIT processor's
 * candidate query (recordings-store.ts).
 */
export const STARTED_AT_INDEX = 'by_started_at';
/** The top-level attribute the `by_started_at` index sorts by. */
export const STARTED_AT_ATTRIBUTE = 'started_at';

/**
 * Name of the GSI of live records: partition = user, sort = `live_at`, a copy of `updated_at`
 * that only live record items carry (sparse: tombstones are not in it). First syncs and
 * replacement syncs read it, so they never read a tombstone they would not send
 * (docs/data-model.md, "Index: live_by_updated_at").
 */
export const LIVE_INDEX = 'live_by_updated_at';
/** The top-level attribute the `live_by_updated_at` index sorts by. */
export const LIVE_AT_ATTRIBUTE = 'live_at';

export const userPk = (userId: string) => `U#${userId}`;
export const recordSk = (table: TableName, id: string) => `R#${table}#${id}`;
export const CLOCK_SK = 'CLOCK';
/**
 * Journal of one write lease: the records it writes, in one or more chunks (items stay far below
 * DynamoDB's 400 KB). Not in any index (no `updated_at`); expires through the table's TTL.
 */
export const journalSk = (leaseId: string, chunk: number) => `J#${leaseId}#${chunk}`;
/** Ownership claim of a global record id: one item per id, in its own partition. */
export const claimPk = (table: TableName, id: string) => `ID#${table}#${id}`;
export const CLAIM_SK = 'OWNER';

/**
 * Key schema of the sync table, shared by the local stack's CreateTable and the CDK Data
 * construct so that both build the same table.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  index: { name: UPDATED_AT_INDEX, partitionKey: 'pk', sortKey: 'updated_at' },
  startedAtIndex: { name: STARTED_AT_INDEX, partitionKey: 'pk', sortKey: STARTED_AT_ATTRIBUTE },
  liveIndex: { name: LIVE_INDEX, partitionKey: 'pk', sortKey: LIVE_AT_ATTRIBUTE },
  ttlAttribute: 'expires_at',
} as const;

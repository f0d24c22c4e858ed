/** Item layout of the single sync table (see docs/data-model.md). */
import type { TableName } from '../../core/schema.js';

/** Name of the GSI serving delta pulls: partition = user, sort = `updated_at`. */
export const UPDATED_AT_INDEX = 'by_updated_at';

export const userPk = (userId: string) => `U#${userId}`;
export const recordSk = (table: TableName, id: string) => `R#${table}#${id}`;
export const CLOCK_SK = 'CLOCK';
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
  ttlAttribute: 'expires_at',
} as const;

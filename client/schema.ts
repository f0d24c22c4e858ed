/**
 * The WatermelonDB schema of the app, derived from the server's table definitions (`TABLES`),
 * so device and server cannot disagree on a table, a column, its type or its nullability.
 */
import { appSchema, tableSchema } from '@nozbe/watermelondb';
import type { AppSchema, ColumnSchema, TableSchema } from '@nozbe/watermelondb/Schema/index.js';
import { SCHEMA_VERSION, TABLES, type TableDef } from '../lambdas/core/schema.js';

/**
 * WatermelonDB needs `created_at`/`updated_at` as non-optional numbers (it fills them in itself
 * for models that declare them). The server assigns both and sends them in every pulled raw.
 * `deleted_at` stays on the server: a deleted record reaches a device as an id in `deleted`.
 */
const STAMP_COLUMNS: readonly ColumnSchema[] = [
  { name: 'created_at', type: 'number' },
  { name: 'updated_at', type: 'number' },
];

function toTableSchema(def: TableDef): TableSchema {
  const columns: ColumnSchema[] = def.columns.map((c) => ({
    name: c.name,
    type: c.type,
    ...(c.nullable ? { isOptional: true } : {}),
    ...(c.indexed ? { isIndexed: true } : {}),
  }));
  return tableSchema({ name: def.name, columns: [...columns, ...STAMP_COLUMNS] });
}

/**
 * Schema v1 for `new Database({ adapter: new SQLiteAdapter({ schema: syncSchema }), ... })`.
 *
 * @example
 * ```ts
 * import { Database } from '@nozbe/watermelondb';
 * import SQLiteAdapter from '@nozbe/watermelondb/adapters/sqlite';
 * import { syncSchema } from '@runningcoach/sync-client';
 *
 * const adapter = new SQLiteAdapter({ schema: syncSchema, jsi: true });
 * const database = new Database({ adapter, modelClasses: [Activity, Plan, PlannedWorkout, Setting, Upload] });
 * ```
 */
export const syncSchema: AppSchema = appSchema({ version: SCHEMA_VERSION, tables: TABLES.map(toTableSchema) });

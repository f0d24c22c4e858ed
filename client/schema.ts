/**
 * The WatermelonDB schema of the app, derived from the server's table definitions (`TABLES`),
 * so device and server cannot disagree on a table, a column, its type or its nullability.
 */
import { appSchema, tableSchema } from '@nozbe/watermelondb';
import type { AppSchema, ColumnSchema, TableSchema } from '@nozbe/watermelondb/Schema/index.js';
import { addColumns, schemaMigrations, type SchemaMigrations } from '@nozbe/watermelondb/Schema/migrations/index.js';
import { SCHEMA_MIGRATIONS, SCHEMA_VERSION, TABLES, type ColumnDef, type TableDef } from '../lambdas/core/schema.js';

/**
 * WatermelonDB needs `created_at`/`updated_at` as non-optional numbers (it fills them in itself
 * for models that declare them). The server assigns both and sends them in every pulled raw.
 * `deleted_at` stays on the server: a deleted record reaches a device as an id in `deleted`.
 */
const STAMP_COLUMNS: readonly ColumnSchema[] = [
  { name: 'created_at', type: 'number' },
  { name: 'updated_at', type: 'number' },
];

function toColumnSchema(c: ColumnDef): ColumnSchema {
  return { name: c.name, type: c.type, ...(c.nullable ? { isOptional: true } : {}), ...(c.indexed ? { isIndexed: true } : {}) };
}

function toTableSchema(def: TableDef): TableSchema {
  return tableSchema({ name: def.name, columns: [...def.columns.map(toColumnSchema), ...STAMP_COLUMNS] });
}

/**
 * The current schema (`SCHEMA_VERSION`) for `new Database({ adapter: new SQLiteAdapter({ schema: syncSchema }), ... })`.
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

/**
 * The migrations from each earlier schema version to the current one, derived from the columns'
 * `since` (lambdas/core/schema.ts): v1 → v2 adds `uploads.duplicate_of`. Give them to the adapter
 * with the schema, and turn on migration syncs so that the new columns of records pulled before
 * the upgrade are fetched (the server sends every record whose added column is set):
 *
 * @example
 * ```ts
 * const adapter = new SQLiteAdapter({ schema: syncSchema, migrations: syncMigrations, jsi: true });
 * await synchronizeWithServer({ database, baseUrl, getToken, migrationsEnabledAtVersion: 1 });
 * ```
 */
export const syncMigrations: SchemaMigrations = schemaMigrations({
  migrations: SCHEMA_MIGRATIONS.map((step) => ({
    toVersion: step.toVersion,
    steps: step.addColumns.map((a) => addColumns({ table: a.table, columns: a.columns.map(toColumnSchema) })),
  })),
});

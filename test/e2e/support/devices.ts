/**
 * Real WatermelonDB devices for end-to-end tests: each device is its own `Database` on an
 * in-memory LokiJS adapter, synced through `client/` against a local stack.
 */
import type { AppSchema, Database, Model } from '@nozbe/watermelondb';
import { hasUnsyncedChanges } from '@nozbe/watermelondb/sync/index.js';
import { synchronizeWithServer, type DirtyRaw, type FetchLike, type SyncRejectionListener } from '../../../client/index.js';
import { TABLES, type TableName } from '../../../lambdas/core/schema.js';
import type { LocalStack } from '../../../local/server.js';
import { inMemoryDatabase } from '../../support/watermelon.js';


/** Every table's live records, each raw as stored on the device, sorted by id. */
export type Snapshot = Record<TableName, DirtyRaw[]>;
export type Values = Record<string, string | number | boolean | null>;

let dbCounter = 0;

export interface Device {
  readonly name: string;
  readonly database: Database;
  /** Runs `synchronizeWithServer` as this device's user. */
  sync(options?: { fetch?: FetchLike; maxPushBytes?: number; onRejected?: SyncRejectionListener }): Promise<void>;
  create(table: TableName, values: Values, id?: string): Promise<string>;
  /** Creates many records in one write (fast seeding). */
  createMany(table: TableName, rows: readonly (Values & { id?: string })[]): Promise<string[]>;
  update(table: TableName, id: string, values: Values): Promise<void>;
  /** Updates many records in one write. */
  updateMany(table: TableName, changes: readonly (readonly [id: string, values: Values])[]): Promise<void>;
  /** Sync-aware delete: the record stays as a tombstone until the next push. */
  remove(table: TableName, id: string): Promise<void>;
  removeMany(table: TableName, ids: readonly string[]): Promise<void>;
  snapshot(): Promise<Snapshot>;
  hasUnsyncedChanges(): Promise<boolean>;
}

/** `schema`: the device's WatermelonDB schema, when it is not the client's current one (an app not yet upgraded). */
export async function openDevice(stack: LocalStack, userId: string, name: string, options: { schema?: AppSchema } = {}): Promise<Device> {
  const token = await stack.token(userId);
  const database = inMemoryDatabase(name, options.schema);
  const collection = (table: TableName) => database.get<Model>(table);
  const setAll = (record: Model, values: Values) => {
    for (const [column, value] of Object.entries(values)) record._setRaw(column, value);
  };

  const device: Device = {
    name,
    database,
    sync: (options = {}) => synchronizeWithServer({ database, baseUrl: stack.url, getToken: () => token, ...options }),
    async create(table, values, id) {
      const [created] = await device.createMany(table, [{ ...values, ...(id ? { id } : {}) }]);
      return created as string;
    },
    createMany: (table, rows) =>
      database.write(async () => {
        const records = rows.map(({ id, ...values }) =>
          collection(table).prepareCreate((r) => {
            // A fixed id: settings use their key as id, and tests compare users record by record.
            if (typeof id === 'string') r._raw.id = id;
            setAll(r, values);
          }),
        );
        await database.batch(records);
        return records.map((r) => r.id);
      }),
    update: (table, id, values) => device.updateMany(table, [[id, values]]),
    updateMany: (table, changes) =>
      database.write(async () => {
        const records = await Promise.all(changes.map(([id]) => collection(table).find(id)));
        await database.batch(records.map((record, i) => record.prepareUpdate((r) => setAll(r, (changes[i] as readonly [string, Values])[1]))));
      }),
    remove: (table, id) => device.removeMany(table, [id]),
    removeMany: (table, ids) =>
      database.write(async () => {
        const records = await Promise.all(ids.map((id) => collection(table).find(id)));
        await database.batch(records.map((r) => r.prepareMarkAsDeleted()));
      }),
    async snapshot() {
      const entries = await Promise.all(
        TABLES.map(async (t) => {
          const records = await collection(t.name as TableName).query().fetch();
          const raws = records.map((r) => ({ ...(r._raw as DirtyRaw) })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          return [t.name, raws] as const;
        }),
      );
      return Object.fromEntries(entries) as Snapshot;
    },
    hasUnsyncedChanges: () => hasUnsyncedChanges({ database }),
  };
  return device;
}

/** Drops WatermelonDB's bookkeeping so a device raw can be compared with a server raw. */
export function withoutBookkeeping(s: Snapshot): Snapshot {
  return Object.fromEntries(
    Object.entries(s).map(([t, raws]) => [t, raws.map(({ _status, _changed, ...rest }) => rest)]),
  ) as Snapshot;
}

/** Drops the server-assigned stamps, to compare two users' data that were written at different times. */
export function withoutStamps(s: Snapshot): Snapshot {
  return Object.fromEntries(
    Object.entries(s).map(([t, raws]) => [t, raws.map(({ created_at, updated_at, ...rest }) => rest)]),
  ) as Snapshot;
}

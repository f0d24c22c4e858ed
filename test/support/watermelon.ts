/**
 * A WatermelonDB database on an in-memory LokiJS adapter with the client's schema v1: what a
 * phone's database is to `client/`, in Node. Used by the e2e devices, the upload-queue tests and
 * the upload-queue bench.
 */
import { Database, Model, type AppSchema } from '@nozbe/watermelondb';
import Loki from '@nozbe/watermelondb/adapters/lokijs/index.js';
import { syncSchema } from '../../client/index.js';
import { TABLES } from '../../lambdas/core/schema.js';

// WatermelonDB ships CommonJS; from ESM its default export may arrive wrapped once more.
const LokiJSAdapter = ((Loki as unknown as { default?: typeof Loki }).default ?? Loki) as typeof Loki;

/** One model class per synced table; no decorators, raws are read and written directly. */
const MODEL_CLASSES = TABLES.map(
  (def) =>
    class extends Model {
      static override table = def.name;
    },
);

let counter = 0;

/**
 * A new, empty database; `name` only labels it (each call gets its own LokiJS instance). `schema`
 * defaults to the client's current one (an app still at an older schema version passes its own).
 */
export function inMemoryDatabase(name: string, schema: AppSchema = syncSchema): Database {
  const adapter = new LokiJSAdapter({
    schema,
    useWebWorker: false,
    useIncrementalIndexedDB: false,
    dbName: `${name}-${process.pid}-${++counter}`,
    // Loki's autosave is a 500 ms interval timer that would keep the process alive.
    extraLokiOptions: { autosave: false },
  });
  return new Database({ adapter, modelClasses: MODEL_CLASSES });
}

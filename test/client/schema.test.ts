import { describe, expect, it } from 'vitest';
import { appSchema, syncSchema } from '../../client/index.js';
import { SCHEMA_VERSION, TABLES } from '../../lambdas/core/schema.js';

describe('client schema: the WatermelonDB appSchema derives from TABLES', () => {
  it('has the schema version and exactly the synced tables', () => {
    expect(appSchema).toBe(syncSchema);
    expect(syncSchema.version).toBe(SCHEMA_VERSION);
    expect(Object.keys(syncSchema.tables).sort()).toEqual(TABLES.map((t) => t.name).sort());
  });

  it.each(TABLES.map((t) => [t.name, t] as const))('%s: every column with its type, optionality and index', (name, def) => {
    const table = syncSchema.tables[name];
    expect(table?.name).toBe(name);
    const columns = table?.columnArray ?? [];
    expect(columns.map((c) => c.name)).toEqual([...def.columns.map((c) => c.name), 'created_at', 'updated_at']);
    for (const c of def.columns) {
      const col = table?.columns[c.name];
      expect(col?.type, c.name).toBe(c.type);
      expect(col?.isOptional ?? false, `${c.name} isOptional`).toBe(c.nullable);
      expect(col?.isIndexed ?? false, `${c.name} isIndexed`).toBe(c.indexed ?? false);
    }
  });

  it('adds created_at and updated_at as non-optional numbers, and no deleted_at', () => {
    for (const table of Object.values(syncSchema.tables)) {
      for (const stamp of ['created_at', 'updated_at']) {
        expect(table.columns[stamp], `${table.name}.${stamp}`).toEqual({ name: stamp, type: 'number' });
      }
      expect(table.columns.deleted_at, table.name).toBeUndefined();
    }
  });

  it('indexes planned_workouts.plan_id, as its definition asks', () => {
    expect(syncSchema.tables.planned_workouts?.columns.plan_id?.isIndexed).toBe(true);
  });
});

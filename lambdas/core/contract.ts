/**
 * Contract v1 request shapes, parsed at the edge into typed values. Derived from `TABLES`:
 * an unknown table or column is a 400 that names it.
 */
import * as z from 'zod';
import { ValidationError, type ErrorDetail } from './errors.js';
import { TABLES, SCHEMA_VERSION, recordId, type TableDef, type TableName } from './schema.js';

/** A pushed raw: the table's columns (each optional; see plan-push for required ones). */
function pushedRawSchema(t: TableDef) {
  const shape: Record<string, z.ZodType> = {
    id: recordId,
    // WatermelonDB bookkeeping and server-owned stamps: accepted, never stored.
    _status: z.string().optional(),
    _changed: z.string().optional(),
    created_at: z.unknown().optional(),
    updated_at: z.unknown().optional(),
    deleted_at: z.unknown().optional(),
  };
  for (const c of t.columns) shape[c.name] = c.schema.optional();
  return z.strictObject(shape);
}

function tableChangesSchema(t: TableDef) {
  const raw = pushedRawSchema(t);
  return z.strictObject({
    created: z.array(raw).default([]),
    updated: z.array(raw).default([]),
    deleted: z.array(recordId).default([]),
  });
}

const changesShape: Record<string, z.ZodType> = {};
for (const t of TABLES) changesShape[t.name] = tableChangesSchema(t).optional();

export type PushedRaw = { id: string; _status?: string; _changed?: string } & Record<string, unknown>;
export interface TableChanges {
  created: PushedRaw[];
  updated: PushedRaw[];
  deleted: string[];
}
export type PushChanges = Partial<Record<TableName, TableChanges>>;

const timestampMs = z.number().int().min(0);

const baseVersionsShape: Record<string, z.ZodType> = {};
for (const t of TABLES) if (t.clientWritable) baseVersionsShape[t.name] = z.record(recordId, timestampMs).optional();

export const pushBodySchema = z.strictObject({
  changes: z.strictObject(changesShape),
  last_pulled_at: timestampMs.nullable(),
  /**
   * Extension of contract v1 (optional): per record, the server version (`updated_at`) the
   * device's change was made on, where it differs from `last_pulled_at` — a version this device
   * pushed itself after its last pull (from a push response's `versions`), or an older one for
   * a record it deleted after ignoring a pulled edit. Conflicts are judged against it.
   */
  base_versions: z.strictObject(baseVersionsShape).optional(),
});
export type BaseVersions = Partial<Record<TableName, Record<string, number>>>;
export interface PushRequest {
  changes: PushChanges;
  lastPulledAt: number | null;
  baseVersions?: BaseVersions;
}

export interface Migration {
  from: number;
  tables: TableName[];
  columns: { table: TableName; columns: string[] }[];
}

const tableNameSchema = z.enum(TABLES.map((t) => t.name) as [TableName, ...TableName[]]);
const migrationSchema = z
  .strictObject({
    from: z.number().int().min(0),
    tables: z.array(tableNameSchema),
    columns: z.array(z.strictObject({ table: tableNameSchema, columns: z.array(z.string()) })),
  })
  .superRefine((m, ctx) => {
    m.columns.forEach((entry, i) => {
      const def = TABLES.find((t) => t.name === entry.table);
      entry.columns.forEach((col, j) => {
        if (!def?.columns.some((c) => c.name === col)) {
          ctx.addIssue({ code: 'custom', path: ['columns', i, 'columns', j], message: `unknown column '${col}' of '${entry.table}'` });
        }
      });
    });
  });

/** `null`, empty or absent → null; otherwise a non-negative integer. */
const nullableMsParam = z
  .union([z.literal('null'), z.literal(''), z.string().regex(/^\d{1,16}$/, 'must be a timestamp in ms or null')])
  .optional()
  .transform((v) => (v === undefined || v === 'null' || v === '' ? null : Number(v)));

export const pullQuerySchema = z.strictObject({
  last_pulled_at: nullableMsParam,
  schema_version: z
    .string()
    .regex(/^\d{1,6}$/, 'must be an integer')
    .optional()
    .transform((v) => (v === undefined ? SCHEMA_VERSION : Number(v)))
    .refine((v) => v >= 1 && v <= SCHEMA_VERSION, `must be between 1 and ${SCHEMA_VERSION}`),
  migration: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === 'null' || v === '') return null;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be URL-encoded JSON or null' });
        return z.NEVER;
      }
    })
    .pipe(migrationSchema.nullable()),
  cursor: z.string().min(1).max(4096).optional(),
});

export interface PullRequest {
  lastPulledAt: number | null;
  schemaVersion: number;
  migration: Migration | null;
  cursor?: string;
}

/** Turns zod issues into the contract's error details, naming table, record id and field. */
export function toErrorDetails(error: z.ZodError, input: unknown, prefix: string[] = []): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)];
    const detail: { path: string; message: string; table?: string; record_id?: string; field?: string } = {
      path: path.join('.'),
      message: describeIssue(issue),
    };
    // changes.<table>.<created|updated|deleted>.<index>[.<field>]
    const [, table, kind, index, field] = issue.path.map(String);
    if (issue.path[0] === 'changes' && table !== undefined) {
      detail.table = table;
      if (kind !== undefined && index !== undefined) {
        const item = pick(input, ['changes', table, kind, index]);
        const id = kind === 'deleted' ? item : pick(item, ['id']);
        if (typeof id === 'string') detail.record_id = id;
      }
      if (field !== undefined) detail.field = field;
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ ...detail, path: [...path, key].join('.'), field: detail.table && kind ? key : undefined, message: `unknown ${fieldKind(path.length)} '${key}'` }));
    }
    return [detail];
  }).flat().map(stripUndefined);
}

function fieldKind(depth: number): string {
  return depth <= 1 ? 'table' : depth >= 4 ? 'column' : 'key';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  return issue.message;
}

function pick(value: unknown, path: string[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function parsePushBody(body: unknown): PushRequest {
  const r = pushBodySchema.safeParse(body);
  if (!r.success) throw new ValidationError('invalid push body', toErrorDetails(r.error, body));
  const baseVersions = r.data.base_versions as BaseVersions | undefined;
  return { changes: r.data.changes as PushChanges, lastPulledAt: r.data.last_pulled_at, ...(baseVersions ? { baseVersions } : {}) };
}

export function parsePullQuery(query: Record<string, string | undefined>): PullRequest {
  const r = pullQuerySchema.safeParse(query);
  if (!r.success) throw new ValidationError('invalid pull query', toErrorDetails(r.error, query));
  const d = r.data;
  return { lastPulledAt: d.last_pulled_at, schemaVersion: d.schema_version, migration: d.migration as Migration | null, cursor: d.cursor };
}

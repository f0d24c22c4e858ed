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

/**
 * The push envelope: what must hold for the body to be a push at all (known tables, arrays of
 * records each naming its id as a string). A failure here is a 400 for the whole request; what
 * fails inside one record (`pushedRawSchema`) only rejects that record (rule R1).
 */
const envelopeRaw = z.looseObject({ id: z.string().min(1).max(1024) });
const envelopeChangesShape: Record<string, z.ZodType> = {};
for (const t of TABLES) {
  envelopeChangesShape[t.name] = z
    .strictObject({
      created: z.array(envelopeRaw).default([]),
      updated: z.array(envelopeRaw).default([]),
      deleted: z.array(z.string().min(1).max(1024)).default([]),
    })
    .optional();
}

export type PushedRaw = { id: string; _status?: string; _changed?: string } & Record<string, unknown>;
export interface TableChanges {
  created: PushedRaw[];
  updated: PushedRaw[];
  deleted: string[];
}
export type PushChanges = Partial<Record<TableName, TableChanges>>;

const timestampMs = z.number().int().min(0);

/**
 * Extension of contract v1 (optional): a stable id of the device's database, sent by the client
 * module on every pull and push. The server remembers which device wrote each record's current
 * version: a pull by that device leaves out what it pushed itself unchanged (no echo), and its
 * next push is not judged against its own earlier writes (a lost acknowledgement is no conflict).
 * Stock clients send none and keep WatermelonDB's echoes.
 */
export const deviceId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8 to 64 characters of A-Z, a-z, 0-9, _ and -');

const baseVersionsShape: Record<string, z.ZodType> = {};
for (const t of TABLES) if (t.clientWritable) baseVersionsShape[t.name] = z.record(recordId, timestampMs).optional();

/**
 * A valid push body, record by record (the OpenAPI document is generated from it). Parsing goes
 * through `pushEnvelopeSchema` and each record's own schema, so that one invalid record is
 * rejected alone (`parsePushBody`).
 */
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
  device_id: deviceId.optional(),
});

/** The push body as parsed: envelope only, each record validated on its own afterwards. */
const pushEnvelopeSchema = z.strictObject({
  changes: z.strictObject(envelopeChangesShape),
  last_pulled_at: timestampMs.nullable(),
  base_versions: z.strictObject(baseVersionsShape).optional(),
  device_id: deviceId.optional(),
});
export type BaseVersions = Partial<Record<TableName, Record<string, number>>>;

/** A record of a push left out because it failed validation on its own; the rest of the push applies. */
export interface RejectedRecord {
  readonly table: TableName;
  readonly id: string;
  /** Why, one detail per problem (path, table, record_id and field as in errors.md). */
  readonly details: readonly ErrorDetail[];
}

export interface PushRequest {
  /** The valid records only. */
  changes: PushChanges;
  lastPulledAt: number | null;
  baseVersions?: BaseVersions;
  /** The pushing device's `device_id`, when it sends one. */
  deviceId?: string;
  /** Records the parser left out (column values, unknown columns, ids, server-owned tables). */
  rejected?: readonly RejectedRecord[];
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
  device_id: deviceId.optional(),
});

export interface PullRequest {
  lastPulledAt: number | null;
  schemaVersion: number;
  migration: Migration | null;
  cursor?: string;
  /** The pulling device's `device_id`: a delta pull leaves out that device's own unchanged writes. */
  deviceId?: string;
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
    const [root, table, kind, index, field] = path;
    if (root === 'changes' && table !== undefined) {
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

/**
 * Parses a push in two steps (rule R1): the envelope (not a push, an unknown table, a record
 * without a string id, one id twice in a table: 400 for the whole request), then each record
 * on its own: a record that fails (a column value, an unknown column, a malformed id, a change
 * to a server-owned table) is left out and named in `rejected`, the others go on.
 */
export function parsePushBody(body: unknown): PushRequest {
  const r = pushEnvelopeSchema.safeParse(body);
  if (!r.success) throw new ValidationError('invalid push body', toErrorDetails(r.error, body));
  const envelope = r.data.changes as Partial<Record<TableName, { created: PushedRaw[]; updated: PushedRaw[]; deleted: string[] }>>;
  const duplicates: ErrorDetail[] = [];
  const changes: PushChanges = {};
  const rejected: RejectedRecord[] = [];
  for (const [tableName, tc] of Object.entries(envelope)) {
    if (!tc) continue;
    const def = TABLES.find((t) => t.name === tableName) as TableDef;
    const table = def.name as TableName;
    const seen = new Set<string>();
    const note = (id: string, path: string) => {
      if (seen.has(id)) duplicates.push({ path, table, record_id: id, message: `record '${id}' appears more than once in this push` });
      seen.add(id);
    };
    const out: TableChanges = { created: [], updated: [], deleted: [] };
    const rawSchema = rawSchemas.get(table) as z.ZodType;
    for (const kind of ['created', 'updated'] as const) {
      tc[kind].forEach((raw, i) => {
        const prefix = ['changes', table, kind, String(i)];
        note(raw.id, prefix.join('.'));
        if (!def.clientWritable) return rejected.push(serverOwned(table, raw.id, prefix.join('.')));
        const parsed = rawSchema.safeParse(raw);
        if (parsed.success) out[kind].push(parsed.data as PushedRaw);
        else rejected.push({ table, id: raw.id, details: toErrorDetails(parsed.error, body, prefix) });
      });
    }
    tc.deleted.forEach((id, i) => {
      const path = `changes.${table}.deleted.${i}`;
      note(id, path);
      if (!def.clientWritable) return rejected.push(serverOwned(table, id, path));
      const parsed = recordId.safeParse(id);
      if (parsed.success) out.deleted.push(id);
      else rejected.push({ table, id, details: toErrorDetails(parsed.error, body, path.split('.')) });
    });
    changes[table] = out;
  }
  if (duplicates.length > 0) throw new ValidationError('invalid push body', duplicates);
  const baseVersions = r.data.base_versions as BaseVersions | undefined;
  const device = r.data.device_id as string | undefined;
  return { changes, lastPulledAt: r.data.last_pulled_at, ...(baseVersions ? { baseVersions } : {}), ...(device ? { deviceId: device } : {}), ...(rejected.length > 0 ? { rejected } : {}) };
}

const rawSchemas = new Map(TABLES.map((t) => [t.name, pushedRawSchema(t)]));

function serverOwned(table: TableName, id: string, path: string): RejectedRecord {
  return { table, id, details: [{ path, table, record_id: id, message: `'${table}' is server-owned: clients may only pull it` }] };
}

export function parsePullQuery(query: Record<string, string | undefined>): PullRequest {
  const r = pullQuerySchema.safeParse(query);
  if (!r.success) throw new ValidationError('invalid pull query', toErrorDetails(r.error, query));
  const d = r.data;
  return { lastPulledAt: d.last_pulled_at, schemaVersion: d.schema_version, migration: d.migration as Migration | null, cursor: d.cursor, ...(d.device_id ? { deviceId: d.device_id } : {}) };
}

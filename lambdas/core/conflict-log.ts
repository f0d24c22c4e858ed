/**
 * The per-user conflict log: every device-made change a rule discarded, on the server at push
 * or on a device in its `conflictResolver`, so that nothing is lost and the user can restore it.
 *
 * Entry ids are content hashes, computed the same way by the server and the client: a push
 * retried after a failure, or a device reporting the same resolution twice, writes the same
 * entry once. Pure module (the client imports it).
 */
import * as z from 'zod';
import type { ConflictRule, LostChange } from './conflict.js';
import { CONFLICT_RULES } from './conflict.js';
import { toErrorDetails } from './contract.js';
import { ValidationError, type ErrorDetail } from './errors.js';
import { tableDef, type RecordData, type TableName } from './schema.js';

export interface ConflictEntry {
  readonly id: string;
  readonly table: TableName;
  readonly record_id: string;
  readonly rule: ConflictRule;
  /** `delete`: the losing change was a delete (then `losing` is empty). */
  readonly losing_action: 'update' | 'delete';
  readonly losing: RecordData;
  readonly winning: RecordData;
  /** When the server logged it, ms since the epoch (server clock). */
  readonly at: number;
  /** Who resolved it: the server at push time, or a device at pull time. */
  readonly resolved_by: 'server' | 'device';
}

/** A conflict as a device reports it (the server adds `at`). */
export type ConflictReport = Omit<ConflictEntry, 'at' | 'resolved_by'>;

export const CONFLICT_ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * The id of a resolution: the record, the version the device's change met (`against`: the
 * server's `updated_at`), the rule and the losing values. The same resolution always hashes
 * the same, a different one practically never (128 bits from two independent 64-bit hashes).
 */
export function conflictId(table: string, recordId: string, against: number, lost: LostChange): string {
  const text = JSON.stringify([table, recordId, against, lost.rule, lost.losingAction, sortKeys(lost.losing)]);
  return fnv1a64(text, 0xcbf29ce484222325n) + fnv1a64(text, 0x84222325cbf29ce4n);
}

export function toReport(table: TableName, recordId: string, against: number, lost: LostChange): ConflictReport {
  return {
    id: conflictId(table, recordId, against, lost),
    table,
    record_id: recordId,
    rule: lost.rule,
    losing_action: lost.losingAction,
    losing: lost.losing,
    winning: lost.winning,
  };
}

function sortKeys(data: RecordData): [string, unknown][] {
  return Object.keys(data)
    .sort()
    .map((k) => [k, data[k]]);
}

const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
function fnv1a64(text: string, offset: bigint): string {
  let h = offset;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * FNV_PRIME) & MASK64;
  }
  return h.toString(16).padStart(16, '0');
}

/** Most entries one report request may carry. */
export const MAX_REPORTS_PER_REQUEST = 100;

const values = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
const reportSchema = z.strictObject({
  id: z.string().regex(CONFLICT_ID_PATTERN, 'must be 32 lowercase hex digits (see conflictId)'),
  table: z.string(),
  record_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must match [A-Za-z0-9_-]{1,64}'),
  rule: z.enum(CONFLICT_RULES),
  losing_action: z.enum(['update', 'delete']),
  losing: values,
  winning: values,
});
export const reportBodySchema = z.strictObject({ conflicts: z.array(reportSchema).min(1).max(MAX_REPORTS_PER_REQUEST) });

/**
 * Parses `POST /api/v1/conflicts`. Values must be valid column values of the named table,
 * because `restore` writes `losing` back as an ordinary change.
 */
export function parseReportBody(body: unknown): ConflictReport[] {
  const r = reportBodySchema.safeParse(body);
  if (!r.success) {
    throw new ValidationError('invalid conflict report', toErrorDetails(r.error, body));
  }
  const errors: ErrorDetail[] = [];
  r.data.conflicts.forEach((c, i) => {
    const def = tableDef(c.table);
    if (!def || !def.clientWritable) {
      errors.push({ path: `conflicts.${i}.table`, field: 'table', message: `'${c.table}' is not a table devices write` });
      return;
    }
    for (const side of ['losing', 'winning'] as const) {
      for (const [column, value] of Object.entries(c[side])) {
        const col = def.columns.find((k) => k.name === column);
        const path = `conflicts.${i}.${side}.${column}`;
        if (!col) errors.push({ path, table: def.name, record_id: c.record_id, field: column, message: `'${def.name}' has no column '${column}'` });
        else if (!col.schema.safeParse(value).success) errors.push({ path, table: def.name, record_id: c.record_id, field: column, message: `not a valid '${column}' value` });
      }
    }
    if (c.losing_action === 'delete' && Object.keys(c.losing).length > 0) {
      errors.push({ path: `conflicts.${i}.losing`, field: 'losing', message: 'must be empty when losing_action is delete' });
    }
  });
  if (errors.length > 0) throw new ValidationError('invalid conflict report', errors);
  return r.data.conflicts.map((c) => ({ ...c, table: c.table as TableName }));
}

export const MAX_CONFLICTS_PER_PAGE = 1000;
export const DEFAULT_CONFLICTS_PER_PAGE = 100;

export interface ConflictListQuery {
  /** Entries logged strictly after this time (ms). */
  readonly since: number;
  readonly limit: number;
  /** Resume after this entry (from the previous page's `next`). */
  readonly after?: { readonly at: number; readonly id: string };
}

const listQuerySchema = z.strictObject({
  since: z.string().regex(/^\d{1,16}$/, 'must be a time in ms').optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'must be an integer').optional(),
  cursor: z.string().regex(/^\d{1,16}-[0-9a-f]{32}$/, 'must be the `cursor` of a previous page').optional(),
});

/** Parses `GET /api/v1/conflicts?since=<ms>&limit=<n>&cursor=<c>`. */
export function parseListQuery(query: Record<string, string | undefined>): ConflictListQuery {
  const r = listQuerySchema.safeParse(query);
  if (!r.success) throw new ValidationError('invalid conflicts query', toErrorDetails(r.error, query));
  const limit = r.data.limit === undefined ? DEFAULT_CONFLICTS_PER_PAGE : Number(r.data.limit);
  if (limit < 1 || limit > MAX_CONFLICTS_PER_PAGE) {
    throw new ValidationError('invalid conflicts query', [{ path: 'limit', field: 'limit', message: `must be 1-${MAX_CONFLICTS_PER_PAGE}` }]);
  }
  const after = r.data.cursor ? { at: Number(r.data.cursor.split('-')[0]), id: r.data.cursor.split('-')[1] as string } : undefined;
  return { since: Number(r.data.since ?? 0), limit, ...(after ? { after } : {}) };
}

/** The `cursor` of the page after the one ending at `next`. */
export function listCursor(next: { at: number; id: string }): string {
  return `${next.at}-${next.id}`;
}

/**
 * Server-side writes: the plan engine, the FIT processor (Garmin data), the upload service and
 * conflict restores change records as the server, through the same stamps (so every device
 * pulls the change) and the same rules as a push:
 * - a server write never resurrects a record the user deleted (restores excepted: the user asked);
 * - `garmin` data moves the recorded group as a unit and beats `manual`; other columns it only
 *   fills where the user left them empty (except `upload_id`, the file the data came from); the
 *   manual values it replaces go to the conflict log;
 * - `plan-engine` writes win (server wins);
 * - `restore` writes a conflict's losing values as an ordinary change by the user.
 */
import * as z from 'zod';
import { recordedColumns, sourcePriority, type LostChange } from './conflict.js';
import { toReport } from './conflict-log.js';
import { toErrorDetails } from './contract.js';
import { contentionPause } from './backoff.js';
import { ConditionFailedError, ContentionError, PushDeadlineError, ValidationError } from './errors.js';
import { liveRecordDelta, type PushConfig } from './push.js';
import { nextColumnVersions, type StoredRecord } from './records.js';
import { RECORD_ID_PATTERN, recordId, tableDef, TABLES, type RecordData, type TableDef, type TableName } from './schema.js';
import type { SyncStore, WriteLease } from './store.js';
import { stampSingleWrite } from './journal.js';

/** Which tables each server-side writer may change. */
export const SERVER_WRITE_SOURCES = {
  'plan-engine': ['plans', 'planned_workouts'],
  garmin: ['activities'],
  'upload-service': ['uploads'],
  restore: ['activities', 'plans', 'planned_workouts', 'settings'],
} as const satisfies Record<string, readonly TableName[]>;
export type ServerWriteSource = keyof typeof SERVER_WRITE_SOURCES;

export interface ServerWrite {
  readonly source: ServerWriteSource;
  readonly table: TableName;
  readonly id: string;
  /** Column values to write (a subset of the table's columns), or `delete` (restores only). */
  readonly values: RecordData | 'delete';
  /** Only create: a record that exists (or appears meanwhile) is left alone, as a `noop`. */
  readonly createOnly?: boolean;
}

export type ServerWriteAction = 'create' | 'update' | 'resurrect' | 'delete' | 'ignored' | 'noop';

export interface ServerWritePlan {
  readonly action: ServerWriteAction;
  readonly data?: RecordData;
  readonly lost: readonly LostChange[];
}

/** Plans a server write against the stored record. Pure; throws ValidationError for bad values. */
export function planServerWrite(write: ServerWrite, stored: StoredRecord | undefined): ServerWritePlan {
  const def = tableDef(write.table) as TableDef;
  if (!RECORD_ID_PATTERN.test(write.id)) {
    throw new ValidationError('invalid record id', [{ path: 'record.id', table: def.name, record_id: write.id, field: 'id', message: `must match ${RECORD_ID_PATTERN.source}` }]);
  }
  const none = (action: ServerWriteAction): ServerWritePlan => ({ action, lost: [] });
  if (write.createOnly && stored) return none('noop');
  if (write.values === 'delete') {
    return stored && stored.deleted_at === null ? { action: 'delete', data: stored.data, lost: [] } : none('noop');
  }
  const values = write.source === 'garmin' ? { ...write.values, gps_source: 'garmin' } : write.values;
  if (!stored) {
    return { action: 'create', data: completeForCreate(def, write.id, values), lost: [] };
  }
  if (stored.deleted_at !== null) {
    return write.source === 'restore' ? { action: 'resurrect', data: { ...stored.data, ...values }, lost: [] } : none('ignored');
  }

  let data: RecordData;
  const lost: LostChange[] = [];
  if (write.source === 'garmin') {
    // The group is replaced as a unit, so a column it cannot clear (`started_at`) must be sent.
    const required = recordedColumns(def).filter((c) => !c.nullable && values[c.name] === undefined);
    if (required.length > 0) {
      throw new ValidationError(
        'missing columns',
        required.map((c) => ({ path: `record.${c.name}`, table: def.name, record_id: write.id, field: c.name, message: 'required: Garmin data replaces the recorded group as a unit' })),
      );
    }
    const recorded = recordedColumns(def).map((c) => c.name);
    const incoming = Object.fromEntries(recorded.map((c) => [c, values[c] ?? null]));
    incoming.gps_source = 'garmin';
    const current = Object.fromEntries(recorded.map((c) => [c, stored.data[c] ?? null]));
    data = { ...stored.data, ...incoming };
    // Fill, never overwrite, what the user typed (title, notes, sport, …); but `upload_id` names
    // the file the recorded data now comes from, so it follows the data.
    for (const [c, v] of Object.entries(values)) if (!recorded.includes(c) && (c === 'upload_id' || (stored.data[c] ?? null) === null)) data[c] = v;
    const changed = recorded.some((c) => current[c] !== incoming[c]);
    if (changed && sourcePriority(current.gps_source) < sourcePriority('garmin')) {
      lost.push({ rule: 'activity-recorded-source-priority', losingAction: 'update', losing: current, winning: incoming });
    }
  } else {
    data = { ...stored.data, ...values };
  }
  const same = def.columns.every((c) => (data[c.name] ?? null) === (stored.data[c.name] ?? null));
  return same ? none('noop') : { action: 'update', data, lost };
}

function completeForCreate(def: TableDef, id: string, values: RecordData): RecordData {
  const data: RecordData = {};
  const missing: string[] = [];
  for (const c of def.columns) {
    if (values[c.name] !== undefined) data[c.name] = values[c.name] as RecordData[string];
    else if (c.nullable) data[c.name] = null;
    else missing.push(c.name);
  }
  if (missing.length > 0) {
    throw new ValidationError(
      'missing columns',
      missing.map((field) => ({ path: `record.${field}`, table: def.name, record_id: id, field, message: 'required when the record does not exist yet' })),
    );
  }
  return data;
}

export interface ServerWriteDeps {
  readonly store: SyncStore;
  readonly now: () => number;
  readonly config: PushConfig;
}

export interface ServerWriteResult {
  readonly action: ServerWriteAction;
  /** The stamp the write took (absent when nothing was written). */
  readonly version?: number;
  /** Conflict-log ids of what the write replaced. */
  readonly conflictIds: readonly string[];
}

/**
 * Applies one server-side write for `userId`: conditional on the record read, re-planned when a
 * concurrent write got there first, under the same in-flight stamp protocol as a push (so no
 * pull misses it). Idempotent: the same write applied twice is a `noop` the second time.
 */
export async function applyServerWrite(userId: string, write: ServerWrite, deps: ServerWriteDeps): Promise<ServerWriteResult> {
  const { store, config } = deps;
  const def = tableDef(write.table) as TableDef;
  const key = [{ table: write.table, id: write.id }];
  const clock = await store.readClock(userId, deps.now());
  let [stored] = await store.getRecords(userId, key);
  let plan = planServerWrite(write, stored);
  if (plan.action === 'noop' || plan.action === 'ignored') return { action: plan.action, conflictIds: [] };

  const leases = [await store.beginWrite(userId, deps.now(), config, clock, 1, key)];
  const deadline = deps.now() + config.maxPushMs;
  let liveDelta = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      if (deps.now() > deadline) throw new PushDeadlineError('server write exceeded its write window; retry it');
      const stamp = (leases[leases.length - 1] as WriteLease).stamp;
      const reports = stored ? plan.lost.map((l) => toReport(write.table, write.id, stored!.updated_at, l)) : [];
      if (reports.length > 0) await store.putConflicts(userId, reports, { nowMs: deps.now(), resolvedBy: 'server', ttlMs: config.conflictTtlMs });
      // A server write ends any device's run of writes (R8a): the record carries no writer device.
      const { device: _writtenBy, ...record } = toRecord(write, plan, stored, stamp);
      try {
        if (!stored && def.idScope === 'global') await store.claimId(userId, key[0]!);
        await store.putRecord(userId, record, stored ? stored.updated_at : null, write.source);
        liveDelta = liveRecordDelta([plan]);
        return { action: plan.action, version: stamp, conflictIds: reports.map((r) => r.id) };
      } catch (e) {
        if (!(e instanceof ConditionFailedError)) throw e;
        if (attempt >= config.maxWriteAttempts) throw new ContentionError(`record ${write.table}/${write.id} kept changing concurrently; retry`, 1, { cause: e });
        await contentionPause(attempt);
        stored = e.current ?? (await store.getRecords(userId, key))[0];
      }
      plan = planServerWrite(write, stored);
      if (plan.action === 'noop' || plan.action === 'ignored') return { action: plan.action, conflictIds: [] };
      if (stored && stored.updated_at >= stamp) leases.push(await store.beginWrite(userId, deps.now(), config, undefined, 1, key));
    }
  } finally {
    // Each lease is of one stamp, the one its write used.
    await store.endWrite(userId, leases.map(stampSingleWrite), deps.now(), liveDelta);
  }
}

function toRecord(write: ServerWrite, plan: ServerWritePlan, stored: StoredRecord | undefined, stamp: number): StoredRecord {
  const data = plan.data as RecordData;
  switch (plan.action) {
    case 'create':
      return { table: write.table, id: write.id, data, created_at: stamp, updated_at: stamp, deleted_at: null };
    case 'resurrect':
      return { ...(stored as StoredRecord), data, created_at: stamp, updated_at: stamp, deleted_at: null, column_versions: undefined };
    case 'delete':
      return { ...(stored as StoredRecord), updated_at: stamp, deleted_at: stamp };
    default:
      return { ...(stored as StoredRecord), data, updated_at: stamp, column_versions: nextColumnVersions(stored as StoredRecord, data, stamp) };
  }
}

/** The body of the local stack's `POST /local/server-write`. */
export interface ServerWriteRequest {
  readonly userId: string;
  readonly write: ServerWrite;
}

const PUBLIC_SOURCES = ['plan-engine', 'garmin'] as const;

/**
 * Parses `{"user_id", "table", "record": {"id", …}, "source": "plan-engine"|"garmin"}`. Values
 * are validated against the table's column schemas; the source must be allowed to write the table.
 */
export function parseServerWriteRequest(body: unknown): ServerWriteRequest {
  const shape = z.strictObject({
    user_id: z.string().min(1).max(128),
    table: z.enum(TABLES.map((t) => t.name) as [TableName, ...TableName[]]),
    source: z.enum(PUBLIC_SOURCES),
    record: z.looseObject({ id: recordId }),
  });
  const r = shape.safeParse(body);
  if (!r.success) throw new ValidationError('invalid server write', toErrorDetails(r.error, body));
  const { user_id, table, source, record } = r.data;
  const allowed: readonly string[] = SERVER_WRITE_SOURCES[source];
  if (!allowed.includes(table)) {
    throw new ValidationError('invalid server write', [{ path: 'table', field: 'table', message: `source '${source}' may write only ${allowed.join(', ')}` }]);
  }
  return { userId: user_id, write: { source, table, id: record.id, values: validateValues(table, record, 'record') } };
}

/** Checks each value against its column's schema; unknown columns and server stamps are refused. */
export function validateValues(table: TableName, record: Record<string, unknown>, prefix: string): RecordData {
  const def = tableDef(table) as TableDef;
  const values: RecordData = {};
  const errors = [];
  for (const [column, value] of Object.entries(record)) {
    if (column === 'id') continue;
    const col = def.columns.find((c) => c.name === column);
    const path = `${prefix}.${column}`;
    if (!col) errors.push({ path, table, field: column, message: `'${table}' has no column '${column}'` });
    else {
      const parsed = col.schema.safeParse(value);
      if (parsed.success) values[column] = value as RecordData[string];
      else errors.push({ path, table, field: column, message: parsed.error.issues[0]?.message ?? 'invalid value' });
    }
  }
  if (errors.length > 0) throw new ValidationError('invalid record values', errors);
  return values;
}

/** Most records one server-write message may carry (a re-optimised block of a plan fits easily). */
export const MAX_WRITES_PER_MESSAGE = 100;

/**
 * A server-write message: the body of `POST /local/server-write` and of a message on the AWS
 * ingress queue. One user, one source; one record (`table` + `record`, as before) or several
 * (`writes: [{table, record}, …]`), applied in order.
 */
export interface ServerWriteMessage {
  readonly userId: string;
  readonly source: (typeof PUBLIC_SOURCES)[number];
  readonly writes: readonly ServerWrite[];
  /** True when the body used the single-record form (its answer keeps that form too). */
  readonly single: boolean;
}

/** The several-records form (the single-record form is `parseServerWriteRequest`'s). */
export const serverWritesMessageSchema = z.strictObject({
  user_id: z.string().min(1).max(128),
  source: z.enum(PUBLIC_SOURCES),
  writes: z
    .array(z.strictObject({ table: z.enum(TABLES.map((t) => t.name) as [TableName, ...TableName[]]), record: z.looseObject({ id: recordId }) }))
    .min(1)
    .max(MAX_WRITES_PER_MESSAGE),
});

/** Parses either form; every value is validated and every table checked against the source, before anything is written. */
export function parseServerWriteMessage(body: unknown): ServerWriteMessage {
  if (body === null || typeof body !== 'object' || !('writes' in body)) {
    const { userId, write } = parseServerWriteRequest(body);
    return { userId, source: write.source as ServerWriteMessage['source'], writes: [write], single: true };
  }
  const r = serverWritesMessageSchema.safeParse(body);
  if (!r.success) throw new ValidationError('invalid server write', toErrorDetails(r.error, body));
  const { user_id, source, writes } = r.data;
  const allowed: readonly string[] = SERVER_WRITE_SOURCES[source];
  const errors = writes.flatMap((w, i) => (allowed.includes(w.table) ? [] : [{ path: `writes.${i}.table`, field: 'table', message: `source '${source}' may write only ${allowed.join(', ')}` }]));
  if (errors.length > 0) throw new ValidationError('invalid server write', errors);
  const seen = new Set<string>();
  const parsed = writes.map((w, i) => {
    const key = `${w.table}#${w.record.id}`;
    if (seen.has(key)) throw new ValidationError('invalid server write', [{ path: `writes.${i}.record.id`, table: w.table, record_id: w.record.id, field: 'id', message: 'the same record twice in one message' }]);
    seen.add(key);
    return { source, table: w.table, id: w.record.id, values: validateValues(w.table, w.record, `writes.${i}.record`) } satisfies ServerWrite;
  });
  return { userId: user_id, source, writes: parsed, single: false };
}

/**
 * Applies a message's writes in order. Every write is planned against the stored records first,
 * so a write that could never apply (a create missing required columns) refuses the whole message
 * with nothing written. A failure later (contention, the store) leaves the writes before it
 * applied; the message is retried whole and those find themselves already applied (`noop`).
 */
export async function applyServerWrites(userId: string, writes: readonly ServerWrite[], deps: ServerWriteDeps): Promise<ServerWriteResult[]> {
  const stored = await deps.store.getRecords(userId, writes.map((w) => ({ table: w.table, id: w.id })));
  writes.forEach((w, i) => {
    try {
      planServerWrite(w, stored.find((r) => r.table === w.table && r.id === w.id));
    } catch (e) {
      if (e instanceof ValidationError && writes.length > 1) {
        throw new ValidationError(e.message, e.details.map((d) => ({ ...d, path: `writes.${i}.${d.path}` })));
      }
      throw e;
    }
  });
  const results: ServerWriteResult[] = [];
  for (const w of writes) results.push(await applyServerWrite(userId, w, deps));
  return results;
}

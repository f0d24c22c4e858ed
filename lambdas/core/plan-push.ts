/**
 * Push planning, pure: pushed changes + the records currently stored → the conditional writes
 * to make and a per-record outcome. No I/O, so every odd case is a row in a table-driven test.
 */
import { ValidationError, type ErrorDetail } from './errors.js';
import type { ConflictPolicy, LostChange, Resolution } from './conflict.js';
import type { BaseVersions, PushChanges, PushedRaw, RejectedRecord } from './contract.js';
import { columnsChangedAfter, nextColumnVersions, recordKey, type DeviceWrite, type StoredRecord } from './records.js';
import { tableDef, type RecordData, type TableDef, type TableName } from './schema.js';

/** One record's change, normalised from WatermelonDB's push format. */
export interface RecordChange {
  readonly table: TableName;
  readonly id: string;
  readonly kind: 'created' | 'updated' | 'deleted';
  /** Every column value the raw carried (validated). */
  readonly values: RecordData;
  /** Columns the client changed: all for `created`, `_changed` for `updated`. */
  readonly changedColumns: readonly string[];
  /** Where the change sits in the push body, for error details. */
  readonly path: string;
}

export interface PlannedWrite {
  readonly record: StoredRecord;
  /** `updated_at` the stored record must still have; null: it must not exist. */
  readonly expectedUpdatedAt: number | null;
}

export type Action = 'create' | 'update' | 'delete' | 'resurrect' | 'noop' | 'discard';

export interface RecordOutcome {
  readonly table: TableName;
  readonly id: string;
  readonly action: Action;
  /**
   * Set when the stored record changed after the device's base version and a rule decided:
   * `against` is the stored version's `updated_at`, `lost` what the rule discarded.
   */
  readonly conflict?: { readonly against: number; readonly lost: readonly LostChange[] };
  /**
   * The server version (`updated_at`) that holds the device's change: the stamp written, or the
   * stored version a no-op found. The device reports it back as its base version.
   */
  readonly version?: number;
}

export interface PlanContext {
  readonly stamp: number;
  readonly lastPulledAt: number | null;
  /** Per record, a base version other than `lastPulledAt` (see contract `base_versions`). */
  readonly baseVersions?: BaseVersions;
  readonly policy: ConflictPolicy;
  /** The pushing device's `device_id`, when it sends one. */
  readonly deviceId?: string;
}

/** Flattens a push body into record changes; rejects writes to server-owned tables and duplicate ids. */
export function normalizeChanges(changes: PushChanges): RecordChange[] {
  const out: RecordChange[] = [];
  const errors: ErrorDetail[] = [];
  for (const [tableName, tc] of Object.entries(changes)) {
    if (!tc) continue;
    const def = tableDef(tableName) as TableDef;
    const table = def.name as TableName;
    const count = tc.created.length + tc.updated.length + tc.deleted.length;
    if (count > 0 && !def.clientWritable) {
      errors.push({ path: `changes.${table}`, table, message: `'${table}' is server-owned: clients may only pull it` });
      continue;
    }
    const seen = new Set<string>();
    const note = (id: string, path: string) => {
      if (seen.has(id)) errors.push({ path, table, record_id: id, message: `record '${id}' appears more than once in this push` });
      seen.add(id);
    };
    for (const kind of ['created', 'updated'] as const) {
      tc[kind].forEach((raw, i) => {
        note(raw.id, `changes.${table}.${kind}.${i}`);
        out.push(toChange(def, kind, raw, `changes.${table}.${kind}.${i}`));
      });
    }
    tc.deleted.forEach((id, i) => {
      note(id, `changes.${table}.deleted.${i}`);
      out.push({ table, id, kind: 'deleted', values: {}, changedColumns: [], path: `changes.${table}.deleted.${i}` });
    });
  }
  if (errors.length > 0) throw new ValidationError('invalid push', errors);
  return out;
}

function toChange(def: TableDef, kind: 'created' | 'updated', raw: PushedRaw, path: string): RecordChange {
  const values: RecordData = {};
  for (const c of def.columns) if (raw[c.name] !== undefined) values[c.name] = raw[c.name] as RecordData[string];
  const present = Object.keys(values);
  // `_changed` lists what WatermelonDB saw the user change; without it (other clients) every sent column counts.
  const changedColumns =
    kind === 'updated' && typeof raw._changed === 'string'
      ? raw._changed.split(',').filter((c) => c in values)
      : present;
  return { table: def.name as TableName, id: raw.id, kind, values, changedColumns, path };
}

/**
 * Plans every change against the stored records. A change that cannot be applied on its own
 * (a new record missing a required column) is rejected alone: it is in `rejected`, with no write
 * and no outcome, and the others are planned as if it were not there. Each write takes its own stamp, `ctx.stamp + i` for the i-th write: no two records of a user
 * share an `updated_at`, so nothing depends on how an index orders equal sort values. Which
 * changes write does not depend on the stamp, so a plan with another stamp has as many writes.
 */
export function planPush(
  changes: readonly RecordChange[],
  current: ReadonlyMap<string, StoredRecord>,
  ctx: PlanContext,
): { writes: PlannedWrite[]; outcomes: RecordOutcome[]; rejected: RejectedRecord[] } {
  const writes: PlannedWrite[] = [];
  const outcomes: RecordOutcome[] = [];
  const rejected: RejectedRecord[] = [];
  for (const change of changes) {
    try {
      const planned = planRecord(change, current.get(recordKey(change.table, change.id)), { ...ctx, stamp: ctx.stamp + writes.length });
      if (planned.write) writes.push(planned.write);
      outcomes.push(planned.outcome);
    } catch (e) {
      if (e instanceof ValidationError) rejected.push({ table: change.table, id: change.id, details: e.details });
      else throw e;
    }
  }
  return { writes, outcomes, rejected };
}

/** Plans one change against the record stored now (undefined: never existed). */
export function planRecord(
  change: RecordChange,
  stored: StoredRecord | undefined,
  ctx: PlanContext,
): { write?: PlannedWrite; outcome: RecordOutcome } {
  const planned = planChange(change, stored, ctx);
  if (!planned.write) return planned;
  // Every write names its writer device (or none: a write without a device id ends the run).
  const { device: _previous, ...record } = planned.write.record;
  const device = ctx.deviceId ? { device: deviceWrite(ctx.deviceId, change, record, stored) } : {};
  return { ...planned, write: { ...planned.write, record: { ...record, ...device } } };
}

/**
 * R8a: a device's own writes are not changes it missed. When every write after the change's base
 * was this device's (its earlier push whose response it never received, or an edit before its
 * next pull), the change is judged against the current version: no conflict with itself.
 */
export function effectiveBase(stored: StoredRecord | undefined, base: number | null, deviceId: string | undefined): number | null {
  if (!stored || !deviceId || stored.device?.id !== deviceId) return base;
  return stored.device.since <= (base ?? 0) ? stored.updated_at : base;
}

function deviceWrite(deviceId: string, change: RecordChange, written: StoredRecord, stored: StoredRecord | undefined): DeviceWrite {
  const since = stored?.device?.id === deviceId ? stored.device.since : (stored?.updated_at ?? 0);
  // What the device holds after its push is the raw it sent (a delete: nothing), with the
  // server's stamps: the client module takes `updated_at` from the response, and `created_at` too
  // for what it sent as created. The write is exact when every column stored equals the value
  // sent (a merge or a rule makes it differ) and the record's birth is what the device assumes: a
  // record sent as created was created (or began a new life) by this write, one sent as updated
  // kept its `created_at` (R4 and R5 make them differ).
  const def = tableDef(change.table) as TableDef;
  const birthKnown = change.kind === 'created' ? written.created_at === written.updated_at : stored !== undefined && written.created_at === stored.created_at;
  const exact =
    change.kind === 'deleted'
      ? written.deleted_at !== null
      : written.deleted_at === null && birthKnown && def.columns.every((c) => (change.values[c.name] ?? null) === (written.data[c.name] ?? null));
  return { id: deviceId, since, exact };
}

function planChange(change: RecordChange, stored: StoredRecord | undefined, ctx: PlanContext): { write?: PlannedWrite; outcome: RecordOutcome } {
  const { table, id } = change;
  const done = (action: Action, extra: Pick<RecordOutcome, 'conflict' | 'version'> = {}): RecordOutcome => ({ table, id, action, ...extra });
  const base = effectiveBase(stored, ctx.baseVersions?.[table]?.[id] ?? ctx.lastPulledAt, ctx.deviceId);
  const def = tableDef(table) as TableDef;
  // Which columns the server changed after the device's base: a conflict needs one of them (or a delete).
  const serverChanged = stored ? columnsChangedAfter(stored, def.columns.map((c) => c.name), base) : [];
  const changedSinceBase = stored !== undefined && (base === null || stored.updated_at > base) && (stored.deleted_at !== null || serverChanged.length > 0);

  if (change.kind === 'deleted') {
    // Push R6: deleting a missing or already deleted record is a no-op.
    if (!stored || stored.deleted_at !== null) return { outcome: done('noop') };
    if (!changedSinceBase) return { write: tombstone(stored, ctx.stamp), outcome: done('delete') };
    return applyResolution(ctx.policy(def, { data: stored.data, deleted: false, changedColumns: serverChanged }, { kind: 'delete' }), stored, ctx.stamp, done);
  }

  // Push R4/R5: created on an existing id is an update; updated on a missing id is a create.
  if (!stored) return { write: create(def, change, ctx.stamp), outcome: done('create', { version: ctx.stamp }) };

  const deviceChange = { kind: 'upsert', values: change.values, changedColumns: change.changedColumns } as const;
  if (stored.deleted_at !== null) {
    // The client re-created a record it knew was deleted (e.g. a settings key): a new life.
    if (!changedSinceBase) return { write: create(def, change, ctx.stamp, stored), outcome: done('resurrect', { version: ctx.stamp }) };
    return applyResolution(ctx.policy(def, { data: stored.data, deleted: true }, deviceChange), stored, ctx.stamp, done);
  }

  const incoming = pick(change.values, change.changedColumns);
  // Push R7: values already stored (a retried push, or an echo) are neither a write nor a conflict.
  if (change.changedColumns.every((c) => stored.data[c] === incoming[c])) return { outcome: done('noop', { version: stored.updated_at }) };
  if (!changedSinceBase) {
    return { write: update(stored, { ...stored.data, ...incoming }, ctx.stamp), outcome: done('update', { version: ctx.stamp }) };
  }
  return applyResolution(ctx.policy(def, { data: stored.data, deleted: false, changedColumns: serverChanged }, deviceChange), stored, ctx.stamp, done);
}

function applyResolution(
  r: Resolution,
  stored: StoredRecord,
  stamp: number,
  done: (a: Action, extra?: Pick<RecordOutcome, 'conflict' | 'version'>) => RecordOutcome,
): { write?: PlannedWrite; outcome: RecordOutcome } {
  const conflict = r.lost.length > 0 ? { conflict: { against: stored.updated_at, lost: r.lost } } : {};
  // The device's change is in the written version only when some of its columns stand.
  const version = r.keptColumns.length > 0 ? { version: stamp } : {};
  switch (r.outcome) {
    case 'keep':
      return { outcome: done('discard', conflict) };
    case 'delete':
      return { write: tombstone(stored, stamp), outcome: done('delete', conflict) };
    case 'write':
      return stored.deleted_at !== null
        ? { write: { record: { ...stored, data: r.data, updated_at: stamp, deleted_at: null, created_at: stamp, column_versions: undefined }, expectedUpdatedAt: stored.updated_at }, outcome: done('resurrect', { ...conflict, ...version }) }
        : { write: update(stored, r.data, stamp), outcome: done('update', { ...conflict, ...version }) };
  }
}

function pick(values: RecordData, columns: readonly string[]): RecordData {
  return Object.fromEntries(columns.map((c) => [c, values[c] ?? null]));
}

function create(def: TableDef, change: RecordChange, stamp: number, tomb?: StoredRecord): PlannedWrite {
  const data: RecordData = {};
  const missing: string[] = [];
  for (const c of def.columns) {
    const v = change.values[c.name];
    if (v !== undefined) data[c.name] = v;
    else if (c.nullable) data[c.name] = null;
    else missing.push(c.name);
  }
  if (missing.length > 0) {
    throw new ValidationError(
      'missing columns',
      missing.map((field) => ({
        path: `${change.path}.${field}`,
        table: def.name,
        record_id: change.id,
        field,
        message: 'required when the record does not exist yet',
      })),
    );
  }
  const record: StoredRecord = { table: change.table, id: change.id, data, created_at: stamp, updated_at: stamp, deleted_at: null };
  return { record, expectedUpdatedAt: tomb ? tomb.updated_at : null };
}

function update(stored: StoredRecord, data: RecordData, stamp: number): PlannedWrite {
  return { record: { ...stored, data, updated_at: stamp, column_versions: nextColumnVersions(stored, data, stamp) }, expectedUpdatedAt: stored.updated_at };
}

function tombstone(stored: StoredRecord, stamp: number): PlannedWrite {
  return { record: { ...stored, updated_at: stamp, deleted_at: stamp }, expectedUpdatedAt: stored.updated_at };
}

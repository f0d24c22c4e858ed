/**
 * The synced tables (schema v2): the single source of truth.
 *
 * Validation (zod), the conflict groups, the docs table and the client's WatermelonDB
 * `appSchema` all derive from `TABLES`. Pure module: no AWS, no Node built-ins, because
 * `client/` imports it into the app.
 */
import * as z from 'zod';

/**
 * Current schema version. Each version after the first only adds columns (`since` on the
 * column), so a client at an older version is served the columns it knows (pull.ts) and a
 * WatermelonDB client migrates with `addColumns` (`SCHEMA_MIGRATIONS`, client/schema.ts).
 * v2: `uploads.duplicate_of`.
 */
export const SCHEMA_VERSION = 2;

/** Client-generated record ids (WatermelonDB makes 16 alphanumerics; settings use their key). */
export const RECORD_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const recordId = z.string().regex(RECORD_ID_PATTERN, 'must match [A-Za-z0-9_-]{1,64}');

/** Default size limit of a string column, in UTF-8 bytes. */
export const MAX_STRING_BYTES = 16 * 1024;

const utf8 = new TextEncoder();
const boundedString = (maxBytes: number) =>
  z.string().refine((s) => s.length <= maxBytes && utf8.encode(s).length <= maxBytes, {
    message: `must be at most ${maxBytes} bytes`,
  });

/** Milliseconds since the epoch; 0 allowed because WatermelonDB defaults non-optional numbers to 0. */
const epochMs = z.number().int().min(0).max(8_640_000_000_000_000);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** WatermelonDB column types. */
export type ColumnType = 'string' | 'number' | 'boolean';

/**
 * Conflict groups: columns of a group move as a unit when a conflict is resolved.
 * `recorded` = Activity recorded/GPS data, `user` = fields the user types, `plan`,
 * `setting`, `server` = server-owned columns.
 */
export type ColumnGroup = 'recorded' | 'user' | 'plan' | 'setting' | 'server';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly group: ColumnGroup;
  readonly indexed?: boolean;
  readonly schema: z.ZodType;
  readonly doc: string;
  /** The schema version that added the column (absent: v1). */
  readonly since?: number;
}

/** How a table resolves conflicting writes (the rules live in `conflict.ts`). */
export type ConflictPolicyName = 'activity' | 'plan' | 'settings' | 'server-owned';

export interface TableDef {
  readonly name: string;
  readonly doc: string;
  /** false: server-owned, clients only pull it. */
  readonly clientWritable: boolean;
  /**
   * `global`: ids are random and belong to the one user who first wrote them; another user's id
   * is refused (403). `user`: ids name things inside each user's namespace (settings keys).
   */
  readonly idScope: 'global' | 'user';
  readonly policy: ConflictPolicyName;
  readonly columns: readonly ColumnDef[];
}

type ColumnOptions = { group: ColumnGroup; doc: string; indexed?: boolean; since?: number };

function column(name: string, type: ColumnType, schema: z.ZodType, nullable: boolean, o: ColumnOptions): ColumnDef {
  return {
    name,
    type,
    nullable,
    group: o.group,
    indexed: o.indexed,
    schema: nullable ? schema.nullable() : schema,
    doc: o.doc,
    ...(o.since !== undefined ? { since: o.since } : {}),
  };
}
const str = (name: string, o: ColumnOptions, maxBytes = MAX_STRING_BYTES) => column(name, 'string', boundedString(maxBytes), false, o);
const strOrNull = (name: string, o: ColumnOptions, maxBytes = MAX_STRING_BYTES) =>
  column(name, 'string', boundedString(maxBytes), true, o);
const numOrNull = (name: string, o: ColumnOptions, schema: z.ZodType = finite) => column(name, 'number', schema, true, o);
const enumOf = (name: string, values: readonly [string, ...string[]], nullable: boolean, o: ColumnOptions) =>
  column(name, 'string', z.enum(values), nullable, o);
const idRef = (name: string, nullable: boolean, o: ColumnOptions) => column(name, 'string', recordId, nullable, o);

export const GPS_SOURCES = ['garmin', 'manual'] as const;

const activities: TableDef = {
  name: 'activities',
  doc: 'A run (or other workout) the user recorded, typed in, or imported from a FIT file.',
  clientWritable: true,
  idScope: 'global',
  policy: 'activity',
  columns: [
    str('sport', { group: 'user', doc: 'Sport, e.g. `running`.' }),
    column('started_at', 'number', epochMs, false, { group: 'recorded', doc: 'Start time, ms since the epoch.' }),
    numOrNull('duration_s', { group: 'recorded', doc: 'Elapsed duration in seconds.' }, finite.refine((n) => n >= 0, 'must be >= 0')),
    numOrNull('distance_m', { group: 'recorded', doc: 'Distance in metres.' }, finite.refine((n) => n >= 0, 'must be >= 0')),
    numOrNull('elevation_gain_m', { group: 'recorded', doc: 'Total ascent in metres.' }),
    numOrNull('avg_heart_rate', { group: 'recorded', doc: 'Average heart rate, bpm.' }, finite.refine((n) => n >= 0, 'must be >= 0')),
    strOrNull('route_polyline', { group: 'recorded', doc: 'Route as an encoded polyline (bounded size).' }, 64 * 1024),
    enumOf('gps_source', GPS_SOURCES, true, { group: 'recorded', doc: 'Where the recorded data came from: `garmin` > `manual` > null.' }),
    strOrNull('title', { group: 'user', doc: 'Title the user gave.' }),
    strOrNull('notes', { group: 'user', doc: 'Free-text notes.' }),
    numOrNull('perceived_effort', { group: 'user', doc: 'Perceived effort 1–10.' }, z.number().int().min(1).max(10)),
    idRef('upload_id', true, { group: 'user', doc: 'The `uploads` record of the FIT file this activity came from.' }),
  ],
};

const plans: TableDef = {
  name: 'plans',
  doc: 'A training plan.',
  clientWritable: true,
  idScope: 'global',
  policy: 'plan',
  columns: [
    str('name', { group: 'plan', doc: 'Plan name.' }),
    strOrNull('goal', { group: 'plan', doc: 'Goal, free text.' }),
    column('race_date', 'number', epochMs, true, { group: 'plan', doc: 'Race day, ms since the epoch.' }),
    enumOf('status', ['active', 'archived'], false, { group: 'plan', doc: '`active` or `archived`.' }),
  ],
};

const plannedWorkouts: TableDef = {
  name: 'planned_workouts',
  doc: 'One scheduled workout of a plan.',
  clientWritable: true,
  idScope: 'global',
  policy: 'plan',
  columns: [
    idRef('plan_id', false, { group: 'plan', doc: 'The plan this workout belongs to.', indexed: true }),
    column('scheduled_on', 'string', z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'must be YYYY-MM-DD'), false, {
      group: 'plan',
      doc: 'Day, `YYYY-MM-DD`.',
    }),
    str('workout_type', { group: 'plan', doc: 'e.g. `easy`, `intervals`, `long`.' }),
    numOrNull('target_distance_m', { group: 'plan', doc: 'Target distance in metres.' }),
    numOrNull('target_duration_s', { group: 'plan', doc: 'Target duration in seconds.' }),
    strOrNull('description', { group: 'plan', doc: 'Instructions.' }),
    idRef('completed_activity_id', true, { group: 'plan', doc: 'The activity that completed it.' }),
  ],
};

const settings: TableDef = {
  name: 'settings',
  doc: 'Key/value settings; the record id is the key, so two devices creating a setting address one record.',
  clientWritable: true,
  idScope: 'user',
  policy: 'settings',
  columns: [
    column(
      'value',
      'string',
      boundedString(MAX_STRING_BYTES).refine((s) => {
        try {
          JSON.parse(s);
          return true;
        } catch {
          return false;
        }
      }, 'must be a JSON-encoded string'),
      false,
      { group: 'setting', doc: 'JSON-encoded value.' },
    ),
  ],
};

const uploads: TableDef = {
  name: 'uploads',
  doc: 'A FIT file or image uploaded to S3 (server-owned; created by the upload API).',
  clientWritable: false,
  idScope: 'global',
  policy: 'server-owned',
  columns: [
    enumOf('kind', ['fit', 'image'], false, { group: 'server', doc: '`fit` or `image`.' }),
    str('content_type', { group: 'server', doc: 'MIME type.' }),
    column('size_bytes', 'number', z.number().int().min(0), false, { group: 'server', doc: 'Declared size.' }),
    idRef('activity_id', true, { group: 'server', doc: 'The activity the file belongs to.' }),
    enumOf('status', ['pending', 'processing', 'processed', 'failed'], false, { group: 'server', doc: 'Processing status.' }),
    strOrNull('error', { group: 'server', doc: 'Why processing failed, human-readable.' }),
    idRef('duplicate_of', true, {
      group: 'server',
      since: 2,
      doc: 'Set when the file was recognised as a recording already imported (the same file again, a re-export, or a second device recording the same run): the activity that has it. Nothing was imported from this upload.',
    }),
  ],
};

export const TABLES: readonly TableDef[] = [activities, plans, plannedWorkouts, settings, uploads];
export type TableName = 'activities' | 'plans' | 'planned_workouts' | 'settings' | 'uploads';

/** Columns every table has; server-assigned, client values ignored. */
export const SERVER_STAMP_COLUMNS = ['created_at', 'updated_at'] as const;

/** Columns a client at `schemaVersion` knows: those added at or before that version. */
export function columnsAtVersion(def: TableDef, schemaVersion: number): readonly ColumnDef[] {
  return def.columns.filter((c) => (c.since ?? 1) <= schemaVersion);
}

/**
 * What each version added, for WatermelonDB's `schemaMigrations` (client/schema.ts): steps
 * `toVersion` 2..SCHEMA_VERSION, each with the columns it added per table. Versions only add
 * nullable columns, so older clients keep working and a migrated one fills them through a
 * migration sync (docs/sync-protocol.md, P8).
 */
export interface SchemaMigrationStep {
  readonly toVersion: number;
  readonly addColumns: readonly { readonly table: TableName; readonly columns: readonly ColumnDef[] }[];
}
export const SCHEMA_MIGRATIONS: readonly SchemaMigrationStep[] = Array.from({ length: SCHEMA_VERSION - 1 }, (_, i) => i + 2).map((toVersion) => ({
  toVersion,
  addColumns: TABLES.map((t) => ({ table: t.name as TableName, columns: t.columns.filter((c) => c.since === toVersion) })).filter((a) => a.columns.length > 0),
}));

const byName = new Map(TABLES.map((t) => [t.name, t]));
export function tableDef(name: string): TableDef | undefined {
  return byName.get(name);
}
export function isTableName(name: string): name is TableName {
  return byName.has(name);
}

/** A record's column values as the client sees them (no server metadata). */
export type RecordData = Record<string, string | number | boolean | null>;

/** Default value of a column when a new record omits it (WatermelonDB's own defaults). */
export function columnDefault(c: ColumnDef): string | number | boolean | null {
  if (c.nullable) return null;
  return c.type === 'number' ? 0 : c.type === 'boolean' ? false : '';
}

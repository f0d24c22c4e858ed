import type { RecordData, TableName } from './schema.js';

/** A record as the store keeps it: the client's columns plus server-owned stamps. */
export interface StoredRecord {
  readonly table: TableName;
  readonly id: string;
  readonly data: RecordData;
  /** Stamp of the write that created the record (ms, server-assigned). */
  readonly created_at: number;
  /** Stamp of the last write; the delta-pull index sorts on it. */
  readonly updated_at: number;
  /** Stamp of the soft delete; tombstones keep their last values. */
  readonly deleted_at: number | null;
  /**
   * Stamp of the last change of each column changed after the record was created (sparse: a
   * column not listed last changed at `created_at`). Conflicts are judged per column with it.
   */
  readonly column_versions?: Readonly<Record<string, number>>;
  /**
   * Tombstones only: when the table's TTL may remove it (epoch seconds), `TOMBSTONE_RETENTION`
   * after the delete. Set by the push when it writes a tombstone (`withTombstoneExpiry`).
   */
  readonly expires_at?: number;
  /** The device whose push wrote this version, when it sent a `device_id` (never pulled). */
  readonly device?: DeviceWrite;
}

/** Which device wrote a record's current version, and how (contract `device_id`). */
export interface DeviceWrite {
  readonly id: string;
  /**
   * The version the record had before this device's run of consecutive writes began (0: it
   * created the record). Every change after it is this device's own.
   */
  readonly since: number;
  /** The stored columns are exactly what the device sent: a pull by it has nothing to bring. */
  readonly exact: boolean;
}

/**
 * The record as it is written: a tombstone carries `expires_at` = its delete stamp plus the
 * retention (rounded up to the second); a live record none (a record brought back to life loses
 * the expiry its tombstone had).
 */
export function withTombstoneExpiry(r: StoredRecord, retentionMs: number): StoredRecord {
  const { expires_at: _old, ...rest } = r;
  return r.deleted_at === null ? rest : { ...rest, expires_at: Math.ceil((r.deleted_at + retentionMs) / 1000) };
}

/** The stamp at which `column` last changed. */
export function columnVersion(r: Pick<StoredRecord, 'created_at' | 'column_versions'>, column: string): number {
  return r.column_versions?.[column] ?? r.created_at;
}

/** Columns changed after `base` (every column when `base` is null: the device knew no version). */
export function columnsChangedAfter(r: Pick<StoredRecord, 'created_at' | 'column_versions'>, columns: readonly string[], base: number | null): string[] {
  return columns.filter((c) => base === null || columnVersion(r, c) > base);
}

/** `column_versions` after writing `data` over `stored` at `stamp`: the columns whose value changed move to `stamp`. */
export function nextColumnVersions(stored: StoredRecord, data: RecordData, stamp: number): Record<string, number> | undefined {
  const out: Record<string, number> = { ...(stored.column_versions ?? {}) };
  for (const [c, v] of Object.entries(data)) if ((stored.data[c] ?? null) !== (v ?? null)) out[c] = stamp;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The raw WatermelonDB receives in a pull: columns, `id`, the two timestamps and, when some
 * column changed after creation, `_versions` (extension of v1: per column, the stamp of its last
 * change; WatermelonDB drops the key when it stores the raw, the client's conflict resolver reads it).
 */
export type PulledRaw = RecordData & {
  id: string;
  created_at: number;
  updated_at: number;
  _versions?: Record<string, number>;
  /**
   * Only to the device whose push wrote this version (contract `device_id`, P12): the version
   * before its run of consecutive writes began. Every column stamped after it is its own write.
   */
  _own_since?: number;
};

export function toPulledRaw(r: StoredRecord): PulledRaw {
  // The same object as `{ ...r.data, id, created_at, updated_at, _versions }`, built the way V8
  // copies fastest: a pull makes one per record, and on Node 20 the spread literal measured ~6×
  // slower for an activity (~1.3 µs, most of a pull's shaping).
  const raw = Object.assign({}, r.data) as Record<string, unknown>;
  raw.id = r.id;
  raw.created_at = r.created_at;
  raw.updated_at = r.updated_at;
  if (r.column_versions && Object.keys(r.column_versions).length > 0) raw._versions = { ...r.column_versions };
  return raw as PulledRaw;
}

/**
 * Who made a record's last write: a device's push, or a server-side writer (the sources of
 * server-write.ts). Stored beside the record (never pulled) so the change feed can name it.
 */
export const WRITERS = ['device', 'plan-engine', 'garmin', 'upload-service', 'restore'] as const;
export type Writer = (typeof WRITERS)[number];

export function recordKey(table: string, id: string): string {
  return `${table}#${id}`;
}

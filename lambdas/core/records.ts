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
}

/** The raw WatermelonDB receives in a pull: columns, `id` and the two timestamps. */
export type PulledRaw = RecordData & { id: string; created_at: number; updated_at: number };

export function toPulledRaw(r: StoredRecord): PulledRaw {
  return { ...r.data, id: r.id, created_at: r.created_at, updated_at: r.updated_at };
}

export function recordKey(table: string, id: string): string {
  return `${table}#${id}`;
}

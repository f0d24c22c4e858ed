/**
 * The change feed: every committed change of a synced record becomes one event for the rest of
 * the backend (the Brain re-optimising a plan after a run, say). Pure: the stream adapter hands in
 * the record before and after the write (the table stream's old and new images, decoded) and who
 * wrote it; this decides whether it is an event, of which type, and with what detail.
 *
 * - `<table>.created` (a new record, or a deleted one brought back), `<table>.updated`,
 *   `<table>.deleted` (the tombstone write); an `uploads` record whose `status` becomes
 *   `processed` or `failed` is `uploads.processed` / `uploads.failed` instead of `uploads.updated`.
 * - No event: internal items (the adapter never hands them in), a tombstone expiring (TTL; its
 *   delete was the event), a rewrite of the same version.
 * - `event_id` is deterministic (`<table>:<record_id>:<version>:<user_id>`): every delivery of
 *   one change carries the same id, which is what a consumer deduplicates on (delivery is at
 *   least once). `version` (the record's `updated_at`) grows with every change of a record, so a
 *   consumer orders one record's events by it.
 */
import { greedyBatches } from './batches.js';
import { utf8ByteLength } from './utf8.js';
import * as z from 'zod';
import { WRITERS, type StoredRecord, type Writer } from './records.js';
import { TABLES, type RecordData, type TableName } from './schema.js';

/** EventBridge `source` of every change event. */
export const EVENT_SOURCE = 'runningcoach.sync';
export const CHANGE_KINDS = ['created', 'updated', 'deleted'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
/** Upload outcomes published under their own detail type. */
export const UPLOAD_OUTCOMES = ['processed', 'failed'] as const;

const tableNames = TABLES.map((t) => t.name) as [TableName, ...TableName[]];
const columnValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** The `detail` of every change event (docs/events.schema.json is generated from it). */
export const changeDetailSchema = z
  .strictObject({
    event_id: z.string().describe('Deterministic id of this change (`<table>:<record_id>:<version>:<user_id>`): the same on every delivery; deduplicate on it.'),
    user_id: z.string().describe('The user whose record changed (the token `sub` of their devices).'),
    table: z.enum(tableNames).describe('The synced table.'),
    record_id: z.string().describe('The record id.'),
    change: z.enum(CHANGE_KINDS).describe('`created` (new, or a deleted record brought back), `updated`, `deleted` (a tombstone: the record is gone from every device).'),
    version: z.number().int().describe("The record's `updated_at` after the change: grows with each change of the record; order one record's events by it."),
    previous_version: z.number().int().nullable().describe("The record's `updated_at` before the change (null: it did not exist)."),
    changed: z.array(z.string()).describe('Columns whose value changed (created: every column with a value; deleted: none).'),
    values: z.record(z.string(), columnValue).describe("The record's columns after the change (deleted: its last values)."),
    writer: z.enum(WRITERS).describe('Who made the change: `device` (a push), `plan-engine`, `garmin` (FIT data), `upload-service`, `restore` (a conflict restored by the user).'),
  })
  .describe('detail of a RunningCoach change event');
export type ChangeDetail = z.infer<typeof changeDetailSchema>;

/** An event as EventBridge's PutEvents entry carries it, with the deterministic id beside it. */
export interface ChangeEvent {
  readonly id: string;
  readonly source: typeof EVENT_SOURCE;
  readonly detailType: string;
  readonly detail: ChangeDetail;
}

/** Every detail type the feed emits. */
export const DETAIL_TYPES: readonly string[] = [
  ...TABLES.flatMap((t) => CHANGE_KINDS.map((k) => `${t.name}.${k}`)),
  ...UPLOAD_OUTCOMES.map((o) => `uploads.${o}`),
];

export function changeEventId(userId: string, table: TableName, recordId: string, version: number): string {
  // Table names and record ids hold no ':' (RECORD_ID_PATTERN), so the id is unambiguous.
  return `${table}:${recordId}:${version}:${userId}`;
}

/**
 * The event of one committed write: `before` and `after` are the record's stored versions (absent:
 * no record), `writer` who wrote `after`. Undefined when the write is not a change to publish.
 */
export function changeEventOf(userId: string, before: StoredRecord | undefined, after: StoredRecord | undefined, writer: Writer): ChangeEvent | undefined {
  // An item removed (TTL expiring a tombstone) is not a change a device sees.
  if (!after) return undefined;
  if (before && before.updated_at === after.updated_at) return undefined;
  const wasLive = before !== undefined && before.deleted_at === null;
  const isLive = after.deleted_at === null;
  if (!wasLive && !isLive) return undefined;
  const change: ChangeKind = !isLive ? 'deleted' : wasLive ? 'updated' : 'created';
  const values: RecordData = { ...after.data };
  const changed =
    change === 'deleted'
      ? []
      : Object.keys(values)
          .filter((c) => (change === 'created' ? values[c] !== null && values[c] !== undefined : (before!.data[c] ?? null) !== (values[c] ?? null)))
          .sort();
  const detail: ChangeDetail = {
    event_id: changeEventId(userId, after.table, after.id, after.updated_at),
    user_id: userId,
    table: after.table,
    record_id: after.id,
    change,
    version: after.updated_at,
    previous_version: before ? before.updated_at : null,
    changed,
    values: values as ChangeDetail['values'],
    writer,
  };
  return { id: detail.event_id, source: EVENT_SOURCE, detailType: detailTypeOf(detail, before), detail };
}

function detailTypeOf(d: ChangeDetail, before: StoredRecord | undefined): string {
  if (d.table === 'uploads' && d.change !== 'deleted') {
    const status = d.values.status;
    const was = before && before.deleted_at === null ? before.data.status : undefined;
    if ((status === 'processed' || status === 'failed') && status !== was) return `uploads.${status}`;
  }
  return `${d.table}.${d.change}`;
}

/** Where change events go: EventBridge in AWS, the local stack's event log on a laptop. */
export interface EventSink {
  /** Publishes `events` (at most PUT_EVENTS_MAX_ENTRIES); answers the indexes of those not accepted. */
  put(events: readonly ChangeEvent[]): Promise<{ readonly failed: readonly number[] }>;
}

/** EventBridge PutEvents: at most 10 entries and 256 KiB per request. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/** The size EventBridge counts for an entry (source, detail type, detail; UTF-8), plus the fixed allowance for the time. */
export function entrySize(e: ChangeEvent): number {
  return utf8ByteLength(e.source) + utf8ByteLength(e.detailType) + utf8ByteLength(JSON.stringify(e.detail)) + 14;
}

/** Consecutive runs of events that each fit one PutEvents request, in order. */
export function putEventsBatches<T extends { event: ChangeEvent }>(items: readonly T[]): T[][] {
  return greedyBatches(items, (item) => entrySize(item.event), { maxItems: PUT_EVENTS_MAX_ENTRIES, maxBytes: PUT_EVENTS_MAX_BYTES });
}


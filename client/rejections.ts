/**
 * Records the server refused, one by one: a push applies every valid record and names the others
 * (`experimentalRejectedIds`, with reasons in `rejected`). WatermelonDB keeps the rejected records
 * dirty, so every later sync pushes them again until the app fixes them (edits the record, or an
 * app update changes what it writes) or discards them (e.g. `record.destroyPermanently()` for one
 * the device created). This module parses the answers and keeps the last push's list in the
 * database, so an app can show "3 changes could not be saved" at any time.
 */
import type { Database } from '@nozbe/watermelondb';
import type { SyncErrorDetail } from './errors.js';

/** Where the rejections of the last completed push are kept (local storage of the database). */
export const REJECTED_STORAGE_KEY = 'runningcoach_sync.rejected';

/** One record of the device the server refused to store, and why. */
export interface SyncRejection {
  readonly table: string;
  readonly id: string;
  /** The server's reasons: each names the field (when one) and what is wrong with it. */
  readonly details: readonly SyncErrorDetail[];
}

/** Told the rejections of a push, once the whole push is in (not called when there are none). */
export type SyncRejectionListener = (rejections: readonly SyncRejection[]) => void;

/** The rejections of one push response (empty when it has none or they are malformed). */
export function rejectionsOf(answer: unknown): SyncRejection[] {
  const body = answer as { rejected?: unknown; experimentalRejectedIds?: unknown } | null;
  const out = new Map<string, SyncRejection>();
  if (Array.isArray(body?.rejected)) {
    for (const r of body.rejected as unknown[]) {
      const { table, id, details } = (r ?? {}) as { table?: unknown; id?: unknown; details?: unknown };
      if (typeof table !== 'string' || typeof id !== 'string') continue;
      const list = Array.isArray(details) ? (details.filter((d) => typeof d === 'object' && d !== null && typeof d.message === 'string') as SyncErrorDetail[]) : [];
      out.set(`${table}#${id}`, { table, id, details: list });
    }
  }
  // WatermelonDB's own field decides what stays dirty: every id in it is a rejection, with or without reasons.
  const ids = body?.experimentalRejectedIds;
  if (ids && typeof ids === 'object') {
    for (const [table, list] of Object.entries(ids as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      for (const id of list) if (typeof id === 'string' && !out.has(`${table}#${id}`)) out.set(`${table}#${id}`, { table, id, details: [] });
    }
  }
  return [...out.values()];
}

/** Per table, the rejected ids: what `pushChanges` hands back to WatermelonDB. */
export function rejectedIdsOf(rejections: readonly SyncRejection[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rejections) (out[r.table] ??= []).push(r.id);
  return out;
}

/**
 * The records the last completed push had rejected (every sync pushes them again, so the list is
 * replaced after each push; a record the app fixed or discarded drops out then). E.g. a banner
 * "3 changes could not be saved" from its length, a list to fix from the details.
 */
export async function getRejectedRecords(database: Database): Promise<SyncRejection[]> {
  const stored = await database.localStorage.get<unknown>(REJECTED_STORAGE_KEY);
  return Array.isArray(stored) ? (stored as SyncRejection[]) : [];
}

/** Called when a push completed: its rejections replace the stored list. */
export async function storeRejections(database: Database, rejections: readonly SyncRejection[]): Promise<void> {
  await database.localStorage.set(REJECTED_STORAGE_KEY, [...rejections]);
}

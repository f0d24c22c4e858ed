/**
 * Push: a Lambda request event cannot exceed 6 MB, and API Gateway puts the body into the event
 * as a JSON string, escaping it once more (a `"` in a note becomes 4 bytes). So a push is split
 * into requests whose JSON body stays under `maxPushBytes` (default 3,000,000: even a body made
 * only of escaped characters doubles to under 6 MiB). Every request carries the push's
 * `last_pulled_at`. Splitting is safe because the server treats a re-sent record whose values it
 * already stores as a no-op: when request k fails, `synchronize()` rejects, the records stay
 * dirty, and the next sync pushes all of them again.
 */
import { SyncHttpError } from './errors.js';
import type { Transport } from './http.js';
import { rejectionsOf, type SyncRejection } from './rejections.js';
import type { ChangeSet, PushArgs } from './types.js';
import { utf8ByteLength } from './utf8.js';

export const DEFAULT_MAX_PUSH_BYTES = 3_000_000;

type Kind = 'created' | 'updated' | 'deleted';
/** One record of a push: a raw (created/updated) or an id (deleted), with its JSON size. */
interface Item {
  readonly table: string;
  readonly kind: Kind;
  readonly value: unknown;
  readonly bytes: number;
  /** The record's base version when it differs from `last_pulled_at` (contract `base_versions`). */
  readonly base?: number;
}

export interface PushBody {
  changes: ChangeSet;
  last_pulled_at: number | null;
  base_versions?: Record<string, Record<string, number>>;
  device_id?: string;
}

/** Per record, a base version other than `last_pulled_at`, if the device knows one. */
export type BaseVersionLookup = (table: string, id: string, kind: Kind) => number | undefined;

/** Per table and id, the version the server stored each accepted change in (the responses' `versions`). */
export type PushVersions = Record<string, Record<string, number>>;

/**
 * Splits a push into request bodies of at most `maxBytes` UTF-8 bytes each, in the order
 * WatermelonDB listed the records. Each body names every table of the push (WatermelonDB's own
 * format). A record too large for any body on its own travels alone and the server judges it.
 */
export function splitPush(changes: ChangeSet, lastPulledAt: number | null, maxBytes: number, baseOf?: BaseVersionLookup): PushBody[] {
  const { tables, chunks } = planChunks(changes, lastPulledAt, maxBytes, baseOf);
  return chunks.map((chunk) => toBody(tables, chunk, lastPulledAt));
}

/**
 * Sends a push as split requests, one after another; the first failure rejects the push.
 * Resolves with the versions the server reported for the accepted records; the records it
 * rejected one by one (the rest of their request is stored) are added to `rejections`.
 */
export async function pushInRequests(
  transport: Transport,
  args: PushArgs,
  maxBytes: number,
  baseOf?: BaseVersionLookup,
  /** Filled as each request is accepted, so a caller still has them when a later request fails. */
  versions: PushVersions = {},
  /** Told the push's record count before the first request, then each accepted request's. */
  progress?: { planned(records: number): void; accepted(records: number): void },
  /** Filled with the records the server rejected (each request names its own). */
  rejections: SyncRejection[] = [],
  /** This device's id (contract `device_id`), sent in every request. */
  deviceId?: string,
): Promise<PushVersions> {
  const lastPulledAt = args.lastPulledAt ?? null;
  const { tables, chunks } = planChunks(args.changes, lastPulledAt, maxBytes, baseOf, deviceId);
  progress?.planned(chunks.reduce((n, chunk) => n + chunk.length, 0));
  const query = [['last_pulled_at', String(lastPulledAt)]] as const;

  const send = async (chunk: readonly Item[]): Promise<void> => {
    try {
      const answer = await transport.request('POST', query, JSON.stringify(toBody(tables, chunk, lastPulledAt, deviceId)));
      const got = (answer as { versions?: unknown } | null)?.versions;
      if (got && typeof got === 'object') {
        for (const [table, ids] of Object.entries(got as Record<string, unknown>)) {
          if (!ids || typeof ids !== 'object') continue;
          for (const [id, v] of Object.entries(ids as Record<string, unknown>)) if (typeof v === 'number') (versions[table] ??= {})[id] = v;
        }
      }
      rejections.push(...rejectionsOf(answer));
      progress?.accepted(chunk.length);
    } catch (e) {
      // 413 although the body was under budget (a gateway with a lower limit, or a budget
      // configured too high): nothing was written, so halve and go on instead of failing forever.
      if (!(e instanceof SyncHttpError && e.status === 413 && chunk.length > 1)) throw e;
      const half = Math.ceil(chunk.length / 2);
      await send(chunk.slice(0, half));
      await send(chunk.slice(half));
    }
  };
  for (const chunk of chunks) await send(chunk);
  return versions;
}

function planChunks(changes: ChangeSet, lastPulledAt: number | null, maxBytes: number, baseOf?: BaseVersionLookup, deviceId?: string): { tables: string[]; chunks: Item[][] } {
  const tables = Object.keys(changes);
  // What is left of the budget once the envelope (every table with empty arrays) is paid for.
  const budget = maxBytes - utf8ByteLength(JSON.stringify(toBody(tables, [], lastPulledAt, deviceId)));
  return { tables, chunks: packItems(toItems(changes, baseOf), budget) };
}

function toItems(changes: ChangeSet, baseOf?: BaseVersionLookup): Item[] {
  const items: Item[] = [];
  for (const [table, set] of Object.entries(changes)) {
    for (const kind of ['created', 'updated', 'deleted'] as const) {
      for (const value of set[kind]) {
        const id = kind === 'deleted' ? String(value) : String((value as { id?: unknown }).id);
        const base = baseOf?.(table, id, kind);
        // +1 for the comma that separates it from its neighbour (one too many per array: a safe margin);
        // a base version costs its entry plus, at most, its table's object in `base_versions`.
        const baseBytes = base === undefined ? 0 : utf8ByteLength(JSON.stringify({ [table]: { [id]: base } })) + 2;
        items.push({ table, kind, value, bytes: utf8ByteLength(JSON.stringify(value)) + 1 + baseBytes, ...(base !== undefined ? { base } : {}) });
      }
    }
  }
  return items;
}

/**
 * Greedy packing in order. A chunk is closed when the next record would overflow it, so no
 * chunk is empty except the single one of a push without records (still sent: one request).
 */
function packItems(items: readonly Item[], budget: number): Item[][] {
  const chunks: Item[][] = [[]];
  let used = 0;
  for (const item of items) {
    const current = chunks[chunks.length - 1] as Item[];
    if (current.length > 0 && used + item.bytes > budget) {
      chunks.push([item]);
      used = item.bytes;
    } else {
      current.push(item);
      used += item.bytes;
    }
  }
  return chunks;
}

function toBody(tables: readonly string[], chunk: readonly Item[], lastPulledAt: number | null, deviceId?: string): PushBody {
  const changes: ChangeSet = {};
  for (const t of tables) changes[t] = { created: [], updated: [], deleted: [] };
  const bases: Record<string, Record<string, number>> = {};
  for (const item of chunk) {
    (changes[item.table]?.[item.kind] as unknown[]).push(item.value);
    if (item.base !== undefined) (bases[item.table] ??= {})[item.kind === 'deleted' ? String(item.value) : String((item.value as { id?: unknown }).id)] = item.base;
  }
  return {
    changes,
    last_pulled_at: lastPulledAt,
    ...(Object.keys(bases).length > 0 ? { base_versions: bases } : {}),
    ...(deviceId ? { device_id: deviceId } : {}),
  };
}

/**
 * The device side of conflict resolution: the same per-entity rules as the server
 * (`lambdas/core/conflict.ts`), applied while a pull lands on records with local changes.
 *
 * The device judges a pulled version against the version it holds of the record, as the server
 * judges its push. Pulls are exact (P5): what a pull brings is never newer than its `timestamp`,
 * so every version a device pulled is covered by its `last_pulled_at`. What that does not cover
 * is the device's own writes: the sync's push follows its pull, so the device holds the versions
 * of its last push, newer than its `last_pulled_at`. It keeps those (the push responses'
 * `versions`, until a pull covers them) and judges each such record from its own version, which
 * it also sends as the record's `base_versions` entry. A push whose response was lost leaves no
 * versions: the server marks its own write coming back with `_own_since` (the columns stamped
 * after it are the device's own, rule R8a), and leaves it out altogether when it is exactly
 * what the device sent (P12).
 *
 * Nothing is lost on the device either: every change a rule discards is appended to a
 * persistent outbox (in the database's localStorage, before the pull is applied) and reported to
 * `POST /api/v1/conflicts`; a failed report is retried on the next sync.
 */
import { Q, type Database } from '@nozbe/watermelondb';
import { resolveConflict, type DeviceChange, type Resolution } from '../lambdas/core/conflict.js';
import { greedyBatches } from '../lambdas/core/batches.js';
import { MAX_REPORTS_PER_REQUEST, toReport, type ConflictReport } from '../lambdas/core/conflict-log.js';
import { tableDef, type RecordData, type TableDef, type TableName } from '../lambdas/core/schema.js';
import { SyncHttpError } from './errors.js';
import type { Transport } from './http.js';
import type { ChangeSet, ConflictSession, DirtyRaw } from './types.js';

type Versions = Record<string, Record<string, number>>;

const KEYS = {
  /** Per table and id: the version of the device's last accepted push, until a pull covers it. */
  pushed: 'runningcoach_sync.acks',
  /** Per table and id: the base of a local delete whose pulled edit WatermelonDB ignored. */
  deleteBases: 'runningcoach_sync.delete_bases',
  /** Conflict reports not yet accepted by the server. */
  outbox: 'runningcoach_sync.conflict_outbox',
} as const;

export const CONFLICTS_PATH = '/api/v1/conflicts';
/** Where the conflict reports not yet accepted by the server wait (read by `getSyncStatus`). */
export const OUTBOX_STORAGE_KEY = KEYS.outbox;

/** Bound of one report request body: far below the 6 MB Lambda payload, even escaped twice. */
export const MAX_REPORT_BYTES = 1_000_000;

/** Greedy batches of at most MAX_REPORTS_PER_REQUEST reports and MAX_REPORT_BYTES of JSON. */
export function batchesOf(reports: readonly ConflictReport[]): ConflictReport[][] {
  // ≤ 3 UTF-8 bytes per UTF-16 unit: an upper bound.
  return greedyBatches(reports, (r) => JSON.stringify(r).length * 3, { maxItems: MAX_REPORTS_PER_REQUEST, maxBytes: MAX_REPORT_BYTES });
}

export type { ConflictResolver, ConflictSession } from './types.js';

const key = (table: string, id: string) => `${table}#${id}`;

/** What the device changed, in the shape the shared policy takes. */
export function deviceChangeOf(def: TableDef, local: DirtyRaw): Extract<DeviceChange, { kind: 'upsert' }> {
  const values: RecordData = {};
  for (const c of def.columns) if (local[c.name] !== undefined) values[c.name] = local[c.name] as RecordData[string];
  // A record created on the device has no `_changed`: every column is its own.
  const changedColumns =
    local._status === 'created' ? def.columns.map((c) => c.name) : String(local._changed ?? '').split(',').filter((c) => def.columns.some((d) => d.name === c));
  return { kind: 'upsert', values, changedColumns };
}

/**
 * The columns a pulled version changed after `base` that the device did not write itself, from
 * its `_versions` (per column, the stamp of its last change; a column not listed last changed at
 * `created_at`) and `_own_since` (present when the version is this device's own write: every
 * column stamped after it is the device's, R8a). Undefined when the server sent no stamps or the
 * device has no base and no own run: then every column counts as changed.
 */
export function remoteChangedColumns(def: TableDef, remote: DirtyRaw, base: number | null): string[] | undefined {
  const ownSince = typeof remote._own_since === 'number' ? remote._own_since : undefined;
  if (typeof remote.created_at !== 'number' || (base === null && ownSince === undefined)) return undefined;
  const from = base ?? 0;
  const versions = remote._versions && typeof remote._versions === 'object' ? (remote._versions as Record<string, unknown>) : {};
  return def.columns.map((c) => c.name).filter((c) => {
    const v = versions[c];
    const stamp = typeof v === 'number' ? v : (remote.created_at as number);
    return stamp > from && (ownSince === undefined || stamp <= ownSince);
  });
}

/** The pulled version is this device's own write, and nobody else wrote the record after `base`. */
function isOwnSince(remote: DirtyRaw, base: number | null): boolean {
  return typeof remote._own_since === 'number' && remote._own_since <= (base ?? 0);
}

/** The later of two bases (null: none). */
const laterBase = (a: number | null, b: number | undefined): number | null => (b === undefined ? a : a === null ? b : Math.max(a, b));

/** The raw WatermelonDB should store after a pulled version met local changes. */
export function resolvedRaw(def: TableDef, local: DirtyRaw, remote: DirtyRaw, r: Resolution): DirtyRaw {
  const raw: DirtyRaw = { ...local, ...remote, id: local.id };
  for (const c of def.columns) raw[c.name] = r.data[c.name] ?? null;
  const kept = r.outcome === 'write' ? r.keptColumns : [];
  raw._changed = kept.join(',');
  raw._status = kept.length === 0 ? 'synced' : local._status === 'created' ? 'created' : 'updated';
  return raw;
}

export async function createConflictSession(database: Database, transport: Transport): Promise<ConflictSession> {
  const storage = database.localStorage;
  // Client 0.2–0.3 kept pulled versions here too: a pull covers those, so the first prune drops them.
  const pushed = ((await storage.get<Versions>(KEYS.pushed)) ?? {}) as Versions;
  const deleteBases = ((await storage.get<Versions>(KEYS.deleteBases)) ?? {}) as Versions;
  /** Resolutions worked out before the apply, by table#id; the resolver uses them. */
  const planned = new Map<string, { resolution: Resolution; localChanged: string }>();
  /** Reports found only while applying (the record changed locally since `beforeApply`). */
  const lateReports: ConflictReport[] = [];
  let lastPulledFrom: number | null = null;

  const appendToOutbox = async (reports: readonly ConflictReport[]) => {
    if (reports.length === 0) return;
    const outbox = ((await storage.get<ConflictReport[]>(KEYS.outbox)) ?? []) as ConflictReport[];
    const known = new Set(outbox.map((r) => r.id));
    await storage.set(KEYS.outbox, [...outbox, ...reports.filter((r) => !known.has(r.id))]);
  };

  /** The version the device holds of a record: its own last push of it, else its last pull. */
  const baseOf = (table: string, id: string, pulledFrom: number | null) => laterBase(pulledFrom, pushed[table]?.[id]);
  const resolveOne = (def: TableDef, local: DirtyRaw, remote: DirtyRaw, pulledFrom: number | null) => {
    const base = baseOf(def.name, String(remote.id), pulledFrom);
    return resolveConflict(def, { data: remote as RecordData, deleted: false, changedColumns: remoteChangedColumns(def, remote, base) }, deviceChangeOf(def, local));
  };

  const session: ConflictSession = {
    async beforeApply(pulledChanges, pulledFrom, replacement = false) {
      const changes = replacement ? await withImpliedDeletes(database, pulledChanges) : pulledChanges;
      lastPulledFrom = pulledFrom;
      // This pull's `last_pulled_at` covers the versions at or below it.
      for (const [table, ids] of Object.entries(pushed)) {
        for (const [id, v] of Object.entries(ids)) if (pulledFrom !== null && v <= pulledFrom) delete ids[id];
        if (Object.keys(ids).length === 0) delete pushed[table];
      }
      const reports: ConflictReport[] = [];
      const out: ChangeSet = {};
      for (const [table, set] of Object.entries(changes)) {
        const def = tableDef(table);
        out[table] = set;
        if (!def || !def.clientWritable) continue;
        const ids = [...set.updated.map((r) => String(r.id)), ...set.deleted];
        if (ids.length === 0) continue;
        const collection = database.get(table);
        const dirty = await collection.query(Q.where('id', Q.oneOf(ids)), Q.where('_status', Q.notEq('synced'))).fetch();
        const dirtyById = new Map(dirty.map((m) => [m.id, m._raw as DirtyRaw]));
        const locallyDeleted = new Set(await database.adapter.getDeletedRecords(table));

        for (const remote of set.updated) {
          const id = String(remote.id);
          if (locallyDeleted.has(id)) {
            // WatermelonDB ignores this edit and pushes the delete with the new last_pulled_at:
            // judge the delete against the version the device deleted, unless the edit is its own.
            // Kept until the delete is in: a failed push is retried after pulls that no longer
            // carry this edit.
            const base = baseOf(table, id, pulledFrom);
            if (base !== null && !isOwnSince(remote, base) && deleteBases[table]?.[id] === undefined) (deleteBases[table] ??= {})[id] = base;
            continue;
          }
          const local = dirtyById.get(id);
          if (!local) continue;
          const resolution = resolveOne(def, local, remote, pulledFrom);
          planned.set(key(table, id), { resolution, localChanged: `${local._status}|${local._changed}` });
          reports.push(...resolution.lost.map((l) => toReport(def.name as TableName, id, Number(remote.updated_at), l)));
        }

        const keep = new Set<string>();
        for (const id of set.deleted) {
          const local = dirtyById.get(id);
          if (!local) continue;
          // The pull carries no version for a delete; the device's base identifies this resolution.
          const resolution = resolveConflict(def, { data: {}, deleted: true }, deviceChangeOf(def, local));
          if (resolution.outcome === 'write') keep.add(id);
          reports.push(...resolution.lost.map((l) => toReport(def.name as TableName, id, pulledFrom ?? 0, l)));
        }
        if (keep.size > 0) out[table] = { ...set, deleted: set.deleted.filter((id) => !keep.has(id)) };
      }
      // Persisted before WatermelonDB applies the pull, so a crash cannot lose a discarded change.
      await appendToOutbox(reports);
      await storage.set(KEYS.deleteBases, deleteBases);
      await storage.set(KEYS.pushed, pushed);
      return out;
    },

    conflictResolver(table, local, remote, resolved) {
      const def = tableDef(table);
      if (!def || !def.clientWritable || local._status === 'synced') return resolved;
      let plan = planned.get(key(table, String(local.id)));
      if (!plan || plan.localChanged !== `${local._status}|${local._changed}`) {
        // The user edited the record during the sync: resolve again and report later.
        const resolution = resolveOne(def, local, remote, lastPulledFrom);
        lateReports.push(...resolution.lost.map((l) => toReport(def.name as TableName, String(local.id), Number(remote.updated_at), l)));
        plan = { resolution, localChanged: '' };
      }
      return resolvedRaw(def, local, remote, plan.resolution);
    },

    baseVersionFor(table, id, kind, lastPulledAt) {
      const deleteBase = kind === 'deleted' ? deleteBases[table]?.[id] : undefined;
      if (deleteBase !== undefined) return deleteBase;
      const v = pushed[table]?.[id];
      return v !== undefined && (lastPulledAt === null || v > lastPulledAt) ? v : undefined;
    },

    async afterPush(versions, deleted) {
      for (const [table, ids] of Object.entries(versions)) {
        for (const [id, v] of Object.entries(ids)) if (v > (pushed[table]?.[id] ?? -1)) (pushed[table] ??= {})[id] = v;
      }
      for (const [table, ids] of deleted) {
        for (const id of ids) {
          delete deleteBases[table]?.[id];
          delete pushed[table]?.[id];
        }
        if (Object.keys(deleteBases[table] ?? {}).length === 0) delete deleteBases[table];
        if (Object.keys(pushed[table] ?? {}).length === 0) delete pushed[table];
      }
      await storage.set(KEYS.pushed, pushed);
      await storage.set(KEYS.deleteBases, deleteBases);
    },

    async flush() {
      await appendToOutbox(lateReports.splice(0));
      const outbox = ((await storage.get<ConflictReport[]>(KEYS.outbox)) ?? []) as ConflictReport[];
      const send = async (batch: readonly ConflictReport[]): Promise<void> => {
        try {
          await transport.request('POST', [], JSON.stringify({ conflicts: batch }), CONFLICTS_PATH);
        } catch (e) {
          // Only a judgement of the reports themselves (400: invalid values; 413: too large) is
          // final; anything else (401 expired token, 404 older server, 429, 5xx, no network)
          // keeps the outbox for the next sync.
          const refused = e instanceof SyncHttpError && (e.status === 400 || e.status === 413);
          if (!refused) throw e;
          // A refused batch may hold one bad report: split until the refusal names a single one,
          // which will never be accepted and is dropped rather than block the outbox.
          if (batch.length > 1) {
            const half = Math.ceil(batch.length / 2);
            await send(batch.slice(0, half));
            await send(batch.slice(half));
          }
        }
      };
      for (const batch of batchesOf(outbox)) {
        await send(batch);
        const sent = new Set(batch.map((r) => r.id));
        const left = (((await storage.get<ConflictReport[]>(KEYS.outbox)) ?? []) as ConflictReport[]).filter((r) => !sent.has(r.id));
        await storage.set(KEYS.outbox, left);
      }
    },
  };
  return session;
}

/**
 * A replacement pull carries every live record and no deletes: a record the device edited (and has
 * not pushed) that the pull lacks is deleted on the server. Listing it as a pulled delete lets the
 * per-entity rules decide as in an ordinary sync: the edit is kept and pushed where it wins
 * (settings), else the delete stands and the discarded edit goes to the conflict log.
 */
async function withImpliedDeletes(database: Database, changes: ChangeSet): Promise<ChangeSet> {
  const out: ChangeSet = {};
  for (const [table, set] of Object.entries(changes)) {
    out[table] = set;
    const def = tableDef(table);
    if (!def || !def.clientWritable) continue;
    const present = new Set([...set.created, ...set.updated].map((r) => String(r.id)));
    const edited = await database.get(table).query(Q.where('_status', 'updated')).fetchIds();
    const gone = edited.filter((id) => !present.has(id));
    if (gone.length > 0) out[table] = { ...set, deleted: [...set.deleted, ...gone] };
  }
  return out;
}

/**
 * The device side of conflict resolution: the same per-entity rules as the server
 * (`lambdas/core/conflict.ts`), applied while a pull lands on records with local changes, and
 * the bookkeeping that lets both sides tell a real conflict from an echo of the device's own push.
 *
 * Why the bookkeeping: WatermelonDB's next pull brings back what the device pushed itself (its
 * `last_pulled_at` predates the push), and a pull inside the index-lag window reports a timestamp
 * below versions it delivered, so the next pull delivers them again. Judged by `last_pulled_at`
 * alone, a plan edited again before that pull would lose to its own previous version, or to a
 * version the device already held when the user edited (or deleted) it. So the device keeps, per
 * record, the newest version it holds: the one its last accepted push produced (the push
 * response's `versions`) or the one a pull brought (its `updated_at`, recorded once the pull is
 * applied). It treats a pulled version no newer than that as an echo, and sends those versions
 * back as `base_versions`.
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
  /** Per table and id: the newest version the device holds (its accepted push, or a pulled version). */
  acks: 'runningcoach_sync.acks',
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
 * The columns a pulled version changed after `base`, from its `_versions` (per column, the stamp
 * of its last change; a column not listed last changed at `created_at`). Undefined when the
 * server sent no versions or the device has no base: then every column counts as changed.
 */
export function remoteChangedColumns(def: TableDef, remote: DirtyRaw, base: number | null): string[] | undefined {
  if (base === null || typeof remote.created_at !== 'number') return undefined;
  const versions = remote._versions && typeof remote._versions === 'object' ? (remote._versions as Record<string, unknown>) : {};
  return def.columns.map((c) => c.name).filter((c) => {
    const v = versions[c];
    return (typeof v === 'number' ? v : (remote.created_at as number)) > base;
  });
}

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
  const acks = ((await storage.get<Versions>(KEYS.acks)) ?? {}) as Versions;
  /** What `acks` held when this sync's pull arrived: echoes are judged against it, not against the pull itself. */
  let held: Versions = acks;
  /** Versions this pull brings (deleted ids: -1); they join `acks` once the pull is applied. */
  let pulled: Versions = {};
  const deleteBases = ((await storage.get<Versions>(KEYS.deleteBases)) ?? {}) as Versions;
  /** Resolutions worked out before the apply, by table#id; the resolver uses them. */
  const planned = new Map<string, { resolution: Resolution; localChanged: string }>();
  /** Reports found only while applying (the record changed locally since `beforeApply`). */
  const lateReports: ConflictReport[] = [];

  const isEcho = (table: string, id: string, remoteVersion: unknown) => {
    const mine = held[table]?.[id];
    return mine !== undefined && typeof remoteVersion === 'number' && remoteVersion <= mine;
  };

  const remember = (versions: Versions) => {
    for (const [table, ids] of Object.entries(versions)) {
      for (const [id, v] of Object.entries(ids)) {
        if (v < 0) delete acks[table]?.[id];
        else if (v > (acks[table]?.[id] ?? -1)) (acks[table] ??= {})[id] = v;
      }
    }
  };
  /**
   * The pull is applied once WatermelonDB pushes or finishes: only then does the device hold the
   * pulled versions (a sync aborted before its apply must not make them look like echoes later).
   */
  const commitPulled = () => {
    remember(pulled);
    pulled = {};
  };

  const appendToOutbox = async (reports: readonly ConflictReport[]) => {
    if (reports.length === 0) return;
    const outbox = ((await storage.get<ConflictReport[]>(KEYS.outbox)) ?? []) as ConflictReport[];
    const known = new Set(outbox.map((r) => r.id));
    await storage.set(KEYS.outbox, [...outbox, ...reports.filter((r) => !known.has(r.id))]);
  };

  const resolveOne = (def: TableDef, local: DirtyRaw, remote: DirtyRaw, pulledFrom: number | null) => {
    // The device's base: the newer of its last pull and the version it holds of this record.
    const held_ = held[def.name]?.[String(remote.id)];
    const base = held_ === undefined ? pulledFrom : pulledFrom === null ? held_ : Math.max(held_, pulledFrom);
    return resolveConflict(def, { data: remote as RecordData, deleted: false, changedColumns: remoteChangedColumns(def, remote, base) }, deviceChangeOf(def, local));
  };
  let lastPulledFrom: number | null = null;

  const session: ConflictSession = {
    async beforeApply(pulledChanges, pulledFrom, replacement = false) {
      const changes = replacement ? await withImpliedDeletes(database, pulledChanges) : pulledChanges;
      // Versions at or below the new base are implied by it.
      pulled = {};
      lastPulledFrom = pulledFrom;
      for (const [table, ids] of Object.entries(acks)) {
        for (const [id, v] of Object.entries(ids)) if (pulledFrom !== null && v <= pulledFrom) delete ids[id];
        if (Object.keys(ids).length === 0) delete acks[table];
      }
      // A deep copy without structuredClone, which not every React Native engine has.
      held = JSON.parse(JSON.stringify(acks)) as Versions;
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
            // WatermelonDB ignores this edit and pushes the delete: judge the delete against the
            // version the device deleted, not against this pull.
            const base = acks[table]?.[id] ?? pulledFrom;
            if (base !== null && deleteBases[table]?.[id] === undefined) (deleteBases[table] ??= {})[id] = base;
            continue;
          }
          if (typeof remote.updated_at === 'number') (pulled[table] ??= {})[id] = remote.updated_at;
          const local = dirtyById.get(id);
          if (!local || isEcho(table, id, remote.updated_at)) continue;
          const resolution = resolveOne(def, local, remote, pulledFrom);
          planned.set(key(table, id), { resolution, localChanged: `${local._status}|${local._changed}` });
          reports.push(...resolution.lost.map((l) => toReport(def.name as TableName, id, Number(remote.updated_at), l)));
        }

        const keep = new Set<string>();
        for (const id of set.deleted) {
          (pulled[table] ??= {})[id] = -1;
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
      await storage.set(KEYS.acks, acks);
      return out;
    },

    conflictResolver(table, local, remote, resolved) {
      const def = tableDef(table);
      if (!def || !def.clientWritable || local._status === 'synced' || isEcho(table, String(local.id), remote.updated_at)) return resolved;
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
      // WatermelonDB pushes after it applied the pull.
      commitPulled();
      const deleteBase = kind === 'deleted' ? deleteBases[table]?.[id] : undefined;
      if (deleteBase !== undefined) return deleteBase;
      const v = acks[table]?.[id];
      return v !== undefined && (lastPulledAt === null || v > lastPulledAt) ? v : undefined;
    },

    async afterPush(versions, deleted) {
      commitPulled();
      remember(versions);
      for (const [table, ids] of deleted) {
        for (const id of ids) {
          delete deleteBases[table]?.[id];
          delete acks[table]?.[id];
        }
      }
      await storage.set(KEYS.acks, acks);
      await storage.set(KEYS.deleteBases, deleteBases);
    },

    async flush() {
      // Called once the sync succeeded, so the pull is applied.
      commitPulled();
      await storage.set(KEYS.acks, acks);
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

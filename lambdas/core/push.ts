/**
 * Push, in protocol order: normalise and validate every change, check `last_pulled_at`, read the
 * stored records, plan (pure; a change invalid on its own — a column value, a new record without
 * a required column, another user's id — is rejected alone and the rest goes on), take a stamp,
 * make the conditional writes, release the stamp. A write that loses a race re-reads its
 * record and is planned again. A push that fails midway is retried whole by the client and then
 * finds its own writes already stored (`noop`), so the retry ends in the state of one clean push.
 */
import { ConditionFailedError, ContentionError, ForbiddenError, PushDeadlineError, ValidationError, type ErrorDetail } from './errors.js';
import { contentionPause } from './backoff.js';
import type { ConflictPolicy } from './conflict.js';
import { toReport, type ConflictReport } from './conflict-log.js';
import type { PushRequest, RejectedRecord } from './contract.js';
import { normalizeChanges, planPush, planRecord, type PlannedWrite, type RecordChange, type RecordOutcome } from './plan-push.js';
import { recordKey, withTombstoneExpiry, type StoredRecord } from './records.js';
import { tableDef } from './schema.js';
import { nextStamp } from './stamps.js';
import type { SyncStore } from './store.js';
import { stampJournal, stampSingleWrite } from './journal.js';

export interface PushConfig {
  /** A push makes no write later than this after taking its stamp (the in-flight argument needs it). */
  readonly maxPushMs: number;
  readonly inflightExpiryMs: number;
  readonly indexLagMs: number;
  readonly writeConcurrency: number;
  /** Attempts per record when conditional writes keep losing races. */
  readonly maxWriteAttempts: number;
  /** How long conflict-log entries are kept. */
  readonly conflictTtlMs: number;
  /** Tombstones carry an expiry this long after their delete (the table's TTL removes them then). */
  readonly tombstoneRetentionMs: number;
}

export interface PushDeps {
  readonly store: SyncStore;
  readonly policy: ConflictPolicy;
  readonly now: () => number;
  readonly config: PushConfig;
}

export interface PushResult {
  readonly timestamp: number;
  readonly outcomes: readonly RecordOutcome[];
  /** Records left out, with their reasons: nothing of them was written (the device keeps them dirty). */
  readonly rejected: readonly RejectedRecord[];
}

/** Per table, the ids of rejected records (WatermelonDB's `experimentalRejectedIds`). */
export function rejectedIdsOf(rejected: readonly RejectedRecord[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rejected) (out[r.table] ??= []).push(r.id);
  return out;
}

/** Per table and id, the version that holds the device's change (the push response's `versions`). */
export function versionsOf(outcomes: readonly RecordOutcome[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const o of outcomes) if (o.version !== undefined) (out[o.table] ??= {})[o.id] = o.version;
  return out;
}

/** The conflict-log entries of a set of outcomes. */
export function conflictReports(outcomes: readonly RecordOutcome[]): ConflictReport[] {
  return outcomes.flatMap((o) => (o.conflict ? o.conflict.lost.map((l) => toReport(o.table, o.id, o.conflict!.against, l)) : []));
}

export async function pushChanges(userId: string, req: PushRequest, deps: PushDeps): Promise<PushResult> {
  const { store, config } = deps;
  const rejected = new Map<string, RejectedRecord>((req.rejected ?? []).map((r) => [recordKey(r.table, r.id), r]));
  const reject = (r: RejectedRecord) => rejected.set(recordKey(r.table, r.id), r);
  const rejectedList = () => [...rejected.values()];
  let changes = normalizeChanges(req.changes);
  const clock = await store.readClock(userId, deps.now());
  const future: ErrorDetail[] = [];
  if (req.lastPulledAt !== null && req.lastPulledAt > clock.clock) {
    future.push({ path: 'last_pulled_at', field: 'last_pulled_at', message: 'is later than any timestamp this server issued' });
  }
  for (const [table, versions] of Object.entries(req.baseVersions ?? {})) {
    for (const [id, v] of Object.entries(versions ?? {})) {
      if (v > clock.clock) future.push({ path: `base_versions.${table}.${id}`, table, record_id: id, message: 'is later than any timestamp this server issued' });
    }
  }
  if (future.length > 0) throw new ValidationError('timestamps from the future', future);
  if (changes.length === 0) return { timestamp: clock.clock, outcomes: [], rejected: rejectedList() };

  const current = await readCurrent(store, userId, changes);
  const ctx = { lastPulledAt: req.lastPulledAt, baseVersions: req.baseVersions, policy: deps.policy, ...(req.deviceId ? { deviceId: req.deviceId } : {}) };
  for (const r of await foreignIdRejections(store, userId, changes, current)) reject(r);
  // Plan once before taking a stamp: a change that cannot be applied is rejected before any write.
  const dryRun = planPush(
    changes.filter((c) => !rejected.has(recordKey(c.table, c.id))),
    current,
    { ...ctx, stamp: nextStamp(clock.clock, deps.now()) },
  );
  for (const r of dryRun.rejected) reject(r);
  changes = changes.filter((c) => !rejected.has(recordKey(c.table, c.id)));
  const logConflicts = (outcomes: readonly RecordOutcome[]) => {
    const reports = conflictReports(outcomes);
    // Logged before the write that discards them; a retry logs the same ids again, harmlessly.
    return reports.length > 0 ? store.putConflicts(userId, reports, { nowMs: deps.now(), resolvedBy: 'server', ttlMs: config.conflictTtlMs }) : Promise.resolve();
  };
  // The log ids depend on the stored versions, not on the stamp: the dry run's entries are the
  // push's, logged before the write window opens (it stays for the writes).
  await logConflicts(dryRun.outcomes);
  if (dryRun.writes.length === 0) return { timestamp: clock.clock, outcomes: dryRun.outcomes, rejected: rejectedList() };

  // One stamp per write (see planPush); the first is registered in flight and holds pulls back.
  // The lease journals the records it writes: pulls read them while the index may lag (P4).
  const journal = dryRun.writes.map((w) => ({ table: w.record.table, id: w.record.id }));
  const begun = await store.beginWrite(userId, deps.now(), config, clock, dryRun.writes.length, journal);
  const leases = [begun];
  let lastStamp = begun.stamp + dryRun.writes.length - 1;
  const deadline = deps.now() + config.maxPushMs;
  let liveDelta = 0;
  try {
    const outcomes = new Map<string, RecordOutcome>(dryRun.outcomes.map((o) => [recordKey(o.table, o.id), o]));
    const planned = planPush(changes, current, { ...ctx, stamp: begun.stamp });
    for (const o of planned.outcomes) outcomes.set(recordKey(o.table, o.id), o);
    const { writes } = planned;
    leases[0] = stampJournal(begun, new Map(writes.map((w) => [recordKey(w.record.table, w.record.id), w.record.updated_at])));
    const byKey = new Map(changes.map((c) => [recordKey(c.table, c.id), c]));

    const writeOne = async (initial: PlannedWrite): Promise<void> => {
      let write: PlannedWrite | undefined = initial;
      const key = recordKey(initial.record.table, initial.record.id);
      for (let attempt = 1; write; attempt++) {
        if (deps.now() > deadline) throw new PushDeadlineError('push exceeded its write window; retry it');
        let lost: ConditionFailedError;
        try {
          if (needsClaim(write)) await store.claimId(userId, write.record);
          await store.putRecord(userId, withTombstoneExpiry(write.record, config.tombstoneRetentionMs), write.expectedUpdatedAt);
          return;
        } catch (e) {
          if (e instanceof ForbiddenError) {
            // Another user claimed the id between our check and this write: only this record is refused.
            outcomes.delete(key);
            reject({ table: initial.record.table, id: initial.record.id, details: e.details });
            return;
          }
          if (!(e instanceof ConditionFailedError)) throw e;
          if (attempt >= config.maxWriteAttempts) throw new ContentionError(`record ${key} kept changing concurrently; retry the push`, 1, { cause: e });
          lost = e;
        }
        await contentionPause(attempt);
        // Lost a race: plan again against the record as it is now (DynamoDB hands it back with the
        // failure; engines that do not are read again), with its own stamp if that is still newer
        // than the stored record, else a fresh one (a record's updated_at only grows).
        const change = byKey.get(key) as RecordChange;
        const fresh = lost.current ?? (await store.getRecords(userId, [{ table: change.table, id: change.id }]))[0];
        let stamp = write.record.updated_at;
        if (fresh && fresh.updated_at >= stamp) {
          const lease = await store.beginWrite(userId, deps.now(), config, undefined, 1, [{ table: change.table, id: change.id }]);
          leases.push(stampSingleWrite(lease));
          stamp = lease.stamp;
          lastStamp = Math.max(lastStamp, stamp);
        }
        let replanned: ReturnType<typeof planRecord>;
        try {
          replanned = planRecord(change, fresh, { ...ctx, stamp });
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e;
          outcomes.delete(key);
          reject({ table: change.table, id: change.id, details: e.details });
          return;
        }
        outcomes.set(key, replanned.outcome);
        await logConflicts([replanned.outcome]);
        write = replanned.write;
      }
    };
    await runPool(writes, config.writeConcurrency, writeOne);
    const result = { timestamp: lastStamp, outcomes: [...outcomes.values()], rejected: rejectedList() };
    liveDelta = liveRecordDelta(result.outcomes);
    return result;
  } finally {
    // A failed push leaves the count as it was: it is an estimate, and the retry counts its writes.
    await store.endWrite(userId, leases, deps.now(), liveDelta);
  }
}

/** Records that came to life (created, resurrected) minus records deleted, for the approximate count. */
export function liveRecordDelta(outcomes: readonly { readonly action: string }[]): number {
  let delta = 0;
  for (const o of outcomes) delta += o.action === 'create' || o.action === 'resurrect' ? 1 : o.action === 'delete' ? -1 : 0;
  return delta;
}

/** A record new to this user, in a table whose ids are global, must not be another user's id. */
function needsClaim(w: PlannedWrite): boolean {
  return w.expectedUpdatedAt === null && tableDef(w.record.table)?.idScope === 'global';
}

/**
 * Rejects (before any write) each change naming an id that another user owns: a record this
 * user does not have, in a table whose ids are global. Such ids never reach the other user's data
 * (every key is the caller's), but a clear refusal beats silently forking a record.
 */
async function foreignIdRejections(store: SyncStore, userId: string, changes: readonly RecordChange[], current: ReadonlyMap<string, StoredRecord>): Promise<RejectedRecord[]> {
  const candidates = changes
    .filter((c) => tableDef(c.table)?.idScope === 'global' && !current.has(recordKey(c.table, c.id)))
    .map((c) => ({ table: c.table, id: c.id }));
  if (candidates.length === 0) return [];
  const foreign = await store.findForeignIds(userId, candidates);
  const paths = new Map(changes.map((c) => [recordKey(c.table, c.id), c.path]));
  // Claims are written with the records; a race between two users is settled by claimId.
  return foreign.map((k) => ({
    table: k.table,
    id: k.id,
    details: [{ path: paths.get(recordKey(k.table, k.id)) ?? `changes.${k.table}`, table: k.table, record_id: k.id, message: "this id belongs to another user's record; generate a new id" }],
  }));
}

async function readCurrent(store: SyncStore, userId: string, changes: readonly RecordChange[]): Promise<Map<string, StoredRecord>> {
  const records = await store.getRecords(
    userId,
    changes.map((c) => ({ table: c.table, id: c.id })),
  );
  return new Map(records.map((r) => [recordKey(r.table, r.id), r]));
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure stops new starts. */
async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

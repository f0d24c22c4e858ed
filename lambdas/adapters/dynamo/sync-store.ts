/**
 * DynamoDB implementation of `SyncStore`: one table, one partition per user, a GSI on
 * `updated_at` for delta pulls, per-record conditional writes and an atomic per-user clock.
 * Uses only conditional Put/Update, consistent Get/BatchGet and Query, so it runs unchanged on
 * dynalite as well as DynamoDB (neither the sync path nor its tests need transactions).
 */
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { ConditionFailedError, ForbiddenError } from '../../core/errors.js';
import { laterStamp } from '../../core/journal.js';
import type { StoredRecord, Writer } from '../../core/records.js';
import { isTableName, type RecordData, type TableName } from '../../core/schema.js';
import { isExpired, nextStamp, settledLongAgo, type ClockPolicy, type ClockState } from '../../core/stamps.js';
import type { ChangesPage, ChangesQuery, IndexPosition, JournalEntry, RecordRef, SyncStore, WriteLease } from '../../core/store.js';
import { DynamoConflictLog } from './conflict-log-store.js';
import { conditionFailedItem, isConditionalCheckFailed, translateSdkError } from './errors.js';
import { CLAIM_SK, claimPk, CLOCK_SK, journalSk, LIVE_AT_ATTRIBUTE, LIVE_INDEX, recordSk, TABLE_KEYS, UPDATED_AT_INDEX, userPk } from './keys.js';
import { indexAttributesOf } from './index-attributes.js';

interface RecordItem {
  pk: string;
  sk: string;
  tbl: TableName;
  rid: string;
  data: RecordData;
  created_at: number;
  updated_at: number;
  deleted_at?: number;
  /** column_versions (sparse). */
  cv?: Record<string, number>;
  /** Who wrote this version (`Writer`): read by the change feed from the table's stream, never pulled. */
  w?: Writer;
  /** Live records only: `updated_at` again, the sort key of the `live_by_updated_at` index. */
  live_at?: number;
  /** Tombstones only: the TTL (epoch seconds). */
  expires_at?: number;
  /** The writer device of this version (`device_id`), its run's start and whether it is exact (`DeviceWrite`). */
  dv?: string;
  dvs?: number;
  dvx?: boolean;
}

const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
/** Bytes of record keys per journal item (DynamoDB's item limit is 400 KB). */
const JOURNAL_CHUNK_BYTES = 300_000;
/**
 * How long journals are kept: pulls read them for `INDEX_LAG_MS` after their lease settles, and a
 * paged pull's cursor (at most `CURSOR_TTL_MS`, 24 h) for as long as it lives.
 */
const JOURNAL_RETENTION_MS = 48 * 3_600_000;
export class DynamoSyncStore implements SyncStore {
  private readonly conflicts: DynamoConflictLog;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.conflicts = new DynamoConflictLog(db, tableName);
  }

  putConflicts(...args: Parameters<SyncStore['putConflicts']>): Promise<void> {
    return this.conflicts.put(...args);
  }

  listConflicts(...args: Parameters<SyncStore['listConflicts']>): ReturnType<SyncStore['listConflicts']> {
    return this.conflicts.list(...args);
  }

  getConflict(...args: Parameters<SyncStore['getConflict']>): ReturnType<SyncStore['getConflict']> {
    return this.conflicts.get(...args);
  }

  async readClock(userId: string, nowMs: number): Promise<ClockState> {
    const existing = await this.getClock(userId);
    if (existing) return existing;
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          // `live` counts from here: a clock made before the count existed has none, and reports none.
          Item: { pk: userPk(userId), sk: CLOCK_SK, clock: Math.floor(nowMs), settling: {}, live: 0 },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { clock: Math.floor(nowMs), inflight: [], settling: [], liveRecords: 0 };
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      // Another request of this user created it first: that is the clock.
      const won = conditionFailedItem(e);
      return won ? clockOf(won) : ((await this.getClock(userId)) as ClockState);
    }
  }

  /**
   * Allocates without a compare-and-set loop, so concurrent writers of one user never starve:
   * - the usual case, the clock behind the wall clock: one conditional update jumps it to now
   *   (`IF clock < :now`), so stamps stay close to wall-clock milliseconds;
   * - otherwise (another writer took this millisecond, or the clock runs ahead): one atomic
   *   `ADD clock :count`, which always succeeds and hands back the range it made.
   * Either update also registers the lease `f_<id>` holding a lower bound of the range's first
   * stamp, in the same atomic write (docs/sync-protocol.md, rules 1–2): the clock before the
   * update is at least what was last read, so the range starts above it.
   */
  async beginWrite(userId: string, nowMs: number, policy: ClockPolicy, seen?: ClockState, count = 1, journal?: readonly RecordRef[]): Promise<WriteLease> {
    const before = seen ?? (await this.readClock(userId, nowMs));
    const id = randomUUID().replaceAll('-', '').slice(0, 16);
    // The journal is named by the lease id, known before the clock update: both writes go out
    // together, and the lease is handed out only once both are durable. A journal left behind by
    // a failed clock update names no lease and expires.
    const entries = journalEntries(journal ?? []);
    const journaled = entries.length > 0 ? this.writeJournal(userId, id, entries, nowMs) : Promise.resolve();
    const [lease] = await Promise.all([this.allocate(userId, nowMs, policy, before, count, id), journaled]);
    // The journal rides on the lease to endWrite, which copies a small one onto the clock item (and
    // keeps the versions of a large one, when they run on).
    return entries.length > 0 ? { ...lease, journal: journal as readonly RecordRef[] } : lease;
  }

  async readJournals(userId: string, leaseIds: readonly string[]): Promise<Map<string, RecordRef[]>> {
    const out = new Map<string, RecordRef[]>();
    if (leaseIds.length === 0) return out;
    const firsts = await this.batchGet([...new Set(leaseIds)].map((id) => ({ pk: userPk(userId), sk: journalSk(id, 0) })));
    const more = firsts.flatMap((item) => Array.from({ length: Math.max(0, Number(item.chunks ?? 1) - 1) }, (_, i) => ({ pk: userPk(userId), sk: journalSk(String(item.lease), i + 1) })));
    const rest = more.length > 0 ? await this.batchGet(more) : [];
    // BatchGetItem answers in any order: a journal's chunks are put back in theirs (its versions
    // are numbered by it: `journalVersionRuns`).
    const chunkOf = (item: Record<string, unknown>) => Number(String(item.sk).slice(String(item.sk).lastIndexOf('#') + 1));
    for (const item of [...firsts, ...rest.sort((a, b) => chunkOf(a) - chunkOf(b))]) {
      const refs = out.get(String(item.lease)) ?? [];
      refs.push(...refsOf(item.records));
      out.set(String(item.lease), refs);
    }
    // A journal missing a chunk (never: chunks are written in one batch before the lease is
    // handed out) would be incomplete: treat the lease as unjournaled rather than read it partly.
    for (const item of firsts) {
      const lease = String(item.lease);
      const chunks = Number(item.chunks ?? 1);
      if (rest.filter((r) => String(r.lease) === lease).length !== chunks - 1) out.delete(lease);
    }
    return out;
  }

  private async writeJournal(userId: string, leaseId: string, entries: readonly string[], nowMs: number): Promise<void> {
    const chunks: string[][] = [[]];
    let bytes = 0;
    for (const e of entries) {
      if (bytes + e.length > JOURNAL_CHUNK_BYTES && (chunks.at(-1) as string[]).length > 0) {
        chunks.push([]);
        bytes = 0;
      }
      (chunks.at(-1) as string[]).push(e);
      bytes += e.length + 3;
    }
    const expiresAt = Math.floor((nowMs + JOURNAL_RETENTION_MS) / 1000);
    const items = chunks.map((c, i) => ({
      pk: userPk(userId),
      sk: journalSk(leaseId, i),
      lease: leaseId,
      records: c,
      ...(i === 0 ? { chunks: chunks.length } : {}),
      [TABLE_KEYS.ttlAttribute]: expiresAt,
    }));
    if (items.length === 1) {
      await this.send(new PutCommand({ TableName: this.tableName, Item: items[0] }));
      return;
    }
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
      let pending: unknown[] = items.slice(i, i + BATCH_WRITE_MAX).map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await backoff(round);
        const res = await this.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }));
        pending = (res.UnprocessedItems?.[this.tableName] as unknown[] | undefined) ?? [];
      }
    }
  }

  private async allocate(userId: string, nowMs: number, policy: ClockPolicy, before: ClockState, count: number, id: string): Promise<WriteLease> {
    const now = Math.floor(nowMs);
    // Housekeeping rides on the same write: settled entries no pull needs any more go.
    const old = settledLongAgo(before.settling, nowMs, policy);
    const names: Record<string, string> = { '#clock': 'clock', '#settling': 'settling', '#lease': `${LEASE_PREFIX}${id}` };
    old.forEach((s, i) => (names[`#old${i}`] = s.key ?? settlingKey(s.stamp)));
    // Their journal copies and versions go with them (the journal items stay until their TTL).
    const oldCopies = old.filter((s) => s.leaseId !== undefined && (before.journals?.has(s.leaseId) || before.journalVersionRuns?.has(s.leaseId)));
    oldCopies.forEach((s, i) => {
      names[`#oldj${i}`] = `${JOURNAL_COPY_PREFIX}${s.leaseId}`;
      names[`#oldw${i}`] = `${JOURNAL_STAMPS_PREFIX}${s.leaseId}`;
    });
    const removals = [...old.map((_, i) => `#settling.#old${i}`), ...oldCopies.flatMap((_, i) => [`#oldj${i}`, `#oldw${i}`])];
    const remove = removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : '';
    let floor = before.clock;
    let after: Record<string, unknown> | undefined;
    let stamp: number;
    if (before.clock < now) {
      try {
        const res = await this.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: userPk(userId), sk: CLOCK_SK },
            UpdateExpression: `SET #clock = :last, #lease = :now${remove}`,
            ConditionExpression: '#clock < :now AND attribute_exists(#settling)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':now': now, ':last': now + count - 1 },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        after = res.Attributes as Record<string, unknown>;
        stamp = now;
      } catch (e) {
        if (!isConditionalCheckFailed(e)) throw e;
        // Another writer moved the clock to now or past it: count on from there.
        const current = conditionFailedItem(e);
        if (current && current.settling === undefined) throw e;
        if (current) floor = Number(current.clock);
      }
    }
    if (!after) {
      const res = await this.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: userPk(userId), sk: CLOCK_SK },
          UpdateExpression: `ADD #clock :count SET #lease = :floor${remove}`,
          ConditionExpression: 'attribute_exists(#settling)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':count': count, ':floor': floor + 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      after = res.Attributes as Record<string, unknown>;
      stamp = Number(after.clock) - count + 1;
    }
    // Leases of pushes that died (Lambda timeout, crash) stop holding pulls back.
    const expired = leasesOf(after).filter((l) => l.id !== id && isExpired(l.stamp, nowMs, policy.inflightExpiryMs));
    if (expired.length > 0) await this.endWrite(userId, expired, nowMs);
    return { stamp: stamp!, id };
  }

  async endWrite(userId: string, leases: readonly WriteLease[], nowMs: number, liveDelta = 0): Promise<void> {
    if (leases.length === 0) return;
    const names: Record<string, string> = { '#settling': 'settling' };
    const values: Record<string, unknown> = { ':now': Math.floor(nowMs) };
    // Only on clocks that count (made with `live`): an ADD would start a count from nothing elsewhere.
    const count = liveDelta !== 0 ? ' ADD #live :delta' : '';
    if (count) {
      names['#live'] = 'live';
      values[':delta'] = liveDelta;
    }
    const sets: string[] = [];
    const removes: string[] = [];
    const legacy: number[] = [];
    leases.forEach((l, i) => {
      names[`#s${i}`] = `${settlingKey(l.stamp)}_${l.id}`;
      sets.push(`#settling.#s${i} = :now`);
      if (l.journal && l.journal.length > 0) {
        // In the same atomic update that settles the lease: a pull that sees it settled sees the copy.
        const copy = journalCopy(l.journal);
        const small = copy.keys.reduce((n, k) => n + k.length + 3, 0) <= CLOCK_JOURNAL_BYTES;
        if (small) {
          names[`#j${i}`] = `${JOURNAL_COPY_PREFIX}${l.id}`;
          values[`:j${i}`] = copy.keys;
          sets.push(`#j${i} = :j${i}`);
        }
        // A large journal stays on its item (the order of its keys is the copy's): only the first
        // of its versions, when they run on, comes onto the clock item.
        if (small ? copy.stamps !== undefined : typeof copy.stamps === 'number') {
          names[`#w${i}`] = `${JOURNAL_STAMPS_PREFIX}${l.id}`;
          values[`:w${i}`] = copy.stamps;
          sets.push(`#w${i} = :w${i}`);
        }
      }
      if (l.id.startsWith(LEGACY_LEASE)) legacy.push(l.stamp);
      else {
        names[`#f${i}`] = `${LEASE_PREFIX}${l.id}`;
        removes.push(`#f${i}`);
      }
    });
    if (legacy.length > 0) {
      names['#inflight'] = 'inflight';
      values[':legacy'] = new Set(legacy);
    }
    await this.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: userPk(userId), sk: CLOCK_SK },
        // Leaving flight and starting to settle is one atomic step: a pull never sees the stamp in neither.
        UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}${legacy.length > 0 ? ' DELETE #inflight :legacy' : ''}${count}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ...(count ? { ConditionExpression: 'attribute_exists(#live)' } : {}),
      }),
    ).catch(async (e: unknown) => {
      if (!count || !isConditionalCheckFailed(e)) throw e;
      // A clock without a count: release the leases alone.
      await this.endWrite(userId, leases, nowMs, 0);
    });
  }

  async getRecords(userId: string, keys: readonly { table: TableName; id: string }[]): Promise<StoredRecord[]> {
    const sks = new Set(keys.map((k) => recordSk(k.table, k.id)));
    const items = await this.batchGet([...sks].map((sk) => ({ pk: userPk(userId), sk })));
    return items.map((i) => fromItem(i as unknown as RecordItem));
  }

  /** BatchGet of any number of keys, retrying unprocessed ones with backoff. */
  private async batchGet(keys: Record<string, string>[], consistent = true): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
      let pending: Record<string, unknown>[] = keys.slice(i, i + BATCH_GET_MAX);
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await backoff(round);
        const res = await this.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: consistent } } }));
        out.push(...((res.Responses?.[this.tableName] ?? []) as Record<string, unknown>[]));
        pending = (res.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
    }
    return out;
  }

  async putRecord(userId: string, record: StoredRecord, expectedUpdatedAt: number | null, writer: Writer = 'device'): Promise<void> {
    const item: RecordItem = {
      pk: userPk(userId),
      sk: recordSk(record.table, record.id),
      tbl: record.table,
      rid: record.id,
      data: record.data,
      created_at: record.created_at,
      updated_at: record.updated_at,
      ...(record.deleted_at !== null ? { deleted_at: record.deleted_at } : {}),
      ...(record.column_versions && Object.keys(record.column_versions).length > 0 ? { cv: { ...record.column_versions } } : {}),
      w: writer,
      ...(record.device ? { dv: record.device.id, dvs: record.device.since, dvx: record.device.exact } : {}),
      // started_at / live_at / expires_at: one rule shared with the index backfill.
      ...indexAttributesOf(record),
    };
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // Optimistic lock on the version we planned against; null: the record must be new.
          ConditionExpression: expectedUpdatedAt === null ? 'attribute_not_exists(pk)' : 'updated_at = :expected',
          ExpressionAttributeValues: expectedUpdatedAt === null ? undefined : { ':expected': expectedUpdatedAt },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      const old = conditionFailedItem(e) as RecordItem | undefined;
      throw new ConditionFailedError(`record ${record.table}/${record.id} changed concurrently`, old ? fromItem(old) : undefined, { cause: e });
    }
  }

  async findForeignIds(userId: string, keys: readonly { table: TableName; id: string }[]): Promise<{ table: TableName; id: string }[]> {
    const byPk = new Map(keys.map((k) => [claimPk(k.table, k.id), k]));
    // Eventually consistent (half the read units): a claim this read misses is caught by claimId's condition.
    const items = await this.batchGet([...byPk.keys()].map((pk) => ({ pk, sk: CLAIM_SK })), false);
    return items.filter((i) => i.owner !== userId).map((i) => byPk.get(String(i.pk)) as { table: TableName; id: string });
  }

  async claimId(userId: string, key: { table: TableName; id: string }): Promise<void> {
    try {
      await this.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: claimPk(key.table, key.id), sk: CLAIM_SK, owner: userId },
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': userId },
        }),
      );
    } catch (e) {
      if (!isConditionalCheckFailed(e)) throw e;
      throw new ForbiddenError('ids of another user', [
        { path: `changes.${key.table}`, table: key.table, record_id: key.id, message: "this id belongs to another user's record; generate a new id" },
      ]);
    }
  }

  async queryChanges(userId: string, q: ChangesQuery): Promise<ChangesPage> {
    const from = Math.floor(q.after) + 1;
    if (from > q.upTo) return { records: [] };
    const sortKey = q.liveOnly ? LIVE_AT_ATTRIBUTE : 'updated_at';
    const res = await this.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: q.liveOnly ? LIVE_INDEX : UPDATED_AT_INDEX,
        KeyConditionExpression: '#pk = :pk AND #sort BETWEEN :from AND :upTo',
        ExpressionAttributeNames: { '#pk': 'pk', '#sort': sortKey },
        ExpressionAttributeValues: { ':pk': userPk(userId), ':from': from, ':upTo': q.upTo },
        ExclusiveStartKey: q.startAfter ? startKey(userId, q.startAfter, sortKey) : undefined,
        Limit: q.limit,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const records = ((res.Items ?? []) as RecordItem[]).map(fromItem);
    const last = res.LastEvaluatedKey;
    const next: IndexPosition | undefined = last ? positionOf(last) : undefined;
    return { records, next, consumedCapacity: res.ConsumedCapacity?.CapacityUnits };
  }

  private async getClock(userId: string): Promise<ClockState | undefined> {
    const res = await this.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: userPk(userId), sk: CLOCK_SK }, ConsistentRead: true }),
    );
    return res.Item ? clockOf(res.Item as Record<string, unknown>) : undefined;
  }

  // The document client's `send` is overloaded per command; one generic wrapper keeps error translation in one place.
  private async send<T>(command: T): Promise<any> {
    try {
      return await this.db.send(command as never);
    } catch (e) {
      throw translateSdkError(e);
    }
  }
}

/** Top-level attribute of the clock item holding one in-flight lease: `f_<id>` = lower bound of its stamps. */
const LEASE_PREFIX = 'f_';
/** Ids given to entries of the `inflight` number set that clock items written before leases may hold. */
const LEGACY_LEASE = 'legacy-';

/** The in-flight leases of a clock item (plain values), legacy set entries included. */
function leasesOf(item: Record<string, unknown>): WriteLease[] {
  const legacy = item.inflight as Set<number> | undefined;
  return [
    ...(legacy ? [...legacy].map((s) => ({ stamp: Number(s), id: `${LEGACY_LEASE}${Number(s)}` })) : []),
    ...Object.entries(item)
      .filter(([k]) => k.startsWith(LEASE_PREFIX))
      .map(([k, v]) => ({ stamp: Number(v), id: k.slice(LEASE_PREFIX.length) })),
  ];
}

/** The clock item as plain values → the core's view of it. */
function clockOf(item: Record<string, unknown>): ClockState {
  const settling = (item.settling ?? {}) as Record<string, number>;
  return {
    clock: Number(item.clock),
    inflight: leasesOf(item).map((l) => l.stamp),
    // Keys: `s<stamp>` (before leases) or `s<stamp>_<lease id>`.
    settling: Object.entries(settling).map(([key, finishedAt]) => {
      const [stamp, leaseId] = key.slice(1).split('_');
      return { stamp: Number(stamp), finishedAt: Number(finishedAt), key, ...(leaseId ? { leaseId } : {}) };
    }),
    ...(item.live !== undefined ? { liveRecords: Math.max(0, Number(item.live)) } : {}),
    journals: new Map(
      Object.entries(item)
        .filter(([k]) => k.startsWith(JOURNAL_COPY_PREFIX))
        .map(([k, v]) => {
          const leaseId = k.slice(JOURNAL_COPY_PREFIX.length);
          return [leaseId, refsOf(v, item[`${JOURNAL_STAMPS_PREFIX}${leaseId}`])];
        }),
    ),
    // Versions without a copy: a large journal's, on its items.
    journalVersionRuns: new Map(
      Object.entries(item)
        .filter(([k, v]) => k.startsWith(JOURNAL_STAMPS_PREFIX) && item[`${JOURNAL_COPY_PREFIX}${k.slice(JOURNAL_STAMPS_PREFIX.length)}`] === undefined && typeof v === 'number' && Number.isSafeInteger(v))
        .map(([k, v]) => [k.slice(JOURNAL_STAMPS_PREFIX.length), v as number]),
    ),
  };
}

/** Top-level attribute of the clock item holding a settled lease's small journal: `j_<lease id>`. */
const JOURNAL_COPY_PREFIX = 'j_';
/**
 * Beside it, `w_<lease id>`: the version the lease wrote each record of the copy at, in the copy's
 * order (null where the writer did not say), or, when they run on one by one from the first (a
 * push stamps its writes in order), that first version alone: a lease adds one number to the clock
 * item, not one per record. An attribute of its own, so that a reader from before it (during a
 * deployment) still reads the copy it knows, and treats the records as unstamped.
 */
const JOURNAL_STAMPS_PREFIX = 'w_';
/** Journals up to this size (record keys) are also copied onto the clock item as their lease settles. */
const CLOCK_JOURNAL_BYTES = 2_048;

/** Journal entries (`<table>#<id>`), each record once. */
function journalEntries(records: readonly RecordRef[]): string[] {
  return [...new Set(records.map((r) => `${r.table}#${r.id}`))];
}

/** A journal copy: each record once, at the highest version written under the lease (unknown if any write of it was unstamped). */
function journalCopy(entries: readonly JournalEntry[]): { keys: string[]; stamps?: (number | null)[] | number } {
  const byKey = new Map<string, number | undefined>();
  for (const e of entries) {
    const key = `${e.table}#${e.id}`;
    byKey.set(key, byKey.has(key) ? laterStamp(byKey.get(key), e.stamp) : e.stamp);
  }
  const stamps = [...byKey.values()].map((s) => s ?? null);
  const keys = [...byKey.keys()];
  if (stamps.every((s) => s === null)) return { keys };
  const first = stamps[0];
  return { keys, stamps: typeof first === 'number' && stamps.every((s, i) => s === first + i) ? first : stamps };
}

/** Journal entries from their stored keys, with the stamps stored beside them when they match one for one. */
function refsOf(entries: unknown, stampsAttribute?: unknown): JournalEntry[] {
  const keys = (Array.isArray(entries) ? entries : []) as unknown[];
  const stamps =
    typeof stampsAttribute === 'number' && Number.isSafeInteger(stampsAttribute)
      ? keys.map((_, i) => stampsAttribute + i)
      : Array.isArray(stampsAttribute) && stampsAttribute.length === keys.length
        ? (stampsAttribute as unknown[])
        : undefined;
  const refs: JournalEntry[] = [];
  keys.forEach((entry, i) => {
    const at = String(entry).indexOf('#');
    const table = String(entry).slice(0, at);
    if (!isTableName(table)) return;
    const stamp = stamps?.[i];
    refs.push({ table, id: String(entry).slice(at + 1), ...(typeof stamp === 'number' && Number.isFinite(stamp) ? { stamp } : {}) });
  });
  return refs;
}

/** Map key of a settling stamp (map keys are strings). */
function settlingKey(stamp: number): string {
  return `s${stamp}`;
}

function startKey(userId: string, p: IndexPosition, sortKey: string) {
  return { pk: userPk(userId), sk: recordSk(p.table, p.id), [sortKey]: p.updated_at };
}

function positionOf(key: Record<string, unknown>): IndexPosition {
  const [, table, ...rest] = String(key.sk).split('#');
  if (!table || !isTableName(table)) throw new Error(`unexpected index key ${String(key.sk)}`);
  return { table, id: rest.join('#'), updated_at: Number(key.updated_at ?? key[LIVE_AT_ATTRIBUTE]) };
}

/**
 * A table item (plain values, e.g. a stream image decoded) → the user, the record and its writer;
 * undefined for every item that is not a synced record (clocks, claims, conflict-log entries,
 * recording claims). Items written before writers were stored count as `device`.
 */
export function recordOfItem(item: Record<string, unknown>): { userId: string; record: StoredRecord; writer: Writer } | undefined {
  const pk = String(item.pk ?? '');
  const sk = String(item.sk ?? '');
  if (!pk.startsWith(userPk('')) || !sk.startsWith('R#') || typeof item.tbl !== 'string' || !isTableName(item.tbl) || sk !== recordSk(item.tbl, String(item.rid))) return undefined;
  const r = item as unknown as RecordItem;
  return { userId: pk.slice(userPk('').length), record: fromItem(r), writer: r.w ?? 'device' };
}

function fromItem(item: RecordItem): StoredRecord {
  return {
    table: item.tbl,
    id: item.rid,
    data: item.data ?? {},
    created_at: Number(item.created_at),
    updated_at: Number(item.updated_at),
    deleted_at: item.deleted_at === undefined ? null : Number(item.deleted_at),
    ...(item.cv ? { column_versions: Object.fromEntries(Object.entries(item.cv).map(([c, v]) => [c, Number(v)])) } : {}),
    ...(item.deleted_at !== undefined && item.expires_at !== undefined ? { expires_at: Number(item.expires_at) } : {}),
    ...(typeof item.dv === 'string' ? { device: { id: item.dv, since: Number(item.dvs ?? 0), exact: item.dvx === true } } : {}),
  };
}

function backoff(round: number): Promise<void> {
  const ms = Math.min(1000, 25 * 2 ** round) * Math.random();
  return new Promise((r) => setTimeout(r, ms));
}

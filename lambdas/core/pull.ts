/**
 * Pull, in protocol order: pin the timestamp and the journals to read (or resume a cursor), read
 * the user's delta index in `updated_at` order up to the timestamp (its first page together with
 * the clock), then the journaled records (the index may not show them yet: taken from it only
 * where it shows their written version, else from the base table), classify each record, and hand
 * back a cursor when the byte budget is reached first. All pages of one pull share what the first page
 * pinned, so their union is exactly what one unpaged pull would have returned: every record whose
 * version lies in `(last_pulled_at, timestamp]`, once (docs/sync-protocol.md, P4 and P5).
 */
import { ValidationError } from './errors.js';
import { decodeCursor, encodeCursor, type CursorSigner } from './cursor.js';
import type { Migration, PullRequest } from './contract.js';
import { recordKey, toPulledRaw, type PulledRaw, type StoredRecord } from './records.js';
import { columnsAtVersion, TABLES, type TableName } from './schema.js';
import { committedThrough, pinPull, recentlySettled, SETTLED_CLEANUP_MARGIN_MS } from './stamps.js';
import { journaledRecords, withVersionRun } from './journal.js';
import { keepJson } from './pull-json.js';
import { utf8ByteLength } from './utf8.js';
import type { ChangesPage, IndexPosition, JournalEntry, RecordRef, SyncStore } from './store.js';

export interface PullConfig {
  /** Budget of one response body in bytes (Lambda's limit is 6 MB). */
  readonly pageBytes: number;
  /** Items per index round trip. */
  readonly queryLimit: number;
  readonly indexLagMs: number;
  readonly inflightExpiryMs: number;
  readonly cursorTtlMs: number;
  /**
   * Tombstones may be gone this long after their delete (TTL): a pull whose `last_pulled_at` is
   * older is answered as a replacement sync (P10).
   */
  readonly tombstoneRetentionMs: number;
}

export interface PullDeps {
  readonly store: SyncStore;
  readonly signer: CursorSigner;
  readonly now: () => number;
  readonly config: PullConfig;
  /**
   * The caller serialises the response with `pullResponseJson` (the HTTP handler): each raw's
   * JSON, made to size it, is kept for the body. Otherwise it is dropped at once (keeping a page
   * of texts alive costs the garbage collector ~3 ms per 1,000 activities).
   */
  readonly keepRawJson?: boolean;
}

export type TableChangeSet = { created: PulledRaw[]; updated: PulledRaw[]; deleted: string[] };
export interface PullResponse {
  changes: Record<TableName, TableChangeSet>;
  timestamp: number;
  cursor?: string;
  /**
   * First page of a first sync only (extension of contract v1): about how many records the whole
   * pull brings, for a progress bar. An estimate kept by every write (creates and resurrections
   * minus deletes) at no extra request; absent where the server keeps no count.
   */
  estimated_records?: number;
  /**
   * `replacement` (P10): `changes` is the whole live data set, like a first sync's; the device
   * replaces its synced records with it, keeping its unpushed changes (WatermelonDB's
   * `experimentalStrategy`). On every page of such a pull.
   */
  experimentalStrategy?: 'replacement';
}

export interface PullStats {
  readonly records: number;
  /** Index Query round trips. */
  readonly roundTrips: number;
  /** Consistent reads of the base table: journals and journaled records (within the index lag). */
  readonly baseTableReads: number;
  readonly consumedCapacity: number;
}

/** Bytes of the fixed parts of a response (table keys, brackets, timestamp, cursor). */
const ENVELOPE_BYTES = 1024;

export async function pullChanges(userId: string, req: PullRequest, deps: PullDeps): Promise<PullResponse & { stats: PullStats }> {
  const { store, config } = deps;
  const now = deps.now();
  const fingerprint = JSON.stringify([req.lastPulledAt ?? 0, req.schemaVersion, req.migration, ...(req.deviceId ? [req.deviceId] : [])]);
  const neverPulled = req.lastPulledAt === null || req.lastPulledAt === 0;
  const migration = migrationFilter(req.migration);

  let timestamp: number;
  let queryFrom: number;
  let upTo: number;
  let position: IndexPosition | undefined;
  let journalLeases: readonly string[];
  let journalOffset: number | undefined;
  let journals: Map<string, readonly JournalEntry[]> | undefined;
  let estimatedRecords: number | undefined;
  let replacement: boolean;
  let roundTrips = 0;
  let baseTableReads = 0;
  /** The first index page, asked for together with the clock (docs/sync-protocol.md, "Why a pull is exact", 3). */
  let firstPage: Promise<ChangesPage> | undefined;
  if (req.cursor) {
    const c = decodeCursor(userId, req.cursor, { pull: fingerprint, nowMs: now, ttlMs: config.cursorTtlMs }, deps.signer);
    ({ timestamp, queryFrom, upTo, position, journalOffset } = c);
    journalLeases = c.journal ?? [];
    replacement = c.replacement === true;
  } else {
    // The index is read from `last_pulled_at` up, unbounded, while the clock is read: the
    // timestamp is not known yet, so what the page holds above it is dropped below. Sound because
    // the Query is sent after `now`, which is what the journals are chosen by (P4), and it saves a
    // round trip: a delta pull costs the longer of two reads, not their sum. A sync that may turn
    // out to be a replacement (P10) reads from 0: it waits for the clock.
    const speculativeFrom = mayBeReplacement(req, now, config) ? undefined : neverPulled || migration ? 0 : (req.lastPulledAt ?? 0);
    if (speculativeFrom !== undefined) {
      firstPage = store.queryChanges(userId, { after: speculativeFrom, upTo: Number.MAX_SAFE_INTEGER, limit: config.queryLimit, liveOnly: neverPulled });
      // Awaited below; until then a failure must not count as unhandled.
      firstPage.catch(() => undefined);
    }
    const clock = await settleFirst(store.readClock(userId, now), firstPage);
    if (req.lastPulledAt !== null && req.lastPulledAt > clock.clock) {
      await firstPage?.catch(() => undefined);
      throw new ValidationError('last_pulled_at is in the future', [
        { path: 'last_pulled_at', field: 'last_pulled_at', message: 'is later than any timestamp this server issued' },
      ]);
    }
    // P4: at most what has committed; the leases that settled within the index lag are read
    // through their journals (their writes may not be in the index yet).
    const committed = committedThrough(clock, now, config);
    const recent = committed > (req.lastPulledAt ?? 0) || migration ? recentlySettled(clock, now, config, committed) : [];
    // Small journals came with the clock; the others are read (the items hold every journal, so
    // later pages, after the copies left the clock item, read those).
    const found = new Map<string, readonly JournalEntry[]>();
    const elsewhere: string[] = [];
    for (const { leaseId } of recent) {
      const copy = leaseId === undefined ? undefined : clock.journals?.get(leaseId);
      if (copy) found.set(leaseId as string, copy);
      else if (leaseId !== undefined) elsewhere.push(leaseId);
    }
    journals = found;
    if (elsewhere.length > 0) {
      for (const [id, refs] of await settleFirst(store.readJournals(userId, elsewhere), firstPage)) journals.set(id, withVersionRun(refs, clock.journalVersionRuns?.get(id)));
      baseTableReads += 1;
    }
    const pinned = pinPull(committed, recent, (id) => journals?.has(id) ?? false);
    // Never below what the device already holds (a lease without a journal can hold the pin lower).
    timestamp = Math.max(pinned.timestamp, req.lastPulledAt ?? 0);
    journalLeases = pinned.journalLeases;
    upTo = timestamp;
    // P10: a delete the device has not seen has a stamp above last_pulled_at; its tombstone may
    // be gone (TTL) once it is older than the retention. So a delta from before the horizon could
    // miss deletes — unless nothing at all was written since (the clock has not moved past it).
    // Such a device gets the whole live set instead.
    replacement = !neverPulled && (req.lastPulledAt as number) < now - config.tombstoneRetentionMs && clock.clock > (req.lastPulledAt as number);
    queryFrom = neverPulled || replacement || migration ? 0 : (req.lastPulledAt ?? 0);
    // P11: the first page of a first (or replacement) sync says about how many records the pull brings.
    if ((neverPulled || replacement) && clock.liveRecords !== undefined) estimatedRecords = clock.liveRecords;
    // The page read with the clock is used only if the clock came back soon: a lease that settled
    // within L before `now` is surely still on the clock item only until L + 5 s after it settled
    // (then allocations remove it). After a slow read (SDK retries), the index is read again, after
    // the clock, as it always used to be: what settled long enough ago is in the index by then.
    const clockReadLate = deps.now() - now > SPECULATIVE_CLOCK_READ_MAX_MS;
    if (firstPage && (queryFrom !== speculativeFrom || replacement || clockReadLate)) {
      await firstPage.catch(() => undefined);
      firstPage = undefined;
    }
  }
  // A replacement sync is a first sync for what it sends (every live record, no deletes).
  const firstSync = neverPulled || replacement;
  const deltaFrom = firstSync ? 0 : (req.lastPulledAt ?? 0);
  const strategy = replacement ? { experimentalStrategy: 'replacement' as const } : {};
  // The journaled records, in key order: read from the base table after the index, never from it.
  if (journalLeases.length > 0 && !journals) {
    journals = await store.readJournals(userId, journalLeases);
    baseTableReads += 1;
  }
  const journaled = journaledRecords(journalLeases, journals);
  const journaledByKey = new Map(journaled.map((r) => [recordKey(r.table, r.id), r]));
  /**
   * Journaled records this page's index reads showed at or past the version their leases wrote:
   * the index is up to date for them, so (b) takes them from there and reads nothing (P4). Later
   * pages do not read the index again, and read their journaled records from the base table.
   */
  const caughtUp = new Map<string, StoredRecord>();

  const changes = emptyChanges();
  let bytes = ENVELOPE_BYTES;
  let consumedCapacity = 0;
  let count = 0;
  let full = false;
  const shapes = rawShapes(req.schemaVersion);
  // P12: a delta pull leaves out what the pulling device wrote itself, stored exactly as it sent
  // it (it holds that already). Never a first, replacement or migration sync: those rebuild the
  // device's data from what they send.
  const ownEcho = (record: StoredRecord) => req.deviceId !== undefined && !firstSync && !migration && record.device?.id === req.deviceId && record.device.exact;
  /** Adds a record to the response; false when the byte budget is reached (it is not added). */
  const add = (record: StoredRecord): boolean => {
    if (ownEcho(record)) return true;
    const placed = place(record, { firstSync, deltaFrom, migration, shapes });
    if (!placed) return true;
    // P12: a version this device wrote comes with where its run of writes began, so the device
    // judges it as the server judges the device's next push (R8a): not as a change it missed.
    if (placed.kind === 'updated' && req.deviceId !== undefined && record.device?.id === req.deviceId) placed.raw._own_since = record.device.since;
    let size: number;
    if (placed.kind === 'deleted') size = record.id.length + 3;
    else {
      // Serialised once: the handler's body reuses this text (pullResponseJson).
      const text = JSON.stringify(placed.raw);
      if (deps.keepRawJson) keepJson(placed.raw, text);
      size = utf8ByteLength(text) + 1;
    }
    // Stop before the budget; a page always carries at least one record, so pulls progress.
    if (count > 0 && bytes + size > config.pageBytes) return false;
    bytes += size;
    count += 1;
    if (placed.kind === 'deleted') changes[record.table].deleted.push(record.id);
    else changes[record.table].updated.push(placed.raw);
    return true;
  };

  // The index, through the pinned timestamp. A journaled record is skipped here: the index may
  // show an older version of it, and the base table is read for it below.
  let lastProcessed: IndexPosition | undefined = position;
  let more = journalOffset === undefined;
  /**
   * The index page asked for before the one in hand was processed (read ahead), or with the clock.
   * The store reads the next page while the pull shapes and sizes this one, so a pull spends the
   * time of its Queries, not their sum plus its own work (P4). It starts where this page ends, as
   * the next Query would: only when that Query is sent changes, never what a page holds.
   */
  let ahead: Promise<ChangesPage> | undefined = firstPage;
  /**
   * Bytes the index items of the Query page in hand added, per item in range gone through, sent
   * or not (journaled, own echoes): what the next Query asks for is reckoned from it, so a run of
   * items the page does not send (a bulk push's, within the lag window) makes the Queries through
   * it large again at once, not a trickle sized for the little budget left.
   */
  let itemBytes = 0;
  let items = 0;
  /** The same, of the last Query page that had items in range. */
  let lastPerItem: number | undefined;
  /** Asks for the page after `page` once `remaining` of its records are still to be processed. */
  const readAhead = (page: ChangesPage, remaining: number): Promise<ChangesPage> | undefined => {
    const last = page.records[page.records.length - 1];
    // Only the page read with the clock goes past the timestamp, and then the range ends in it.
    if (page.next === undefined || (last !== undefined && last.updated_at > upTo)) return undefined;
    // Where this page will leave the budget, at the average size so far. A page that may fill
    // with the records in hand (at the size margin `queryLimit` reckons with) would throw the read
    // away: it is not sent.
    const perItem = items > 0 ? itemBytes / items : 0;
    const projected = bytes + remaining * perItem;
    if (bytes + remaining * perItem * SIZE_MARGIN >= config.pageBytes) return undefined;
    const limit = queryLimit(config, projected, items > 0 ? perItem : undefined);
    const next = store.queryChanges(userId, { after: queryFrom, upTo, startAfter: page.next, limit, liveOnly: firstSync });
    // Awaited by the next turn, or settled on the way out; until then a failure is not unhandled.
    next.catch(() => undefined);
    return next;
  };
  try {
    outer: while (more) {
      // A pull that sends no deletes reads the live index: no tombstone is read to be thrown away.
      const page = await (ahead ?? store.queryChanges(userId, { after: queryFrom, upTo, startAfter: lastProcessed, limit: queryLimit(config, bytes, lastPerItem), liveOnly: firstSync }));
      ahead = undefined;
      roundTrips += 1;
      consumedCapacity += page.consumedCapacity ?? 0;
      let rangeEnded = false;
      itemBytes = 0;
      items = 0;
      const records = page.records;
      for (let i = 0; i < records.length; i++) {
        // After a few records the average size is known, and the next page is asked for.
        if (i === READ_AHEAD_AFTER) ahead = readAhead(page, records.length - i);
        const record = records[i] as StoredRecord;
        const key = recordKey(record.table, record.id);
        const entry = journaledByKey.get(key);
        const stamp = entry?.stamp;
        if (stamp !== undefined && record.updated_at >= stamp) caughtUp.set(key, record);
        // Only the page read with the clock goes past the timestamp; the index is in `updated_at`
        // order, so the range ends at the first record above it.
        if (record.updated_at > upTo) {
          rangeEnded = true;
          continue;
        }
        // A journaled record is sent in key order with the others, below.
        const before = bytes;
        if (!entry && !add(record)) {
          full = true;
          break outer;
        }
        itemBytes += bytes - before;
        items += 1;
        lastProcessed = { table: record.table, id: record.id, updated_at: record.updated_at };
      }
      more = !rangeEnded && page.next !== undefined;
      if (more) lastProcessed = page.next;
      if (items > 0) lastPerItem = itemBytes / items;
    }
  } finally {
    // A page read ahead for a page that filled first is thrown away, but never left running.
    const unused = await ahead?.catch(() => undefined);
    if (unused) {
      roundTrips += 1;
      consumedCapacity += unused.consumedCapacity ?? 0;
    }
  }

  // The journaled records, as the index showed them when it was caught up with them, else as they
  // are now in the base table (consistent reads): each one whose version lies in the pull's range.
  // One changed again since has a version above the timestamp: it is the next pull's.
  // A delta pull that read the index's whole range itself skips, unread, a record every recent
  // lease wrote at or below `last_pulled_at` that the index did not show caught up: it has no
  // version in the range (P4). Not a migration sync: it also sends records older than the range.
  const wholeRangeRead = !req.cursor && !full && !firstSync && !migration;
  let offset = journalOffset ?? 0;
  while (!full && offset < journaled.length) {
    const chunk = journaled.slice(offset, offset + JOURNAL_READ_BATCH);
    const stored = new Map<string, StoredRecord>();
    const unread: RecordRef[] = [];
    for (const ref of chunk) {
      const key = recordKey(ref.table, ref.id);
      const shown = caughtUp.get(key);
      if (shown) stored.set(key, shown);
      else if (!(wholeRangeRead && ref.stamp !== undefined && ref.stamp <= deltaFrom)) unread.push(ref);
    }
    if (unread.length > 0) {
      for (const r of await store.getRecords(userId, unread)) stored.set(recordKey(r.table, r.id), r);
      baseTableReads += 1;
    }
    for (const ref of chunk) {
      const record = stored.get(recordKey(ref.table, ref.id));
      if (record && record.updated_at <= timestamp && !add(record)) {
        full = true;
        break;
      }
      offset += 1;
    }
  }

  const stats = { records: count, roundTrips, baseTableReads, consumedCapacity };
  const estimate = estimatedRecords !== undefined ? { estimated_records: estimatedRecords } : {};
  if (!full) return { changes, timestamp, ...strategy, ...estimate, stats };
  const resume = more ? { position: lastProcessed } : { journalOffset: offset };
  const cursor = encodeCursor(userId, { pull: fingerprint, timestamp, queryFrom, upTo, ...resume, issuedAt: now, replacement, journal: journalLeases }, deps.signer);
  return { changes, timestamp, cursor, ...strategy, ...estimate, stats };
}


/**
 * Items to ask the next index Query for. What a Query reads past the end of the page is read
 * again by the next page (it resumes after the last record sent): up to `queryLimit` − 1 items per
 * page, 15 % of a 10,000-record first sync. Once the page has been through index items, the Query
 * asks for about as many as the rest of the budget holds at the bytes the last Query's items added
 * per item (`perItem`; an item the page does not send adds none), a quarter more so that one more
 * round trip is rare.
 * Only how many items each round trip brings changes, never what a page holds.
 */
function queryLimit(config: PullConfig, bytes: number, perItem: number | undefined): number {
  if (perItem === undefined || perItem === 0) return config.queryLimit;
  const fits = Math.ceil(((config.pageBytes - bytes) / perItem) * SIZE_MARGIN) + 1;
  return Math.max(1, Math.min(config.queryLimit, fits));
}

/** Records may run this much larger than the average so far: Queries ask for as much more. */
const SIZE_MARGIN = 1.25;

/**
 * Records of an index page processed before the next page is read ahead: enough to know their
 * average size (which sets how many items that read asks for), few enough to leave the rest of
 * the page to overlap with it.
 */
const READ_AHEAD_AFTER = 16;

/**
 * Longest clock read after which the index page read with it is used: half the margin settled
 * entries are kept for beyond L, the other half absorbing clock skew between Lambda instances.
 */
const SPECULATIVE_CLOCK_READ_MAX_MS = SETTLED_CLEANUP_MARGIN_MS / 2;

/** A sync whose `last_pulled_at` is older than tombstones are kept may be answered as a replacement (P10). */
function mayBeReplacement(req: PullRequest, now: number, config: PullConfig): boolean {
  return req.lastPulledAt !== null && req.lastPulledAt !== 0 && req.lastPulledAt < now - config.tombstoneRetentionMs;
}

/**
 * `read`'s value; if it fails, the failure, once `alsoRunning` has settled too (a pull never leaves
 * a read running behind its error).
 */
async function settleFirst<T>(read: Promise<T>, alsoRunning: Promise<unknown> | undefined): Promise<T> {
  try {
    return await read;
  } catch (e) {
    await alsoRunning?.catch(() => undefined);
    throw e;
  }
}

/** Records read from the base table per round trip (DynamoDB's BatchGetItem limit). */
const JOURNAL_READ_BATCH = 100;


export function emptyChanges(): Record<TableName, TableChangeSet> {
  return Object.fromEntries(TABLES.map((t) => [t.name, { created: [], updated: [], deleted: [] }])) as unknown as Record<
    TableName,
    TableChangeSet
  >;
}

type Placed = { kind: 'updated'; raw: PulledRaw } | { kind: 'deleted' } | undefined;

/**
 * Pull rules: live records come in `updated` (clients run `sendCreatedAsUpdated`), never in
 * `created`; tombstones come in `deleted`, except on a first sync; a migration sync also sends
 * every live record of added tables and every live record whose added column is set.
 */
function place(
  record: StoredRecord,
  o: { firstSync: boolean; deltaFrom: number; migration?: MigrationFilter; shapes: ReadonlyMap<string, RawShape> },
): Placed {
  const inDelta = record.updated_at > o.deltaFrom;
  if (record.deleted_at !== null) return inDelta && !o.firstSync ? { kind: 'deleted' } : undefined;
  if (inDelta || o.migration?.(record)) return { kind: 'updated', raw: shapeRaw(toPulledRaw(record), o.shapes.get(record.table)) };
  return undefined;
}

/**
 * A pulled raw carries exactly the columns of the schema version the client declares: columns
 * added later (and their `_versions` stamps) are left out, and columns a record was written
 * without (it predates them) come as null, as WatermelonDB stores them. (WatermelonDB's
 * `sanitizedRaw` keeps only its schema's columns anyway; the contract does not lean on that.)
 */
interface RawShape {
  readonly known: readonly string[];
  readonly unknown: readonly string[];
}
const shapesByVersion = new Map<number, ReadonlyMap<string, RawShape>>();
function rawShapes(schemaVersion: number): ReadonlyMap<string, RawShape> {
  let m = shapesByVersion.get(schemaVersion);
  if (!m) {
    m = new Map(
      TABLES.map((t) => [t.name, { known: columnsAtVersion(t, schemaVersion).map((c) => c.name), unknown: t.columns.filter((c) => (c.since ?? 1) > schemaVersion).map((c) => c.name) }] as const),
    );
    shapesByVersion.set(schemaVersion, m);
  }
  return m;
}

function shapeRaw(raw: PulledRaw, shape: RawShape | undefined): PulledRaw {
  if (!shape) return raw;
  const out = raw as Record<string, unknown>;
  for (const c of shape.known) if (out[c] === undefined) out[c] = null;
  if (shape.unknown.length === 0) return raw;
  for (const c of shape.unknown) delete out[c];
  const versions = out._versions as Record<string, number> | undefined;
  if (versions) {
    const kept = Object.fromEntries(Object.entries(versions).filter(([c]) => !shape.unknown.includes(c)));
    if (Object.keys(kept).length > 0) out._versions = kept;
    else delete out._versions;
  }
  return raw;
}

type MigrationFilter = (r: StoredRecord) => boolean;
function migrationFilter(m: Migration | null): MigrationFilter | undefined {
  if (!m || (m.tables.length === 0 && m.columns.length === 0)) return undefined;
  const tables = new Set<string>(m.tables);
  const columns = new Map(m.columns.map((c) => [c.table as string, c.columns]));
  return (r) => tables.has(r.table) || (columns.get(r.table)?.some((c) => r.data[c] !== null && r.data[c] !== undefined) ?? false);
}

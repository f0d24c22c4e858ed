/**
 * Pull, in protocol order: pin the timestamp (or resume a cursor), read the user's delta index
 * in `updated_at` order up to a byte budget, classify each record, and hand back a cursor when
 * more remains. All pages of one pull share its timestamp and its pinned index range, so their
 * union is exactly what one unpaged pull would have returned.
 */
import { ValidationError } from './errors.js';
import { decodeCursor, encodeCursor, type CursorSigner } from './cursor.js';
import type { Migration, PullRequest } from './contract.js';
import { toPulledRaw, type PulledRaw, type StoredRecord } from './records.js';
import { columnsAtVersion, TABLES, type TableName } from './schema.js';
import { pullWatermark } from './stamps.js';
import type { IndexPosition, SyncStore } from './store.js';

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
  readonly roundTrips: number;
  readonly consumedCapacity: number;
}

/** Bytes of the fixed parts of a response (table keys, brackets, timestamp, cursor). */
const ENVELOPE_BYTES = 1024;
const utf8 = new TextEncoder();

export async function pullChanges(userId: string, req: PullRequest, deps: PullDeps): Promise<PullResponse & { stats: PullStats }> {
  const { store, config } = deps;
  const now = deps.now();
  const fingerprint = JSON.stringify([req.lastPulledAt ?? 0, req.schemaVersion, req.migration]);
  const neverPulled = req.lastPulledAt === null || req.lastPulledAt === 0;
  const migration = migrationFilter(req.migration);

  let timestamp: number;
  let queryFrom: number;
  let upTo: number;
  let position: IndexPosition | undefined;
  let estimatedRecords: number | undefined;
  let replacement: boolean;
  if (req.cursor) {
    const c = decodeCursor(userId, req.cursor, { pull: fingerprint, nowMs: now, ttlMs: config.cursorTtlMs }, deps.signer);
    ({ timestamp, queryFrom, upTo, position } = c);
    replacement = c.replacement === true;
  } else {
    const clock = await store.readClock(userId, now);
    if (req.lastPulledAt !== null && req.lastPulledAt > clock.clock) {
      throw new ValidationError('last_pulled_at is in the future', [
        { path: 'last_pulled_at', field: 'last_pulled_at', message: 'is later than any timestamp this server issued' },
      ]);
    }
    timestamp = pullWatermark(clock, now, config);
    upTo = clock.clock;
    // P10: a delete the device has not seen has a stamp above last_pulled_at; its tombstone may
    // be gone (TTL) once it is older than the retention. So a delta from before the horizon could
    // miss deletes — unless nothing at all was written since (the clock has not moved past it).
    // Such a device gets the whole live set instead.
    replacement = !neverPulled && (req.lastPulledAt as number) < now - config.tombstoneRetentionMs && clock.clock > (req.lastPulledAt as number);
    queryFrom = neverPulled || replacement || migration ? 0 : (req.lastPulledAt ?? 0);
    // P11: the first page of a first (or replacement) sync says about how many records the pull brings.
    if ((neverPulled || replacement) && clock.liveRecords !== undefined) estimatedRecords = clock.liveRecords;
  }
  // A replacement sync is a first sync for what it sends (every live record, no deletes).
  const firstSync = neverPulled || replacement;
  const deltaFrom = firstSync ? 0 : (req.lastPulledAt ?? 0);
  const strategy = replacement ? { experimentalStrategy: 'replacement' as const } : {};

  const changes = emptyChanges();
  let bytes = ENVELOPE_BYTES;
  let roundTrips = 0;
  let consumedCapacity = 0;
  let count = 0;
  let more = true;
  let lastProcessed: IndexPosition | undefined = position;
  outer: while (more) {
    // A pull that sends no deletes reads the live index: no tombstone is read to be thrown away.
    const page = await store.queryChanges(userId, { after: queryFrom, upTo, startAfter: lastProcessed, limit: config.queryLimit, liveOnly: firstSync });
    roundTrips += 1;
    consumedCapacity += page.consumedCapacity ?? 0;
    for (const record of page.records) {
      const placed = place(record, { firstSync, deltaFrom, migration, shapes: rawShapes(req.schemaVersion) });
      if (placed) {
        const size = placed.kind === 'deleted' ? record.id.length + 3 : utf8.encode(JSON.stringify(placed.raw)).length + 1;
        // Stop before the budget; a page always carries at least one record, so pulls progress.
        if (count > 0 && bytes + size > config.pageBytes) break outer;
        bytes += size;
        count += 1;
        if (placed.kind === 'deleted') changes[record.table].deleted.push(record.id);
        else changes[record.table].updated.push(placed.raw);
      }
      lastProcessed = { table: record.table, id: record.id, updated_at: record.updated_at };
    }
    more = page.next !== undefined;
    if (more) lastProcessed = page.next;
  }

  const stats = { records: count, roundTrips, consumedCapacity };
  const estimate = estimatedRecords !== undefined ? { estimated_records: estimatedRecords } : {};
  if (!more || !lastProcessed) return { changes, timestamp, ...strategy, ...estimate, stats };
  const cursor = encodeCursor(userId, { pull: fingerprint, timestamp, queryFrom, upTo, position: lastProcessed, issuedAt: now, replacement }, deps.signer);
  return { changes, timestamp, cursor, ...strategy, ...estimate, stats };
}

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

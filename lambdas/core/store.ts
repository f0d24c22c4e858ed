import type { ConflictEntry, ConflictListQuery, ConflictReport } from './conflict-log.js';
import type { StoredRecord, Writer } from './records.js';
import type { ClockPolicy, ClockState } from './stamps.js';
import type { TableName } from './schema.js';

/** A range of stamps being written: `stamp` is its first; `id` names its in-flight entry. */
export interface WriteLease {
  readonly stamp: number;
  readonly id: string;
  /**
   * The lease's journal, with the versions its writer planned (`stampJournal`), for `endWrite`: it
   * copies a small one onto the clock item as it settles the lease, so that the pull reading the
   * clock has it without another read (the journal item stays, for the later pages of a paged
   * pull); of one too large for that it keeps the first version, when the versions run on one by
   * one in the journal's order (`ClockState.journalVersionRuns`).
   */
  readonly journal?: readonly JournalEntry[];
}

/** A synced record's key. */
export interface RecordRef {
  readonly table: TableName;
  readonly id: string;
}

/**
 * A record in a lease's journal. `stamp`: the version the lease writes it at, when the writer
 * recorded it (the copy on the clock item carries it). A pull that finds the index showing the
 * record at or past that version needs no read of the record (docs/sync-protocol.md, P4).
 */
export interface JournalEntry extends RecordRef {
  readonly stamp?: number;
}

/** Position in a user's delta index, to resume a query exactly after an item. */
export interface IndexPosition {
  readonly table: TableName;
  readonly id: string;
  readonly updated_at: number;
}

export interface ChangesQuery {
  /** Exclusive lower bound on `updated_at`. */
  readonly after: number;
  /** Inclusive upper bound on `updated_at`. */
  readonly upTo: number;
  readonly startAfter?: IndexPosition;
  /** Items to read per store round trip. */
  readonly limit: number;
  /**
   * Live records only (first and replacement syncs): read an index that holds no tombstones, so a
   * pull that sends none never pays for reading them.
   */
  readonly liveOnly?: boolean;
}

export interface ChangesPage {
  readonly records: StoredRecord[];
  /** Position of the last item read, when the index has more in range. */
  readonly next?: IndexPosition;
  /** Capacity units the store reported for this page, when it reports them. */
  readonly consumedCapacity?: number;
}

/**
 * What the sync core needs from storage. The DynamoDB adapter implements it with conditional
 * writes; every method is scoped to one user, so no call can reach another user's items.
 */
export interface SyncStore {
  /** Reads the user's clock consistently, creating it (at `nowMs`) on the user's first call. */
  readClock(userId: string, nowMs: number): Promise<ClockState>;
  /**
   * Allocates `count` consecutive stamps from `stamp` (default 1: one per record the caller will
   * write, so no two records of a user ever share an `updated_at`) and registers a lease in flight
   * whose stamp is at most the first, atomically; drops leases that expired (their pushes died)
   * and settling entries no pull needs any more. `seen`, a clock state the caller just read, saves
   * a read. Concurrent writers of one user never make each other retry.
   *
   * `journal`: the records the caller will write under this lease, stored (durably, before this
   * resolves) as the lease's journal, which pulls read while the delta index may still lag behind
   * those writes. A lease without one holds pulls below its stamp until it has settled.
   */
  beginWrite(userId: string, nowMs: number, policy: ClockPolicy, seen?: ClockState, count?: number, journal?: readonly RecordRef[]): Promise<WriteLease>;
  /**
   * Consistent read of the journals of the given leases, each in its order (the order the writer
   * listed its records in, each once); a lease without a journal is absent.
   */
  readJournals(userId: string, leaseIds: readonly string[]): Promise<Map<string, RecordRef[]>>;
  /**
   * Moves leases from in flight to settling (finished at `nowMs`) once their writes are done or
   * abandoned, and adds `liveDelta` (records that came to life minus records deleted) to the user's
   * approximate record count, in the same write.
   */
  endWrite(userId: string, leases: readonly WriteLease[], nowMs: number, liveDelta?: number): Promise<void>;
  /** Consistent read of the given records (tombstones included). */
  getRecords(userId: string, keys: readonly { table: TableName; id: string }[]): Promise<StoredRecord[]>;
  /**
   * Writes a record if the stored one still has `expectedUpdatedAt` (null: must not exist).
   * Throws `ConditionFailedError` otherwise. `writer` (default `device`: a push) is kept with the
   * item for the change feed; pulls never return it.
   */
  putRecord(userId: string, record: StoredRecord, expectedUpdatedAt: number | null, writer?: Writer): Promise<void>;
  /** Of the given ids (of `global` id-scope tables), those another user owns. */
  findForeignIds(userId: string, keys: readonly { table: TableName; id: string }[]): Promise<{ table: TableName; id: string }[]>;
  /** Records `userId` as the owner of a new record's id; throws `ForbiddenError` if another user owns it. */
  claimId(userId: string, key: { table: TableName; id: string }): Promise<void>;
  /** One round trip of the user's delta index, ascending by `updated_at`. */
  queryChanges(userId: string, query: ChangesQuery): Promise<ChangesPage>;
  /**
   * Adds entries to the user's conflict log, idempotently by id: an id logged before keeps its
   * first `at` and content. Entries expire `ttlMs` after `nowMs`.
   */
  putConflicts(
    userId: string,
    entries: readonly ConflictReport[],
    options: { readonly nowMs: number; readonly resolvedBy: ConflictEntry['resolved_by']; readonly ttlMs: number },
  ): Promise<void>;
  /** Entries logged after `query.since`, oldest first. */
  listConflicts(userId: string, query: ConflictListQuery): Promise<{ entries: ConflictEntry[]; next?: { at: number; id: string } }>;
  getConflict(userId: string, id: string): Promise<ConflictEntry | undefined>;
}

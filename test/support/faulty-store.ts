/**
 * Store wrappers that inject what a local engine cannot show: a write that fails at the k-th
 * call, writes paused at a gate (controlled interleaving), and a lagging delta index.
 */
import { InternalError } from '../../lambdas/core/errors.js';
import { recordKey, type StoredRecord } from '../../lambdas/core/records.js';
import type { ChangesPage, ChangesQuery, SyncStore, WriteLease } from '../../lambdas/core/store.js';

/** Delegates everything; subclasses override what they break. */
export class DelegatingStore implements SyncStore {
  constructor(protected readonly inner: SyncStore) {}
  readClock(u: string, now: number) {
    return this.inner.readClock(u, now);
  }
  beginWrite(...args: Parameters<SyncStore['beginWrite']>) {
    return this.inner.beginWrite(...args);
  }
  readJournals(...args: Parameters<SyncStore['readJournals']>) {
    return this.inner.readJournals(...args);
  }
  endWrite(u: string, leases: readonly WriteLease[], now: number, liveDelta?: number) {
    return this.inner.endWrite(u, leases, now, liveDelta);
  }
  getRecords(u: string, keys: readonly { table: StoredRecord['table']; id: string }[]) {
    return this.inner.getRecords(u, keys);
  }
  putRecord(...args: Parameters<SyncStore['putRecord']>) {
    return this.inner.putRecord(...args);
  }
  findForeignIds(u: string, keys: readonly { table: StoredRecord['table']; id: string }[]) {
    return this.inner.findForeignIds(u, keys);
  }
  claimId(u: string, key: { table: StoredRecord['table']; id: string }) {
    return this.inner.claimId(u, key);
  }
  queryChanges(u: string, q: ChangesQuery): Promise<ChangesPage> {
    return this.inner.queryChanges(u, q);
  }
  putConflicts(...args: Parameters<SyncStore['putConflicts']>) {
    return this.inner.putConflicts(...args);
  }
  listConflicts(...args: Parameters<SyncStore['listConflicts']>) {
    return this.inner.listConflicts(...args);
  }
  getConflict(...args: Parameters<SyncStore['getConflict']>) {
    return this.inner.getConflict(...args);
  }
}

/** Fails the k-th record write (1-based) as a crash would: that write and none after it land. */
export class FailKthWriteStore extends DelegatingStore {
  private writes = 0;
  constructor(inner: SyncStore, private readonly k: number) {
    super(inner);
  }
  override async putRecord(...a: Parameters<SyncStore['putRecord']>) {
    this.writes += 1;
    if (this.writes >= this.k) throw new InternalError(`injected failure at write ${this.writes}`);
    return super.putRecord(...a);
  }
}

/** Holds every record write until the test opens the gate. */
export class GatedWriteStore extends DelegatingStore {
  private open!: () => void;
  private readonly gate = new Promise<void>((r) => (this.open = r));
  private reachedGate!: () => void;
  /** Resolves once a write is waiting at the gate (its stamp is allocated and in flight). */
  readonly writeWaiting = new Promise<void>((r) => (this.reachedGate = r));
  release() {
    this.open();
  }
  override async putRecord(...a: Parameters<SyncStore['putRecord']>) {
    this.reachedGate();
    await this.gate;
    return super.putRecord(...a);
  }
}

/**
 * A delta index that lags: a write is stored (base table) at once, but queries keep showing
 * the record's previously replicated version (or nothing) until `replicate()` is called.
 */
export class LaggingIndexStore extends DelegatingStore {
  private readonly replicated = new Map<string, StoredRecord | undefined>();
  /** Per lagging key, the read of what the index showed before its first lagging write. */
  private readonly snapshots = new Map<string, Promise<void>>();
  private readonly lagging = new Set<string>();
  lag = true;
  override async putRecord(...a: Parameters<SyncStore['putRecord']>) {
    const [u, r] = a;
    const key = recordKey(r.table, r.id);
    if (this.lag && !this.lagging.has(key)) {
      // Registered before any await, and awaited by every write of the key: two overlapping first
      // writes share one snapshot, taken before either lands (else the later one would snapshot the
      // earlier one's write as "already replicated", and lose it from the index for good).
      this.lagging.add(key);
      this.snapshots.set(
        key,
        this.inner.getRecords(u, [{ table: r.table, id: r.id }]).then(([before]) => void this.replicated.set(key, before)),
      );
    }
    await this.snapshots.get(key);
    return super.putRecord(...a);
  }
  replicate() {
    this.lagging.clear();
    this.replicated.clear();
    this.snapshots.clear();
  }
  override async queryChanges(u: string, q: ChangesQuery): Promise<ChangesPage> {
    const page = await super.queryChanges(u, q);
    await Promise.all(this.snapshots.values());
    const records = page.records.flatMap((r) => {
      const key = recordKey(r.table, r.id);
      if (!this.lagging.has(key)) return [r];
      const old = this.replicated.get(key);
      return old && old.updated_at > q.after && old.updated_at <= q.upTo ? [old] : [];
    });
    return { ...page, records };
  }
}

/**
 * A delta index whose lag is bounded in (virtual) time: a query at time t shows, for each record,
 * the latest version committed at or before t − lagMs. The model the settle window is built for.
 */
export class BoundedLagIndexStore extends DelegatingStore {
  private readonly history = new Map<string, { record: StoredRecord | undefined; committedAt: number }[]>();
  /** Per key, the read of the version before the first write seen (shared by overlapping first writes). */
  private readonly firstReads = new Map<string, Promise<void>>();
  constructor(
    inner: SyncStore,
    private readonly now: () => number,
    private readonly lagMs: number,
  ) {
    super(inner);
  }
  override async putRecord(...a: Parameters<SyncStore['putRecord']>) {
    const [u, r] = a;
    const key = recordKey(r.table, r.id);
    if (!this.firstReads.has(key)) {
      // Registered before any await: overlapping first writes of a key share one read of the
      // version before them, taken before either lands (a later read would see the other's write
      // and overwrite its history entry, so the index would never show that write).
      this.firstReads.set(
        key,
        this.inner.getRecords(u, [{ table: r.table, id: r.id }]).then(([before]) => {
          this.history.set(key, [{ record: before, committedAt: Number.NEGATIVE_INFINITY }]);
        }),
      );
    }
    await this.firstReads.get(key);
    await super.putRecord(...a);
    this.history.get(key)?.push({ record: r, committedAt: this.now() });
  }
  override async queryChanges(u: string, q: ChangesQuery): Promise<ChangesPage> {
    const page = await super.queryChanges(u, q);
    const visibleBefore = this.now() - this.lagMs;
    const records = page.records.flatMap((r) => {
      const versions = this.history.get(recordKey(r.table, r.id));
      if (!versions) return [r];
      const shown = versions.filter((v) => v.committedAt <= visibleBefore).at(-1)?.record;
      return shown && shown.updated_at > q.after && shown.updated_at <= q.upTo ? [shown] : [];
    });
    return { ...page, records };
  }
}

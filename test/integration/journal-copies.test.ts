/**
 * Where a pull finds the journals it reads (docs/sync-protocol.md, P5): a small journal comes with
 * the clock item the pull reads anyway (copied there as its lease settles), so a 1-record delta
 * right after a push costs one Query plus one consistent read of the record; a large journal, and
 * every journal on a paged pull's later pages, is read from its own item.
 */
import { describe, expect, it } from 'vitest';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { pullDeps, pushDeps, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { DelegatingStore, LaggingIndexStore } from '../support/faulty-store.js';
import { activityRaw, pushBody } from '../support/records.js';

const harness = useSyncTable();

class CountingStore extends DelegatingStore {
  readonly calls = { readJournals: 0, getRecords: 0, queryChanges: 0 };
  /** The records read from the base table, by id. */
  readonly recordsRead: string[] = [];
  override readJournals(...a: Parameters<SyncStore['readJournals']>) {
    this.calls.readJournals += 1;
    return super.readJournals(...a);
  }
  override getRecords(...a: Parameters<SyncStore['getRecords']>) {
    this.calls.getRecords += 1;
    this.recordsRead.push(...a[1].map((k) => k.id));
    return super.getRecords(...a);
  }
  override queryChanges(...a: Parameters<SyncStore['queryChanges']>) {
    this.calls.queryChanges += 1;
    return super.queryChanges(...a);
  }
}

const create = (ids: string[], t: number | null, notes: string | null = null) => parsePushBody(pushBody({ activities: { created: ids.map((id) => activityRaw(id, { notes })) } }, t));

describe('journal copies on the clock item', () => {
  it('a 1-record delta right after a push, the index already showing the version the copy names: one Query, nothing else read', async () => {
    const { store } = harness();
    const user = uniqueUser('copy');
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    const pushed = await pushChanges(user, create([`${user}-a`], t0), pushDeps(store));
    const counting = new CountingStore(store);
    const r = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(counting));
    expect(r.changes.activities.updated.map((x) => [x.id, x.updated_at])).toEqual([[`${user}-a`, pushed.timestamp]]);
    expect(counting.calls).toEqual({ readJournals: 0, getRecords: 0, queryChanges: 1 });
    expect(r.stats.baseTableReads).toBe(0);
    const copies = (await store.readClock(user, Date.now())).journals;
    expect([...(copies?.values() ?? [])]).toEqual([[{ table: 'activities', id: `${user}-a`, stamp: pushed.timestamp }]]);
  });

  it('the index behind the version the copy names: the record is read from the base table, at its version', async () => {
    const { store } = harness();
    const user = uniqueUser('behind');
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    const first = await pushChanges(user, create([`${user}-a`], t0), pushDeps(store));
    // A second write of the record lags in the index, which still shows the first one's version.
    const lagging = new LaggingIndexStore(store);
    const edit = parsePushBody(pushBody({ activities: { updated: [activityRaw(`${user}-a`, { notes: 'second' })] } }, first.timestamp));
    const second = await pushChanges(user, edit, pushDeps(lagging));
    const counting = new CountingStore(lagging);
    const r = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(counting));
    expect(r.changes.activities.updated.map((x) => [x.id, x.updated_at, x.notes])).toEqual([[`${user}-a`, second.timestamp, 'second']]);
    expect(counting.calls.getRecords).toBe(1);
  });

  it('two devices in turn within the window: a journaled record the device already pulled is not read again', async () => {
    const { store } = harness();
    const user = uniqueUser('inturn');
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    await pushChanges(user, create([`${user}-w`], t0), pushDeps(store));
    const prev = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(store));
    expect(prev.changes.activities.updated.map((x) => x.id)).toEqual([`${user}-w`]);
    await pushChanges(user, create([`${user}-x`], prev.timestamp), pushDeps(store));
    const counting = new CountingStore(store);
    const r = await pullChanges(user, { lastPulledAt: prev.timestamp, schemaVersion: 2, migration: null }, pullDeps(counting));
    expect(r.changes.activities.updated.map((x) => x.id)).toEqual([`${user}-x`]);
    // w's journal is still recent, but every version of it is at or below last_pulled_at.
    expect(counting.calls).toEqual({ readJournals: 0, getRecords: 0, queryChanges: 1 });
  });

  it('a migration sync still reads a journaled record from before last_pulled_at that the index does not show yet', async () => {
    const { store } = harness();
    const user = uniqueUser('migration');
    const lagging = new LaggingIndexStore(store);
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(lagging))).timestamp;
    await pushChanges(user, create([`${user}-a`], t0), pushDeps(lagging));
    const after = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(lagging));
    expect(after.changes.activities.updated.map((x) => x.id)).toEqual([`${user}-a`]);
    const migration = { from: 1, tables: ['activities' as const], columns: [] };
    const r = await pullChanges(user, { lastPulledAt: after.timestamp, schemaVersion: 2, migration }, pullDeps(lagging));
    expect(r.changes.activities.updated.map((x) => x.id)).toEqual([`${user}-a`]);
  });

  it('the versions a copy keeps come back as written: run on from the first (one number), out of order, or partly unknown (a list)', async () => {
    const { store } = harness();
    const user = uniqueUser('encode');
    const policy = { inflightExpiryMs: 30_000, indexLagMs: 5_000 };
    const refs = ['a', 'b', 'c'].map((id) => ({ table: 'activities' as const, id: `${user}-${id}` }));
    const cases = [
      (s: number) => [s, s + 1, s + 2],
      (s: number) => [s + 2, s, s + 1],
      (s: number) => [s, undefined, s + 2],
    ];
    for (const stampsOf of cases) {
      const lease = await store.beginWrite(user, Date.now(), policy, undefined, 3, refs);
      const stamps = stampsOf(lease.stamp);
      const journal = refs.map((r, i) => (stamps[i] === undefined ? r : { ...r, stamp: stamps[i] as number }));
      await store.endWrite(user, [{ ...lease, journal }], Date.now());
      expect((await store.readClock(user, Date.now())).journals?.get(lease.id)).toEqual(journal);
    }
  });

  it('a copy without versions (a writer from before them): every journaled record is read', async () => {
    const { store } = harness();
    const user = uniqueUser('unstamped');
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    // An older writer: its leases settle with the keys alone.
    const older = new (class extends DelegatingStore {
      override endWrite(...[u, leases, n, d]: Parameters<SyncStore['endWrite']>) {
        return super.endWrite(u, leases.map((l) => (l.journal ? { ...l, journal: l.journal.map(({ table, id }) => ({ table, id })) } : l)), n, d);
      }
    })(store);
    await pushChanges(user, create([`${user}-a`, `${user}-b`], t0), pushDeps(older));
    expect([...((await store.readClock(user, Date.now())).journals?.values() ?? [])].flat().map((e) => e.stamp)).toEqual([undefined, undefined]);
    const counting = new CountingStore(store);
    const r = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(counting));
    expect(r.changes.activities.updated.map((x) => x.id).sort()).toEqual([`${user}-a`, `${user}-b`]);
    expect(counting.calls.getRecords).toBe(1);
  });

  it('a journal too large for the clock item is read from its item; the copies leave the clock item with their settled leases', async () => {
    const { store } = harness();
    const user = uniqueUser('large');
    let now = Date.now();
    const clock = () => now;
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store, {}, clock))).timestamp;
    const many = Array.from({ length: 120 }, (_, i) => `${user}-${String(i).padStart(3, '0')}`);
    await pushChanges(user, create(many, t0), pushDeps(store, {}, clock));
    const counting = new CountingStore(store);
    const r = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(counting, {}, clock));
    expect(r.changes.activities.updated).toHaveLength(120);
    expect(counting.calls.readJournals).toBe(1);
    const settled = await store.readClock(user, now);
    expect(settled.journals?.size).toBe(0);
    // Its versions came with the clock (one number): the index shows every record at its version.
    expect(settled.journalVersionRuns?.size).toBe(1);
    expect(counting.calls.getRecords).toBe(0);

    // A small push, then, once settled long ago, the next allocation removes its copy.
    await pushChanges(user, create([`${user}-small`], r.timestamp), pushDeps(store, {}, clock));
    expect((await store.readClock(user, now)).journals?.size).toBe(1);
    now += 60_000;
    await pushChanges(user, create([`${user}-later`], r.timestamp), pushDeps(store, {}, clock));
    const after = await store.readClock(user, now);
    expect(after.journals?.size).toBe(1); // only the last push's copy
    expect(after.journalVersionRuns?.size).toBe(0); // the large journal's versions left with its lease
    expect(after.settling).toHaveLength(1);
  });

  it('a journal too large for the clock item: a pull reads only the records the index does not show at the versions written', async () => {
    const { store } = harness();
    const user = uniqueUser('largever');
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    const many = Array.from({ length: 120 }, (_, i) => `${user}-${String(i).padStart(3, '0')}`);
    await pushChanges(user, create(many, t0), pushDeps(store));
    const t1 = (await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    // Every record edited in one push; the index lags for one of them, still showing its first version.
    const target = many[57] as string;
    const lagOne = new (class extends LaggingIndexStore {
      override putRecord(...a: Parameters<SyncStore['putRecord']>) {
        this.lag = a[1].id === target;
        return super.putRecord(...a);
      }
    })(store);
    const edit = parsePushBody(pushBody({ activities: { updated: many.map((id) => activityRaw(id, { notes: 'edited' })) } }, t1));
    await pushChanges(user, edit, pushDeps(lagOne));
    const clock = await store.readClock(user, Date.now());
    // Both pushes (the creation and the edit) settled within the window: one number each.
    expect(clock.journals?.size).toBe(0);
    expect(clock.journalVersionRuns?.size).toBe(2);
    const counting = new CountingStore(lagOne);
    const r = await pullChanges(user, { lastPulledAt: t1, schemaVersion: 2, migration: null }, pullDeps(counting));
    const pulled = r.changes.activities.updated;
    expect(pulled.map((x) => x.id).sort()).toEqual(many);
    expect(pulled.every((x) => x.notes === 'edited')).toBe(true);
    const stored = new Map((await store.getRecords(user, many.map((id) => ({ table: 'activities' as const, id })))).map((x) => [x.id, x.updated_at]));
    for (const x of pulled) expect(x.updated_at).toBe(stored.get(x.id));
    // The journal from its item, and the one record the index is behind on from the base table.
    expect(counting.calls.readJournals).toBe(1);
    expect(counting.recordsRead).toEqual([target]);
  });

  it("a journal of many chunks is read in its order, whatever order the store answers in: its versions number it", async () => {
    const { store } = harness();
    const user = uniqueUser('chunks');
    const now = Date.now();
    // Keys of ~250 bytes: 15,000 of them make 13 chunks of 300 KB (chunk 10 sorts before chunk 2).
    const refs = Array.from({ length: 15_000 }, (_, i) => ({ table: 'activities' as const, id: `${String(i).padStart(5, '0')}-${'k'.repeat(240)}` }));
    const policy = { inflightExpiryMs: 30_000, indexLagMs: 5_000 };
    const lease = await store.beginWrite(user, now, policy, undefined, refs.length, refs);
    await store.endWrite(user, [{ ...lease, journal: refs.map((r, i) => ({ ...r, stamp: lease.stamp + i })) }], now);
    const clock = await store.readClock(user, now);
    expect(clock.journalVersionRuns?.get(lease.id)).toBe(lease.stamp);
    const read = (await store.readJournals(user, [lease.id])).get(lease.id);
    expect(read?.map((r) => r.id)).toEqual(refs.map((r) => r.id));
  });

  it("a paged pull's later pages read the journals from their items (the copies may be gone by then)", async () => {
    const { store } = harness();
    const user = uniqueUser('paged');
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    const few = Array.from({ length: 6 }, (_, i) => `${user}-${i}`);
    await pushChanges(user, create(few, t0, 'n'.repeat(3_000)), pushDeps(store));
    const counting = new CountingStore(store);
    const deps = pullDeps(counting, { pageBytes: 7_000 });
    const sent: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null, cursor }, deps);
      sent.push(...page.changes.activities.updated.map((x) => x.id));
      cursor = page.cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    expect(sent.sort()).toEqual([...few].sort());
    expect(counting.calls.readJournals).toBe(pages - 1);
  });
});

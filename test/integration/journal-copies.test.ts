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
import { DelegatingStore } from '../support/faulty-store.js';
import { activityRaw, pushBody } from '../support/records.js';

const harness = useSyncTable();

class CountingStore extends DelegatingStore {
  readonly calls = { readJournals: 0, getRecords: 0, queryChanges: 0 };
  override readJournals(...a: Parameters<SyncStore['readJournals']>) {
    this.calls.readJournals += 1;
    return super.readJournals(...a);
  }
  override getRecords(...a: Parameters<SyncStore['getRecords']>) {
    this.calls.getRecords += 1;
    return super.getRecords(...a);
  }
  override queryChanges(...a: Parameters<SyncStore['queryChanges']>) {
    this.calls.queryChanges += 1;
    return super.queryChanges(...a);
  }
}

const create = (ids: string[], t: number | null, notes: string | null = null) => parsePushBody(pushBody({ activities: { created: ids.map((id) => activityRaw(id, { notes })) } }, t));

describe('journal copies on the clock item', () => {
  it('a 1-record delta right after a push: one Query and one consistent read of the record, no journal read', async () => {
    const { store } = harness();
    const user = uniqueUser('copy');
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store))).timestamp;
    await pushChanges(user, create([`${user}-a`], t0), pushDeps(store));
    const counting = new CountingStore(store);
    const r = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 2, migration: null }, pullDeps(counting));
    expect(r.changes.activities.updated.map((x) => x.id)).toEqual([`${user}-a`]);
    expect(counting.calls).toEqual({ readJournals: 0, getRecords: 1, queryChanges: 1 });
    expect((await store.readClock(user, Date.now())).journals?.size).toBe(1);
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
    expect((await store.readClock(user, now)).journals?.size).toBe(0);

    // A small push, then, once settled long ago, the next allocation removes its copy.
    await pushChanges(user, create([`${user}-small`], r.timestamp), pushDeps(store, {}, clock));
    expect((await store.readClock(user, now)).journals?.size).toBe(1);
    now += 60_000;
    await pushChanges(user, create([`${user}-later`], r.timestamp), pushDeps(store, {}, clock));
    const after = await store.readClock(user, now);
    expect(after.journals?.size).toBe(1); // only the last push's copy
    expect(after.settling).toHaveLength(1);
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

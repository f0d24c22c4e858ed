/**
 * Tombstones: they carry their TTL expiry, they leave the live index (so a first sync never reads
 * a tombstone it will not send: counted, not timed), and a pull from before the horizon is a
 * replacement sync (docs/sync-protocol.md, P10) — with virtual time, never waiting for it.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { recordSk, userPk } from '../../lambdas/adapters/dynamo/keys.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges, type PullResponse } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import type { ChangesPage, ChangesQuery, SyncStore } from '../../lambdas/core/store.js';
import { pullDeps, pushDeps, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, pushBody, settingRaw } from '../support/records.js';

const harness = useSyncTable();
const RETENTION_MS = 86_400_000;

/** Counts what the index Queries of a pull read: items and the capacity units the engine reports. */
function counting(store: SyncStore) {
  const read = { items: 0, capacity: 0, queries: 0, baseTableItems: 0 };
  const wrapped: SyncStore = Object.create(store) as SyncStore;
  wrapped.getRecords = async (userId, keys) => {
    read.baseTableItems += keys.length;
    return store.getRecords(userId, keys);
  };
  wrapped.queryChanges = async (userId: string, q: ChangesQuery): Promise<ChangesPage> => {
    const page = await store.queryChanges(userId, q);
    read.items += page.records.length;
    read.capacity += page.consumedCapacity ?? 0;
    read.queries += 1;
    return page;
  };
  return { store: wrapped, read };
}

async function pullAll(store: SyncStore, userId: string, lastPulledAt: number | null, now: () => number, pageBytes = 3_000_000) {
  const pages: PullResponse[] = [];
  let cursor: string | undefined;
  do {
    const page = await pullChanges(userId, { lastPulledAt, schemaVersion: 2, migration: null, cursor }, pullDeps(store, { pageBytes, tombstoneRetentionMs: RETENTION_MS, queryLimit: 100 }, now));
    pages.push(page);
    cursor = page.cursor;
  } while (cursor);
  return pages;
}

describe('tombstones', () => {
  it('a tombstone carries expires_at (delete stamp + retention, epoch seconds) and leaves the live index; a record brought back loses both', async () => {
    const { store, db, tableName } = harness();
    const user = uniqueUser('expiry');
    const deps = pushDeps(store, { tombstoneRetentionMs: RETENTION_MS });
    await pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw(`${user}-a`)] }, settings: { created: [settingRaw('units', 'km')] } }, null)), deps);
    const item = async (sk: string) => (await db.send(new GetCommand({ TableName: tableName, Key: { pk: userPk(user), sk }, ConsistentRead: true }))).Item as Record<string, unknown>;
    const live = await item(recordSk('activities', `${user}-a`));
    expect(live.live_at).toBe(live.updated_at);
    expect(live.expires_at).toBeUndefined();

    const { timestamp } = await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store));
    await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: [`${user}-a`] }, settings: { deleted: ['units'] } }, timestamp)), deps);
    for (const sk of [recordSk('activities', `${user}-a`), recordSk('settings', 'units')]) {
      const tomb = await item(sk);
      expect(tomb.live_at).toBeUndefined();
      expect(tomb.expires_at).toBe(Math.ceil((Number(tomb.deleted_at) + RETENTION_MS) / 1000));
    }
    // A setting re-created (a new life) is live again: in the live index, without an expiry.
    await pushChanges(user, parsePushBody(pushBody({ settings: { created: [settingRaw('units', 'mi')] } }, null)), deps);
    const back = await item(recordSk('settings', 'units'));
    expect(back.deleted_at).toBeUndefined();
    expect(back.expires_at).toBeUndefined();
    expect(back.live_at).toBe(back.updated_at);
  });

  it('a first sync of an account with 20 live records and 180 tombstones reads the 20 only (the delta index would read all 200)', async () => {
    const { store } = harness();
    const user = uniqueUser('many-tombs');
    const ids = Array.from({ length: 200 }, (_, i) => `${user}-${i}`);
    // Virtual time frozen while writing (a loaded machine never hits the push's write window).
    let now = Date.now();
    const deps = pushDeps(store, {}, () => now);
    await pushChanges(user, parsePushBody(pushBody({ activities: { created: ids.map((id) => activityRaw(id)) } }, null)), deps);
    const { timestamp } = await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store, {}, () => now));
    await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: ids.slice(20) } }, timestamp)), deps);

    // Within INDEX_LAG_MS of the deletes the index may still show them live: the pull reads the
    // journaled records from the base table (exact, P5), tombstones included; the 20 live ones,
    // which the index shows at the version the creating push wrote (its journal's versions run on:
    // the first is on the clock item), are taken from the index.
    const inWindow = counting(store);
    const early = await pullAll(inWindow.store, user, null, () => now);
    expect(early.flatMap((p) => p.changes.activities.updated.map((r) => r.id)).sort()).toEqual(ids.slice(0, 20).sort());
    expect(inWindow.read.baseTableItems).toBe(180);

    now += 10_000; // past INDEX_LAG_MS: the index shows every write
    const after = counting(store);
    const pages = await pullAll(after.store, user, null, () => now);
    expect(pages.flatMap((p) => p.changes.activities.updated.map((r) => r.id)).sort()).toEqual(ids.slice(0, 20).sort());
    expect(pages.flatMap((p) => p.changes.activities.deleted)).toEqual([]);
    expect(after.read.items).toBe(20);
    expect(after.read.baseTableItems).toBe(0);

    // Before: a first sync read the delta index, tombstones included, and threw 180 away.
    const before = counting(store);
    const clock = await store.readClock(user, Date.now());
    let startAfter: ChangesPage['next'];
    do startAfter = (await before.store.queryChanges(user, { after: 0, upTo: clock.clock, limit: 100, ...(startAfter ? { startAfter } : {}) })).next;
    while (startAfter);
    expect(before.read.items).toBe(200);
    // Capacity as the engine reports it (DynamoDB Local reports Query capacity; dynalite may not).
    console.info(`first sync, 20 live + 180 tombstones: live index ${after.read.items} items / ${after.read.capacity} RCU in ${after.read.queries} queries; delta index ${before.read.items} items / ${before.read.capacity} RCU in ${before.read.queries} queries`);
    if (before.read.capacity > 0) expect(after.read.capacity).toBeLessThan(before.read.capacity / 4);
  });

  describe('the horizon (P10)', () => {
    /** A user with live records, a delete, and a device that pulled before it; `now` is virtual. */
    async function account(label: string) {
      const { store } = harness();
      const user = uniqueUser(label);
      const ids = Array.from({ length: 12 }, (_, i) => `${user}-${i}`);
      let offset = 0;
      const now = () => Date.now() + offset;
      await pushChanges(user, parsePushBody(pushBody({ activities: { created: ids.map((id) => activityRaw(id, { notes: 'x'.repeat(1000) })) } }, null)), pushDeps(store, {}, now));
      // The device pulls once the push has settled (INDEX_LAG_MS later), so its timestamp covers it.
      offset += 10_000;
      const devicePulledAt = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null }, pullDeps(store, {}, now))).timestamp;
      return { store, user, ids, now, devicePulledAt, advance: (ms: number) => (offset += ms) };
    }

    it('inside the horizon: an ordinary delta with the delete', async () => {
      const a = await account('inside');
      a.advance(RETENTION_MS / 2);
      await pushChanges(a.user, parsePushBody(pushBody({ activities: { deleted: [a.ids[0] as string] } }, a.devicePulledAt)), pushDeps(a.store, {}, a.now));
      const [page] = await pullAll(a.store, a.user, a.devicePulledAt, a.now);
      expect(page?.experimentalStrategy).toBeUndefined();
      expect(page?.changes.activities.deleted).toEqual([a.ids[0]]);
      expect(page?.changes.activities.updated).toEqual([]);
    });

    it('past the horizon with writes since: a replacement sync, every live record, no deletes, paged, every page marked', async () => {
      const a = await account('outside');
      await pushChanges(a.user, parsePushBody(pushBody({ activities: { deleted: [a.ids[0] as string] } }, a.devicePulledAt)), pushDeps(a.store, {}, a.now));
      a.advance(RETENTION_MS + 1000);
      const pages = await pullAll(a.store, a.user, a.devicePulledAt, a.now, 4000);
      expect(pages.length).toBeGreaterThanOrEqual(3);
      for (const p of pages) {
        expect(p.experimentalStrategy).toBe('replacement');
        expect(p.changes.activities.deleted).toEqual([]);
      }
      expect(pages.flatMap((p) => p.changes.activities.updated.map((r) => r.id)).sort()).toEqual(a.ids.slice(1).sort());
    });

    it('the first page pins the strategy: later pages stay a replacement (or a delta) as the horizon moves', async () => {
      const a = await account('pinned');
      // A delta large enough to page: every record edited, one deleted.
      const edited = a.ids.slice(1).map((id) => activityRaw(id, { notes: 'y'.repeat(1000) }));
      await pushChanges(a.user, parsePushBody(pushBody({ activities: { updated: edited, deleted: [a.ids[0] as string] } }, a.devicePulledAt)), pushDeps(a.store, {}, a.now));
      // Just inside the horizon at the first page, past it by the second.
      a.advance(RETENTION_MS - 20_000);
      const deps = (now: () => number) => pullDeps(a.store, { pageBytes: 4000, tombstoneRetentionMs: RETENTION_MS, queryLimit: 100 }, now);
      const first = await pullChanges(a.user, { lastPulledAt: a.devicePulledAt, schemaVersion: 2, migration: null }, deps(a.now));
      expect(first.experimentalStrategy).toBeUndefined();
      expect(first.cursor).toBeDefined();
      a.advance(60_000);
      const second = await pullChanges(a.user, { lastPulledAt: a.devicePulledAt, schemaVersion: 2, migration: null, cursor: first.cursor }, deps(a.now));
      expect(second.experimentalStrategy).toBeUndefined();
      // The horizon has moved past the device meanwhile: a new pull is a replacement.
      const fresh = await pullChanges(a.user, { lastPulledAt: a.devicePulledAt, schemaVersion: 2, migration: null }, deps(a.now));
      expect(fresh.experimentalStrategy).toBe('replacement');
      const next = await pullChanges(a.user, { lastPulledAt: a.devicePulledAt, schemaVersion: 2, migration: null, cursor: fresh.cursor }, deps(a.now));
      expect(next.experimentalStrategy).toBe('replacement');
    });

    it('past the horizon with nothing written since: an ordinary (empty) delta — an idle account is never re-sent whole', async () => {
      const a = await account('idle');
      a.advance(RETENTION_MS * 3);
      const [page] = await pullAll(a.store, a.user, a.devicePulledAt, a.now);
      expect(page?.experimentalStrategy).toBeUndefined();
      expect(page?.timestamp).toBe(a.devicePulledAt);
      expect(Object.values(page?.changes ?? {}).every((s) => s.updated.length === 0 && s.deleted.length === 0)).toBe(true);
    });
  });
});

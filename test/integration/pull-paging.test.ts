/** Paged pulls: one pinned timestamp, pages under the byte budget, union == one unpaged pull. */
import { describe, expect, it } from 'vitest';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges, type PullResponse } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { pullDeps, pushDeps, serverState, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, pushBody, settingRaw } from '../support/records.js';

const harness = useSyncTable();
const PAGE = 6_000;

async function pullAllPages(store: SyncStore, user: string, lastPulledAt: number | null, pageBytes: number, between?: (page: number) => Promise<void>) {
  const pages: PullResponse[] = [];
  let cursor: string | undefined;
  do {
    const page = await pullChanges(user, { lastPulledAt, schemaVersion: 1, migration: null, cursor }, pullDeps(store, { pageBytes, queryLimit: 7 }));
    pages.push(page);
    cursor = page.cursor;
    if (cursor && between) await between(pages.length);
  } while (cursor);
  return pages;
}

/** Seeds `n` activities; ids are global, so each test's user gets its own prefix. */
const seed = async (store: SyncStore, user: string, n: number, prefix = 'p') => {
  const raws = Array.from({ length: n }, (_, i) => activityRaw(`${prefix}${String(i).padStart(3, '0')}`, { notes: 'x'.repeat(300) }));
  await pushChanges(user, parsePushBody(pushBody({ activities: { created: raws } }, null)), pushDeps(store));
};

describe('paged pulls', () => {
  it('splits a large account into pages under the budget whose union equals one unpaged pull', async () => {
    const { store } = harness();
    const user = uniqueUser('pages');
    await seed(store, user, 80);
    const pages = await pullAllPages(store, user, null, PAGE);
    const unpaged = await pullAllPages(store, user, null, 3_000_000);
    expect(unpaged).toHaveLength(1);
    expect(pages.length).toBeGreaterThan(4);
    expect(new Set(pages.map((p) => p.timestamp)).size).toBe(1);
    for (const p of pages) {
      const { stats: _s, ...body } = p as PullResponse & { stats?: unknown };
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(PAGE);
    }
    const union = pages.flatMap((p) => p.changes.activities.updated);
    expect(union.map((r) => r.id)).toEqual(unpaged[0]?.changes.activities.updated.map((r) => r.id));
    expect(new Set(union.map((r) => r.id)).size).toBe(80);
  });

  it('changes made between pages are neither lost nor half-seen: the next pull brings them', async () => {
    const { store } = harness();
    const user = uniqueUser('between');
    await seed(store, user, 40, 'q');
    const device = new Map<string, Record<string, unknown>>();
    const apply = (p: PullResponse) => {
      for (const r of p.changes.activities.updated) device.set(r.id, r);
      for (const id of p.changes.activities.deleted) device.delete(id);
    };
    const base = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store))).timestamp;
    const pages = await pullAllPages(store, user, null, PAGE, async (n) => {
      if (n !== 1) return;
      // After page 1: edit a record already delivered and one not yet, create one, delete one not yet delivered.
      await pushChanges(
        user,
        parsePushBody(pushBody({ activities: { created: [activityRaw('new1')], updated: [activityRaw('q000', { title: 'e0' }), activityRaw('q039', { title: 'e39' })], deleted: ['q038'] } }, base)),
        pushDeps(store),
      );
    });
    pages.forEach(apply);
    apply(await pullChanges(user, { lastPulledAt: pages[0]!.timestamp, schemaVersion: 1, migration: null }, pullDeps(store)));
    const server = (await serverState(store, user)).activities ?? {};
    expect([...device.keys()].sort()).toEqual(Object.keys(server).sort());
    expect(device.get('q000')?.title).toBe('e0');
    expect(device.get('q039')?.title).toBe('e39');
    expect(device.has('q038')).toBe(false);
  });

  it('a 1-record delta pull reads one index page', async () => {
    const { store } = harness();
    const user = uniqueUser('delta');
    await seed(store, user, 30, 'd');
    // Steady state: both pulls run after the pushes before them have settled (index-lag window passed).
    const later = () => Date.now() + 10_000;
    const t = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store, {}, later))).timestamp;
    await pushChanges(user, parsePushBody(pushBody({ activities: { updated: [activityRaw('d007', { title: 'one' })] } }, t)), pushDeps(store));
    const delta = await pullChanges(user, { lastPulledAt: t, schemaVersion: 1, migration: null }, pullDeps(store, {}, later));
    expect(delta.changes.activities.updated.map((r) => r.id)).toEqual(['d007']);
    expect(delta.stats.roundTrips).toBe(1);
  });

  it('a migration sync sends every live record of the migrated table, older ones included', async () => {
    const { store } = harness();
    const user = uniqueUser('migration');
    await seed(store, user, 3, 'm');
    await pushChanges(user, parsePushBody(pushBody({ settings: { created: [settingRaw('units', 'km')] } }, null)), pushDeps(store));
    const settled = pullDeps(store, {}, () => Date.now() + 10_000);
    const t = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, settled)).timestamp;
    const r = await pullChanges(user, { lastPulledAt: t, schemaVersion: 1, migration: { from: 0, tables: ['settings'], columns: [] } }, settled);
    expect(r.changes.settings.updated.map((x) => x.id)).toEqual(['units']);
    expect(r.changes.activities.updated).toEqual([]);
  });
});

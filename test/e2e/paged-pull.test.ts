/**
 * End to end: an account several times larger than the pull page budget reaches fresh devices
 * through paged pulls (the adapter follows every cursor and merges the pages), first syncs and
 * delta syncs alike, and a cursor the server rejects makes the adapter restart the pull once.
 */
import { describe, expect, it } from 'vitest';
import type { FetchLike } from '../../client/index.js';
import { useLocalStack } from '../support/stack.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, withoutBookkeeping, type Device, type Values } from './support/devices.js';
import { recordingFetch, serverSnapshot } from './support/server.js';

const PAGE_BYTES = 20_000;

// Activity ids belong to one user only: each user's records carry the user's tag.
const activity = (i: number, tag = 'paula'): Values & { id: string } => ({
  id: `${tag}_act${String(i).padStart(4, '0')}`,
  sport: 'running',
  started_at: 1_767_225_600_000 + i * 86_400_000,
  distance_m: 5000 + i,
  title: `Run ${i}`,
  notes: `day ${i}: ${'tempo intervals, felt fine. '.repeat(75)}`,
});
const workout = (i: number, tag = 'paula'): Values & { id: string } => ({
  id: `${tag}_pw${String(i).padStart(4, '0')}`,
  plan_id: `${tag}_plan1`,
  scheduled_on: `2027-04-${String((i % 28) + 1).padStart(2, '0')}`,
  workout_type: i % 2 ? 'easy' : 'long',
  description: 'x'.repeat(200),
});

describe('e2e: paged pulls', () => {
  const stack = useLocalStack({ env: { PULL_PAGE_BYTES: String(PAGE_BYTES) } });
  failOnSyncDiagnostics();

  async function seededOwner(userId: string): Promise<Device> {
    const owner = await openDevice(stack(), userId, `${userId}-owner`);
    await owner.createMany('activities', Array.from({ length: 64 }, (_, i) => activity(i, userId)));
    await owner.create('plans', { name: 'Spring', status: 'active' }, `${userId}_plan1`);
    await owner.createMany('planned_workouts', Array.from({ length: 24 }, (_, i) => workout(i, userId)));
    await owner.sync();
    await owner.sync(); // takes the server's stamps of its own records
    return owner;
  }

  it('a fresh device receives an account several times the page budget, first sync and delta sync', async () => {
    const owner = await seededOwner('paula');
    const server = await serverSnapshot(stack(), 'paula');
    const serverBytes = new TextEncoder().encode(JSON.stringify(server)).length;
    expect(serverBytes, 'the account must be several pages large').toBeGreaterThan(5 * PAGE_BYTES);

    const fresh = await openDevice(stack(), 'paula', 'paula-fresh');
    const first = recordingFetch();
    await fresh.sync({ fetch: first.fetch });
    const pages = first.requests.filter((r) => r.method === 'GET');
    expect(pages.length, 'pages requested').toBeGreaterThanOrEqual(5);
    expect(pages[0]?.url.searchParams.get('cursor')).toBeNull();
    for (const p of pages.slice(1)) expect(p.url.searchParams.get('cursor')).toBeTruthy();
    expect(first.requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect(await fresh.snapshot()).toEqual(await owner.snapshot());
    expect(withoutBookkeeping(await fresh.snapshot())).toEqual(server);

    // Delta sync over several pages: updates and deletes spread over the whole index.
    const every = (n: number, step: number, from = 0) => Array.from({ length: Math.ceil((n - from) / step) }, (_, k) => from + k * step);
    await owner.updateMany('activities', every(64, 2).map((i) => [activity(i).id, { notes: `edited ${i} ${'z'.repeat(1500)}` }] as const));
    await owner.removeMany('activities', every(64, 4, 1).map((i) => activity(i).id));
    await owner.removeMany('planned_workouts', every(24, 3).map((i) => workout(i).id));
    await owner.sync();
    await owner.sync();

    const delta = recordingFetch();
    await fresh.sync({ fetch: delta.fetch });
    const deltaPages = delta.requests.filter((r) => r.method === 'GET');
    expect(deltaPages.length, 'delta pages requested').toBeGreaterThanOrEqual(3);
    const lastPulledAt = deltaPages[0]?.url.searchParams.get('last_pulled_at');
    expect(Number(lastPulledAt)).toBeGreaterThan(0);
    for (const p of deltaPages) expect(p.url.searchParams.get('last_pulled_at')).toBe(lastPulledAt);

    const after = await fresh.snapshot();
    expect(after.activities).toHaveLength(64 - 16);
    expect(after.planned_workouts).toHaveLength(16);
    expect(after).toEqual(await owner.snapshot());
    expect(withoutBookkeeping(after)).toEqual(await serverSnapshot(stack(), 'paula'));
  });

  it('restarts a pull once from its first page when the server rejects a cursor (400 invalid_cursor)', async () => {
    await seededOwner('quinn');
    const fresh = await openDevice(stack(), 'quinn', 'quinn-fresh');
    const seen: { cursor: string | null; status: number }[] = [];
    let tampered = false;
    // Alters the first cursor once, as an expired cursor or a rotated key would invalidate it.
    const tampering: FetchLike = async (url, init) => {
      const u = new URL(url);
      const cursor = u.searchParams.get('cursor');
      if (cursor && !tampered) {
        tampered = true;
        u.searchParams.set('cursor', `${cursor.slice(0, -2)}${cursor.endsWith('AA') ? 'BB' : 'AA'}`);
      }
      const res = await fetch(u, init);
      seen.push({ cursor: u.searchParams.get('cursor'), status: res.status });
      return res;
    };
    await fresh.sync({ fetch: tampering });

    const rejected = seen.filter((r) => r.status === 400);
    expect(rejected).toHaveLength(1);
    const restartAt = seen.findIndex((r) => r.status === 400) + 1;
    expect(seen[restartAt]?.cursor, 'the restart begins without a cursor').toBeNull();
    expect(seen.slice(restartAt + 1).length, 'and follows every page again').toBeGreaterThanOrEqual(4);
    expect(withoutBookkeeping(await fresh.snapshot())).toEqual(await serverSnapshot(stack(), 'quinn'));
  });
});

/**
 * End to end with the real WatermelonDB client: devices of one user (each its own LokiJS
 * database) edit online and offline, sync repeatedly through `client/` and the local stack, and
 * converge on the server's state; another user's device sees none of it.
 */
import { synchronize } from '@nozbe/watermelondb/sync/index.js';
import { describe, expect, it } from 'vitest';
import { TABLES } from '../../lambdas/core/schema.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, withoutBookkeeping, type Device, type Snapshot, type Values } from './support/devices.js';
import { serverSnapshot } from './support/server.js';

const activity = (o: Values = {}): Values => ({ sport: 'running', started_at: 1_767_225_600_000, duration_s: 1800, distance_m: 5000, gps_source: 'manual', ...o });
const plannedWorkout = (o: Values = {}): Values => ({ plan_id: 'plan1', scheduled_on: '2027-03-01', workout_type: 'easy', target_distance_m: 8000, ...o });

const ids = (s: Snapshot, table: keyof Snapshot) => s[table].map((r) => r.id as string);
const find = (s: Snapshot, table: keyof Snapshot, id: string) => s[table].find((r) => r.id === id);

async function syncRounds(devices: readonly Device[], rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const d of devices) await d.sync();
}

/** Every device holds exactly the server's live records, column by column, all synced. */
async function expectConverged(devices: readonly Device[], server: Snapshot): Promise<Snapshot> {
  const [first, ...others] = await Promise.all(devices.map((d) => d.snapshot()));
  const reference = first as Snapshot;
  for (const d of devices) expect(await d.hasUnsyncedChanges(), `${d.name} has unsynced changes`).toBe(false);
  for (const t of TABLES) {
    for (const raw of reference[t.name as keyof Snapshot]) {
      expect(Object.keys(raw).sort(), `${t.name}#${raw.id} columns`).toEqual(
        ['id', '_status', '_changed', 'created_at', 'updated_at', ...t.columns.map((c) => c.name)].sort(),
      );
      expect(raw._status).toBe('synced');
      expect(raw.created_at, 'server-assigned created_at reached the device').toBeGreaterThan(0);
    }
    others.forEach((s, i) => expect(s[t.name as keyof Snapshot], `${devices[i + 1]?.name} vs ${devices[0]?.name}: ${t.name}`).toEqual(reference[t.name as keyof Snapshot]));
    expect(withoutBookkeeping(reference)[t.name as keyof Snapshot], `${devices[0]?.name} vs server: ${t.name}`).toEqual(server[t.name as keyof Snapshot]);
  }
  return reference;
}

describe('e2e: WatermelonDB devices syncing through the local stack', () => {
  const stack = useLocalStack();
  const diagnostics = failOnSyncDiagnostics();

  it('the [Sync] console guard catches the diagnostic WatermelonDB logs for a pulled `created` record', async () => {
    const device = await openDevice(stack(), 'guard-user', 'guard');
    await synchronize({
      database: device.database,
      sendCreatedAsUpdated: true,
      pullChanges: async () => ({ changes: { activities: { created: [{ id: 'x1', ...activity() }], updated: [], deleted: [] } }, timestamp: 1 }),
    });
    expect(diagnostics.take()).toEqual([expect.stringContaining("[Sync] 'sendCreatedAsUpdated' option is enabled")]);
  });

  it('three devices of one user converge after creates, updates, deletes and offline edits on each, and the server agrees', async () => {
    const s = stack();
    const devices = await Promise.all(['A', 'B', 'C'].map((n) => openDevice(s, 'alice', n)));
    const [a, b, c] = devices as [Device, Device, Device];

    // Online: A creates the first data set, B and C receive it on their first sync.
    await a.createMany('activities', [activity({ id: 'act1', title: 'Morning run' }), activity({ id: 'act2' }), activity({ id: 'act3', notes: 'hills' })]);
    await a.create('plans', { name: 'Marathon', goal: 'sub 4h', race_date: 1_790_000_000_000, status: 'active' }, 'plan1');
    await a.createMany('planned_workouts', [plannedWorkout({ id: 'pw1' }), plannedWorkout({ id: 'pw2', scheduled_on: '2027-03-03' })]);
    await a.create('settings', { value: '"km"' }, 'units');
    await syncRounds(devices, 1);
    for (const d of [b, c]) {
      const snap = await d.snapshot();
      expect(ids(snap, 'activities'), d.name).toEqual(['act1', 'act2', 'act3']);
      expect(ids(snap, 'planned_workouts'), d.name).toEqual(['pw1', 'pw2']);
    }

    // Offline, on all three devices at once.
    await a.update('activities', 'act1', { notes: 'felt strong' });
    await a.update('planned_workouts', 'pw1', { description: 'A: keep it easy' });
    await a.remove('planned_workouts', 'pw2');
    await a.create('activities', activity({ title: 'from A' }), 'act4');
    await a.create('settings', { value: '"dark"' }, 'theme');

    await b.update('activities', 'act1', { title: 'Sunrise run' }); // same record as A, another column
    await b.update('planned_workouts', 'pw2', { workout_type: 'tempo' }); // A deletes it meanwhile
    await b.remove('activities', 'act2');
    await b.create('activities', activity({ title: 'from B' }), 'act5');
    await b.create('settings', { value: '"light"' }, 'theme'); // same key as A: one record

    await c.update('activities', 'act2', { distance_m: 9999 }); // B deletes it meanwhile
    await c.update('activities', 'act3', { perceived_effort: 7 });
    await c.update('planned_workouts', 'pw1', { description: 'C: strides at the end' }); // same column as A
    await c.create('activities', activity({ title: 'from C' }), 'act6');

    await syncRounds(devices, 1);

    // The echo trap: C's own record comes back in its next pull (as `updated`) after C deleted
    // it; WatermelonDB must ignore it and push the delete instead of re-creating the record.
    await c.create('activities', activity({ title: 'short-lived' }), 'act7');
    await c.sync();
    await b.sync();
    await c.remove('activities', 'act7');
    await c.update('activities', 'act6', { notes: 'second edit' });
    await b.update('activities', 'act6', { elevation_gain_m: 42 });

    await syncRounds(devices, 2);
    const converged = await expectConverged(devices, await serverSnapshot(s, 'alice'));

    expect(ids(converged, 'activities')).toEqual(['act1', 'act3', 'act4', 'act5', 'act6']);
    expect(find(converged, 'activities', 'act1')).toMatchObject({ title: 'Sunrise run', notes: 'felt strong' });
    expect(find(converged, 'activities', 'act3')).toMatchObject({ notes: 'hills', perceived_effort: 7 });
    expect(find(converged, 'activities', 'act6')).toMatchObject({ title: 'from C', notes: 'second edit', elevation_gain_m: 42 });
    expect(ids(converged, 'planned_workouts')).toEqual(['pw1']);
    // Plans: the server wins. A's edit reached the server first; C met it in its pull and lost.
    expect(find(converged, 'planned_workouts', 'pw1')).toMatchObject({ description: 'A: keep it easy' });
    expect(ids(converged, 'settings')).toEqual(['theme', 'units']);
    // Settings: last write received wins. A pushed `theme` first, B (syncing after A) last.
    expect(find(converged, 'settings', 'theme')).toMatchObject({ value: '"light"' });
    // What the rules discarded is in the conflict log.
    const log = await apiAs(s, await s.token('alice')).conflicts();
    const lost = (table: string, id: string) => log.filter((c) => c.table === table && c.record_id === id).map((c) => [c.rule, c.losing_action, c.losing]);
    expect(lost('planned_workouts', 'pw1')).toEqual([['plan-server-wins', 'update', { description: 'C: strides at the end' }]]);
    expect(lost('settings', 'theme')).toEqual([['settings-last-write-wins', 'update', { value: '"dark"' }]]);
    // C's edit of the activity B deleted (a pull brought C the delete, so C logged it).
    expect(lost('activities', 'act2')).toContainEqual(['delete-wins', 'update', { distance_m: 9999 }]);
    expect(lost('planned_workouts', 'pw2')).toEqual([['delete-wins', 'update', { workout_type: 'tempo' }]]);

    // Once converged, more syncs change nothing.
    await syncRounds(devices, 1);
    expect(await a.snapshot()).toEqual(converged);
  });

  it("another user's device sees none of the first user's data, and a settings key both users have stays two records", async () => {
    const s = stack();
    const owner = await openDevice(s, 'carol', 'carol-1');
    await owner.createMany('activities', [activity({ id: 'c1', title: "carol's" }), activity({ id: 'c2' })]);
    await owner.create('settings', { value: '"km"' }, 'units');
    await owner.sync();
    const carolBefore = await serverSnapshot(s, 'carol');
    expect(ids(carolBefore, 'activities')).toEqual(['c1', 'c2']);

    const other = await openDevice(s, 'dave', 'dave-1');
    await other.sync();
    const empty = await other.snapshot();
    for (const t of TABLES) expect(empty[t.name as keyof Snapshot], t.name).toEqual([]);

    // A settings id is the key, scoped to its user: dave's `units` is his own record, not carol's.
    await other.create('activities', activity({ title: "dave's" }), 'd1');
    await other.create('settings', { value: '"mi"' }, 'units');
    await other.sync();
    await other.sync();
    const dave = await other.snapshot();
    expect(ids(dave, 'activities')).toEqual(['d1']);
    expect(find(dave, 'activities', 'd1')).toMatchObject({ title: "dave's" });
    expect(find(dave, 'settings', 'units')).toMatchObject({ value: '"mi"' });
    expect(withoutBookkeeping(dave)).toEqual(await serverSnapshot(s, 'dave'));

    expect(await serverSnapshot(s, 'carol')).toEqual(carolBefore);
    await owner.sync();
    const carolDevice = withoutBookkeeping(await owner.snapshot());
    expect(carolDevice).toEqual(carolBefore);
  });
});

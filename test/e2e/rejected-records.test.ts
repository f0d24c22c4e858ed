/**
 * End to end: one bad record never blocks a phone. A real WatermelonDB device pushes 200 valid
 * activities and 3 invalid records; the server stores the 200, rejects the 3 with reasons, the
 * device keeps the 3 dirty and the app is told; after the app fixes them the next sync stores them.
 */
import { Q } from '@nozbe/watermelondb';
import { describe, expect, it } from 'vitest';
import { getRejectedRecords, getSyncStatus, type SyncRejection } from '../../client/index.js';
import { MAX_STRING_BYTES } from '../../lambdas/core/schema.js';
import { useLocalStack } from '../support/stack.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, type Values } from './support/devices.js';
import { recordingFetch, serverSnapshot } from './support/server.js';

const activity = (i: number): Values & { id: string } => ({
  id: `ok${String(i).padStart(3, '0')}`,
  sport: 'running',
  started_at: 1_767_225_600_000 + i * 3_600_000,
  distance_m: 5000 + i,
});

describe('e2e: per-record rejection', () => {
  const stack = useLocalStack();
  failOnSyncDiagnostics();

  it('200 valid and 3 invalid records: 200 stored, 3 rejected with reasons and kept dirty; fixed, the next sync stores them', async () => {
    const s = stack();
    const phone = await openDevice(s, 'iris', 'iris-phone');
    await phone.sync();
    await phone.createMany('activities', Array.from({ length: 200 }, (_, i) => activity(i)));
    // An app bug writes notes over the column limit, a stale app version an unknown enum value,
    // and a setting whose value is not JSON.
    await phone.createMany('activities', [
      { ...activity(900), id: 'badnotes', notes: 'n'.repeat(MAX_STRING_BYTES + 1) },
      { ...activity(901), id: 'badenum', gps_source: 'strava' },
    ]);
    await phone.create('settings', { value: 'km' }, 'units');

    const told: SyncRejection[][] = [];
    const rec = recordingFetch();
    await phone.sync({ fetch: rec.fetch, onRejected: (r) => told.push([...r]) });

    // One push request, accepted (the sync resolved: not a 400 the device would retry forever).
    expect(rec.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    const server = await serverSnapshot(s, 'iris');
    expect(server.activities.map((r) => r.id)).toEqual(Array.from({ length: 200 }, (_, i) => activity(i).id));
    expect(server.settings).toEqual([]);

    const expected = [
      { table: 'activities', id: 'badnotes', field: 'notes', message: /at most 16384 bytes/ },
      { table: 'activities', id: 'badenum', field: 'gps_source', message: /garmin/ },
      { table: 'settings', id: 'units', field: 'value', message: /JSON/ },
    ];
    const matchesExpected = (list: readonly SyncRejection[]) => {
      expect(list.map((r) => `${r.table}/${r.id}`).sort()).toEqual(expected.map((e) => `${e.table}/${e.id}`).sort());
      for (const e of expected) {
        const r = list.find((x) => x.table === e.table && x.id === e.id);
        expect(r?.details).toEqual([expect.objectContaining({ table: e.table, record_id: e.id, field: e.field, message: expect.stringMatching(e.message) })]);
      }
    };
    expect(told).toHaveLength(1);
    matchesExpected(told[0] as SyncRejection[]);
    matchesExpected(await getRejectedRecords(phone.database));

    // The device keeps exactly the 3 dirty; the 200 are synced.
    const dirty = async (table: 'activities' | 'settings') =>
      (await phone.database.get(table).query(Q.where('_status', Q.notEq('synced'))).fetch()).map((r) => r.id).sort();
    expect(await dirty('activities')).toEqual(['badenum', 'badnotes']);
    expect(await dirty('settings')).toEqual(['units']);
    const status = await getSyncStatus({ database: phone.database });
    expect(status).toMatchObject({ state: 'pending', unsyncedRecords: 3, rejectedRecords: 3 });

    // Syncing again unfixed: the same 3 are rejected again, nothing else changes on the server.
    await phone.sync();
    matchesExpected(await getRejectedRecords(phone.database));
    expect(await serverSnapshot(s, 'iris')).toEqual(server);

    // The app fixes them (an update of the app writes valid values): the next sync stores them.
    await phone.update('activities', 'badnotes', { notes: 'fine' });
    await phone.update('activities', 'badenum', { gps_source: 'garmin' });
    await phone.update('settings', 'units', { value: '"km"' });
    const fixed: SyncRejection[][] = [];
    await phone.sync({ onRejected: (r) => fixed.push([...r]) });
    expect(fixed).toEqual([]);
    expect(await getRejectedRecords(phone.database)).toEqual([]);
    expect(await phone.hasUnsyncedChanges()).toBe(false);
    const after = await serverSnapshot(s, 'iris');
    expect(after.activities).toHaveLength(202);
    expect(after.activities.find((r) => r.id === 'badnotes')?.notes).toBe('fine');
    expect(after.activities.find((r) => r.id === 'badenum')?.gps_source).toBe('garmin');
    expect(after.settings).toEqual([expect.objectContaining({ id: 'units', value: '"km"' })]);

    // Another device of the user receives everything.
    const tablet = await openDevice(s, 'iris', 'iris-tablet');
    await tablet.sync();
    const snap = await tablet.snapshot();
    expect(snap.activities).toHaveLength(202);
    expect(snap.settings.map((r) => r.id)).toEqual(['units']);
  });
});

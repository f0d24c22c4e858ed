/**
 * The device judges a pulled version by the columns someone else changed after its base
 * (`remoteChangedColumns`): `_versions` stamps each column's last change, `_own_since` (sent only
 * to the device that wrote the version) says which of those changes are the device's own (R8a).
 */
import { describe, expect, it } from 'vitest';
import { remoteChangedColumns } from '../../client/conflicts.js';
import { tableDef, type TableDef } from '../../lambdas/core/schema.js';

const plans = tableDef('plans') as TableDef;
const activities = tableDef('activities') as TableDef;
const CREATED = 100;
// Activity created at 100; notes changed at 200 (another device), title at 300 (this device).
const merged = { id: 'a1', created_at: CREATED, updated_at: 300, _versions: { notes: 200, title: 300 } };

describe('remoteChangedColumns', () => {
  it('without _own_since: every column stamped after the base', () => {
    expect(remoteChangedColumns(activities, merged, 150)?.sort()).toEqual(['notes', 'title']);
    expect(remoteChangedColumns(activities, merged, 250)).toEqual(['title']);
    expect(remoteChangedColumns(activities, merged, 300)).toEqual([]);
    // Columns not in _versions last changed at created_at.
    expect(remoteChangedColumns(activities, merged, 50)?.length).toBe(activities.columns.length);
  });

  it("with _own_since: the columns stamped after it are the device's own, not changes it missed", () => {
    expect(remoteChangedColumns(activities, { ...merged, _own_since: 200 }, 150)).toEqual(['notes']);
    expect(remoteChangedColumns(activities, { ...merged, _own_since: 200 }, 50)?.sort()).toEqual(
      activities.columns.map((c) => c.name).filter((c) => c !== 'title').sort(),
    );
  });

  it('an own run that began at or before the base: nothing changed (R8a), also for a plan judged per record', () => {
    expect(remoteChangedColumns(activities, { ...merged, _own_since: 150 }, 150)).toEqual([]);
    expect(remoteChangedColumns(plans, { id: 'p1', created_at: 500, updated_at: 700, _versions: { goal: 700 }, _own_since: 0 }, 400)).toEqual([]);
  });

  it('no base (a first sync): every column, unless the version is the device\'s own', () => {
    expect(remoteChangedColumns(activities, merged, null)).toBeUndefined();
    expect(remoteChangedColumns(plans, { id: 'p1', created_at: 500, updated_at: 700, _own_since: 0 }, null)).toEqual([]);
    expect(remoteChangedColumns(activities, { ...merged, _own_since: 200 }, null)?.sort()).toEqual(
      activities.columns.map((c) => c.name).filter((c) => c !== 'title').sort(),
    );
  });

  it('no stamps from the server (an older server): undefined, every column counts', () => {
    expect(remoteChangedColumns(activities, { id: 'a1' }, 100)).toBeUndefined();
  });
});

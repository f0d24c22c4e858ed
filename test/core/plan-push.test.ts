import { describe, expect, it } from 'vitest';
import { resolveConflict } from '../../lambdas/core/conflict.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { normalizeChanges, planPush, planRecord, type RecordChange } from '../../lambdas/core/plan-push.js';
import { recordKey, type StoredRecord } from '../../lambdas/core/records.js';

const STAMP = 5_000;
const ctx = (lastPulledAt: number | null) => ({ stamp: STAMP, lastPulledAt, policy: resolveConflict });
const full = { sport: 'running', started_at: 1, duration_s: null, distance_m: 1000, elevation_gain_m: null, avg_heart_rate: null, route_polyline: null, gps_source: 'manual', title: 't', notes: null, perceived_effort: null, upload_id: null };
const stored = (o: Partial<StoredRecord> = {}): StoredRecord => ({ table: 'activities', id: 'a1', data: { ...full }, created_at: 100, updated_at: 200, deleted_at: null, ...o });
const change = (o: Partial<RecordChange>): RecordChange => ({ table: 'activities', id: 'a1', kind: 'updated', values: { ...full }, changedColumns: [], path: 'changes.activities.updated.0', ...o });

describe('planRecord — push rules (docs/sync-protocol.md)', () => {
  // Each row: a change against what is stored → the action and the stored result.
  const rows: { name: string; change: RecordChange; stored?: StoredRecord; lastPulledAt: number | null; action: string; expect?: Partial<StoredRecord> | 'no-write' }[] = [
    { name: 'R4 created on a new id → create, server stamps', change: change({ kind: 'created', changedColumns: Object.keys(full) }), lastPulledAt: 300, action: 'create', expect: { created_at: STAMP, updated_at: STAMP, deleted_at: null } },
    { name: 'R4 created on an existing id → update', change: change({ kind: 'created', values: { ...full, title: 'new' }, changedColumns: Object.keys(full) }), stored: stored(), lastPulledAt: 300, action: 'update', expect: { created_at: 100, updated_at: STAMP, data: { ...full, title: 'new' } } },
    { name: 'R5 updated on a missing id → create', change: change({ changedColumns: ['title'] }), lastPulledAt: 300, action: 'create', expect: { created_at: STAMP, data: full } },
    { name: 'R6 deleted on a missing id → no-op', change: change({ kind: 'deleted', values: {} }), lastPulledAt: 300, action: 'noop', expect: 'no-write' },
    { name: 'R6 deleted on a tombstone → no-op', change: change({ kind: 'deleted', values: {} }), stored: stored({ deleted_at: 250, updated_at: 250 }), lastPulledAt: 300, action: 'noop', expect: 'no-write' },
    { name: 'R6 deleted on a live record → tombstone keeping its values', change: change({ kind: 'deleted', values: {} }), stored: stored(), lastPulledAt: 300, action: 'delete', expect: { deleted_at: STAMP, updated_at: STAMP, data: full } },
    { name: 'R7 values already stored → no-op (retried push)', change: change({ changedColumns: ['title'] }), stored: stored({ updated_at: 900 }), lastPulledAt: 300, action: 'noop', expect: 'no-write' },
    { name: 'update of only the changed columns', change: change({ values: { ...full, title: 'mine', notes: 'stale' }, changedColumns: ['title'] }), stored: stored({ data: { ...full, notes: 'server' } }), lastPulledAt: 300, action: 'update', expect: { data: { ...full, title: 'mine', notes: 'server' } } },
    { name: 'conflict (stored changed after last pull) → placeholder policy: client wins per column', change: change({ values: { ...full, title: 'mine' }, changedColumns: ['title'] }), stored: stored({ updated_at: 400, data: { ...full, notes: 'server' } }), lastPulledAt: 300, action: 'update', expect: { data: { ...full, title: 'mine', notes: 'server' } } },
    { name: 'conflict: delete of a record changed after last pull → delete wins (placeholder)', change: change({ kind: 'deleted', values: {} }), stored: stored({ updated_at: 400 }), lastPulledAt: 300, action: 'delete', expect: { deleted_at: STAMP } },
    { name: 'edit of a record deleted after last pull → discarded (delete wins)', change: change({ values: { ...full, title: 'x' }, changedColumns: ['title'] }), stored: stored({ updated_at: 400, deleted_at: 400 }), lastPulledAt: 300, action: 'discard', expect: 'no-write' },
    { name: 're-create of a record deleted before last pull → resurrect', change: change({ kind: 'created', values: { ...full, title: 'again' }, changedColumns: Object.keys(full) }), stored: stored({ updated_at: 250, deleted_at: 250 }), lastPulledAt: 300, action: 'resurrect', expect: { deleted_at: null, created_at: STAMP, data: { ...full, title: 'again' } } },
    { name: 'last_pulled_at null: any stored record counts as changed', change: change({ values: { ...full, title: 'mine' }, changedColumns: ['title'] }), stored: stored({ updated_at: 1 }), lastPulledAt: null, action: 'update', expect: { data: { ...full, title: 'mine' } } },
  ];

  for (const row of rows) {
    it(row.name, () => {
      const { write, outcome } = planRecord(row.change, row.stored, ctx(row.lastPulledAt));
      expect(outcome.action).toBe(row.action);
      if (row.expect === 'no-write') expect(write).toBeUndefined();
      else {
        expect(write?.record).toMatchObject(row.expect ?? {});
        expect(write?.expectedUpdatedAt).toBe(row.stored ? row.stored.updated_at : null);
      }
    });
  }

  it('reports a conflict only when the stored record changed after the last pull and values differ', () => {
    const c = change({ values: { ...full, title: 'mine' }, changedColumns: ['title'] });
    expect(planRecord(c, stored({ updated_at: 400, column_versions: { title: 400 } }), ctx(300)).outcome.conflict).toEqual({
      against: 400,
      lost: [{ rule: 'activity-fields-client-wins', losingAction: 'update', losing: { title: 't' }, winning: { title: 'mine' } }],
    });
    expect(planRecord(c, stored({ updated_at: 200 }), ctx(300)).outcome.conflict).toBeUndefined();
    // Changed after the pull, but only in another column: the device's title is simply applied.
    const other = planRecord(c, stored({ updated_at: 400, column_versions: { notes: 400 } }), ctx(300));
    expect(other.outcome).toMatchObject({ action: 'update' });
    expect(other.outcome.conflict).toBeUndefined();
    expect(other.write?.record.data).toMatchObject({ title: 'mine' });
  });

  it('rejects a new record that lacks a required column, naming table, id and field', () => {
    const { sport: _omit, ...partial } = full;
    const c = change({ kind: 'created', values: partial, changedColumns: Object.keys(partial) });
    expect(detailsOf(() => planRecord(c, undefined, ctx(300)))).toEqual([
      expect.objectContaining({ table: 'activities', record_id: 'a1', field: 'sport' }),
    ]);
    expect(planPush([c], new Map(), ctx(300)).rejected).toEqual([
      { table: 'activities', id: 'a1', details: [expect.objectContaining({ table: 'activities', record_id: 'a1', field: 'sport' })] },
    ]);
  });
});

function detailsOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.details;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('normalizeChanges', () => {
  it('uses _changed as the changed columns of an update, ignoring unknown names', () => {
    const [c] = normalizeChanges({ activities: { created: [], updated: [{ id: 'a1', ...full, _status: 'updated', _changed: 'title,updated_at,notes' }], deleted: [] } });
    expect(c?.changedColumns).toEqual(['title', 'notes']);
  });
  it('treats every sent column as changed without _changed, and all of a created record', () => {
    const out = normalizeChanges({ activities: { created: [{ id: 'c1', sport: 'x', started_at: 1 }], updated: [{ id: 'u1', title: 'y' }], deleted: ['d1'] } });
    expect(out.map((c) => [c.id, c.kind, c.changedColumns])).toEqual([
      ['c1', 'created', ['sport', 'started_at']],
      ['u1', 'updated', ['title']],
      ['d1', 'deleted', []],
    ]);
  });
  it('rejects a non-empty change to the server-owned uploads table, accepts empty arrays', () => {
    expect(normalizeChanges({ uploads: { created: [], updated: [], deleted: [] } })).toEqual([]);
    expect(detailsOf(() => normalizeChanges({ uploads: { created: [], updated: [], deleted: ['u1'] } }))).toEqual([
      expect.objectContaining({ table: 'uploads', message: expect.stringMatching(/server-owned/) }),
    ]);
  });
  it('rejects the same id twice in one table', () => {
    expect(detailsOf(() => normalizeChanges({ settings: { created: [{ id: 'units', value: '"km"' }], updated: [], deleted: ['units'] } }))).toEqual([
      expect.objectContaining({ table: 'settings', record_id: 'units', message: expect.stringMatching(/more than once/) }),
    ]);
  });
});

describe('planPush', () => {
  it('plans every record; one that cannot be created is rejected alone, with its reasons, and takes no stamp', () => {
    const good = change({ id: 'g', kind: 'created', changedColumns: Object.keys(full) });
    const bad = change({ id: 'b', kind: 'created', values: { title: 'x' }, changedColumns: ['title'] });
    const good2 = change({ id: 'g2', kind: 'created', changedColumns: Object.keys(full) });
    expect(planPush([good], new Map(), ctx(1)).writes).toHaveLength(1);
    const plan = planPush([good, bad, good2], new Map(), ctx(1));
    expect(plan.writes.map((w) => [w.record.id, w.record.updated_at])).toEqual([['g', STAMP], ['g2', STAMP + 1]]);
    expect(plan.outcomes.map((o) => o.id)).toEqual(['g', 'g2']);
    expect(plan.rejected).toEqual([
      { table: 'activities', id: 'b', details: expect.arrayContaining([expect.objectContaining({ table: 'activities', record_id: 'b', field: 'sport' })]) },
    ]);
    // The same record is valid once it exists: an edit of a stored record needs no required column.
    const existing = new Map([[recordKey('activities', 'b'), stored({ id: 'b' })]]);
    expect(planPush([good, bad], existing, ctx(1)).rejected).toEqual([]);
  });
  it('looks records up by table and id', () => {
    const current = new Map([[recordKey('activities', 'a1'), stored()]]);
    const { outcomes } = planPush([change({ kind: 'deleted', values: {} })], current, ctx(300));
    expect(outcomes[0]?.action).toBe('delete');
  });
});

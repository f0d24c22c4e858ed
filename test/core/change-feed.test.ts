/** The change feed's pure decisions: which writes are events, their type and detail; PutEvents batching. */
import { describe, expect, it } from 'vitest';
import { changeEventOf, DETAIL_TYPES, entrySize, PUT_EVENTS_MAX_BYTES, putEventsBatches, type ChangeEvent } from '../../lambdas/core/change-feed.js';
import type { StoredRecord } from '../../lambdas/core/records.js';

const rec = (o: Partial<StoredRecord> & { data: StoredRecord['data'] }): StoredRecord => ({ table: 'planned_workouts', id: 'w1', created_at: 10, updated_at: 10, deleted_at: null, ...o });
const base = rec({ data: { plan_id: 'p', scheduled_on: '2027-03-01', workout_type: 'easy', target_distance_m: null, description: null } });

describe('changeEventOf', () => {
  it('a new record → <table>.created: every column with a value changed, previous_version null', () => {
    expect(changeEventOf('u1', undefined, base, 'device')).toEqual({
      id: 'planned_workouts:w1:10:u1',
      source: 'runningcoach.sync',
      detailType: 'planned_workouts.created',
      detail: { event_id: 'planned_workouts:w1:10:u1', user_id: 'u1', table: 'planned_workouts', record_id: 'w1', change: 'created', version: 10, previous_version: null, changed: ['plan_id', 'scheduled_on', 'workout_type'], values: base.data, writer: 'device' },
    });
  });
  it('an update → the columns whose value changed, with the writer', () => {
    const after = { ...base, updated_at: 12, data: { ...base.data, scheduled_on: '2027-03-02', description: 'x' } };
    expect(changeEventOf('u1', base, after, 'plan-engine')?.detail).toMatchObject({ change: 'updated', version: 12, previous_version: 10, changed: ['description', 'scheduled_on'], writer: 'plan-engine' });
  });
  it('a tombstone → deleted (last values, no changed columns); a resurrection → created; a tombstone rewritten, a removed item, the same version → nothing', () => {
    const tomb = { ...base, updated_at: 13, deleted_at: 13 };
    expect(changeEventOf('u1', base, tomb, 'device')).toMatchObject({ detailType: 'planned_workouts.deleted', detail: { change: 'deleted', changed: [], values: base.data } });
    const back = { ...base, created_at: 14, updated_at: 14 };
    expect(changeEventOf('u1', tomb, back, 'restore')?.detailType).toBe('planned_workouts.created');
    expect(changeEventOf('u1', tomb, { ...tomb, updated_at: 15 }, 'device')).toBeUndefined();
    expect(changeEventOf('u1', tomb, undefined, 'device')).toBeUndefined();
    expect(changeEventOf('u1', base, { ...base }, 'device')).toBeUndefined();
  });
  it('uploads: a status becoming processed or failed has its own detail type; other upload changes do not', () => {
    const up = rec({ table: 'uploads', id: 'u', data: { kind: 'fit', content_type: 'x', size_bytes: 1, activity_id: null, status: 'pending', error: null } });
    const at = (n: number, status: string) => ({ ...up, updated_at: n, data: { ...up.data, status } });
    expect(changeEventOf('u1', undefined, up, 'upload-service')?.detailType).toBe('uploads.created');
    expect(changeEventOf('u1', up, at(11, 'processing'), 'upload-service')?.detailType).toBe('uploads.updated');
    expect(changeEventOf('u1', at(11, 'processing'), at(12, 'processed'), 'upload-service')?.detailType).toBe('uploads.processed');
    expect(changeEventOf('u1', at(11, 'processing'), at(12, 'failed'), 'upload-service')?.detailType).toBe('uploads.failed');
    expect(changeEventOf('u1', at(12, 'processed'), { ...at(13, 'processed'), data: { ...at(13, 'processed').data, error: 'x' } }, 'upload-service')?.detailType).toBe('uploads.updated');
    expect(DETAIL_TYPES).toEqual(expect.arrayContaining(['uploads.processed', 'uploads.failed', 'activities.created', 'settings.deleted']));
  });
});

describe('putEventsBatches', () => {
  const ev = (n: number, bytes = 10): { event: ChangeEvent; n: number } => ({ n, event: { ...changeEventOf('u', undefined, rec({ id: `w${n}`, data: { description: 'x'.repeat(bytes) } }), 'device')! } });
  it('at most 10 entries and 256 KiB per request, in order', () => {
    const batches = putEventsBatches(Array.from({ length: 23 }, (_, i) => ev(i)));
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches.flat().map((b) => b.n)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    const big = putEventsBatches([ev(0, 100_000), ev(1, 100_000), ev(2, 100_000)]);
    expect(big.map((b) => b.length)).toEqual([2, 1]);
    for (const b of big) expect(b.reduce((s, x) => s + entrySize(x.event), 0)).toBeLessThanOrEqual(PUT_EVENTS_MAX_BYTES);
    expect(entrySize(ev(0, 3).event)).toBeGreaterThan(Buffer.byteLength(JSON.stringify(ev(0, 3).event.detail)));
  });
});

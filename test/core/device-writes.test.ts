import { describe, expect, it } from 'vitest';
import { resolveConflict } from '../../lambdas/core/conflict.js';
import { effectiveBase, planRecord, type RecordChange } from '../../lambdas/core/plan-push.js';
import type { StoredRecord } from '../../lambdas/core/records.js';

const plan = (o: Partial<StoredRecord> = {}): StoredRecord => ({
  table: 'plans',
  id: 'p1',
  data: { name: 'Plan', goal: 'start', race_date: null, status: 'active' },
  created_at: 100,
  updated_at: 300,
  deleted_at: null,
  ...o,
});
const edit = (values: Record<string, unknown>, changed: string[]): RecordChange => ({
  table: 'plans',
  id: 'p1',
  kind: 'updated',
  values: { name: 'Plan', goal: 'start', race_date: null, status: 'active', ...values } as never,
  changedColumns: changed,
  path: 'changes.plans.updated.0',
});
const ctx = (deviceId?: string, lastPulledAt: number | null = 200) => ({ stamp: 1_000, lastPulledAt, policy: resolveConflict, ...(deviceId ? { deviceId } : {}) });

describe('R8a: effectiveBase', () => {
  it.each([
    ['no device id', plan({ device: { id: 'd1', since: 150, exact: true } }), 200, undefined, 200],
    ['another device wrote the current version', plan({ device: { id: 'd2', since: 150, exact: true } }), 200, 'd1', 200],
    ['a server write (no writer device)', plan(), 200, 'd1', 200],
    ["the device's own run began at or before the base", plan({ device: { id: 'd1', since: 200, exact: true } }), 200, 'd1', 300],
    ["the device's own run began after the base (another write came between)", plan({ device: { id: 'd1', since: 250, exact: true } }), 200, 'd1', 200],
    ['created by the device, never pulled (base null)', plan({ device: { id: 'd1', since: 0, exact: true } }), null, 'd1', 300],
    ['no stored record', undefined, 200, 'd1', 200],
  ])('%s', (_name, stored, base, device, expected) => {
    expect(effectiveBase(stored, base, device)).toBe(expected);
  });
});

describe('the writer device of a planned write', () => {
  it('starts a run at the version it replaced, continues its own run, and is exact when the stored columns are what it sent', () => {
    const first = planRecord(edit({ goal: 'A' }, ['goal']), plan(), ctx('d1', 300));
    expect(first.write?.record.device).toEqual({ id: 'd1', since: 300, exact: true });
    const again = planRecord(edit({ goal: 'B' }, ['goal']), first.write!.record, ctx('d1', 300));
    expect(again.outcome.conflict).toBeUndefined();
    expect(again.write?.record.device).toEqual({ id: 'd1', since: 300, exact: true });
  });
  it('is not exact when the stored columns differ from the raw it sent (its stale copy of a column another writer changed)', () => {
    const stored = plan({ data: { name: 'Renamed', goal: 'start', race_date: null, status: 'active' }, column_versions: { name: 250 } });
    const w = planRecord(edit({ goal: 'A' }, ['goal']), stored, ctx('d1', 300));
    expect(w.write?.record.data).toMatchObject({ name: 'Renamed', goal: 'A' });
    expect(w.write?.record.device).toEqual({ id: 'd1', since: 300, exact: false });
  });
  it('a write without a device id carries no writer device (it ends the run)', () => {
    const w = planRecord(edit({ goal: 'A' }, ['goal']), plan({ device: { id: 'd1', since: 0, exact: true } }), ctx(undefined, 300));
    expect(w.write?.record.device).toBeUndefined();
  });
  it("is exact for a record sent as created only when this write created it (R4: created on an existing id keeps the server's created_at, which the device does not have)", () => {
    const created: RecordChange = { ...edit({}, ['name', 'goal', 'race_date', 'status']), kind: 'created' };
    expect(planRecord(created, undefined, ctx('d1', 300)).write?.record.device).toEqual({ id: 'd1', since: 0, exact: true });
    const onExisting = planRecord({ ...created, values: { ...created.values, goal: 'other' } }, plan(), ctx('d1', 300));
    expect(onExisting.write?.record.created_at).toBe(100);
    expect(onExisting.write?.record.device?.exact).toBe(false);
    // R5: sent as updated, but new to the server: created now, a created_at the device does not hold.
    expect(planRecord(edit({ goal: 'A' }, ['goal']), undefined, ctx('d1', 300)).write?.record.device?.exact).toBe(false);
  });
  it('a delete by the device is exact', () => {
    const w = planRecord({ table: 'plans', id: 'p1', kind: 'deleted', values: {}, changedColumns: [], path: 'changes.plans.deleted.0' }, plan(), ctx('d1', 300));
    expect(w.write?.record.device).toEqual({ id: 'd1', since: 300, exact: true });
  });
});

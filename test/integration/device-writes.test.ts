/**
 * A device's own writes (contract `device_id`, rules R8a and P12), on DynamoDB Local through the
 * core: a lost acknowledgement is no conflict for the device's next push, a delta pull by the
 * writing device leaves out what it wrote exactly as it sent it, and everything else (another
 * device's or the plan engine's write, a merge, a first sync) behaves as without device ids.
 */
import { describe, expect, it } from 'vitest';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { applyServerWrite } from '../../lambdas/core/server-write.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { pullDeps, pushDeps, TEST_PUSH_CONFIG, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody } from '../support/records.js';

const harness = useSyncTable();
const PHONE = 'phone-0001';
const TABLET = 'tablet-0002';

type Changes = Parameters<typeof pushBody>[0];
const push = (store: SyncStore, user: string, changes: Changes, lastPulledAt: number | null, device?: string) =>
  pushChanges(user, parsePushBody({ ...pushBody(changes, lastPulledAt), ...(device ? { device_id: device } : {}) }), pushDeps(store));
const pull = (store: SyncStore, user: string, lastPulledAt: number | null, device?: string) =>
  pullChanges(user, { lastPulledAt, schemaVersion: 2, migration: null, ...(device ? { deviceId: device } : {}) }, pullDeps(store));
const updatedIds = (r: Awaited<ReturnType<typeof pull>>, table: 'plans' | 'activities') => r.changes[table].updated.map((x) => x.id).sort();
const conflicts = async (store: SyncStore, user: string) => (await store.listConflicts(user, { since: 0, limit: 100 } as never)).entries;

/** A user whose phone created plan `p` and pulled since: `t` is the phone's last_pulled_at. */
async function planOnPhone(label: string) {
  const { store } = harness();
  const user = uniqueUser(label);
  const p = `${user}-p`;
  await push(store, user, { plans: { created: [planRaw(p, { goal: 'start' })] } }, null, PHONE);
  const t = (await pull(store, user, null, PHONE)).timestamp;
  return { store, user, p, t };
}

describe('a device and its own writes (device_id)', () => {
  it('R8a: a lost acknowledgement is no conflict: the edit pushed again from the same base stands, nothing logged', async () => {
    const { store, user, p, t } = await planOnPhone('lostack');
    const first = await push(store, user, { plans: { updated: [{ ...planRaw(p, { goal: 'A' }), _changed: 'goal' }] } }, t, PHONE);
    expect(first.outcomes[0]?.action).toBe('update');
    // The response never reached the phone; the runner edits again and the phone pushes from t.
    const second = await push(store, user, { plans: { updated: [{ ...planRaw(p, { goal: 'B' }), _changed: 'goal' }] } }, t, PHONE);
    expect(second.outcomes[0]).toMatchObject({ action: 'update' });
    expect(second.outcomes[0]?.conflict).toBeUndefined();
    expect((await pull(store, user, null)).changes.plans.updated[0]).toMatchObject({ id: p, goal: 'B' });
    expect(await conflicts(store, user)).toEqual([]);
  });

  it('without a device id the same sequence is judged as before: the earlier write counts as a change the device missed (plan: server wins)', async () => {
    const { store, user, p, t } = await planOnPhone('lostack-stock');
    await push(store, user, { plans: { updated: [{ ...planRaw(p, { goal: 'A' }), _changed: 'goal' }] } }, t);
    const second = await push(store, user, { plans: { updated: [{ ...planRaw(p, { goal: 'B' }), _changed: 'goal' }] } }, t);
    expect(second.outcomes[0]?.action).toBe('discard');
    expect(await conflicts(store, user)).toHaveLength(1);
  });

  it("another device's write, or the plan engine's, after the base is still a conflict", async () => {
    const { store, user, p, t } = await planOnPhone('others');
    await push(store, user, { plans: { updated: [{ ...planRaw(p, { goal: 'A' }), _changed: 'goal' }] } }, t, PHONE);
    const tablet = (await pull(store, user, null, TABLET)).timestamp;
    await push(store, user, { plans: { updated: [{ ...planRaw(p, { goal: 'T' }), _changed: 'goal' }] } }, tablet, TABLET);
    const phone = await push(store, user, { plans: { updated: [{ ...planRaw(p, { goal: 'B' }), _changed: 'goal' }] } }, t, PHONE);
    expect(phone.outcomes[0]?.action).toBe('discard');

    const { store: s2, user: u2, p: p2, t: t2 } = await planOnPhone('engine');
    await push(s2, u2, { plans: { updated: [{ ...planRaw(p2, { goal: 'A' }), _changed: 'goal' }] } }, t2, PHONE);
    await applyServerWrite(u2, { source: 'plan-engine', table: 'plans', id: p2, values: { goal: 'S' } }, { store: s2, now: Date.now, config: TEST_PUSH_CONFIG });
    const after = await push(s2, u2, { plans: { updated: [{ ...planRaw(p2, { goal: 'B' }), _changed: 'goal' }] } }, t2, PHONE);
    expect(after.outcomes[0]?.action).toBe('discard');
    expect((await pull(s2, u2, null)).changes.plans.updated[0]).toMatchObject({ goal: 'S' });
  });

  it('P12: a delta pull by the writing device leaves out its exact writes and deletes; other devices, stock pulls and first syncs get them', async () => {
    const { store } = harness();
    const user = uniqueUser('echo');
    const t0 = (await pull(store, user, null, PHONE)).timestamp;
    const a = `${user}-a`;
    const b = `${user}-b`;
    await push(store, user, { activities: { created: [activityRaw(a), activityRaw(b)] } }, t0, PHONE);
    expect(updatedIds(await pull(store, user, t0, PHONE), 'activities')).toEqual([]);
    expect(updatedIds(await pull(store, user, t0, TABLET), 'activities')).toEqual([a, b].sort());
    expect(updatedIds(await pull(store, user, t0), 'activities')).toEqual([a, b].sort());
    expect(updatedIds(await pull(store, user, null, PHONE), 'activities')).toEqual([a, b].sort());

    const t1 = (await pull(store, user, t0, PHONE)).timestamp;
    await push(store, user, { activities: { deleted: [b] } }, t1, PHONE);
    expect((await pull(store, user, t1, PHONE)).changes.activities.deleted).toEqual([]);
    expect((await pull(store, user, t1, TABLET)).changes.activities.deleted).toEqual([b]);
  });

  it('P12: a write that is not exactly what the device sent (a merge with another device) comes back to it', async () => {
    const { store } = harness();
    const user = uniqueUser('merge');
    const a = `${user}-a`;
    await push(store, user, { activities: { created: [activityRaw(a)] } }, null, PHONE);
    const t = (await pull(store, user, null, PHONE)).timestamp;
    const tablet = (await pull(store, user, null, TABLET)).timestamp;
    const tabletWrite = await push(store, user, { activities: { updated: [{ ...activityRaw(a, { notes: 'from the tablet' }), _changed: 'notes' }] } }, tablet, TABLET);
    // The phone changes another column from its older base: per column, both stand.
    const merged = await push(store, user, { activities: { updated: [{ ...activityRaw(a, { title: 'from the phone' }), _changed: 'title' }] } }, t, PHONE);
    expect(merged.outcomes[0]?.conflict).toBeUndefined();
    const back = await pull(store, user, t, PHONE);
    expect(back.changes.activities.updated).toEqual([expect.objectContaining({ id: a, title: 'from the phone', notes: 'from the tablet' })]);
    // Its own run began after the tablet's write: the title (stamped later) is the phone's own,
    // the notes (stamped at the tablet's write) a change it missed.
    const raw = back.changes.activities.updated[0] as Record<string, unknown>;
    const tabletVersion = tabletWrite.outcomes[0]?.version as number;
    expect(raw._own_since).toBe(tabletVersion);
    expect(raw._versions).toMatchObject({ notes: tabletVersion, title: merged.outcomes[0]?.version });
    // Only to the device that wrote it.
    for (const other of [await pull(store, user, t, TABLET), await pull(store, user, t)]) {
      expect(other.changes.activities.updated).toEqual([expect.not.objectContaining({ _own_since: expect.anything() })]);
    }
  });

  it('P12: a first sync by the writing device brings its own writes, each marked with where its run began (0: it created the record)', async () => {
    const { store } = harness();
    const user = uniqueUser('own-first');
    const a = `${user}-a`;
    await push(store, user, { activities: { created: [activityRaw(a)] } }, null, PHONE);
    const first = await pull(store, user, null, PHONE);
    expect(first.changes.activities.updated).toEqual([expect.objectContaining({ id: a, _own_since: 0 })]);
    expect((await pull(store, user, null, TABLET)).changes.activities.updated).toEqual([expect.not.objectContaining({ _own_since: expect.anything() })]);
  });

  it('a bad device_id is a 400 naming the field, on pull and push', async () => {
    const { parsePullQuery } = await import('../../lambdas/core/contract.js');
    expect(() => parsePullQuery({ last_pulled_at: 'null', device_id: 'no spaces allowed' })).toThrow(expect.objectContaining({ details: [expect.objectContaining({ path: 'device_id' })] }));
    expect(() => parsePushBody({ ...pushBody({}, null), device_id: 'x' })).toThrow(expect.objectContaining({ details: [expect.objectContaining({ path: 'device_id' })] }));
  });
});

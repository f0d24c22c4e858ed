/**
 * The conflict routes through the real HTTP path of the local stack:
 * `GET /api/v1/conflicts`, `POST /api/v1/conflicts` (device reports),
 * `POST /api/v1/conflicts/{id}/restore`, and the local-only `POST /local/server-write`.
 * Bad input → 400 naming the field, nothing written; foreign or unknown ids → 404; users never
 * see or restore each other's entries; paging and `since`; restore as an ordinary change.
 */
import { describe, expect, it } from 'vitest';
import { toReport, type ConflictReport } from '../../lambdas/core/conflict-log.js';
import type { LostChange } from '../../lambdas/core/conflict.js';
import { serverState, uniqueUser } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody } from '../support/records.js';
import { apiAs, serverWrite, useLocalStack } from '../support/stack.js';
import { openDevice } from '../e2e/support/devices.js';

const stack = useLocalStack();

async function userApi(label: string) {
  const user = uniqueUser(label);
  const api = apiAs(stack(), await stack().token(user));
  return { user, api };
}

const workoutRaw = (id: string, planId: string, o: Record<string, unknown> = {}) => ({
  id,
  plan_id: planId,
  scheduled_on: '2027-03-01',
  workout_type: 'easy',
  target_distance_m: 8000,
  target_duration_s: null,
  description: null,
  completed_activity_id: null,
  ...o,
});

/** A valid device report of a discarded settings change, distinct per `n`. */
const settingReport = (key: string, n: number): ConflictReport =>
  toReport('settings', key, 1_000 + n, { rule: 'settings-last-write-wins', losingAction: 'update', losing: { value: JSON.stringify(`v${n}`) }, winning: { value: '"w"' } });

/** The raw list answer (one page). */
async function listPage(api: ReturnType<typeof apiAs>, query: string) {
  return api.request('GET', `/api/v1/conflicts${query}`);
}

/** The user's records and conflict log, to prove that a refused request wrote nothing. */
async function everything(user: string, api: ReturnType<typeof apiAs>) {
  return { records: await serverState(stack().runtime.store, user), log: await api.conflicts() };
}

/**
 * Seeds a real server-side conflict: a plan workout created by a push, re-optimised by the plan
 * engine, then edited by a push whose base predates the engine's write (the race window).
 * Returns the logged entry.
 */
async function seedPlanConflict(label: string) {
  const { user, api } = await userApi(label);
  const planId = `${user}-plan`;
  const workoutId = `${user}-pw`;
  const created = await api.push(pushBody({ plans: { created: [planRaw(planId)] }, planned_workouts: { created: [workoutRaw(workoutId, planId)] } }, null));
  expect(created.status).toBe(200);
  const base = created.body.versions.planned_workouts[workoutId] as number;
  const engine = await serverWrite(stack(), { user_id: user, table: 'planned_workouts', source: 'plan-engine', record: { id: workoutId, description: 'engine: tempo', target_distance_m: 10_000 } });
  expect(engine.status).toBe(200);
  expect(engine.body.action).toBe('update');
  const raced = await api.push(pushBody({ planned_workouts: { updated: [{ ...workoutRaw(workoutId, planId, { description: 'mine: strides' }), _status: 'updated', _changed: 'description' }] } }, base));
  expect(raced.status).toBe(200);
  expect(raced.body.versions?.planned_workouts?.[workoutId]).toBeUndefined(); // the device's change is in no version
  const log = await api.conflicts();
  expect(log).toEqual([
    expect.objectContaining({
      table: 'planned_workouts',
      record_id: workoutId,
      rule: 'plan-server-wins',
      losing_action: 'update',
      losing: { description: 'mine: strides' },
      winning: { description: 'engine: tempo' },
      resolved_by: 'server',
    }),
  ]);
  return { user, api, planId, workoutId, entry: log[0] };
}

describe('GET /api/v1/conflicts', () => {
  it.each([
    ['since=abc', 'since'],
    ['since=-5', 'since'],
    ['since=1.5', 'since'],
    ['limit=abc', 'limit'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    ['cursor=123-XYZ', 'cursor'],
    ['colour=blue', 'colour'],
  ])('?%s → 400 naming %s', async (query, field) => {
    const { api } = await userApi('list-bad');
    const r = await listPage(api, `?${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
  });

  it('an empty log is an empty list without cursor', async () => {
    const { api } = await userApi('list-empty');
    const r = await listPage(api, '');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ conflicts: [] });
  });

  it('pages with `limit` and `cursor`: every entry exactly once, oldest first, the last page has no cursor', async () => {
    const { api } = await userApi('paging');
    const reports = Array.from({ length: 7 }, (_, i) => settingReport(`k${i}`, i));
    // Two requests, so entries span (at least) the times of two requests.
    expect((await api.request('POST', '/api/v1/conflicts', { conflicts: reports.slice(0, 4) })).status).toBe(200);
    expect((await api.request('POST', '/api/v1/conflicts', { conflicts: reports.slice(4) })).status).toBe(200);

    const all = await listPage(api, '?limit=1000');
    expect(all.status).toBe(200);
    expect(all.body.cursor).toBeUndefined();
    const full = all.body.conflicts as { id: string; at: number }[];
    expect(full.map((e) => e.id).sort()).toEqual(reports.map((r) => r.id).sort());
    // Oldest first; ties in time by id.
    expect([...full].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))).toEqual(full);

    for (const limit of [1, 2, 3, 7]) {
      const seen: unknown[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = await listPage(api, `?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status).toBe(200);
        expect(r.body.conflicts.length).toBeLessThanOrEqual(limit);
        expect(r.body.conflicts.length).toBeGreaterThan(0);
        seen.push(...r.body.conflicts);
        cursor = r.body.cursor;
        pages += 1;
      } while (cursor);
      expect(seen, `limit ${limit}`).toEqual(full);
      expect(pages).toBe(Math.ceil(full.length / limit));
    }
  });

  it('`since` is exclusive: only entries logged strictly after it', async () => {
    const { api } = await userApi('since');
    for (let i = 0; i < 3; i++) expect((await api.request('POST', '/api/v1/conflicts', { conflicts: [settingReport(`s${i}`, i)] })).status).toBe(200);
    const full = (await listPage(api, '?limit=1000')).body.conflicts as { id: string; at: number }[];
    expect(full).toHaveLength(3);
    const times = [...new Set(full.map((e) => e.at))];
    for (const since of [0, ...times.map((t) => t - 1), ...times, Math.max(...times) + 1]) {
      const r = await listPage(api, `?since=${since}&limit=1000`);
      expect(r.status).toBe(200);
      expect(r.body.conflicts, `since=${since}`).toEqual(full.filter((e) => e.at > since));
      // The helper that follows cursors agrees.
      expect(await api.conflicts(since)).toEqual(full.filter((e) => e.at > since));
    }
  });

  it('a cursor at or before `since` (a client keeping both) is harmless: the entries after `since`, never a 500', async () => {
    const { api } = await userApi('cursor-since');
    for (let i = 0; i < 3; i++) expect((await api.request('POST', '/api/v1/conflicts', { conflicts: [settingReport(`c${i}`, i)] })).status).toBe(200);
    const full = (await listPage(api, '?limit=1000')).body.conflicts as { id: string; at: number }[];
    const first = full[0] as { id: string; at: number };
    const last = full[full.length - 1] as { id: string; at: number };
    const r = await listPage(api, `?since=${last.at}&cursor=${first.at}-${first.id}`);
    expect(r.status).toBe(200);
    expect(r.body.conflicts).toEqual([]);
    const older = await listPage(api, `?since=${first.at - 1}&cursor=${first.at - 5}-${first.id}`);
    expect(older.status).toBe(200);
    expect(older.body.conflicts).toEqual(full);
  });

  it("another user sees none of my entries, and mine are mine alone", async () => {
    const me = await userApi('owner');
    const other = await userApi('other');
    await me.api.request('POST', '/api/v1/conflicts', { conflicts: [settingReport('units', 1)] });
    expect(await me.api.conflicts()).toHaveLength(1);
    expect(await other.api.conflicts()).toEqual([]);
    // The same id reported by another user is another user's entry, not a link to mine.
    await other.api.request('POST', '/api/v1/conflicts', { conflicts: [settingReport('units', 1)] });
    expect(await other.api.conflicts()).toHaveLength(1);
    expect(await me.api.conflicts()).toHaveLength(1);
  });

  it('requires a token', async () => {
    const res = await fetch(`${stack().url}/api/v1/conflicts`);
    expect(res.status).toBe(401);
  });
});

describe('POST /api/v1/conflicts (device reports)', () => {
  const good = settingReport('theme', 1);
  const cases: [string, unknown, string][] = [
    ['no body fields', {}, 'conflicts'],
    ['an empty list', { conflicts: [] }, 'conflicts'],
    ['too many entries', { conflicts: Array.from({ length: 101 }, (_, i) => settingReport(`k${i}`, i)) }, 'conflicts'],
    ['an unknown top-level key', { conflicts: [good], extra: 1 }, 'extra'],
    ['a malformed id', { conflicts: [{ ...good, id: 'XYZ' }] }, 'conflicts.0.id'],
    ['an unknown rule', { conflicts: [{ ...good, rule: 'client-always-wins' }] }, 'conflicts.0.rule'],
    ['a bad losing_action', { conflicts: [{ ...good, losing_action: 'create' }] }, 'conflicts.0.losing_action'],
    ['a bad record id', { conflicts: [{ ...good, record_id: 'a b' }] }, 'conflicts.0.record_id'],
    ['an unknown table', { conflicts: [{ ...good, table: 'shoes' }] }, 'conflicts.0.table'],
    ['a server-owned table', { conflicts: [{ ...good, table: 'uploads' }] }, 'conflicts.0.table'],
    ['an unknown column', { conflicts: [{ ...good, losing: { colour: '"red"' } }] }, 'conflicts.0.losing.colour'],
    ['an invalid value', { conflicts: [{ ...good, winning: { value: 'not json' } }] }, 'conflicts.0.winning.value'],
    ['a nested value', { conflicts: [{ ...good, losing: { value: { a: 1 } } }] }, 'conflicts.0.losing.value'],
    ['a losing delete with values', { conflicts: [{ ...good, losing_action: 'delete' }] }, 'conflicts.0.losing'],
    ['the server-only field `at`', { conflicts: [{ ...good, at: 5 }] }, 'conflicts.0.at'],
    ['the second entry bad, the first good', { conflicts: [good, { ...settingReport('x', 2), table: 'activities', losing: { distance_m: -1 } }] }, 'conflicts.1.losing.distance_m'],
  ];

  it.each(cases)('%s → 400 naming the field, nothing logged', async (_name, body, path) => {
    const { user, api } = await userApi('report-bad');
    const before = await everything(user, api);
    const r = await api.request('POST', '/api/v1/conflicts', body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await everything(user, api)).toEqual(before);
  });

  it('malformed JSON → 400, nothing logged', async () => {
    const { user, api } = await userApi('report-json');
    const res = await fetch(`${stack().url}/api/v1/conflicts`, { method: 'POST', headers: { authorization: `Bearer ${await stack().token(user)}`, 'content-type': 'application/json' }, body: '{"conflicts": [' });
    expect(res.status).toBe(400);
    expect(await api.conflicts()).toEqual([]);
  });

  it('logs device reports as resolved by the device; reporting the same id again keeps the first entry', async () => {
    const { api } = await userApi('report-ok');
    const lost: LostChange = { rule: 'plan-server-wins', losingAction: 'update', losing: { description: 'mine' }, winning: { description: 'engine' } };
    const report = toReport('planned_workouts', 'pw-x', 1234, lost);
    const r = await api.request('POST', '/api/v1/conflicts', { conflicts: [report] });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ logged: [report.id] });
    const [entry] = await api.conflicts();
    expect(entry).toEqual({ ...report, at: expect.any(Number), resolved_by: 'device' });
    const again = await api.request('POST', '/api/v1/conflicts', { conflicts: [{ ...report, winning: { description: 'changed' } }] });
    expect(again.status).toBe(200);
    expect(await api.conflicts()).toEqual([entry]);
  });
});

describe('POST /api/v1/conflicts/{id}/restore', () => {
  it.each([
    ['an id of the right shape that was never logged', '0123456789abcdef0123456789abcdef'],
    ['a malformed id', 'not-an-id'],
    ['an upper-case id', '0123456789ABCDEF0123456789ABCDEF'],
  ])('%s → 404', async (_name, id) => {
    const { user, api } = await userApi('restore-404');
    const before = await everything(user, api);
    const r = await api.request('POST', `/api/v1/conflicts/${id}/restore`);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
    expect(await everything(user, api)).toEqual(before);
  });

  it("another user's entry → 404 and nothing changes for either user", async () => {
    const mine = await seedPlanConflict('restore-owner');
    const other = await userApi('restore-thief');
    const mineBefore = await everything(mine.user, mine.api);
    const r = await other.api.request('POST', `/api/v1/conflicts/${mine.entry.id}/restore`);
    expect(r.status).toBe(404);
    expect(await everything(mine.user, mine.api)).toEqual(mineBefore);
    expect(await everything(other.user, other.api)).toEqual({ records: {}, log: [] });
  });

  it('writes the losing values as a new ordinary change that a device pulls; restoring twice is a no-op', async () => {
    const { user, api, workoutId, entry } = await seedPlanConflict('restore');
    const device = await openDevice(stack(), user, 'restore-device');
    await device.sync();
    expect((await device.snapshot()).planned_workouts.find((r) => r.id === workoutId)).toMatchObject({ description: 'engine: tempo', target_distance_m: 10_000 });
    const { timestamp: before } = (await api.pull({ last_pulled_at: null })).body;

    const r = await api.request('POST', `/api/v1/conflicts/${entry.id}/restore`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ conflict: entry, action: 'update', version: expect.any(Number) });
    expect(r.body.version).toBeGreaterThan(before);

    // A delta pull from before the restore carries it, with the losing value and the engine's other columns.
    const delta = await api.pull({ last_pulled_at: before });
    expect(delta.status).toBe(200);
    expect(delta.body.changes.planned_workouts.updated).toEqual([expect.objectContaining({ id: workoutId, description: 'mine: strides', target_distance_m: 10_000, updated_at: r.body.version })]);

    await device.sync();
    expect((await device.snapshot()).planned_workouts.find((x) => x.id === workoutId)).toMatchObject({ description: 'mine: strides', target_distance_m: 10_000, _status: 'synced' });

    const state = await everything(user, api);
    const twice = await api.request('POST', `/api/v1/conflicts/${entry.id}/restore`);
    expect(twice.status).toBe(200);
    expect(twice.body.action).toBe('noop');
    expect(twice.body.version).toBeUndefined();
    expect(await everything(user, api)).toEqual(state);
    // Nothing new to pull either.
    const after = await api.pull({ last_pulled_at: r.body.version });
    expect(after.body.changes.planned_workouts).toEqual({ created: [], updated: [], deleted: [] });
  });

  it('restoring a losing delete deletes the record (and a device pulls the delete)', async () => {
    const { user, api } = await userApi('restore-delete');
    const planId = `${user}-plan`;
    const created = await api.push(pushBody({ plans: { created: [planRaw(planId)] } }, null));
    const base = created.body.versions.plans[planId] as number;
    expect((await serverWrite(stack(), { user_id: user, table: 'plans', source: 'plan-engine', record: { id: planId, goal: 'engine goal' } })).body.action).toBe('update');
    // A delete whose base predates the engine's write: the plan survives, the delete is logged.
    const raced = await api.push(pushBody({ plans: { deleted: [planId] } }, base));
    expect(raced.status).toBe(200);
    const device = await openDevice(stack(), user, 'restore-delete-device');
    await device.sync();
    expect((await device.snapshot()).plans.map((p) => p.id)).toEqual([planId]);
    const [entry] = await api.conflicts();
    expect(entry).toMatchObject({ table: 'plans', record_id: planId, rule: 'plan-server-wins', losing_action: 'delete', losing: {} });

    const r = await api.request('POST', `/api/v1/conflicts/${entry.id}/restore`);
    expect(r.status).toBe(200);
    expect(r.body.action).toBe('delete');
    expect((await serverState(stack().runtime.store, user)).plans).toBeUndefined();
    await device.sync();
    expect((await device.snapshot()).plans).toEqual([]);
    const twice = await api.request('POST', `/api/v1/conflicts/${entry.id}/restore`);
    expect(twice.body.action).toBe('noop');
  });

  it("a report naming another user's record id cannot be restored into that user's record", async () => {
    const victim = await userApi('victim');
    const victimId = `${victim.user}-act`;
    expect((await victim.api.push(pushBody({ activities: { created: [activityRaw(victimId)] } }, null))).status).toBe(200);
    const victimBefore = await everything(victim.user, victim.api);

    const attacker = await userApi('attacker');
    const { id: _id, ...values } = activityRaw(victimId, { notes: 'pwned' });
    const report = toReport('activities', victimId, 1, { rule: 'activity-fields-client-wins', losingAction: 'update', losing: values, winning: {} });
    expect((await attacker.api.request('POST', '/api/v1/conflicts', { conflicts: [report] })).status).toBe(200);
    const r = await attacker.api.request('POST', `/api/v1/conflicts/${report.id}/restore`);
    expect(r.status).toBe(403);
    expect(await everything(victim.user, victim.api)).toEqual(victimBefore);
    expect((await serverState(stack().runtime.store, attacker.user)).activities).toBeUndefined();
  });

  it('restoring a reported change of a record the user does not have is a clean 4xx, never a 500', async () => {
    const { user, api } = await userApi('restore-missing');
    const report = toReport('plans', `${user}-nope`, 1, { rule: 'plan-server-wins', losingAction: 'update', losing: { goal: 'x' }, winning: {} });
    await api.request('POST', '/api/v1/conflicts', { conflicts: [report] });
    const r = await api.request('POST', `/api/v1/conflicts/${report.id}/restore`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect((await serverState(stack().runtime.store, user)).plans).toBeUndefined();
  });
});

describe('POST /local/server-write (local only)', () => {
  const cases: [string, (user: string) => unknown, string][] = [
    ['an unknown source', (u) => ({ user_id: u, table: 'plans', source: 'oracle', record: { id: 'p1', name: 'x' } }), 'source'],
    ['the restore source (not public)', (u) => ({ user_id: u, table: 'plans', source: 'restore', record: { id: 'p1', name: 'x' } }), 'source'],
    ['the upload-service source (not public)', (u) => ({ user_id: u, table: 'uploads', source: 'upload-service', record: { id: 'u1', status: 'failed' } }), 'source'],
    ['plan-engine on activities', (u) => ({ user_id: u, table: 'activities', source: 'plan-engine', record: { id: 'a1', notes: 'x' } }), 'table'],
    ['plan-engine on settings', (u) => ({ user_id: u, table: 'settings', source: 'plan-engine', record: { id: 'units', value: '"km"' } }), 'table'],
    ['garmin on plans', (u) => ({ user_id: u, table: 'plans', source: 'garmin', record: { id: 'p1', name: 'x' } }), 'table'],
    ['garmin on uploads', (u) => ({ user_id: u, table: 'uploads', source: 'garmin', record: { id: 'u1', status: 'failed' } }), 'table'],
    ['an unknown table', (u) => ({ user_id: u, table: 'shoes', source: 'garmin', record: { id: 's1' } }), 'table'],
    ['no user_id', () => ({ table: 'plans', source: 'plan-engine', record: { id: 'p1', name: 'x' } }), 'user_id'],
    ['no record', (u) => ({ user_id: u, table: 'plans', source: 'plan-engine' }), 'record'],
    ['no record id', (u) => ({ user_id: u, table: 'plans', source: 'plan-engine', record: { name: 'x' } }), 'record.id'],
    ['a bad record id', (u) => ({ user_id: u, table: 'plans', source: 'plan-engine', record: { id: 'a/b', name: 'x' } }), 'record.id'],
    ['an unknown column', (u) => ({ user_id: u, table: 'activities', source: 'garmin', record: { id: 'a1', pace: 300 } }), 'record.pace'],
    ['a server stamp', (u) => ({ user_id: u, table: 'activities', source: 'garmin', record: { id: 'a1', updated_at: 5 } }), 'record.updated_at'],
    ['a negative distance', (u) => ({ user_id: u, table: 'activities', source: 'garmin', record: { id: 'a1', distance_m: -3 } }), 'record.distance_m'],
    ['a distance as text', (u) => ({ user_id: u, table: 'activities', source: 'garmin', record: { id: 'a1', distance_m: 'far' } }), 'record.distance_m'],
    ['a bad gps_source', (u) => ({ user_id: u, table: 'activities', source: 'garmin', record: { id: 'a1', gps_source: 'strava' } }), 'record.gps_source'],
    ['a bad date', (u) => ({ user_id: u, table: 'planned_workouts', source: 'plan-engine', record: { id: 'w1', scheduled_on: '2027-13-01' } }), 'record.scheduled_on'],
    ['a bad status', (u) => ({ user_id: u, table: 'plans', source: 'plan-engine', record: { id: 'p1', status: 'paused' } }), 'record.status'],
    ['a new record lacking required columns', (u) => ({ user_id: u, table: 'planned_workouts', source: 'plan-engine', record: { id: `${u}-w`, description: 'x' } }), 'record.plan_id'],
    ['an unknown top-level key', (u) => ({ user_id: u, table: 'plans', source: 'plan-engine', record: { id: 'p1' }, force: true }), 'force'],
  ];

  it.each(cases)('%s → 400 naming %s, nothing written', async (_name, body, path) => {
    const { user, api } = await userApi('sw-bad');
    const before = await everything(user, api);
    const r = await serverWrite(stack(), body(user) as never);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(await everything(user, api)).toEqual(before);
  });

  it('Garmin data for an existing activity without its start time → 400 naming record.started_at, nothing written (it would clear a non-nullable column)', async () => {
    const { user, api } = await userApi('sw-started');
    const id = `${user}-act`;
    expect((await api.push(pushBody({ activities: { created: [activityRaw(id)] } }, null))).status).toBe(200);
    const before = await everything(user, api);
    const r = await serverWrite(stack(), { user_id: user, table: 'activities', source: 'garmin', record: { id, distance_m: 5100, route_polyline: 'garmin' } });
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([expect.objectContaining({ path: 'record.started_at', field: 'started_at' })]);
    expect(await everything(user, api)).toEqual(before);
  });

  it('malformed JSON → 400; GET → 405', async () => {
    const bad = await fetch(`${stack().url}/local/server-write`, { method: 'POST', body: '{"user_id":' });
    expect(bad.status).toBe(400);
    const get = await fetch(`${stack().url}/local/server-write`);
    expect(get.status).toBe(405);
  });

  it('reports what it did: create, update, noop; a deleted record is ignored, never resurrected', async () => {
    const { user, api } = await userApi('sw-ok');
    const planId = `${user}-plan`;
    const w = (record: Record<string, unknown>) => serverWrite(stack(), { user_id: user, table: 'plans', source: 'plan-engine', record: { id: planId, ...record } });
    const created = await w({ name: 'Engine plan', status: 'active' });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ table: 'plans', id: planId, action: 'create', version: expect.any(Number), conflict_ids: [] });
    const updated = await w({ goal: 'sub 4h' });
    expect(updated.body).toMatchObject({ action: 'update', version: expect.any(Number) });
    expect(updated.body.version).toBeGreaterThan(created.body.version);
    expect((await w({ goal: 'sub 4h' })).body).toEqual({ table: 'plans', id: planId, action: 'noop', conflict_ids: [] });
    expect((await serverState(stack().runtime.store, user)).plans?.[planId]).toEqual({ id: planId, name: 'Engine plan', goal: 'sub 4h', race_date: null, status: 'active' });

    // The device deletes the version it holds (a pull inside the lag window may report an older
    // timestamp, so the base is given per record, as the client does).
    const { timestamp } = (await api.pull({ last_pulled_at: null })).body;
    const deleted = await api.push({ ...pushBody({ plans: { deleted: [planId] } }, timestamp), base_versions: { plans: { [planId]: updated.body.version } } });
    expect(deleted.status).toBe(200);
    expect(await api.conflicts()).toEqual([]);
    const ignored = await w({ goal: 'resurrect me' });
    expect(ignored.body).toEqual({ table: 'plans', id: planId, action: 'ignored', conflict_ids: [] });
    expect((await serverState(stack().runtime.store, user)).plans).toBeUndefined();
    const pulled = await api.pull({ last_pulled_at: null });
    expect(pulled.body.changes.plans.updated).toEqual([]);
  });

  it('Garmin data on a manual activity logs the manual group it replaces and returns its id', async () => {
    const { user, api } = await userApi('sw-garmin');
    const id = `${user}-act`;
    expect((await api.push(pushBody({ activities: { created: [activityRaw(id, { distance_m: 5000, route_polyline: 'manual' })] } }, null))).status).toBe(200);
    const r = await serverWrite(stack(), { user_id: user, table: 'activities', source: 'garmin', record: { id, started_at: 1_700_000_000_000, duration_s: 1790, distance_m: 5123, route_polyline: 'garmin' } });
    expect(r.status).toBe(200);
    expect(r.body.action).toBe('update');
    const log = await api.conflicts();
    expect(r.body.conflict_ids).toEqual(log.map((e) => e.id));
    expect(log).toEqual([
      expect.objectContaining({
        table: 'activities',
        record_id: id,
        rule: 'activity-recorded-source-priority',
        losing: { started_at: 1_700_000_000_000, duration_s: 1800, distance_m: 5000, elevation_gain_m: 40, avg_heart_rate: 150, route_polyline: 'manual', gps_source: 'manual' },
        resolved_by: 'server',
      }),
    ]);
    // Garmin sent no elevation or heart rate: the group moved as a unit, so they are cleared.
    expect((await serverState(stack().runtime.store, user)).activities?.[id]).toMatchObject({ distance_m: 5123, route_polyline: 'garmin', gps_source: 'garmin', elevation_gain_m: null, avg_heart_rate: null, title: `run ${id}` });
  });

  it("a write naming another user's record id is refused and changes nothing", async () => {
    const owner = await userApi('sw-owner');
    const id = `${owner.user}-act`;
    await owner.api.push(pushBody({ activities: { created: [activityRaw(id)] } }, null));
    const before = await everything(owner.user, owner.api);
    const intruder = uniqueUser('sw-intruder');
    const r = await serverWrite(stack(), { user_id: intruder, table: 'activities', source: 'garmin', record: { id, sport: 'running', started_at: 1, distance_m: 1 } });
    expect(r.status).toBe(403);
    expect(await everything(owner.user, owner.api)).toEqual(before);
    expect(await serverState(stack().runtime.store, intruder)).toEqual({});
  });
});

/**
 * Conflict resolution per entity, end to end: real WatermelonDB devices (LokiJS) sync through
 * `client/` against the local stack while the plan engine and the FIT processor write as the
 * server (`POST /local/server-write`). Every test asserts the final state on the server AND on
 * every device, and that what a rule discarded is in the conflict log (and can be restored).
 *
 * Two stacks: one without the index-lag hold-back (`INDEX_LAG_MS=0`), where a pull right after a
 * push reports a timestamp past it, and one with the default 5 s lag, where pulls hold their
 * timestamp back and re-deliver recent versions (echoes of the device's own pushes, and versions
 * the device has already seen). Every rule must hold in both.
 *
 * "Race window": the other write lands between the device's pull and its push (the device's
 * fetch runs it just before the push request leaves), so the server, not the device, judges.
 */
import { describe, expect, it } from 'vitest';
import type { FetchLike } from '../../client/index.js';
import type { TableName } from '../../lambdas/core/schema.js';
import type { LocalStack } from '../../local/server.js';
import { apiAs, serverWrite, useLocalStack } from '../support/stack.js';
import { uniqueUser } from '../support/dynamo.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, type Device, type Snapshot, type Values } from './support/devices.js';
import { expectConvergedWithServer } from './support/converged.js';
import { serverSnapshot } from './support/server.js';

const NO_LAG = { INDEX_LAG_MS: '0', INFLIGHT_GRACE_MS: '5000' };

const activity = (o: Values = {}): Values => ({
  sport: 'running',
  started_at: 1_767_225_600_000,
  duration_s: 1800,
  distance_m: 5000,
  elevation_gain_m: 40,
  avg_heart_rate: 150,
  route_polyline: 'manual-line',
  gps_source: 'manual',
  title: 'Morning run',
  notes: null,
  perceived_effort: 5,
  ...o,
});
const plan = (o: Values = {}): Values => ({ name: 'Marathon', goal: 'sub 4h', race_date: 1_790_000_000_000, status: 'active', ...o });
const workout = (planId: string, o: Values = {}): Values => ({ plan_id: planId, scheduled_on: '2027-03-01', workout_type: 'easy', target_distance_m: 8000, description: null, ...o });
const GARMIN = { started_at: 1_767_225_600_500, duration_s: 1790, distance_m: 5123, elevation_gain_m: 55, avg_heart_rate: 148, route_polyline: 'garmin-line' };

const find = (s: Snapshot, table: TableName, id: string) => s[table].find((r) => r.id === id);

async function syncAll(devices: readonly Device[], rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const d of devices) await d.sync();
}

const expectConverged = expectConvergedWithServer;

/** A device fetch that runs `action` once, after the device's pull and right before its first push request. */
function raceFetch(action: () => Promise<unknown>): { fetch: FetchLike; fired: () => boolean } {
  let fired = false;
  const f: FetchLike = async (url, init) => {
    if (!fired && init.method === 'POST' && new URL(url).pathname === '/api/v1/sync') {
      fired = true;
      await action();
    }
    const res = await fetch(url, init);
    const text = await res.text();
    return { status: res.status, headers: res.headers, text: async () => text };
  };
  return { fetch: f, fired: () => fired };
}

async function conflictLog(s: LocalStack, user: string): Promise<any[]> {
  return apiAs(s, await s.token(user)).conflicts();
}

async function restore(s: LocalStack, user: string, id: string) {
  const r = await apiAs(s, await s.token(user)).request('POST', `/api/v1/conflicts/${id}/restore`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

async function engineWrite(s: LocalStack, user: string, table: TableName, record: Record<string, unknown>) {
  const r = await serverWrite(s, { user_id: user, table, source: table === 'activities' ? 'garmin' : 'plan-engine', record });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { action: string; version?: number; conflict_ids: string[] };
}

/** One user with two devices that both hold a plan, a workout, an activity and a setting. */
async function twoDevices(s: LocalStack, label: string) {
  const user = uniqueUser(label);
  const ids = { plans: `${user}-plan`, planned_workouts: `${user}-pw`, activities: `${user}-act`, settings: 'units' } as const;
  const phone = await openDevice(s, user, `${label}-phone`);
  const watch = await openDevice(s, user, `${label}-watch`);
  await phone.create('plans', plan(), ids.plans);
  await phone.create('planned_workouts', workout(ids.plans), ids.planned_workouts);
  await phone.create('activities', activity(), ids.activities);
  await phone.create('settings', { value: '"km"' }, ids.settings);
  await syncAll([phone, watch]);
  expect(find(await watch.snapshot(), 'planned_workouts', ids.planned_workouts)).toBeDefined();
  return { user, ids, phone, watch, devices: [phone, watch] as const };
}

const STACKS = [
  ['without index lag', NO_LAG],
  ['with the default index lag (pulls re-deliver recent versions)', undefined],
] as const;

describe.each(STACKS)('e2e conflicts, %s', (_label, env) => {
  const stack = useLocalStack(env ? { env } : {});
  failOnSyncDiagnostics();

  describe('per column: changes to different columns of one record are not conflicts', () => {
    for (const timing of ['offline', 'race window'] as const) {
      it(`two devices edit different fields of one activity, and Garmin data lands meanwhile (${timing}): all three merge, nothing is logged`, async () => {
        const s = stack();
        const { user, ids, phone, watch, devices } = await twoDevices(s, 'percol');
        await phone.update('activities', ids.activities, { notes: 'phone: windy' });
        await watch.update('activities', ids.activities, { title: 'watch: tempo run' });
        await watch.sync();
        const garmin = () =>
          serverWrite(s, { user_id: user, table: 'activities', source: 'garmin', record: { id: ids.activities, ...GARMIN } }).then((r) => expect(r.status).toBe(200));
        // The phone's base predates both the watch's title and the Garmin group.
        if (timing === 'offline') {
          await garmin();
          await phone.sync();
        } else {
          const race = raceFetch(garmin);
          await phone.sync({ fetch: race.fetch });
          expect(race.fired(), 'the phone pushed').toBe(true);
        }
        await syncAll(devices);
        const server = await expectConverged(s, user, devices);
        expect(find(server, 'activities', ids.activities)).toMatchObject({ ...GARMIN, gps_source: 'garmin', notes: 'phone: windy', title: 'watch: tempo run' });
        // Only the Garmin write's own entry (the manual group it replaced): no device field was lost.
        const log = await conflictLog(s, user);
        expect(log.map((e) => e.rule)).toEqual(['activity-recorded-source-priority']);
        expect(log[0]).toMatchObject({ resolved_by: 'server', losing: expect.objectContaining({ gps_source: 'manual' }) });
      });
    }
  });

  describe('test 1 — plan: server wins', () => {
    for (const timing of ['offline', 'race window'] as const) {
      it(`a workout edited offline meets a re-optimisation by the plan engine (${timing}): everyone ends with the engine's version, the edit is logged and restorable`, async () => {
        const s = stack();
        const { user, ids, phone, watch, devices } = await twoDevices(s, 'plan');
        await phone.update('planned_workouts', ids.planned_workouts, { description: 'phone: add strides' });
        const reoptimise = () => engineWrite(s, user, 'planned_workouts', { id: ids.planned_workouts, scheduled_on: '2027-03-02', target_distance_m: 10_000, description: 'engine: tempo' });
        if (timing === 'offline') {
          await reoptimise();
          await phone.sync();
        } else {
          const race = raceFetch(reoptimise);
          await phone.sync({ fetch: race.fetch });
          expect(race.fired(), 'the phone pushed').toBe(true);
        }
        await syncAll(devices);
        const server = await expectConverged(s, user, devices);
        expect(find(server, 'planned_workouts', ids.planned_workouts)).toMatchObject({ scheduled_on: '2027-03-02', target_distance_m: 10_000, description: 'engine: tempo' });

        const log = await conflictLog(s, user);
        // Nothing else conflicted: the log holds exactly the phone's edit.
        expect(log).toEqual([
          {
            id: expect.stringMatching(/^[0-9a-f]{32}$/),
            table: 'planned_workouts',
            record_id: ids.planned_workouts,
            rule: 'plan-server-wins',
            losing_action: 'update',
            losing: { description: 'phone: add strides' },
            winning: { description: 'engine: tempo' },
            at: expect.any(Number),
            resolved_by: timing === 'offline' ? 'device' : 'server',
          },
        ]);

        // Nothing lost: the user restores the edit and it reaches both devices as an ordinary change.
        await restore(s, user, log[0].id);
        await syncAll([watch, phone], 1);
        const restored = await expectConverged(s, user, devices);
        expect(find(restored, 'planned_workouts', ids.planned_workouts)).toMatchObject({ scheduled_on: '2027-03-02', target_distance_m: 10_000, description: 'phone: add strides' });
      });
    }

    it('a plan edited offline on the phone after another device changed it: the server copy (the other device) wins', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'plan-devices');
      await watch.update('plans', ids.plans, { goal: 'watch: sub 3:50' });
      await watch.sync();
      await phone.update('plans', ids.plans, { goal: 'phone: sub 3:45', race_date: 1_791_000_000_000 });
      await syncAll([phone, watch]);
      const server = await expectConverged(s, user, devices);
      expect(find(server, 'plans', ids.plans)).toMatchObject({ goal: 'watch: sub 3:50', race_date: 1_790_000_000_000 });
      expect(await conflictLog(s, user)).toContainEqual(
        expect.objectContaining({ table: 'plans', record_id: ids.plans, rule: 'plan-server-wins', losing_action: 'update', losing: expect.objectContaining({ goal: 'phone: sub 3:45' }) }),
      );
    });
  });

  describe('test 2 — activity: Garmin recorded data + device notes', () => {
    for (const timing of ['offline', 'race window'] as const) {
      it(`manual GPS, then Garmin data lands, then offline notes + manual distance (${timing}): Garmin group and device notes everywhere`, async () => {
        const s = stack();
        const user = uniqueUser('garmin');
        const id = `${user}-act`;
        const phone = await openDevice(s, user, 'garmin-phone');
        const laptop = await openDevice(s, user, 'garmin-laptop');
        await phone.create('activities', activity({ distance_m: 5000, route_polyline: 'manual-line', gps_source: 'manual' }), id);
        await phone.sync();
        await laptop.sync();

        const garmin = () => engineWrite(s, user, 'activities', { id, ...GARMIN });
        // The phone, offline meanwhile, edits the notes and the manual distance.
        await phone.update('activities', id, { notes: 'legs heavy', distance_m: 5200 });
        let garminResult: Awaited<ReturnType<typeof garmin>> | undefined;
        if (timing === 'offline') {
          garminResult = await garmin();
          await phone.sync();
        } else {
          const race = raceFetch(async () => (garminResult = await garmin()));
          await phone.sync({ fetch: race.fetch });
          expect(race.fired()).toBe(true);
        }
        expect(garminResult?.action).toBe('update');
        await syncAll([phone, laptop]);

        const server = await expectConverged(s, user, [phone, laptop]);
        expect(find(server, 'activities', id)).toEqual({
          id,
          ...activity(),
          ...GARMIN,
          gps_source: 'garmin',
          notes: 'legs heavy',
          upload_id: null,
          created_at: expect.any(Number),
          updated_at: expect.any(Number),
        });

        const log = await conflictLog(s, user);
        const manualGroup = (distance: number) => ({ started_at: 1_767_225_600_000, duration_s: 1800, distance_m: distance, elevation_gain_m: 40, avg_heart_rate: 150, route_polyline: 'manual-line', gps_source: 'manual' });
        const garminGroup = { ...GARMIN, gps_source: 'garmin' };
        // The phone's manual recorded group (its typed distance included) lost to Garmin: logged.
        expect(log).toContainEqual(expect.objectContaining({ table: 'activities', record_id: id, rule: 'activity-recorded-source-priority', losing_action: 'update', losing: manualGroup(5200), winning: garminGroup }));
        // The manual group Garmin replaced on the server: logged by the server write.
        expect(log).toContainEqual(expect.objectContaining({ record_id: id, rule: 'activity-recorded-source-priority', losing: manualGroup(5000), winning: garminGroup, resolved_by: 'server' }));
        expect(garminResult?.conflict_ids).toContain(log.find((e) => e.losing.distance_m === 5000)?.id);
        // No entry discards the notes (only a server value the device's notes replaced may be logged).
        for (const e of log) expect(e.losing.notes ?? null, JSON.stringify(e)).toBeNull();

        // Restoring the manual group puts it back as a unit, on every device.
        await restore(s, user, log.find((e) => e.losing.distance_m === 5200).id);
        await syncAll([phone, laptop], 1);
        const restored = await expectConverged(s, user, [phone, laptop]);
        expect(find(restored, 'activities', id)).toMatchObject({ ...manualGroup(5200), notes: 'legs heavy' });
      });
    }

    it('Garmin data never loses to a later manual edit from a device that had not seen it, but a device that saw it may edit the notes', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'garmin-seen');
      await engineWrite(s, user, 'activities', { id: ids.activities, ...GARMIN });
      await watch.sync();
      await watch.update('activities', ids.activities, { notes: 'watch notes', perceived_effort: 8 });
      await phone.update('activities', ids.activities, { distance_m: 9999, route_polyline: 'phone-line' });
      await syncAll([watch, phone]);
      const server = await expectConverged(s, user, devices);
      expect(find(server, 'activities', ids.activities)).toMatchObject({ ...GARMIN, gps_source: 'garmin', notes: 'watch notes', perceived_effort: 8 });
      expect(await conflictLog(s, user)).toContainEqual(expect.objectContaining({ rule: 'activity-recorded-source-priority', losing: expect.objectContaining({ distance_m: 9999, route_polyline: 'phone-line', gps_source: 'manual' }) }));
    });
  });

  describe('test 3 — settings: last received wins', () => {
    it('two devices change the same key offline and sync one after the other: the later-received value everywhere, the other logged', async () => {
      const s = stack();
      const { user, phone, watch, devices } = await twoDevices(s, 'settings');
      await phone.update('settings', 'units', { value: '"mi"' });
      await watch.update('settings', 'units', { value: '"m"' });
      await phone.sync();
      await watch.sync();
      await syncAll(devices);
      const server = await expectConverged(s, user, devices);
      expect(find(server, 'settings', 'units')).toMatchObject({ value: '"m"' });
      const log = await conflictLog(s, user);
      expect(log).toEqual([expect.objectContaining({ table: 'settings', record_id: 'units', rule: 'settings-last-write-wins', losing_action: 'update', losing: { value: '"mi"' }, winning: { value: '"m"' } })]);

      await restore(s, user, log[0].id);
      await syncAll(devices, 1);
      expect(find(await expectConverged(s, user, devices), 'settings', 'units')).toMatchObject({ value: '"mi"' });
    });

    it('two devices create the same key offline (create/create): the later received wins', async () => {
      const s = stack();
      const user = uniqueUser('settings-create');
      const phone = await openDevice(s, user, 'sc-phone');
      const watch = await openDevice(s, user, 'sc-watch');
      await phone.create('settings', { value: '"dark"' }, 'theme');
      await watch.create('settings', { value: '"light"' }, 'theme');
      await watch.sync();
      await phone.sync();
      await syncAll([phone, watch]);
      const server = await expectConverged(s, user, [phone, watch]);
      expect(server.settings).toEqual([expect.objectContaining({ id: 'theme', value: '"dark"' })]);
      expect(await conflictLog(s, user)).toContainEqual(expect.objectContaining({ rule: 'settings-last-write-wins', losing: { value: '"light"' }, winning: { value: '"dark"' } }));
    });

    it('the later received value wins inside the race window too', async () => {
      const s = stack();
      const { user, phone, watch, devices } = await twoDevices(s, 'settings-race');
      await phone.update('settings', 'units', { value: '"mi"' });
      await watch.update('settings', 'units', { value: '"m"' });
      const race = raceFetch(() => watch.sync());
      await phone.sync({ fetch: race.fetch });
      expect(race.fired()).toBe(true);
      await syncAll(devices);
      const server = await expectConverged(s, user, devices);
      expect(find(server, 'settings', 'units')).toMatchObject({ value: '"mi"' });
      expect(await conflictLog(s, user)).toContainEqual(expect.objectContaining({ rule: 'settings-last-write-wins', losing: { value: '"m"' }, winning: { value: '"mi"' }, resolved_by: 'server' }));
    });
  });

  describe('test 4 — delete vs edit, each entity, both directions, inside and outside the race window', () => {
    type Entity = 'activities' | 'plans' | 'planned_workouts' | 'settings';
    const ENTITIES: Entity[] = ['activities', 'plans', 'planned_workouts', 'settings'];
    const byDevice: Record<Entity, Values> = {
      activities: { notes: 'other device notes' },
      plans: { goal: 'other device goal' },
      planned_workouts: { description: 'other device description' },
      settings: { value: '"other"' },
    };
    const byServer: Partial<Record<Entity, Values>> = {
      activities: GARMIN,
      plans: { goal: 'engine goal', race_date: 1_791_000_000_000 },
      planned_workouts: { description: 'engine: tempo', target_distance_m: 10_000 },
    };
    const mine: Record<Entity, Values> = {
      activities: { notes: 'my notes', title: 'My title' },
      plans: { goal: 'my goal' },
      planned_workouts: { description: 'my description' },
      settings: { value: '"mine"' },
    };

    // The phone deletes while another writer edits the same record.
    for (const entity of ENTITIES) {
      for (const writer of byServer[entity] ? (['server', 'device'] as const) : (['device'] as const)) {
        for (const timing of ['offline', 'race window', 'seen before the delete'] as const) {
          const concurrent = timing !== 'seen before the delete';
          const outcome = !concurrent ? 'the delete wins' : entity === 'plans' || entity === 'planned_workouts' ? "the edit survives and comes back to the phone" : entity === 'settings' ? 'the delete, received last, wins' : 'the delete wins';
          it(`${entity}: the phone deletes, the ${writer === 'server' ? 'server' : 'watch'} edits (${timing}) → ${outcome}`, async () => {
            const s = stack();
            const { user, ids, phone, watch, devices } = await twoDevices(s, `del-${entity}`);
            const id = ids[entity];
            const values = writer === 'server' ? (byServer[entity] as Values) : byDevice[entity];
            const edit = async () => {
              if (writer === 'server') await engineWrite(s, user, entity, { id, ...values });
              else {
                await watch.update(entity, id, values);
                await watch.sync();
              }
            };
            if (!concurrent) {
              await edit();
              await phone.sync(); // the phone sees the edit, then deletes
              await phone.remove(entity, id);
              await phone.sync();
            } else if (timing === 'offline') {
              await phone.remove(entity, id);
              await edit();
              await phone.sync();
            } else {
              await phone.remove(entity, id);
              const race = raceFetch(edit);
              await phone.sync({ fetch: race.fetch });
              expect(race.fired()).toBe(true);
            }
            await syncAll(devices);
            const server = await expectConverged(s, user, devices);
            const log = await conflictLog(s, user);
            const about = log.filter((e) => e.record_id === id && e.rule !== 'activity-recorded-source-priority');

            if (!concurrent) {
              expect(find(server, entity, id)).toBeUndefined();
              expect(about, 'a delete of a version the phone had seen is no conflict').toEqual([]);
            } else if (entity === 'plans' || entity === 'planned_workouts') {
              expect(find(server, entity, id)).toMatchObject(values);
              expect(about).toContainEqual(expect.objectContaining({ table: entity, rule: 'plan-server-wins', losing_action: 'delete', losing: {} }));
            } else {
              expect(find(server, entity, id)).toBeUndefined();
              // The edit the delete removed is kept in the log, with the values it had.
              expect(about).toContainEqual(
                expect.objectContaining({ table: entity, rule: entity === 'settings' ? 'settings-last-write-wins' : 'delete-wins', losing_action: 'update', losing: expect.objectContaining(values), winning: {} }),
              );
            }
            // A workout's plan is untouched by all of this.
            if (entity === 'planned_workouts') expect(find(server, 'plans', ids.plans)).toMatchObject(plan());
          });
        }
      }
    }

    // The phone edits while the watch deletes the same record.
    for (const entity of ENTITIES) {
      for (const timing of ['offline', 'race window'] as const) {
        const outcome = entity === 'settings' ? 'the edit, received last, brings the key back' : 'the delete wins';
        it(`${entity}: the phone edits, the watch deletes (${timing}) → ${outcome}`, async () => {
          const s = stack();
          const { user, ids, phone, watch, devices } = await twoDevices(s, `edit-${entity}`);
          const id = ids[entity];
          const remove = async () => {
            await watch.remove(entity, id);
            await watch.sync();
          };
          await phone.update(entity, id, mine[entity]);
          if (timing === 'offline') {
            await remove();
            await phone.sync();
          } else {
            const race = raceFetch(remove);
            await phone.sync({ fetch: race.fetch });
            expect(race.fired()).toBe(true);
          }
          await syncAll(devices);
          const server = await expectConverged(s, user, devices);
          const about = (await conflictLog(s, user)).filter((e) => e.record_id === id);
          if (entity === 'settings') {
            expect(find(server, entity, id)).toMatchObject(mine.settings);
            expect(about).toContainEqual(expect.objectContaining({ table: 'settings', rule: 'settings-last-write-wins', losing_action: 'delete', losing: {}, winning: expect.objectContaining(mine.settings) }));
          } else {
            expect(find(server, entity, id)).toBeUndefined();
            expect(about).toContainEqual(expect.objectContaining({ table: entity, rule: 'delete-wins', losing_action: 'update', losing: expect.objectContaining(mine[entity]), winning: {} }));
          }
        });
      }
    }

    it('a server-side write for a deleted record never resurrects it (Garmin, plan engine)', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'no-resurrect');
      await phone.removeMany('planned_workouts', [ids.planned_workouts]);
      await phone.remove('plans', ids.plans);
      await phone.remove('activities', ids.activities);
      await phone.sync();
      await watch.sync();
      expect((await engineWrite(s, user, 'activities', { id: ids.activities, ...GARMIN })).action).toBe('ignored');
      expect((await engineWrite(s, user, 'plans', { id: ids.plans, goal: 'engine goal' })).action).toBe('ignored');
      expect((await engineWrite(s, user, 'planned_workouts', { id: ids.planned_workouts, description: 'engine' })).action).toBe('ignored');
      await syncAll(devices);
      const server = await expectConverged(s, user, devices);
      expect(server.activities).toEqual([]);
      expect(server.plans).toEqual([]);
      expect(server.planned_workouts).toEqual([]);
      expect(await conflictLog(s, user)).toEqual([]);
    });

    it('a server-side write racing a delete (between the phone’s pull and push): Garmin data is deleted with the activity; the plan edit survives', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'race-both');
      await phone.remove('activities', ids.activities);
      await phone.remove('plans', ids.plans);
      const race = raceFetch(async () => {
        await engineWrite(s, user, 'activities', { id: ids.activities, ...GARMIN });
        await engineWrite(s, user, 'plans', { id: ids.plans, goal: 'engine goal' });
      });
      await phone.sync({ fetch: race.fetch });
      await syncAll(devices);
      const server = await expectConverged(s, user, devices);
      expect(server.activities).toEqual([]);
      expect(server.plans).toEqual([expect.objectContaining({ id: ids.plans, goal: 'engine goal' })]);
      const log = await conflictLog(s, user);
      expect(log).toContainEqual(expect.objectContaining({ record_id: ids.activities, rule: 'delete-wins', losing: expect.objectContaining({ ...GARMIN, gps_source: 'garmin' }), resolved_by: 'server' }));
      expect(log).toContainEqual(expect.objectContaining({ record_id: ids.plans, rule: 'plan-server-wins', losing_action: 'delete', resolved_by: 'server' }));
    });
  });

  describe('echoes: a device never conflicts with its own writes or with versions it has seen', () => {
    it('a workout edited, synced, edited AGAIN before the next sync: the second edit stands (no false plan-server-wins)', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'echo');
      await phone.update('planned_workouts', ids.planned_workouts, { description: 'first' });
      await phone.sync();
      await phone.update('planned_workouts', ids.planned_workouts, { description: 'second', target_distance_m: 9000 });
      await phone.sync();
      await syncAll([watch, phone]);
      const server = await expectConverged(s, user, devices);
      expect(find(server, 'planned_workouts', ids.planned_workouts)).toMatchObject({ description: 'second', target_distance_m: 9000 });
      expect(await conflictLog(s, user)).toEqual([]);
    });

    it('a plan edited three times in quick succession, syncing after each: every edit stands, nothing logged', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'quick');
      for (const goal of ['sub 3:59', 'sub 3:55', 'sub 3:50']) {
        await phone.update('plans', ids.plans, { goal });
        await phone.sync();
        expect(find(await phone.snapshot(), 'plans', ids.plans)).toMatchObject({ goal });
      }
      await syncAll([watch, phone]);
      expect(find(await expectConverged(s, user, devices), 'plans', ids.plans)).toMatchObject({ goal: 'sub 3:50' });
      expect(await conflictLog(s, user)).toEqual([]);
    });

    it('a workout edited and synced, then deleted before the next sync: the delete wins', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'echo-delete');
      await phone.update('planned_workouts', ids.planned_workouts, { description: 'edited' });
      await phone.sync();
      await phone.remove('planned_workouts', ids.planned_workouts);
      await phone.sync();
      await syncAll([watch, phone]);
      expect((await expectConverged(s, user, devices)).planned_workouts).toEqual([]);
      expect(await conflictLog(s, user)).toEqual([]);
    });

    it("a plan the phone received from the watch moments ago, then edits: the phone's edit stands", async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'seen-edit');
      await watch.update('planned_workouts', ids.planned_workouts, { description: 'watch' });
      await watch.sync();
      await phone.sync(); // the phone now holds the watch's version
      expect(find(await phone.snapshot(), 'planned_workouts', ids.planned_workouts)).toMatchObject({ description: 'watch' });
      await phone.update('planned_workouts', ids.planned_workouts, { description: 'phone, after seeing the watch' });
      await phone.sync();
      await syncAll([watch, phone]);
      expect(find(await expectConverged(s, user, devices), 'planned_workouts', ids.planned_workouts)).toMatchObject({ description: 'phone, after seeing the watch' });
      expect((await conflictLog(s, user)).filter((e) => e.rule === 'plan-server-wins')).toEqual([]);
    });

    it('a plan-engine version the phone has pulled, then edits: the edit stands', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'seen-engine');
      await engineWrite(s, user, 'plans', { id: ids.plans, goal: 'engine goal' });
      await phone.sync();
      await phone.update('plans', ids.plans, { race_date: 1_795_000_000_000 });
      await phone.sync();
      await syncAll([watch, phone]);
      expect(find(await expectConverged(s, user, devices), 'plans', ids.plans)).toMatchObject({ goal: 'engine goal', race_date: 1_795_000_000_000 });
      expect(await conflictLog(s, user)).toEqual([]);
    });
  });

  describe('nothing is lost', () => {
    it('every discarded change of a busy offline session is in the log, and restoring each brings its values back', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'lost');
      // Offline on the phone: edits of every entity.
      await phone.update('plans', ids.plans, { goal: 'phone goal' });
      await phone.update('planned_workouts', ids.planned_workouts, { description: 'phone description' });
      await phone.update('settings', 'units', { value: '"phone"' });
      await phone.update('activities', ids.activities, { distance_m: 4321, notes: 'phone notes' });
      // Meanwhile: the engine, Garmin and the watch.
      await engineWrite(s, user, 'plans', { id: ids.plans, goal: 'engine goal' });
      await engineWrite(s, user, 'planned_workouts', { id: ids.planned_workouts, description: 'engine description' });
      await engineWrite(s, user, 'activities', { id: ids.activities, ...GARMIN });
      await watch.update('settings', 'units', { value: '"watch"' });
      await watch.sync();
      await phone.sync();
      await syncAll(devices);
      const server = await expectConverged(s, user, devices);
      expect(find(server, 'plans', ids.plans)).toMatchObject({ goal: 'engine goal' });
      expect(find(server, 'planned_workouts', ids.planned_workouts)).toMatchObject({ description: 'engine description' });
      expect(find(server, 'settings', 'units')).toMatchObject({ value: '"phone"' });
      expect(find(server, 'activities', ids.activities)).toMatchObject({ ...GARMIN, notes: 'phone notes' });

      const log = await conflictLog(s, user);
      const losing = (table: string, column: string, value: unknown) => log.find((e) => e.table === table && e.losing[column] === value);
      const lostPlan = losing('plans', 'goal', 'phone goal');
      const lostWorkout = losing('planned_workouts', 'description', 'phone description');
      const lostSetting = losing('settings', 'value', '"watch"');
      const lostDistance = losing('activities', 'distance_m', 4321);
      for (const e of [lostPlan, lostWorkout, lostSetting, lostDistance]) expect(e).toBeDefined();
      // Every entry carries what the user needs to decide: the record, the rule, both sides, when.
      for (const e of log) expect(Object.keys(e).sort()).toEqual(['at', 'id', 'losing', 'losing_action', 'record_id', 'resolved_by', 'rule', 'table', 'winning']);

      for (const e of [lostPlan, lostWorkout, lostSetting, lostDistance]) await restore(s, user, e.id);
      await syncAll(devices, 1);
      const restored = await expectConverged(s, user, devices);
      expect(find(restored, 'plans', ids.plans)).toMatchObject({ goal: 'phone goal' });
      expect(find(restored, 'planned_workouts', ids.planned_workouts)).toMatchObject({ description: 'phone description' });
      expect(find(restored, 'settings', 'units')).toMatchObject({ value: '"watch"' });
      expect(find(restored, 'activities', ids.activities)).toMatchObject({ distance_m: 4321, gps_source: 'manual', notes: 'phone notes' });
    });

    it('restoring an edit that lost to a delete brings the record back, with the edit, to every device; restoring a lost delete deletes again', async () => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'restore-deleted');
      await phone.update('activities', ids.activities, { notes: 'phone notes', perceived_effort: 9 });
      await watch.remove('activities', ids.activities);
      await watch.sync();
      await phone.remove('plans', ids.plans);
      await engineWrite(s, user, 'plans', { id: ids.plans, goal: 'engine goal' });
      await phone.sync();
      await syncAll(devices);
      let server = await expectConverged(s, user, devices);
      expect(find(server, 'activities', ids.activities)).toBeUndefined();
      expect(find(server, 'plans', ids.plans)).toMatchObject({ goal: 'engine goal' });

      const log = await conflictLog(s, user);
      const lostEdit = log.find((e) => e.record_id === ids.activities && e.rule === 'delete-wins');
      const lostDelete = log.find((e) => e.record_id === ids.plans && e.losing_action === 'delete');
      expect(lostEdit).toMatchObject({ losing_action: 'update', losing: { notes: 'phone notes', perceived_effort: 9 } });
      expect(lostDelete).toMatchObject({ rule: 'plan-server-wins', losing: {} });

      expect((await restore(s, user, lostEdit.id)).action).toBe('resurrect');
      expect((await restore(s, user, lostDelete.id)).action).toBe('delete');
      await syncAll(devices, 1);
      server = await expectConverged(s, user, devices);
      expect(find(server, 'activities', ids.activities)).toMatchObject({ ...activity(), notes: 'phone notes', perceived_effort: 9 });
      expect(find(server, 'plans', ids.plans)).toBeUndefined();
    });

    it('a push that fails after its first request still teaches the device its accepted versions: a later edit of that plan is no conflict', async () => {
      const s = stack();
      const { user, ids, phone, devices } = await twoDevices(s, 'partial');
      await phone.update('plans', ids.plans, { goal: 'first edit' });
      await phone.update('planned_workouts', ids.planned_workouts, { description: 'first edit' });
      // One record per request; the second request fails, so the sync fails after the plan landed.
      let posts = 0;
      const secondPushFails: FetchLike = async (url, init) => {
        if (new URL(url).pathname === '/api/v1/sync' && init?.method === 'POST' && ++posts === 2) throw new TypeError('connection reset');
        const res = await fetch(url, init);
        const text = await res.text();
        return { status: res.status, headers: res.headers, text: async () => text };
      };
      await expect(phone.sync({ fetch: secondPushFails, maxPushBytes: 700 })).rejects.toThrow();
      expect(posts).toBe(2);
      expect(find(await serverSnapshot(s, user), 'plans', ids.plans)).toMatchObject({ goal: 'first edit' });
      // Edited again before the next sync: the plan version the server holds is the phone's own.
      await phone.update('plans', ids.plans, { goal: 'second edit' });
      await syncAll(devices);
      const server = await expectConverged(s, user, devices);
      expect(find(server, 'plans', ids.plans)).toMatchObject({ goal: 'second edit' });
      expect(find(server, 'planned_workouts', ids.planned_workouts)).toMatchObject({ description: 'first edit' });
      expect(await conflictLog(s, user)).toEqual([]);
    });

    const reportFailures: readonly [string, (() => never) | number][] = [
      ['the network is down', () => { throw new TypeError('network down'); }],
      ['the token expired (401)', 401],
      ['an older server has no such route (404)', 404],
      ['the server is throttling (429)', 429],
    ];
    it.each(reportFailures)('a conflict report that fails to reach the server (%s) stays in the device and is delivered by the next sync', async (_what, failure) => {
      const s = stack();
      const { user, ids, phone, watch, devices } = await twoDevices(s, 'outbox');
      await phone.update('planned_workouts', ids.planned_workouts, { description: 'phone offline' });
      await engineWrite(s, user, 'planned_workouts', { id: ids.planned_workouts, description: 'engine' });
      // The conflict is resolved on the phone during the pull; its report request fails.
      const failing: FetchLike = async (url, init) => {
        if (new URL(url).pathname === '/api/v1/conflicts') {
          if (typeof failure === 'function') failure();
          const body = JSON.stringify({ error: { code: 'x', message: 'refused', details: [] } });
          return { status: failure as number, headers: new Headers(), text: async () => body };
        }
        const res = await fetch(url, init);
        const text = await res.text();
        return { status: res.status, headers: res.headers, text: async () => text };
      };
      await phone.sync({ fetch: failing });
      expect(await conflictLog(s, user)).toEqual([]);
      await phone.sync();
      await syncAll([watch, phone]);
      await expectConverged(s, user, devices);
      expect(await conflictLog(s, user)).toEqual([expect.objectContaining({ rule: 'plan-server-wins', losing: { description: 'phone offline' }, resolved_by: 'device' })]);
    });
  });
});

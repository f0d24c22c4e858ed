/**
 * The change feed and the server-write ingress end to end, with real WatermelonDB devices (LokiJS)
 * and a reference "brain" (test/e2e/support/brain.ts) following the feed: a run logged offline on
 * the phone → sync → the feed → the brain marks the day's workout completed and moves the next one
 * through the ingress → the tablet and the phone see both; the tablet, which had edited the moved
 * workout offline, loses that edit to `plan-server-wins` and finds it in the conflict log. On the
 * run's engine: DynamoDB Local's stream in CI (dynalite: the stack's own writes).
 */
import { describe, expect, it, vi } from 'vitest';
import { apiAs, useLocalStack } from '../support/stack.js';
import { uniqueUser } from '../support/dynamo.js';
import { Brain } from './support/brain.js';
import { expectConvergedWithServer } from './support/converged.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, type Device, type Snapshot } from './support/devices.js';

const find = (s: Snapshot, id: string) => s.planned_workouts.find((r) => r.id === id);

describe('e2e: the brain follows the change feed and writes through the ingress', () => {
  const stack = useLocalStack();
  failOnSyncDiagnostics();

  it('a run logged offline on the phone completes the day’s workout and moves the next; the tablet’s offline edit of the moved workout loses to plan-server-wins', async () => {
    const s = stack();
    const user = uniqueUser('brain');
    const brain = new Brain(s);
    const phone = await openDevice(s, user, 'brain-phone');
    const tablet = await openDevice(s, user, 'brain-tablet');
    const sync = async (...devices: Device[]) => {
      for (const d of devices) await d.sync();
    };

    // The plan, made on the tablet: three workouts in the week of 1 March 2027.
    const plan = `${user}-plan`;
    const [w1, w2, w3] = [`${user}-w1`, `${user}-w2`, `${user}-w3`];
    await tablet.create('plans', { name: 'Spring 10k', goal: 'sub 50', race_date: 1_809_000_000_000, status: 'active' }, plan);
    for (const [id, day, type] of [[w1, '2027-03-01', 'easy'], [w2, '2027-03-03', 'intervals'], [w3, '2027-03-06', 'long']] as const) {
      await tablet.create('planned_workouts', { plan_id: plan, scheduled_on: day, workout_type: type, target_distance_m: 8000, target_duration_s: null, description: null, completed_activity_id: null }, id);
    }
    await sync(tablet, phone);
    expect(find(await phone.snapshot(), w2)).toMatchObject({ scheduled_on: '2027-03-03' });
    // The brain has seen the plan being created (it keeps its own view from the feed).
    await vi.waitFor(async () => {
      await brain.step();
      expect(brain.events.filter((e) => e.detail.user_id === user && e["detail-type"] === "planned_workouts.created").map((e) => [e.detail.record_id, e.detail.version, e.detail.writer]), JSON.stringify(brain.events.map((e) => [e["detail-type"], e.detail.record_id, e.detail.version]))).toHaveLength(3);
    }, { timeout: 30_000, interval: 0 });
    expect(brain.reactions).toEqual([]);

    // Offline: the tablet rewrites the second workout; the phone logs the 1 March run.
    await tablet.update('planned_workouts', w2, { description: 'tablet: hill repeats instead' });
    const run = await phone.create('activities', {
      sport: 'running', started_at: Date.UTC(2027, 2, 1, 6, 30), duration_s: 2900, distance_m: 8100, elevation_gain_m: 35, avg_heart_rate: 142,
      route_polyline: null, gps_source: 'manual', title: 'Easy 8k', notes: null, perceived_effort: 4, upload_id: null,
    });

    // The phone comes online; the brain reacts to the run from the feed.
    await phone.sync();
    await vi.waitFor(async () => {
      await brain.step();
      expect(brain.reactions.filter((r) => r.userId === user)).toHaveLength(1);
    }, { timeout: 30_000, interval: 0 });
    const [reaction] = brain.reactions;
    expect(reaction).toEqual({
      userId: user,
      activityId: run,
      completed: w1,
      moved: { id: w2, from: '2027-03-03', to: '2027-03-04' },
      status: 200,
      answer: { results: [expect.objectContaining({ id: w1, action: 'update' }), expect.objectContaining({ id: w2, action: 'update' })] },
    });
    const activityEvent = brain.events.find((e) => e.detail.record_id === run);
    expect(activityEvent).toMatchObject({ 'detail-type': 'activities.created', detail: { user_id: user, writer: 'device', change: 'created' } });

    // Both devices sync (the tablet pushes its stale edit and loses it), then converge.
    await sync(tablet, phone, tablet, phone);
    const server = await expectConvergedWithServer(s, user, [phone, tablet]);
    expect(find(server, w1)).toMatchObject({ scheduled_on: '2027-03-01', completed_activity_id: run });
    expect(find(server, w2)).toMatchObject({ scheduled_on: '2027-03-04', description: null, completed_activity_id: null });
    expect(find(server, w3)).toMatchObject({ scheduled_on: '2027-03-06' });
    for (const d of [phone, tablet]) {
      const snap = await d.snapshot();
      expect(find(snap, w1), d.name).toMatchObject({ completed_activity_id: run });
      expect(find(snap, w2), d.name).toMatchObject({ scheduled_on: '2027-03-04', description: null });
    }

    // Nothing lost: the tablet's edit is in the conflict log, restorable.
    const log = await apiAs(s, await s.token(user)).conflicts();
    expect(log).toEqual([
      expect.objectContaining({ table: 'planned_workouts', record_id: w2, rule: 'plan-server-wins', losing_action: 'update', losing: { description: 'tablet: hill repeats instead' }, winning: { description: null } }),
    ]);

    // The feed told the story in order per record: the brain's writes are plan-engine's, and what it wrote changed.
    await vi.waitFor(async () => {
      await brain.step();
      const w2Events = brain.events.filter((e) => e.detail.record_id === w2).map((e) => e.detail);
      expect(w2Events.map((d) => [d.change, d.writer, d.changed])).toEqual(expect.arrayContaining([['updated', 'plan-engine', ['scheduled_on']]]));
      const w1Events = brain.events.filter((e) => e.detail.record_id === w1).map((e) => [e.detail.writer, e.detail.changed]);
      expect(w1Events).toEqual([['device', expect.any(Array)], ['plan-engine', ['completed_activity_id']]]);
    }, { timeout: 30_000, interval: 0 });
    // The brain reacts once per run, whatever else the feed carries afterwards.
    expect(brain.reactions.filter((r) => r.userId === user)).toHaveLength(1);
  });
});

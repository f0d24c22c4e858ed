/**
 * Exact delta pulls (docs/sync-protocol.md, P4–P5), with real WatermelonDB devices, both as a stock
 * client (the README's snippet, contract v1 fields only) and through the client module: a device
 * never holds a version newer than its `last_pulled_at`, so its next push is judged against what it
 * really had. Devices sync right after one another, well inside the index-lag window (5 s).
 */
import { describe, expect, it } from 'vitest';
import { uniqueUser } from '../support/dynamo.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import type { LocalStack } from '../../local/server.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, withoutBookkeeping, type Device } from './support/devices.js';
import { serverSnapshot } from './support/server.js';
import { stockSync } from './support/stock-client.js';

const stack = useLocalStack();

/** Counts the records of each pull page a client fetches (its GETs of /api/v1/sync). */
function countingFetch(onPulled: (records: number) => void, network: typeof fetch = fetch): typeof fetch {
  return (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await network(input, init);
    if ((init?.method ?? 'GET') === 'GET' && String(input).includes('/api/v1/sync')) {
      const body = (await res.clone().json()) as { changes?: Record<string, { created: unknown[]; updated: unknown[]; deleted: unknown[] }> };
      onPulled(Object.values(body.changes ?? {}).reduce((n, set) => n + set.created.length + set.updated.length + set.deleted.length, 0));
    }
    return res;
  }) as typeof fetch;
}

/**
 * A network that loses the response of the next push: the request reaches the server and is
 * applied, then the connection drops before the answer arrives.
 */
function losingNextPushResponse(): { fetch: typeof fetch; lose(): void; lost: () => number } {
  let armed = false;
  let lost = 0;
  const f = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await fetch(input, init);
    if (armed && init?.method === 'POST' && String(input).includes('/api/v1/sync')) {
      armed = false;
      lost += 1;
      await res.text();
      throw new TypeError('Network request failed');
    }
    return res;
  }) as typeof fetch;
  return { fetch: f, lose: () => (armed = true), lost: () => lost };
}

type Sync = (d: Device, network?: typeof fetch) => Promise<void>;
const CLIENTS: [string, (s: LocalStack, token: string, pulled: number[]) => Sync][] = [
  ['a stock client (the documented snippet)', (s, token, pulled) => (d, network) => stockSync(d.database, s.url, token, countingFetch((n) => pulled.push(n), network))],
  ['the client module', (_s, _token, pulled) => (d, network) => d.sync({ fetch: countingFetch((n) => pulled.push(n), network) as never })],
];

const plan = { name: 'Spring 10k', goal: 'sub 50', race_date: 1_780_000_000_000, status: 'active' };
const workout = (planId: string, day: string) => ({ plan_id: planId, scheduled_on: day, workout_type: 'easy', target_distance_m: 6000, target_duration_s: null, description: null, completed_activity_id: null });
const run = { sport: 'running', started_at: 1_767_225_600_000, duration_s: 1800, distance_m: 5000, gps_source: 'manual' };

async function setup(label: string, make: (s: LocalStack, token: string, pulled: number[]) => Sync) {
  const s = stack();
  const user = uniqueUser(label.startsWith('a stock') ? 'exact-stock' : 'exact-module');
  const token = await s.token(user);
  const pulled: number[] = [];
  const devices = await Promise.all(['phone', 'tablet', 'watch', 'web'].map((n) => openDevice(s, user, `${user}-${n}`)));
  // Plans, workouts and activities have global ids: each test's own, so no test meets another user's id.
  const id = (local: string) => `${user}-${local}`;
  return { s, user, token, pulled, id, devices: devices as [Device, Device, Device, Device], sync: make(s, token, pulled) };
}

/** Each device syncs once more (it learns the server's stamps of its own last push from that pull), then all match the server. */
async function expectConverged(s: LocalStack, user: string, devices: readonly Device[], sync: Sync) {
  for (const d of devices) await sync(d);
  const server = await serverSnapshot(s, user);
  for (const d of devices) {
    expect(await d.hasUnsyncedChanges()).toBe(false);
    expect(withoutBookkeeping(await d.snapshot())).toEqual(server);
  }
  return server;
}

describe.each(CLIENTS)('e2e exact pulls: %s', (label, make) => {
  failOnSyncDiagnostics();

  it('a delete right after another device pushed is not lost to a false conflict', async () => {
    const { s, user, token, devices, sync, id } = await setup(label, make);
    const [phone, tablet] = devices;
    await phone.create('plans', plan, id('p1'));
    await phone.createMany('planned_workouts', [{ ...workout(id('p1'), '2027-03-01'), id: id('w1') }, { ...workout(id('p1'), '2027-03-03'), id: id('w2') }]);
    await sync(phone);
    await sync(tablet);
    await tablet.remove('planned_workouts', id('w1'));
    await sync(tablet);
    await sync(phone);
    const server = await expectConverged(s, user, [phone, tablet], sync);
    expect(server.planned_workouts.map((w) => w.id)).toEqual([id('w2')]);
    expect(await apiAs(s, token).conflicts()).toEqual([]);
  });

  it("a plan edited right after another device's push keeps the edit (plans: server wins only over what the device had not seen)", async () => {
    const { s, user, token, devices, sync, id } = await setup(label, make);
    const [phone, tablet] = devices;
    await phone.create('plans', plan, id('p1'));
    await sync(phone);
    await sync(tablet);
    await phone.update('plans', id('p1'), { goal: 'sub 48' });
    await sync(phone);
    await sync(tablet);
    await tablet.update('plans', id('p1'), { name: 'Spring 10k (revised)', goal: 'sub 47' });
    await sync(tablet);
    await sync(phone);
    const server = await expectConverged(s, user, [phone, tablet], sync);
    expect(server.plans[0]).toMatchObject({ name: 'Spring 10k (revised)', goal: 'sub 47' });
    expect(await apiAs(s, token).conflicts()).toEqual([]);
  });

  it("another device's next pull carries exactly the one record changed, not what was written in the seconds before", async () => {
    const { s, user, devices, sync, pulled, id } = await setup(label, make);
    const [phone, tablet] = devices;
    await phone.createMany('activities', Array.from({ length: 8 }, (_, i) => ({ ...run, id: id(`a${i}`), title: `run ${i}` })));
    await sync(phone);
    await sync(tablet);
    await phone.update('activities', id('a3'), { notes: 'felt good' });
    await sync(phone);
    pulled.length = 0;
    await sync(tablet);
    expect(pulled).toEqual([1]);
    await sync(tablet);
    expect(pulled).toEqual([1, 0]);
    await expectConverged(s, user, [phone, tablet], sync);
  });

  it('2–4 devices editing, deleting and syncing in random order converge, with nothing in the conflict log (no edit was concurrent)', async () => {
    const { s, user, token, devices, sync, id } = await setup(label, make);
    // Deterministic pseudo-random steps (mulberry32): each step syncs a device, changes something
    // it has, and syncs again, so no change is ever concurrent with another.
    let seed = 0x5eed11;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const [first] = devices;
    await first.create('plans', plan, id('p1'));
    await sync(first);
    let n = 0;
    for (let step = 0; step < 24; step++) {
      const d = pick(devices.slice(0, 2 + (step % 3)));
      await sync(d);
      const snap = await d.snapshot();
      const action = pick(['workout', 'goal', 'delete', 'activity', 'notes'] as const);
      const workouts = snap.planned_workouts.map((w) => String(w.id));
      const activities = snap.activities.map((a) => String(a.id));
      if (action === 'workout' || (action === 'delete' && workouts.length === 0)) await d.create('planned_workouts', workout(id('p1'), `2027-04-${String(1 + (n % 28)).padStart(2, '0')}`), id(`w${n++}`));
      else if (action === 'goal') await d.update('plans', id('p1'), { goal: `goal ${step}` });
      else if (action === 'delete') await d.remove('planned_workouts', pick(workouts));
      else if (action === 'activity' || activities.length === 0) await d.create('activities', { ...run, title: `run ${step}` }, id(`a${n++}`));
      else await d.update('activities', pick(activities), { notes: `notes ${step}` });
      await sync(d);
    }
    for (const d of [...devices, ...devices]) await sync(d);
    await expectConverged(s, user, devices, sync);
    expect(await apiAs(s, token).conflicts()).toEqual([]);
  });

  // The next sync pulls first: its exact timestamp covers the write the device never heard back about.
  it('lost acknowledgements: a push applied whose response never arrived, then further edits of the same records: every edit stands, nothing in the conflict log', async () => {
    const { s, user, token, devices, sync, id } = await setup(label, make);
    const [phone, tablet] = devices;
    await phone.create('plans', plan, id('p1'));
    await phone.create('activities', { ...run, title: 'tempo' }, id('a1'));
    await sync(phone);
    await sync(tablet);
    const network = losingNextPushResponse();
    for (const [goal, notes] of [['sub 49', 'first'], ['sub 48', 'second']] as const) {
      await phone.update('plans', id('p1'), { goal });
      await phone.update('activities', id('a1'), { notes });
      network.lose();
      await expect(sync(phone, network.fetch)).rejects.toThrow();
    }
    expect(network.lost()).toBe(2);
    await phone.update('plans', id('p1'), { goal: 'sub 47' });
    await phone.update('activities', id('a1'), { notes: 'third' });
    await sync(phone);
    await sync(tablet);
    const server = await expectConverged(s, user, [phone, tablet], sync);
    expect(server.plans[0]).toMatchObject({ goal: 'sub 47' });
    expect(server.activities[0]).toMatchObject({ notes: 'third' });
    expect(await apiAs(s, token).conflicts()).toEqual([]);
  });

  // The write of the second sync is not exactly what the phone holds (it was sent as created and
  // stored as an update, R4), so P12 sends it back, while the phone holds a newer edit and, its
  // response lost too, no `versions`: the module must see it is its own write (`_own_since`), not
  // a plan change it missed (plans: server wins).
  it('a plan created, two push responses lost, then edited before each sync: its own write coming back is no conflict', async () => {
    const { s, user, token, devices, sync, id } = await setup(label, make);
    const [phone, tablet] = devices;
    await sync(phone);
    const network = losingNextPushResponse();
    await phone.create('plans', plan, id('p1'));
    for (const goal of ['sub 49', 'sub 48']) {
      network.lose();
      await expect(sync(phone, network.fetch)).rejects.toThrow();
      await phone.update('plans', id('p1'), { goal });
    }
    expect(network.lost()).toBe(2);
    await sync(phone);
    const server = await expectConverged(s, user, [phone, tablet], sync);
    expect(server.plans).toEqual([expect.objectContaining({ id: id('p1'), goal: 'sub 48' })]);
    expect(await apiAs(s, token).conflicts()).toEqual([]);
  });

  // The phone's notes are merged with the tablet's title (per column), so that version comes back
  // to the phone (P12: not what it sent) while it holds newer notes: only the title is a change it
  // missed; its own earlier notes are no conflict, so nothing is logged.
  it("an activity merged with another device's edit comes back to its writer, who edited it again: only the other device's column is new to it", async () => {
    const { s, user, token, devices, sync, id } = await setup(label, make);
    const [phone, tablet] = devices;
    await phone.create('activities', { ...run, title: 'tempo' }, id('a1'));
    await sync(phone);
    await sync(tablet);
    await tablet.update('activities', id('a1'), { title: 'tablet title' });
    await phone.update('activities', id('a1'), { notes: 'first notes' });
    await sync(tablet);
    await sync(phone);
    await phone.update('activities', id('a1'), { notes: 'second notes' });
    await sync(phone);
    const server = await expectConverged(s, user, [phone, tablet], sync);
    expect(server.activities).toEqual([expect.objectContaining({ id: id('a1'), title: 'tablet title', notes: 'second notes' })]);
    expect(await apiAs(s, token).conflicts()).toEqual([]);
  });

  it("the writing device's own next pull: the module's carries nothing (device_id), a stock client's carries its echo", async () => {
    const { s, user, devices, sync, pulled, id } = await setup(label, make);
    const [phone, tablet] = devices;
    await phone.createMany('activities', Array.from({ length: 3 }, (_, i) => ({ ...run, id: id(`e${i}`), title: `run ${i}` })));
    await sync(phone);
    await sync(tablet);
    await phone.update('activities', id('e1'), { notes: 'edited' });
    await sync(phone);
    pulled.length = 0;
    await sync(phone);
    expect(pulled).toEqual([label.startsWith('a stock') ? 1 : 0]);
    await expectConverged(s, user, [phone, tablet], sync);
  });
});


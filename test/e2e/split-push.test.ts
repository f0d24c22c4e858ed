/**
 * End to end: a push larger than Lambda's 6 MB request limit lands through the adapter's split
 * push, and a split push that fails midway (request k lost before or after the server applied
 * it) ends, once synced again, in exactly the state of one clean push.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PUSH_BYTES, SyncNetworkError } from '../../client/index.js';
import { useLocalStack } from '../support/stack.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, withoutBookkeeping, withoutStamps, type Device, type Snapshot, type Values } from './support/devices.js';
import { recordingFetch, serverSnapshot, type RecordedRequest } from './support/server.js';

const LAMBDA_LIMIT = 6 * 1024 * 1024;
const utf8 = new TextEncoder();

/** A route polyline of `n` characters from the encoding's alphabet (`?`..`~`, backslash included). */
function polyline(n: number, seed: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(63 + ((i * 31 + seed * 17) % 64));
  return s;
}
/** Notes of about 16 KB with quotes, backslashes and multi-byte characters (escaped twice in the event). */
const LONG_NOTES = 'Schöne Runde "am See" \\ 🏃 '.repeat(520);

const bigActivity = (i: number): Values & { id: string } => ({
  id: `big${String(i).padStart(3, '0')}`,
  sport: 'running',
  started_at: 1_767_225_600_000 + i * 3_600_000,
  gps_source: 'garmin',
  route_polyline: polyline(60_000, i),
  notes: LONG_NOTES,
  title: `Long run ${i} ${'x'.repeat(16_000)}`,
});

function postedBodies(requests: readonly RecordedRequest[]) {
  return requests.filter((r) => r.method === 'POST').map((r) => ({ ...r, json: JSON.parse(r.body ?? '') as { changes: Record<string, { created: { id: string }[]; updated: { id: string }[]; deleted: string[] }>; last_pulled_at: number } }));
}

describe('e2e: split pushes', () => {
  const stack = useLocalStack();
  failOnSyncDiagnostics();

  it('a push larger than the 6 MB request limit lands through split requests, and another device receives all of it', async () => {
    expect(utf8.encode(LONG_NOTES).length).toBeLessThanOrEqual(16 * 1024);
    const s = stack();
    const phone = await openDevice(s, 'rosa', 'rosa-phone');
    await phone.sync();
    const rows = Array.from({ length: 75 }, (_, i) => bigActivity(i));
    await phone.createMany('activities', rows);

    // One request with all of it is refused, and writes nothing: the limit is real.
    const whole = JSON.stringify({ changes: { activities: { created: rows, updated: [], deleted: [] } }, last_pulled_at: null });
    expect(utf8.encode(whole).length).toBeGreaterThan(LAMBDA_LIMIT);
    const refused = await fetch(`${s.url}/api/v1/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await s.token('rosa')}`, 'content-type': 'application/json' },
      body: whole,
    });
    expect(refused.status).toBe(413);
    expect((await serverSnapshot(s, 'rosa')).activities).toEqual([]);

    const rec = recordingFetch();
    await phone.sync({ fetch: rec.fetch });
    const posts = postedBodies(rec.requests);
    expect(posts.length).toBeGreaterThanOrEqual(3);
    for (const p of posts) expect(p.bodyBytes).toBeLessThanOrEqual(DEFAULT_MAX_PUSH_BYTES);
    const pulledAt = posts[0]?.json.last_pulled_at;
    expect(pulledAt).toBeGreaterThan(0);
    for (const p of posts) {
      expect(p.json.last_pulled_at).toBe(pulledAt);
      expect(p.url.searchParams.get('last_pulled_at')).toBe(String(pulledAt));
    }
    const pushedIds = posts.flatMap((p) => p.json.changes.activities?.created.map((r) => r.id) ?? []);
    expect(pushedIds.sort()).toEqual(rows.map((r) => r.id));
    expect(await phone.hasUnsyncedChanges()).toBe(false);

    const watch = await openDevice(s, 'rosa', 'rosa-watch');
    const pull = recordingFetch();
    await watch.sync({ fetch: pull.fetch });
    expect(pull.requests.filter((r) => r.method === 'GET').length, 'more than 6 MB arrives in pages').toBeGreaterThanOrEqual(2);
    await phone.sync();
    const received = await watch.snapshot();
    expect(received.activities).toHaveLength(75);
    expect(received).toEqual(await phone.snapshot());
    expect(withoutBookkeeping(received)).toEqual(await serverSnapshot(s, 'rosa'));
  });

  /**
   * The same offline session (creates, updates, deletes) on a device of `userId`. Record ids
   * start with `tag`, since an activity id belongs to one user only; `untagged` compares users.
   */
  async function offlineSession(userId: string, tag: string): Promise<Device> {
    const device = await openDevice(stack(), userId, tag);
    const id = (prefix: string, i: number) => `${tag}_${prefix}${String(i).padStart(2, '0')}`;
    const row = (prefix: string, i: number): Values & { id: string } => ({
      id: id(prefix, i),
      sport: 'running',
      started_at: 1_767_225_600_000 + i,
      distance_m: 1000 * i,
      notes: `${prefix} ${i} ${'n'.repeat(900)}`,
    });
    await device.createMany('activities', Array.from({ length: 30 }, (_, i) => row('base', i)));
    await device.create('plans', { name: 'Base plan', status: 'active' }, `${tag}_plan1`);
    await device.sync();
    await device.sync();
    await device.createMany('activities', Array.from({ length: 40 }, (_, i) => row('new', i)));
    await device.updateMany('activities', Array.from({ length: 20 }, (_, i) => [id('base', i), { notes: `edited ${i} ${'e'.repeat(900)}`, perceived_effort: (i % 10) + 1 }] as const));
    await device.removeMany('activities', Array.from({ length: 10 }, (_, i) => id('base', i + 20)));
    await device.update('plans', `${tag}_plan1`, { status: 'archived' });
    await device.create('settings', { value: '{"unit":"km"}' }, 'units');
    return device;
  }

  /** A server snapshot without stamps and without the user's id tag, to compare two users. */
  const untagged = (s: Snapshot, tag: string) =>
    Object.fromEntries(Object.entries(withoutStamps(s)).map(([t, raws]) => [t, raws.map((r) => ({ ...r, id: String(r.id).replace(`${tag}_`, '') }))]));

  const SMALL_PUSH = 20_000;

  it.each([
    ['before it reaches the server', 'before'],
    ['after the server applied it (the answer is lost)', 'after'],
  ] as const)('a split push whose 2nd request fails %s converges, once synced again, on the state of one clean push', async (_, phase) => {
    const s = stack();
    const clean = await offlineSession(`clean-${phase}`, `clean${phase}`);
    const cleanRec = recordingFetch();
    await clean.sync({ fetch: cleanRec.fetch, maxPushBytes: SMALL_PUSH });
    expect(postedBodies(cleanRec.requests).length, 'the push is split').toBeGreaterThanOrEqual(3);
    await clean.sync();
    const expected = await serverSnapshot(s, `clean-${phase}`);

    const userId = `retry-${phase}`;
    const tag = `retry${phase}`;
    const device = await offlineSession(userId, tag);
    const before = await serverSnapshot(s, userId);
    let posts = 0;
    const failing = recordingFetch((req, at) => {
      if (req.method !== 'POST') return;
      if (at === 'before') posts += 1;
      if (posts === 2 && at === phase) throw new TypeError('fetch failed: socket hang up');
    });
    await expect(device.sync({ fetch: failing.fetch, maxPushBytes: SMALL_PUSH })).rejects.toBeInstanceOf(SyncNetworkError);
    expect(postedBodies(failing.requests), 'nothing is sent after the failed request').toHaveLength(2);
    const partial = await serverSnapshot(s, userId);
    expect(untagged(partial, tag), 'part of the push landed').not.toEqual(untagged(before, tag));
    expect(untagged(partial, tag), 'not all of it').not.toEqual(untagged(expected, `clean${phase}`));
    expect(await device.hasUnsyncedChanges()).toBe(true);

    await device.sync({ maxPushBytes: SMALL_PUSH });
    await device.sync();
    expect(await device.hasUnsyncedChanges()).toBe(false);
    const after = await serverSnapshot(s, userId);
    expect(untagged(after, tag)).toEqual(untagged(expected, `clean${phase}`));
    expect(after.activities).toHaveLength(60);

    const second = await openDevice(s, userId, 'retry-second');
    await second.sync();
    expect(await second.snapshot()).toEqual(await device.snapshot());
    expect(withoutBookkeeping(await second.snapshot())).toEqual(after);
  });
});

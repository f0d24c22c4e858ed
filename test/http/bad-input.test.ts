/**
 * Bad input through the real HTTP path: a clear 4xx naming the field, and nothing written.
 * Also users cannot reach each other's records, and no input turns into a 500.
 */
import fc from 'fast-check';
import { SignJWT, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/jwt.js';
import { serverState, uniqueUser } from '../support/dynamo.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import { activityRaw, pushBody } from '../support/records.js';
import { SCHEMA_VERSION } from '../../lambdas/core/schema.js';

// A small page budget so that a modest account pages and real cursors exist.
const stack = useLocalStack({ env: { PULL_PAGE_BYTES: '20000' } });

async function userApi(label: string) {
  const user = uniqueUser(label);
  const api = apiAs(stack(), await stack().token(user));
  const seedId = `seed-${user}`; // record ids are global: one owner each
  const seeded = await api.push(pushBody({ activities: { created: [activityRaw(seedId)] } }, null));
  expect(seeded.status).toBe(200);
  const { timestamp } = (await api.pull({ last_pulled_at: null })).body as { timestamp: number };
  const before = await serverState(stack().runtime.store, user);
  return { user, api, seedId, timestamp, unchanged: async () => expect(await serverState(stack().runtime.store, user)).toEqual(before) };
}

describe('bad input → documented 4xx, nothing written; a bad record → rejected alone', () => {
  it('malformed JSON → 400 validation_error', async () => {
    const { api, unchanged } = await userApi('json');
    const r = await api.push(undefined, '{"changes": {');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    await unchanged();
  });

  it('a wrong type rejects that record alone, naming table, record id and field; the valid records are written', async () => {
    const { user, api, timestamp } = await userApi('types');
    const r = await api.push(pushBody({ activities: { created: [activityRaw('ok1'), activityRaw('bad1', { distance_m: 'far' })] } }, timestamp));
    expect(r.status).toBe(200);
    expect(r.body.experimentalRejectedIds).toEqual({ activities: ['bad1'] });
    expect(r.body.rejected).toEqual([
      {
        table: 'activities',
        id: 'bad1',
        details: [expect.objectContaining({ path: 'changes.activities.created.1.distance_m', table: 'activities', record_id: 'bad1', field: 'distance_m' })],
      },
    ]);
    expect(Object.keys(r.body.versions.activities)).toEqual(['ok1']);
    const state = await serverState(stack().runtime.store, user);
    expect(state.activities?.ok1).toBeDefined();
    expect(state.activities?.bad1).toBeUndefined();
  });

  it.each([
    ['an unknown table', { changes: { shoes: { created: [], updated: [], deleted: [] } }, last_pulled_at: null }, 'changes.shoes'],
    ['a missing last_pulled_at', { changes: {} }, 'last_pulled_at'],
    ['a record without an id', { changes: { activities: { created: [{ sport: 'run' }] } }, last_pulled_at: null }, 'changes.activities.created.0.id'],
    ['the same id twice in a table', pushBody({ activities: { created: [activityRaw('twice')], deleted: ['twice'] } }, null), 'changes.activities.deleted.0'],
    ['a __proto__ key', undefined, ''],
  ])('%s (not a push) → 400 naming it, nothing written', async (_name, body, path) => {
    const { api, unchanged } = await userApi('each');
    const r = body === undefined ? await api.push(undefined, '{"changes":{"__proto__":{"x":1}},"last_pulled_at":null}') : await api.push(body);
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    await unchanged();
  });

  it.each([
    ['an unknown column', { activities: { created: [activityRaw('c1', { pace: 5 })] } }, 'activities', 'c1', 'changes.activities.created.0.pace'],
    ['an oversized string', { activities: { created: [activityRaw('c1', { notes: 'n'.repeat(16 * 1024 + 1) })] } }, 'activities', 'c1', 'changes.activities.created.0.notes'],
    ['an invalid id', { activities: { created: [activityRaw('no spaces/allowed')] } }, 'activities', 'no spaces/allowed', 'changes.activities.created.0.id'],
    ['an invalid deleted id', { activities: { deleted: ['no spaces'] } }, 'activities', 'no spaces', 'changes.activities.deleted.0'],
    ['an out-of-range enum', { activities: { created: [activityRaw('c1', { gps_source: 'strava' })] } }, 'activities', 'c1', 'changes.activities.created.0.gps_source'],
    ['a settings value that is not JSON', { settings: { created: [{ id: 'units', value: 'km' }] } }, 'settings', 'units', 'changes.settings.created.0.value'],
    ['a write to the server-owned uploads table', { uploads: { deleted: ['u1'] } }, 'uploads', 'u1', 'changes.uploads.deleted.0'],
    ['a new record missing a required column', { activities: { created: [{ id: 'c1', title: 'no sport' }] } }, 'activities', 'c1', 'changes.activities.created.0.sport'],
  ])('%s → that record rejected alone, named with its reasons; the rest applies', async (_name, changes, table, id, path) => {
    const { user, api } = await userApi('each');
    const before = await serverState(stack().runtime.store, user);
    const good = activityRaw(`good-${user}`);
    const all = changes as Record<string, { created?: object[]; deleted?: string[] }>;
    const body = pushBody({ ...all, activities: { ...all.activities, created: [...(all.activities?.created ?? []), good] } } as never, null);
    const r = await api.push(body);
    expect(r.status).toBe(200);
    expect(r.body.experimentalRejectedIds).toEqual({ [table]: [id] });
    expect(r.body.rejected).toHaveLength(1);
    expect(r.body.rejected[0]).toMatchObject({ table, id });
    expect(r.body.rejected[0].details.map((d: { path: string }) => d.path)).toContain(path);
    expect(r.body.rejected[0].details.every((d: { record_id?: string; table?: string }) => d.record_id === id && d.table === table)).toBe(true);
    const after = await serverState(stack().runtime.store, user);
    // Exactly the valid record was added; the rejected one left nothing.
    expect(after).toEqual({ ...before, activities: { ...before.activities, [good.id]: expect.anything() } });
  });

  it('a body over the 6 MB Lambda limit → 413 payload_too_large', async () => {
    const { api, unchanged } = await userApi('big');
    const raws = Array.from({ length: 500 }, (_, i) => activityRaw(`b${i}`, { notes: 'n'.repeat(14_000) }));
    const r = await api.push(pushBody({ activities: { created: raws } }, null));
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    await unchanged();
  });

  it('a future last_pulled_at → 400 on pull and on push', async () => {
    const { api, unchanged } = await userApi('future');
    const future = Date.now() + 86_400_000;
    expect((await api.pull({ last_pulled_at: future })).status).toBe(400);
    const r = await api.push(pushBody({ activities: { created: [activityRaw('f1')] } }, future));
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].field).toBe('last_pulled_at');
    await unchanged();
  });

  it.each([
    ['schema_version=abc', { schema_version: 'abc' }, 'schema_version'],
    ['a schema_version newer than the server', { schema_version: SCHEMA_VERSION + 1 }, 'schema_version'],
    ['a migration that is not JSON', { migration: '{oops' }, 'migration'],
    ['a migration naming an unknown table', { migration: JSON.stringify({ from: 0, tables: ['shoes'], columns: [] }) }, 'migration.tables.0'],
    ['last_pulled_at=yesterday', { last_pulled_at: 'yesterday' }, 'last_pulled_at'],
  ])('pull with %s → 400', async (_n, params, path) => {
    const { api } = await userApi('pullbad');
    const r = await api.pull(params as Record<string, string>);
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('no token, a token signed by another key, or an expired token → 401', async () => {
    const url = `${stack().url}/api/v1/sync?last_pulled_at=null`;
    expect((await fetch(url)).status).toBe(401);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('victim').setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setExpirationTime('1h').sign(privateKey);
    expect((await fetch(url, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    const expired = await stack().issuer.issue('someone', -10);
    const r = await fetch(url, { headers: { authorization: `Bearer ${expired}` } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('unknown routes → 404, wrong methods → 405, in the error format', async () => {
    const r = await fetch(`${stack().url}/api/v1/nothing`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await fetch(`${stack().url}/api/v1/sync`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('isolation between users', () => {
  it("ids of another user → that record rejected (200), named; nothing of it written on either side, the rest applies", async () => {
    const alice = await userApi('alice');
    const mallory = await userApi('mallory');
    for (const body of [
      pushBody({ activities: { updated: [activityRaw(alice.seedId, { title: 'pwned' })] } }, mallory.timestamp),
      pushBody({ activities: { created: [activityRaw(`harmless-${mallory.user}`), activityRaw(alice.seedId)] } }, mallory.timestamp),
      pushBody({ activities: { deleted: [alice.seedId] } }, mallory.timestamp),
    ]) {
      const r = await mallory.api.push(body);
      expect(r.status).toBe(200);
      expect(r.body.experimentalRejectedIds).toEqual({ activities: [alice.seedId] });
      expect(r.body.rejected).toEqual([
        { table: 'activities', id: alice.seedId, details: [expect.objectContaining({ table: 'activities', record_id: alice.seedId, message: expect.stringMatching(/another user/) })] },
      ]);
    }
    await alice.unchanged();
    const state = await serverState(stack().runtime.store, mallory.user);
    expect(Object.keys(state.activities ?? {}).sort()).toEqual([`harmless-${mallory.user}`, mallory.seedId].sort());
  });

  it("another user's cursor, or an altered one, → 400 invalid_cursor; the owner's own cursor works", async () => {
    const alice = await userApi('cursor-owner');
    await alice.api.push(pushBody({ activities: { created: Array.from({ length: 20 }, (_, j) => activityRaw(`c${j}`, { notes: 'x'.repeat(3000) })) } }, null));
    const page = await alice.api.pull({ last_pulled_at: null });
    const cursor = page.body.cursor as string;
    expect(typeof cursor).toBe('string');
    const mallory = await userApi('cursor-thief');
    const stolen = await mallory.api.pull({ last_pulled_at: null, cursor });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.code).toBe('invalid_cursor');
    const altered = await alice.api.pull({ last_pulled_at: null, cursor: `A${cursor.slice(1)}` });
    expect(altered.status).toBe(400);
    const otherPull = await alice.api.pull({ last_pulled_at: page.body.timestamp, cursor });
    expect(otherPull.body.error.code).toBe('invalid_cursor');
    const next = await alice.api.pull({ last_pulled_at: null, cursor });
    expect(next.status).toBe(200);
    expect(next.body.timestamp).toBe(page.body.timestamp);
  });
});

describe('fuzz: any push body gives 200 or a 4xx, never a 5xx, and a 4xx writes nothing', () => {
  const column = fc.constantFrom('sport', 'started_at', 'distance_m', 'gps_source', 'perceived_effort', 'title', 'route_polyline', 'bogus', '__proto__');
  const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.constantFrom('garmin', 'manual', 5, -1, 11, 1e300), fc.array(fc.integer(), { maxLength: 2 }));
  const raw = fc.record({ id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), fc.string({ maxLength: 5 })), fields: fc.dictionary(column, value, { maxKeys: 4 }) }).map(({ id, fields }) => ({ ...activityRaw(id), ...fields }));
  const body = fc.record({
    changes: fc.dictionary(
      fc.constantFrom('activities', 'plans', 'settings', 'uploads', 'unknown'),
      fc.record({ created: fc.array(raw, { maxLength: 3 }), updated: fc.array(raw, { maxLength: 3 }), deleted: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }) }, { requiredKeys: [] }),
      { maxKeys: 3 },
    ),
    last_pulled_at: fc.oneof(fc.constant(null), fc.integer({ min: -5, max: 2 ** 40 }), fc.string({ maxLength: 3 })),
  }, { requiredKeys: [] });

  it('holds for 150 random bodies', async () => {
    const ctx = await userApi('fuzz');
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const before = await serverState(stack().runtime.store, ctx.user);
        const r = await ctx.api.push(b);
        statuses.add(r.status);
        expect(r.status === 200 || (r.status >= 400 && r.status < 500)).toBe(true);
        if (r.status !== 200) {
          expect(typeof r.body.error.code).toBe('string');
          expect(await serverState(stack().runtime.store, ctx.user)).toEqual(before);
        }
      }),
      { numRuns: 150 },
    );
    // The generator reaches both the write path and the rejections.
    expect(statuses.has(200) && statuses.has(400)).toBe(true);
  });
});
